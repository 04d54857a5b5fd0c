/**
 * The oplock, lease and durable-handle parts of CREATE (MS-SMB2 3.3.5.9,
 * 3.3.5.9.6-12), kept out of handlers/create.ts: before the open, break what
 * conflicts (going async while the holders acknowledge); after it, grant an
 * oplock or lease and durability and build their response contexts; and the
 * durable reconnect, which replaces the whole CREATE.
 */
import { decodeLease, encodeDH2QResponse, encodeLease, findContext, type CreateContext } from '../smb2/commands/create-contexts.js';
import { encodeCreateResponse, type CreateRequest } from '../smb2/commands/create.js';
import { CreateAction, CreateContextName, Dialect, HeaderFlags, LeaseFlags, OplockLevel } from '../smb2/constants.js';
import { channelSequence } from '../smb2/header.js';
import { NtStatus } from '../smb2/status.js';
import { untilDoneOrCancelled } from './async.js';
import { errorReply, type Reply, type RequestContext } from './context.js';
import { findReconnect, grantDurable, reattach, type DurableAsk } from './durable.js';
import { breakForOpen, FileTable, grantLease, H, grantOplock, leaseKeyElsewhere, type Lease, type LeaseAsk, type OpenIntent } from './oplock.js';
import { parseCreateName, sameStream } from './streams.js';
import { statWithDos } from './dos-attributes.js';
import { allocationSize, endOfFile, fileAttributes, fileTimes } from './handlers/common.js';
import type { Open } from './state.js';
import { ReplayTable, type ReplayAnswer, type ReplaySlot } from './replay.js';

const ZERO_KEY = Buffer.alloc(16);

export interface CachingAsk {
  oplock: number;
  lease: LeaseAsk | null;
  durable: DurableAsk;
}

function clientGuid(ctx: RequestContext): Buffer {
  return ctx.conn.negotiated?.clientGuid ?? ZERO_KEY;
}

/** The RqLs context, when the CREATE asks for a lease and the dialect has them (3.3.5.9.8, 3.3.5.9.11). */
function parseLease(ctx: RequestContext, req: CreateRequest): LeaseAsk | null | number {
  const dialect = ctx.conn.negotiated?.dialect ?? 0;
  if (req.requestedOplockLevel !== OplockLevel.LEASE || dialect < Dialect.SMB210) return null;
  const c = findContext(req.createContexts, CreateContextName.REQUEST_LEASE);
  if (!c) return null;
  let l;
  try {
    l = decodeLease(c.data);
  } catch {
    return NtStatus.INVALID_PARAMETER;
  }
  // v2 is a 3.x context: a 2.1 connection's is read as v1.
  const v2 = l.version === 2 && dialect >= Dialect.SMB300;
  const hasParent = v2 && (l.leaseFlags & LeaseFlags.PARENT_LEASE_KEY_SET) !== 0;
  return {
    clientGuid: clientGuid(ctx),
    key: l.leaseKey,
    state: l.leaseState,
    version: v2 ? 2 : 1,
    parentKey: hasParent ? l.parentLeaseKey ?? null : null,
    epoch: v2 ? l.epoch ?? 0 : 0,
  };
}

/** What the CREATE asks of oplocks, leases and durability; a number is the status to fail it with. */
export function parseCaching(ctx: RequestContext, req: CreateRequest, durable: DurableAsk): CachingAsk | number {
  const lease = parseLease(ctx, req);
  if (typeof lease === 'number') return lease;
  const oplock = lease ? OplockLevel.LEASE : req.requestedOplockLevel === OplockLevel.LEASE ? OplockLevel.NONE : req.requestedOplockLevel;
  return { oplock, lease, durable };
}

/**
 * Breaks the oplocks and leases that stand in the way of opening `rel`
 * (3.3.4.6, 3.3.4.7) and waits for their acknowledgments, going async so the
 * client knows the CREATE is alive (3.3.4.2). Returns null to go on, or
 * STATUS_CANCELLED.
 */
export async function breakBeforeOpen(ctx: RequestContext, rel: string, stream: string | null, ask: CachingAsk, access: number, share: number, truncate: boolean): Promise<number | null> {
  const { server } = ctx;
  const table = server.state.files;
  const intent: OpenIntent = {
    access,
    share,
    truncate,
    leaseId: ask.lease ? FileTable.leaseId(ask.lease.clientGuid, ask.lease.key) : null,
  };
  // Each round waits for the acknowledgments it caused; a client may answer with less than asked, or close.
  for (let round = 0; round < 16; round++) {
    // A named stream's caching is its own (oplock.ts FileTable.attach).
    const existing = server.state.opensAt(ctx.tree!.share, rel).filter((o) => sameStream(o.stream, stream));
    if (existing.length === 0) return null;
    const { waits, stale } = breakForOpen(server, table, table.statesOf(existing), intent, round > 0);
    if (stale.length > 0) {
      await Promise.all(stale.map((o) => server.closeOpen(o)));
      continue;
    }
    if (waits.length === 0) return null;
    if (await awaitBreaks(ctx, waits)) return NtStatus.CANCELLED;
  }
  return null;
}

/**
 * Waits for the acknowledgments of breaks a request caused, going async so the
 * client knows it is alive (3.3.4.2). True when the request was cancelled first.
 */
export function awaitBreaks(ctx: RequestContext, waits: Promise<void>[]): Promise<boolean> {
  ctx.conn.goAsync(ctx);
  const register = (fn: () => void): void => {
    ctx.conn.onCancel(ctx, fn).outlivesChannel = ctx.outlivesChannel === true;
  };
  return untilDoneOrCancelled(register, Promise.all(waits));
}

/**
 * The lease response context: in the lease's own version, whichever the request used (a v1
 * request on a v2 lease gets the v2 answer with its epoch, and the other way round: smbtorture
 * smb2.lease v2_epoch2, v2_epoch3).
 */
function leaseContext(lease: Lease, ask: LeaseAsk): CreateContext {
  let flags = lease.breakingTo !== null ? LeaseFlags.BREAK_IN_PROGRESS : 0;
  const parent = lease.version === 2 ? lease.parentKey ?? (ask.version === 2 ? ask.parentKey : null) : null;
  if (parent) flags |= LeaseFlags.PARENT_LEASE_KEY_SET;
  return {
    name: CreateContextName.REQUEST_LEASE,
    data: encodeLease({
      version: lease.version,
      leaseKey: lease.key,
      leaseState: lease.state,
      leaseFlags: flags,
      leaseDuration: 0n,
      parentLeaseKey: parent ?? ZERO_KEY,
      epoch: lease.epoch,
    }),
  };
}

/**
 * After the open: links it to its file state, grants the oplock or lease and
 * durability. Returns the response's OplockLevel and contexts, or a status
 * (the caller closes the open).
 */
export function grantCaching(ctx: RequestContext, open: Open, ask: CachingAsk, dev: bigint, ino: bigint): { oplockLevel: number; contexts: CreateContext[] } | number {
  const table = ctx.server.state.files;
  const file = table.attach(open, dev, ino);
  const contexts: CreateContext[] = [];
  let oplockLevel: number = OplockLevel.NONE;
  let leaseState: number | null = null;
  // 3.3.5.9.8: a lease key already used for another file, a directory included (smbtorture smb2.lease.request).
  if (ask.lease && leaseKeyElsewhere(table, ask.lease, file.key)) return NtStatus.INVALID_PARAMETER;
  if (ask.lease && open.isDirectory && ask.lease.version === 1) {
    // 3.3.5.9.8: no v1 lease on a directory; the context is ignored.
  } else if (ask.lease) {
    const lease = grantLease(table, open, ask.lease);
    oplockLevel = OplockLevel.LEASE;
    leaseState = lease.state;
    contexts.push(leaseContext(lease, ask.lease));
  } else {
    oplockLevel = grantOplock(open, ask.oplock);
  }
  const dh = grantDurable(open, ask.durable, clientGuid(ctx), oplockLevel, leaseState);
  if (dh) contexts.push(dh);
  return { oplockLevel, contexts };
}

/**
 * A CREATE with DHnC or DH2C (3.3.5.9.7, 3.3.5.9.12): reconnects the durable
 * open it names, ignoring the CREATE's other fields. Null when it is not a
 * reconnect.
 */
export async function reconnectIfAsked(ctx: RequestContext, req: CreateRequest, durable: DurableAsk): Promise<Reply | null> {
  if (!durable.reconnect) return null;
  const tree = ctx.tree!;
  if (tree.share.isIpc) return errorReply(NtStatus.OBJECT_NAME_NOT_FOUND);
  const lease = parseLease(ctx, { ...req, requestedOplockLevel: OplockLevel.LEASE });
  if (typeof lease === 'number') return errorReply(lease);
  const named = parseCreateName(req.name, tree.share.streams);
  const found = findReconnect(ctx.server, durable.reconnect, {
    tree,
    path: typeof named === 'number' ? null : named.rel,
    stream: typeof named === 'number' ? null : named.stream,
    clientGuid: clientGuid(ctx),
    leaseKey: lease?.key ?? null,
  });
  if (typeof found === 'number') return errorReply(found);
  const open = found;
  let st, dos;
  try {
    [st, dos] = await statWithDos(open.file!);
  } catch {
    return errorReply(NtStatus.OBJECT_NAME_NOT_FOUND);
  }
  if (open.closed || !open.durable?.disconnected) return errorReply(NtStatus.OBJECT_NAME_NOT_FOUND);
  if (tree.disconnected) return errorReply(NtStatus.NETWORK_NAME_DELETED); // it stays disconnected, for a later reconnect
  reattach(open, tree);
  open.channelSequence = channelSequence(ctx.hdr);
  ctx.server.state.opens.set(open.volatileId, open); // indexed under its new tree's share
  ctx.related.open = open;
  const c = open.caching;
  const contexts: CreateContext[] = [];
  let oplockLevel: number = c?.oplock?.level ?? OplockLevel.NONE;
  if (c?.lease && lease) {
    oplockLevel = OplockLevel.LEASE;
    contexts.push(leaseContext(c.lease, { ...lease, version: c.lease.version, parentKey: c.lease.parentKey }));
  }
  ctx.server.log.debug(`connection ${ctx.conn.id}: durable open of "${open.path}" reconnected`);
  return {
    status: NtStatus.SUCCESS,
    body: encodeCreateResponse({
      oplockLevel,
      flags: 0,
      createAction: CreateAction.OPENED,
      ...fileTimes(st),
      allocationSize: allocationSize(st),
      endofFile: endOfFile(st),
      fileAttributes: fileAttributes(st, dos),
      fileId: { persistent: open.persistentId, volatile: open.volatileId },
      createContexts: contexts,
    }),
  };
}

/**
 * A CREATE with a DH2Q (replay.ts, MS-SMB2 3.3.5.9.10): `reply` when it
 * replays a CREATE made or under way, or repeats its CreateGuid; else the
 * slot that keeps it for a replay (null when it has no DH2Q).
 */
export function replayIfAsked(ctx: RequestContext, req: CreateRequest, durable: DurableAsk): { reply: Reply } | { slot: ReplaySlot | null } {
  if (!durable.v2 || ctx.tree!.share.isIpc || (ctx.conn.negotiated?.dialect ?? 0) < Dialect.SMB300) return { slot: null };
  const table = ctx.server.state.replays;
  const key = ReplayTable.key(clientGuid(ctx), durable.v2.createGuid);
  const found = table.find(key);
  const replaying = (ctx.hdr.flags & HeaderFlags.REPLAY_OPERATION) !== 0;
  if (!found) return { slot: table.begin(key) };
  if (!replaying) return { reply: errorReply(NtStatus.DUPLICATE_OBJECTID) };
  // The first one still waits for a break: the client asks again later (Samba's answer, replay.ts).
  if (!found.open) return { reply: errorReply(NtStatus.FILE_NOT_AVAILABLE) };
  // The client used the handle, so had the answer: this is a new CREATE (smbtorture smb2.replay.replay6).
  if (!found.answer) return { slot: table.begin(key) };
  return { reply: replayAnswer(ctx, req, found.open, found.answer) };
}

/**
 * The answer of a replayed CREATE: the first one's, with the open's lease as
 * it is now. An oplock is answered at the level the replay asks, at most the
 * open's, and the open keeps its own (smbtorture replay-dhv2-oplock2); the
 * durable context follows what is answered.
 */
function replayAnswer(ctx: RequestContext, req: CreateRequest, open: Open, answer: ReplayAnswer): Reply {
  if (open.tree.session !== ctx.session || open.tree !== ctx.tree) return errorReply(NtStatus.ACCESS_DENIED);
  const lease = parseLease(ctx, req);
  if (typeof lease === 'number') return errorReply(lease);
  const held = open.caching?.lease ?? null;
  // Only the open's own lease key replays it; an oplock open is not replayed with a lease (replay-dhv2-lease3, -oplock-lease).
  if (held ? !lease || !lease.key.equals(held.key) : lease) return errorReply(NtStatus.ACCESS_DENIED);
  const contexts = [...answer.createContexts];
  let oplockLevel: number;
  let durable: boolean;
  if (held && lease) {
    oplockLevel = OplockLevel.LEASE;
    contexts.push(leaseContext(held, lease));
    durable = (held.state & H) !== 0;
  } else {
    const asked = req.requestedOplockLevel === OplockLevel.LEASE ? OplockLevel.NONE : req.requestedOplockLevel;
    oplockLevel = Math.min(asked, open.caching?.oplock?.level ?? OplockLevel.NONE);
    durable = oplockLevel === OplockLevel.BATCH;
  }
  if (durable && open.durable?.v2) contexts.push({ name: CreateContextName.DURABLE_HANDLE_REQUEST_V2, data: encodeDH2QResponse(open.durable.timeoutMs, 0) });
  ctx.related.open = open;
  ctx.server.log.debug(`connection ${ctx.conn.id}: replayed CREATE of "${open.path}" answered with its open`);
  return {
    status: NtStatus.SUCCESS,
    body: encodeCreateResponse({ ...answer, oplockLevel, fileId: { persistent: open.persistentId, volatile: open.volatileId }, createContexts: contexts }),
  };
}
