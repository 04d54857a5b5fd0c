/**
 * How WRITE data reaches the file (ARCHITECTURE decision 5 and the WRITE hot
 * path: "RECV header -> SPLICE socket->pipe | SPLICE pipe->file"), kept out of
 * the handler:
 *
 * - spliced: a transport that can splice from its socket shows the server the
 *   head of every PDU too big to stage (transport onLargeMessage). When that
 *   head is a plain WRITE the connection would carry out (a valid session on
 *   this connection that neither signs nor seals, no compound, an open of
 *   this tree with write access, a fixed offset), spliceTarget() answers with
 *   a dup of the file's fd and the position of the first byte not yet
 *   received, and the data goes socket -> pipe -> file in the kernel. The
 *   handler then writes the few data bytes that came with the head and
 *   answers with the total. A signed or sealed request always comes into
 *   memory (it must be verified before any byte is written).
 * - copied: otherwise the data is in the request buffer (pooled for big ones)
 *   and written from there.
 *
 * The request's credit and sequence checks run when the head is delivered,
 * after the data is in the file; a request that fails them ends the
 * connection, as it would have anyway, and the session could have written
 * those bytes with a correct request.
 */
import type { SpliceSink } from '../../transport/types.js';
import type { SmbConnection } from '../connection.js';
import { Command, Dialect, HeaderFlags } from '../../smb2/constants.js';
import { HEADER_SIZE, channelSequence, protocolKind, tryDecodeHeader } from '../../smb2/header.js';
import { decodeWriteRequestHead } from '../../smb2/commands/write.js';
import { validateRequest } from '../../smb2/validate.js';
import { requireNative } from '../../native.js';
import { Access } from '../access.js';
import { boundTo } from '../channel.js';
import { staleSequence } from '../replay.js';
import { writeRangeRefusal } from '../handlers/common.js';
import { rangeConflicts } from '../handlers/lock.js';

const WRITE_FIXED_PART = 48;

/** Where the rest of this PDU may go instead of memory, or null (see the file comment). */
export function spliceTarget(conn: SmbConnection, head: Buffer, total: number): SpliceSink | null {
  const neg = conn.negotiated;
  if (!neg || protocolKind(head) !== 'smb2' || head.length < HEADER_SIZE + WRITE_FIXED_PART) return null;
  const hdr = tryDecodeHeader(head); // malformed: the usual path answers it (a disconnect)
  if (!hdr || hdr.command !== Command.WRITE || hdr.nextCommand !== 0) return null;
  if (hdr.flags & (HeaderFlags.SIGNED | HeaderFlags.RELATED_OPERATIONS | HeaderFlags.SERVER_TO_REDIR)) return null;
  if (validateRequest(head, Command.WRITE, total) !== null) return null;
  const s = conn.server.state.sessions.get(hdr.sessionId);
  if (!s || s.state !== 'valid' || !boundTo(s, conn) || s.signingRequired || s.encryptData) return null;
  const tree = s.trees.get(hdr.treeId);
  if (!tree || tree.share.encrypt || tree.share.readOnly) return null;
  let w;
  try {
    w = decodeWriteRequestHead(head);
  } catch {
    return null;
  }
  // The data must be the PDU's tail, and begin within the head.
  if (w.dataOffset > head.length || w.dataOffset + w.length !== total || w.length > neg.maxWrite) return null;
  if (writeRangeRefusal(w.offset, w.length) !== null) return null;
  const open = conn.server.state.opens.get(w.fileId.volatile);
  if (!open || open.persistentId !== w.fileId.persistent || open.closed || open.tree !== tree) return null;
  // A stale channel sequence is refused by the handler (3.3.5.2.10): no byte may reach the file. A replay is left to it whole.
  if (neg.dialect >= Dialect.SMB300 && (hdr.flags & HeaderFlags.REPLAY_OPERATION || staleSequence(open, channelSequence(hdr)))) return null;
  if (!open.file || open.pipe || open.isDirectory || !(open.grantedAccess & Access.FILE_WRITE_DATA)) return null;
  if (open.stream !== null) return null; // a named stream lives in an extended attribute (streams.ts), not at the fd
  // A byte-range lock in the way: the handler answers FILE_LOCK_CONFLICT, and no byte may reach the file.
  if (rangeConflicts(open, w.offset, BigInt(w.length), true)) return null;
  const position = Number(w.offset) + (head.length - w.dataOffset);
  if (!Number.isSafeInteger(position)) return null;
  const nat = requireNative();
  // A dup: a CLOSE racing the splice cannot make it write into a file that reused the number.
  const fd = nat.dup(open.file.fd);
  if (fd < 0) return null;
  let released = false;
  return {
    fd,
    position,
    release: () => {
      if (released) return;
      released = true;
      nat.close(fd);
    },
  };
}
