/** CLOSE (MS-SMB2 3.3.5.10). */
import { decodeCloseRequest, encodeCloseResponse } from '../../smb2/commands/close.js';
import { CloseFlags } from '../../smb2/constants.js';
import { NtStatus } from '../../smb2/status.js';
import { errorReply, type Reply, type RequestContext } from '../context.js';
import { statWithDos } from '../dos-attributes.js';
import { allocationSize, decodeOr, endOfFile, fileAttributes, fileTimes, lookupOpen } from './common.js';

export async function handleClose(ctx: RequestContext): Promise<Reply> {
  const req = decodeOr(() => decodeCloseRequest(ctx.msg));
  if (typeof req === 'number') return errorReply(req);
  const open = lookupOpen(ctx, req.fileId);
  if (typeof open === 'number') return errorReply(open);
  // A directory scan still running on the handle finishes first (Open.track).
  const scans = open.settled();
  if (scans) {
    await scans;
    if (open.closed) return errorReply(NtStatus.FILE_CLOSED);
  }
  const body = {
    flags: 0,
    creationTime: 0n,
    lastAccessTime: 0n,
    lastWriteTime: 0n,
    changeTime: 0n,
    allocationSize: 0n,
    endofFile: 0n,
    fileAttributes: 0,
  };
  // 3.3.5.10: with POSTQUERY_ATTRIB the response carries the file's attributes, taken before
  // the close (a delete-on-close file is still there to stat).
  if (req.flags & CloseFlags.POSTQUERY_ATTRIB && open.file) {
    try {
      const [st, dos] = await statWithDos(open.file);
      Object.assign(body, {
        flags: CloseFlags.POSTQUERY_ATTRIB,
        ...fileTimes(st),
        allocationSize: allocationSize(st),
        endofFile: endOfFile(st),
        fileAttributes: fileAttributes(st, dos),
      });
    } catch {
      // Leave the attributes zero: the close itself still succeeds.
    }
  }
  await ctx.server.closeOpen(open);
  return { status: NtStatus.SUCCESS, body: encodeCloseResponse(body) };
}
