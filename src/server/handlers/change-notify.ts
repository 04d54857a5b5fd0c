/**
 * CHANGE_NOTIFY (MS-SMB2 3.3.5.19): not supported yet. A real answer is an async
 * response (STATUS_PENDING now, the changes later, or CANCELLED), and the server
 * has no async responses yet; answering NOT_SUPPORTED makes clients fall back to
 * polling, where answering SUCCESS with nothing would make them loop.
 */
import { NtStatus } from '../../smb2/status.js';
import { errorReply, type Reply, type RequestContext } from '../context.js';

export function handleChangeNotify(_ctx: RequestContext): Reply {
  return errorReply(NtStatus.NOT_SUPPORTED);
}
