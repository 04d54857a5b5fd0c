/**
 * LOCK (MS-SMB2 3.3.5.14): byte-range locks kept in memory per file (dev:ino,
 * byte-locks.ts: O(log n) a question), enforced on READ and WRITE
 * (rangeConflicts, MS-FSA 2.1.4.10). A lock
 * request without FAIL_IMMEDIATELY that conflicts goes async and waits until
 * an unlock or a close on the file lets it through, or a CANCEL ends it
 * (STATUS_CANCELLED). Locks stack: an open may lock a range it already holds,
 * and each unlock removes one of them.
 */
import { decodeLockRequest, encodeLockResponse, type LockElement } from '../../smb2/commands/lock.js';
import { LockFlags } from '../../smb2/constants.js';
import { NtStatus } from '../../smb2/status.js';
import { errorReply, type Reply, type RequestContext } from '../context.js';
import type { Open } from '../state.js';
import { untilDoneOrCancelled, type PendingRequest } from '../async.js';
import { decodeOr, lookupOpen } from './common.js';
import { FileLocks, type HeldLock } from '../byte-locks.js';
import { takesOthersShare } from '../limits.js';
import { breakReadCaching } from '../oplock.js';

const U64_MAX = 0xffffffffffffffffn;

/**
 * Locks held at once on one file, and in the process. Each costs about 400
 * bytes of heap (the process's cap: about 100 MB); a request that would go past either is refused whole with
 * INSUFFICIENT_RESOURCES (what Windows answers when its lock memory is
 * spent), so a client cannot grow the tables without bound.
 */
export const LOCKS_PER_FILE = 1 << 16;
export const LOCKS_IN_PROCESS = 1 << 18;

/** Per file (dev:ino): the locks held on it (byte-locks.ts). */
const table = new Map<string, FileLocks>();
let lockCount = 0;
/** Locks held by each user (Open.owner of the handle). */
const userLocks = new Map<string, number>();

function countUserLocks(open: Open, delta: number): void {
  if (delta === 0) return;
  const n = (userLocks.get(open.owner) ?? 0) + delta;
  if (n > 0) userLocks.set(open.owner, n);
  else userLocks.delete(open.owner);
}
/** Per file: lock requests waiting for a change (an unlock, a close). */
const waiting = new Map<string, Set<() => void>>();

/** Resolves at the next unlock or close on the file. */
function nextChange(key: string): Promise<void> {
  return new Promise((resolve) => {
    let set = waiting.get(key);
    if (!set) waiting.set(key, (set = new Set()));
    set.add(resolve);
  });
}

function changed(key: string): void {
  const set = waiting.get(key);
  if (!set) return;
  waiting.delete(key);
  for (const wake of set) wake();
}

/** The open is closing: its locks go, and requests waiting on them try again. */
export function releaseLocks(open: Open): void {
  // Every CLOSE passes here: nothing to do (and no key string) while no file has locks or waiters.
  if (!open.file || open.isDirectory || (table.size === 0 && waiting.size === 0)) return;
  const key = fileKey(open);
  const fl = table.get(key);
  if (fl) {
    const gone = fl.removeOwner(open);
    lockCount -= gone;
    countUserLocks(open, -gone);
    if (fl.size === 0) table.delete(key);
  }
  changed(key);
}

function fileKey(open: Open): string {
  const st = open.file!.statAtOpen;
  return `${st.dev}:${st.ino}`;
}

/**
 * Whether another holder's lock forbids `open` reading (write=false) or writing
 * [offset, offset+length) (MS-FSA 2.1.4.10): a read conflicts with another open's
 * exclusive lock; a write with another open's lock of any kind and with shared
 * locks, its own included. For I/O done on the server's behalf (FSCTLs).
 */
export function rangeConflicts(open: Open, offset: bigint, length: bigint, write: boolean): boolean {
  // Zero bytes of I/O touch no lock (smbtorture smb2.lock.zerobyteread). Every READ and WRITE asks:
  // no key string when no file has a lock.
  if (!open.file || length === 0n || table.size === 0) return false;
  const fl = table.get(fileKey(open));
  return fl ? fl.conflicts(open, offset, length, write) : false;
}

export async function handleLock(ctx: RequestContext): Promise<Reply> {
  const req = decodeOr(() => decodeLockRequest(ctx.msg));
  if (typeof req === 'number') return errorReply(req);
  const open = lookupOpen(ctx, req.fileId);
  if (typeof open === 'number') return errorReply(open);
  if (!open.file || open.isDirectory) return errorReply(NtStatus.INVALID_PARAMETER);
  const unlocking = (req.locks[0]!.flags & LockFlags.UNLOCK) !== 0;
  for (const l of req.locks) {
    if (l.length !== 0n && l.offset + l.length - 1n > U64_MAX) return errorReply(NtStatus.INVALID_LOCK_RANGE);
    const kind = l.flags & (LockFlags.SHARED_LOCK | LockFlags.EXCLUSIVE_LOCK | LockFlags.UNLOCK);
    // 3.3.5.14: all elements lock, each exactly shared or exclusive. Unlocks are checked one by one as they
    // are done (unlock()): an element that is not a plain UNLOCK fails only once the ones before it were done.
    if (!unlocking && kind !== LockFlags.SHARED_LOCK && kind !== LockFlags.EXCLUSIVE_LOCK) return errorReply(NtStatus.INVALID_PARAMETER);
    // 3.3.5.14: several locks in one request must all be FAIL_IMMEDIATELY.
    if (!unlocking && req.locks.length > 1 && !(l.flags & LockFlags.FAIL_IMMEDIATELY)) return errorReply(NtStatus.INVALID_PARAMETER);
  }
  // 3.3.5.14: a LOCK whose sequence (index 1..64) matches the last one done with that index is a replay
  // (after a reconnect, or on another channel): it succeeds without being applied again. The spec asks it
  // of resilient, durable and persistent opens; like Samba, every open of a 3.x connection keeps it.
  const idx = req.lockSequenceIndex;
  const tracked = ctx.conn.negotiated!.dialect >= 0x300 && idx >= 1 && idx <= 64;
  if (tracked) {
    open.lockSequences ??= new Map();
    if (open.lockSequences.get(idx) === req.lockSequenceNumber) return { status: NtStatus.SUCCESS, body: encodeLockResponse() };
    open.lockSequences.delete(idx);
  }
  const key = fileKey(open);
  const attempt = (): number => {
    let fl = table.get(key);
    if (!fl) table.set(key, (fl = new FileLocks()));
    const had = fl.size;
    const status = unlocking ? unlock(fl, open, req.locks) : lock(fl, open, req.locks);
    lockCount += fl.size - had;
    countUserLocks(open, fl.size - had);
    if (fl.size === 0) table.delete(key);
    if (unlocking) changed(key);
    return status;
  };
  if (!unlocking && ((table.get(key)?.size ?? 0) + req.locks.length > LOCKS_PER_FILE || lockCount + req.locks.length > LOCKS_IN_PROCESS)) {
    ctx.server.logRefused(`session ${ctx.session!.id.toString(16)}: LOCK of ${req.locks.length} ranges refused: ${table.get(key)?.size ?? 0} locks on "${open.path}" (at most ${LOCKS_PER_FILE}), ${lockCount} in the server (at most ${LOCKS_IN_PROCESS})`);
    return errorReply(NtStatus.INSUFFICIENT_RESOURCES);
  }
  // Nor may one user take the last quarter of the process's locks while another user has a session.
  const me = open.owner;
  if (!unlocking && takesOthersShare(lockCount, LOCKS_IN_PROCESS, userLocks.get(me) ?? 0, req.locks.length, () => ctx.server.state.otherUserPresent(me))) {
    ctx.server.logRefused(`session ${ctx.session!.id.toString(16)} (${ctx.session!.user}): LOCK of ${req.locks.length} ranges refused: the last quarter of ${LOCKS_IN_PROCESS} locks in the server is kept for other users`, 'user locks');
    return errorReply(NtStatus.INSUFFICIENT_RESOURCES);
  }
  // MS-FSA 2.1.4.12 (RANGE_LOCK): taking a lock ends read caching of the file (LEVEL_II oplocks, this open's too).
  if (!unlocking) breakReadCaching(ctx.server, open);
  let status = attempt();
  // 3.3.5.14: a single lock without FAIL_IMMEDIATELY waits until it can be granted (async, cancellable).
  const blocking = !unlocking && req.locks.length === 1 && !(req.locks[0]!.flags & LockFlags.FAIL_IMMEDIATELY);
  while (blocking && status !== NtStatus.SUCCESS) {
    ctx.conn.goAsync(ctx);
    const wait: { p: PendingRequest | null } = { p: null };
    const cancelled = await untilDoneOrCancelled((fn) => (wait.p = ctx.conn.onCancel(ctx, fn)), nextChange(key));
    // A LOGOFF ends the wait with success, as Windows and Samba answer (smbtorture smb2.lock.cancel-logoff);
    // the session is gone, so no handle of it can use the lock, and none is taken.
    if (cancelled) return wait.p?.cancelledBy === 'logoff' ? { status: NtStatus.SUCCESS, body: encodeLockResponse() } : errorReply(NtStatus.CANCELLED);
    // The handle was closed while the lock waited: Windows answers RANGE_NOT_LOCKED (smb2.lock.cancel).
    if (open.closed) return errorReply(NtStatus.RANGE_NOT_LOCKED);
    status = attempt();
  }
  if (status !== NtStatus.SUCCESS) return errorReply(status);
  if (tracked) open.lockSequences!.set(idx, req.lockSequenceNumber);
  return { status, body: encodeLockResponse() };
}

/** Removes each range in turn; the first one not held stops with RANGE_NOT_LOCKED (earlier ones stay removed). */
function unlock(fl: FileLocks, open: Open, locks: LockElement[]): number {
  for (const l of locks) {
    if (l.flags !== LockFlags.UNLOCK) return NtStatus.INVALID_PARAMETER;
    if (!fl.removeOldest(open, l.offset, l.length)) return NtStatus.RANGE_NOT_LOCKED;
  }
  return NtStatus.SUCCESS;
}

/**
 * Takes every range or none (MS-FSA 2.1.5.7): an exclusive request conflicts
 * with every lock it meets, the open's own and the request's earlier ranges
 * included; a shared one only with another open's exclusive lock (so an open
 * may stack a shared lock on its own exclusive one).
 */
function lock(fl: FileLocks, open: Open, locks: LockElement[]): number {
  const granted: HeldLock[] = [];
  for (const l of locks) {
    const exclusive = (l.flags & LockFlags.EXCLUSIVE_LOCK) !== 0;
    if (!fl.grantable(open, l.offset, l.length, exclusive)) {
      for (const g of granted) fl.undo(g);
      return NtStatus.LOCK_NOT_GRANTED;
    }
    granted.push(fl.add(open, l.offset, l.length, exclusive));
  }
  return NtStatus.SUCCESS;
}
