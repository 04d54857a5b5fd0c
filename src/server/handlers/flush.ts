/** FLUSH (MS-SMB2 3.3.5.11): fsync the file; pipes and directories have nothing to flush. */
import { decodeFlushRequest, encodeFlushResponse } from '../../smb2/commands/flush.js';
import { NtStatus } from '../../smb2/status.js';
import { Access } from '../access.js';
import { errorReply, type Reply, type RequestContext } from '../context.js';
import { decodeOr, fsStatus, lookupOpen } from './common.js';

export async function handleFlush(ctx: RequestContext): Promise<Reply> {
  const req = decodeOr(() => decodeFlushRequest(ctx.msg));
  if (typeof req === 'number') return errorReply(req);
  const open = lookupOpen(ctx, req.fileId);
  if (typeof open === 'number') return errorReply(open);
  if (open.file && !open.isDirectory) {
    // 3.3.5.11: the open must have write or append access.
    if (!(open.grantedAccess & (Access.FILE_WRITE_DATA | Access.FILE_APPEND_DATA))) return errorReply(NtStatus.ACCESS_DENIED);
    try {
      await open.file.sync();
    } catch (err) {
      return errorReply(fsStatus(ctx, err));
    }
  }
  return { status: NtStatus.SUCCESS, body: encodeFlushResponse() };
}
