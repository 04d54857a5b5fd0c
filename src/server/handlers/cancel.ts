/**
 * CANCEL (MS-SMB2 3.3.5.16): finds the waiting request the CANCEL names (by
 * AsyncId when the CANCEL carries SMB2_FLAGS_ASYNC_COMMAND, else by MessageId)
 * and runs its cancel function; that request then completes with
 * STATUS_CANCELLED. CANCEL itself never gets a response.
 */
import { decodeCancelRequest } from '../../smb2/commands/cancel.js';
import { NtStatus } from '../../smb2/status.js';
import type { Reply, RequestContext } from '../context.js';
import { decodeOr } from './common.js';

const NO_BODY = Buffer.alloc(0);

export function handleCancel(ctx: RequestContext): Reply {
  const ok = decodeOr(() => decodeCancelRequest(ctx.msg));
  if (typeof ok !== 'number' && !ctx.conn.cancelRequest(ctx)) {
    ctx.server.log.debug(`connection ${ctx.conn.id}: CANCEL for ${ctx.hdr.flags & 2 ? `async id ${ctx.hdr.asyncId}` : `message ${ctx.hdr.messageId}`}: nothing waiting`);
  }
  return { status: NtStatus.SUCCESS, body: NO_BODY };
}
