/**
 * OPLOCK_BREAK acknowledgment (MS-SMB2 3.3.5.22): CREATE never grants an oplock or
 * lease, so there is never a break to acknowledge. 3.3.5.22.1: an acknowledgment
 * for an open without a break in progress is STATUS_INVALID_OPLOCK_PROTOCOL; a
 * malformed one (neither oplock nor lease form) STATUS_INVALID_PARAMETER.
 */
import { decodeOplockBreakRequest } from '../../smb2/commands/oplock-break.js';
import { NtStatus } from '../../smb2/status.js';
import { errorReply, type Reply, type RequestContext } from '../context.js';
import { decodeOr } from './common.js';

export function handleOplockBreak(ctx: RequestContext): Reply {
  const m = decodeOr(() => decodeOplockBreakRequest(ctx.msg));
  if (typeof m === 'number') return errorReply(m);
  if (m.kind === 'oplock') return errorReply(NtStatus.INVALID_OPLOCK_PROTOCOL);
  if (m.kind === 'leaseAck') return errorReply(NtStatus.OBJECT_NAME_NOT_FOUND); // 3.3.5.22.2: unknown lease key
  return errorReply(NtStatus.INVALID_PARAMETER);
}
