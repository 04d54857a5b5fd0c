/**
 * OPLOCK_BREAK acknowledgment (MS-SMB2 3.3.5.22). The oplock form (3.3.5.22.1)
 * names an open; the lease form (3.3.5.22.2) a lease by ClientGuid and LeaseKey.
 * Either ends the break in progress, which lets the CREATE that caused it go on.
 * Status codes where a break is not awaited follow Samba (smbtorture smb2.oplock,
 * smb2.lease): INVALID_OPLOCK_PROTOCOL for an oplock, UNSUCCESSFUL for a lease.
 */
import { decodeOplockBreakRequest, encodeOplockBreakResponse, type LeaseBreakAck, type OplockBreak } from '../../smb2/commands/oplock-break.js';
import { OplockLevel } from '../../smb2/constants.js';
import { NtStatus } from '../../smb2/status.js';
import { errorReply, type Reply, type RequestContext } from '../context.js';
import { FileTable, R, bitsToOplock, breakToRequired } from '../oplock.js';
import { decodeOr, lookupOpen } from './common.js';

export function handleOplockBreak(ctx: RequestContext): Reply {
  const m = decodeOr(() => decodeOplockBreakRequest(ctx.msg));
  if (typeof m === 'number') return errorReply(m);
  if (m.kind === 'oplock') return ackOplock(ctx, m);
  if (m.kind === 'leaseAck') return ackLease(ctx, m);
  return errorReply(NtStatus.INVALID_PARAMETER);
}

function ackOplock(ctx: RequestContext, m: OplockBreak): Reply {
  const open = lookupOpen(ctx, m.fileId);
  if (typeof open === 'number') return errorReply(open);
  const h = open.caching?.oplock;
  if (!h || h.breakingTo === null) return errorReply(NtStatus.INVALID_OPLOCK_PROTOCOL);
  // 3.3.5.22.1: a lease level in an oplock acknowledgment drops the oplock.
  if (m.oplockLevel === OplockLevel.LEASE) {
    h.endBreak(0);
    return errorReply(NtStatus.INVALID_PARAMETER);
  }
  // The client may keep LEVEL_II only when the break offered it.
  const keep = h.breakingTo & R && m.oplockLevel !== OplockLevel.NONE ? R : 0;
  h.endBreak(keep);
  const level = bitsToOplock(keep);
  if (level === OplockLevel.NONE) open.caching!.oplock = null;
  return { status: NtStatus.SUCCESS, body: encodeOplockBreakResponse({ kind: 'oplock', oplockLevel: level, fileId: m.fileId }) };
}

function ackLease(ctx: RequestContext, m: LeaseBreakAck): Reply {
  const guid = ctx.conn.negotiated?.clientGuid;
  const lease = guid ? ctx.server.state.files.leases.get(FileTable.leaseId(guid, m.leaseKey)) : undefined;
  ctx.server.log.debug(`connection ${ctx.conn.id}: lease break ack to state ${m.leaseState} (${lease ? (lease.breakingTo === null ? 'no break in progress' : `breaking to ${lease.breakingTo}`) : 'no such lease'})`);
  if (!lease) return errorReply(NtStatus.OBJECT_NAME_NOT_FOUND);
  if (lease.breakingTo === null) return errorReply(NtStatus.UNSUCCESSFUL);
  // 3.3.5.22.2: the client may not keep more than the break left it.
  if ((m.leaseState & ~lease.breakingTo) !== 0) return errorReply(NtStatus.REQUEST_NOT_ACCEPTED);
  const required = lease.required;
  lease.endBreak(m.leaseState);
  const reply = {
    status: NtStatus.SUCCESS,
    body: encodeOplockBreakResponse({ kind: 'leaseAck', flags: 0, leaseKey: lease.key, leaseState: lease.state, leaseDuration: 0n }),
  };
  // What an open asked for while this break was under way comes next.
  breakToRequired(ctx.server, lease, required);
  return reply;
}
