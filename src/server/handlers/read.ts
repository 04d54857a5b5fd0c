/** READ (MS-SMB2 3.3.5.12): files through the VFS, named pipes through the RPC endpoint. */
import { decodeReadRequest, encodeReadResponse, encodeReadResponseHead } from '../../smb2/commands/read.js';
import { NtStatus } from '../../smb2/status.js';
import { MAX_VFS_OFFSET, readFileData } from '../datapath/read.js';
import { Access } from '../access.js';
import { errorReply, type Reply, type RequestContext } from '../context.js';
import { beyondMaxOffset, decodeOr, fsStatus, lookupOpen } from './common.js';
import { rangeConflicts } from './lock.js';

export async function handleRead(ctx: RequestContext): Promise<Reply> {
  const req = decodeOr(() => decodeReadRequest(ctx.msg));
  if (typeof req === 'number') return errorReply(req);
  const open = lookupOpen(ctx, req.fileId);
  if (typeof open === 'number') return errorReply(open);
  // 3.3.5.12: Length above Connection.MaxReadSize is invalid.
  if (req.length > ctx.conn.negotiated!.maxRead) return errorReply(NtStatus.INVALID_PARAMETER);

  if (open.pipe) {
    const data = open.pipe.read(req.length);
    // Nothing queued. A message pipe would pend the read until the next response;
    // we have no async responses yet, and every request's response is queued
    // synchronously by the preceding WRITE, so an empty pipe means none is coming.
    if (!data || data.length === 0) return errorReply(NtStatus.END_OF_FILE);
    // More of this message remains: STATUS_BUFFER_OVERFLOW with the data (message-mode pipe).
    const status = open.pipe.pending() > 0 ? NtStatus.BUFFER_OVERFLOW : NtStatus.SUCCESS;
    return { status, body: encodeReadResponse({ data }) };
  }
  const file = open.file;
  if (!file || open.isDirectory) return errorReply(NtStatus.INVALID_DEVICE_REQUEST);
  if (!(open.grantedAccess & (Access.FILE_READ_DATA | Access.FILE_EXECUTE))) return errorReply(NtStatus.ACCESS_DENIED);
  if (beyondMaxOffset(req.offset, req.length)) return errorReply(NtStatus.INVALID_PARAMETER);
  // MS-FSA 2.1.5.2: another open's exclusive byte-range lock over the range.
  if (rangeConflicts(open, req.offset, BigInt(req.length), false)) return errorReply(NtStatus.FILE_LOCK_CONFLICT);
  // An offset no file of this server reaches (the VFS takes offsets up to 2^53): past the end, unless the file is that large.
  if (req.length > 0 && req.offset > MAX_VFS_OFFSET) {
    try {
      if ((await file.stat()).size <= req.offset) return errorReply(NtStatus.END_OF_FILE);
    } catch (err) {
      return errorReply(fsStatus(ctx, err));
    }
    ctx.server.log.warn(`connection ${ctx.conn.id}: READ at offset ${req.offset} of "${open.path}", a file larger than 2^53 bytes: refused`);
    return errorReply(NtStatus.INVALID_PARAMETER);
  }
  if (req.length === 0) {
    // Nothing read is less than any MinimumCount (3.3.5.12): END_OF_FILE, as for a short read.
    if (req.minimumCount > 0) return errorReply(NtStatus.END_OF_FILE);
    return { status: NtStatus.SUCCESS, body: encodeReadResponse({ data: Buffer.alloc(0) }) };
  }
  let got;
  try {
    // The data movement lives in datapath/read.ts (copy, or splice by the transport).
    const sealed = ctx.sealRead ? { seal: ctx.sealRead, minimumCount: req.minimumCount } : undefined;
    // A named stream lives in an extended attribute (streams.ts): never spliced from the fd.
    const splice = open.stream === null && ctx.conn.canSendFile(ctx);
    got = await readFileData(file, req.length, req.offset, splice, ctx.server.dataPool, sealed);
  } catch (err) {
    return errorReply(fsStatus(ctx, err));
  }
  const n = got.kind === 'buffer' ? got.data.length : got.region.length;
  // 3.3.5.12: nothing at or after the end of file, or less than MinimumCount: END_OF_FILE.
  if (n === 0 || n < req.minimumCount) {
    if (got.kind === 'region') got.region.release?.();
    else got.release?.();
    return errorReply(NtStatus.END_OF_FILE);
  }
  open.position = Number(req.offset) + n;
  if (got.kind === 'region') return { status: NtStatus.SUCCESS, body: [encodeReadResponseHead(n)], region: got.region };
  return { status: NtStatus.SUCCESS, body: [encodeReadResponseHead(n), got.data], release: got.release, scratch: got.data, sealed: got.sealed };
}
