/**
 * OPLOCK_BREAK acknowledgment (MS-SMB2 3.3.5.22): CREATE never grants an oplock or
 * lease, so there is never a break to acknowledge. 3.3.5.22.1: an acknowledgment
 * for an open without a break in progress is STATUS_INVALID_OPLOCK_PROTOCOL; a
 * malformed one (neither oplock nor lease form) STATUS_INVALID_PARAMETER.
 */
import { NtStatus } from '../../smb2/status.js';
import { errorReply, type Reply, type RequestContext } from '../context.js';

export function handleOplockBreak(ctx: RequestContext): Reply {
  const size = ctx.msg.length >= 66 ? ctx.msg.readUInt16LE(64) : 0;
  // 24: oplock break acknowledgment; 36: lease break acknowledgment.
  if (size === 24) return errorReply(NtStatus.INVALID_OPLOCK_PROTOCOL);
  if (size === 36) return errorReply(NtStatus.OBJECT_NAME_NOT_FOUND); // 3.3.5.22.2: unknown lease key
  return errorReply(NtStatus.INVALID_PARAMETER);
}
