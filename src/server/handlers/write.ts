/** WRITE (MS-SMB2 3.3.5.13): files through the VFS, named pipes through the RPC endpoint. */
import { decodeWriteRequest, decodeWriteRequestHead, encodeWriteResponse } from '../../smb2/commands/write.js';
import type { SpliceOutcome } from '../../transport/types.js';
import { WriteFlags } from '../../smb2/constants.js';
import { NtStatus } from '../../smb2/status.js';
import type { VfsFile } from '../../vfs/types.js';
import { Access } from '../access.js';
import { errorReply, type Reply, type RequestContext } from '../context.js';
import { decodeOr, fsStatus, lookupOpen, writeRangeRefusal } from './common.js';
import { rangeConflicts } from './lock.js';
import { breakReadCaching } from '../oplock.js';
import type { Open } from '../state.js';

/** The data movement of a WRITE (one place, for the io_uring path to replace). */
async function writeFileData(file: VfsFile, data: Buffer, pos: bigint): Promise<number> {
  let done = 0;
  while (done < data.length) {
    const n = await file.write(data, done, data.length - done, pos + BigInt(done));
    if (n <= 0) break;
    done += n;
  }
  return done;
}

export async function handleWrite(ctx: RequestContext): Promise<Reply> {
  if (ctx.spliced) return handleSplicedWrite(ctx, ctx.spliced);
  // The data is a view into the request: no copy.
  const req = decodeOr(() => decodeWriteRequest(ctx.msg));
  if (typeof req === 'number') return errorReply(req);
  const open = lookupOpen(ctx, req.fileId);
  if (typeof open === 'number') return errorReply(open);
  if (req.length > ctx.conn.negotiated!.maxWrite) return errorReply(NtStatus.INVALID_PARAMETER);

  if (open.pipe) {
    try {
      open.pipe.write(req.data);
    } catch (err) {
      ctx.server.log.debug(`pipe write: ${(err as Error).message}`);
      return errorReply(NtStatus.PIPE_BROKEN);
    }
    return { status: NtStatus.SUCCESS, body: encodeWriteResponse({ count: req.length, remaining: 0 }) };
  }
  const file = open.file;
  if (!file || open.isDirectory) return errorReply(NtStatus.INVALID_DEVICE_REQUEST);
  const canWrite = (open.grantedAccess & Access.FILE_WRITE_DATA) !== 0;
  const canAppend = (open.grantedAccess & Access.FILE_APPEND_DATA) !== 0;
  if (!canWrite && !canAppend) return errorReply(NtStatus.ACCESS_DENIED);
  let pos = req.offset;
  try {
    if (!canWrite) {
      // Append-only opens write at the end whatever the offset says (MS-FSA 2.1.5.3). An open that may
      // write anywhere is held to its offset: all ones is INVALID_PARAMETER for it (smbtorture smb2.rw.invalid).
      pos = (await file.stat()).size;
    } else {
      const refused = writeRangeRefusal(pos, req.length);
      if (refused !== null) return errorReply(refused);
    }
    // MS-FSA 2.1.5.3: a byte-range lock of another open, or a shared one of any, over the range.
    if (rangeConflicts(open, pos, BigInt(req.length), true)) return errorReply(NtStatus.FILE_LOCK_CONFLICT);
    // MS-FSA 2.1.4.12: read caching of the file goes (LEVEL_II oplocks, the writer's too; other leases' R).
    breakReadCaching(ctx.server, open);
    written(ctx, open);
    const n = await writeFileData(file, req.data, pos);
    if (req.flags & WriteFlags.WRITE_THROUGH) await file.sync(true);
    open.position = Number(pos) + n;
    return { status: NtStatus.SUCCESS, body: encodeWriteResponse({ count: n, remaining: 0 }) };
  } catch (err) {
    return errorReply(fsStatus(ctx, err));
  }
}

/**
 * A WRITE whose data, but for the bytes that came with its head, the transport
 * already spliced into the file (datapath/write.ts chose it: same checks as
 * above). Those first bytes are written here; the count is the whole.
 */
async function handleSplicedWrite(ctx: RequestContext, spliced: SpliceOutcome): Promise<Reply> {
  const req = decodeOr(() => decodeWriteRequestHead(ctx.msg));
  if (typeof req === 'number') return errorReply(req);
  const open = lookupOpen(ctx, req.fileId);
  if (typeof open === 'number') return errorReply(open);
  const file = open.file;
  if (!file || open.isDirectory) return errorReply(NtStatus.INVALID_DEVICE_REQUEST);
  const staged = ctx.msg.subarray(req.dataOffset);
  breakReadCaching(ctx.server, open);
  written(ctx, open);
  try {
    const n = await writeFileData(file, staged, req.offset);
    if (spliced.error) throw spliced.error;
    const count = n + spliced.written;
    if (req.flags & WriteFlags.WRITE_THROUGH) await file.sync(true);
    open.position = Number(req.offset) + count;
    return { status: NtStatus.SUCCESS, body: encodeWriteResponse({ count, remaining: 0 }) };
  } catch (err) {
    return errorReply(fsStatus(ctx, err));
  }
}

/**
 * Change notify: the file is reported MODIFIED when this handle closes
 * (server.closeOpen), and the kernel's report of each write is the server's own.
 */
function written(ctx: RequestContext, open: Open): void {
  open.modified = true;
  ctx.server.notify.touch(open.tree.share, open.path);
}
