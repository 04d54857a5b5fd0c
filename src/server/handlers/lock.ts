/**
 * LOCK (MS-SMB2 3.3.5.14): byte-range locks kept in memory per file (dev:ino),
 * with conflict detection. Locks are advisory for now: READ and WRITE do not
 * check them. A lock that would have to wait is refused at once (no async
 * responses yet), as if FAIL_IMMEDIATELY had been set.
 */
import { decodeLockRequest, encodeLockResponse, type LockElement } from '../../smb2/commands/lock.js';
import { LockFlags } from '../../smb2/constants.js';
import { NtStatus } from '../../smb2/status.js';
import { errorReply, type Reply, type RequestContext } from '../context.js';
import type { Open } from '../state.js';
import { decodeOr, lookupOpen } from './common.js';

const U64_MAX = 0xffffffffffffffffn;

interface ByteLock {
  open: Open;
  offset: bigint;
  length: bigint;
  exclusive: boolean;
}

/** Per file: the locks held on it. Locks of closed opens are dropped lazily. */
const table = new Map<string, ByteLock[]>();

function fileKey(open: Open): string {
  const st = open.file!.statAtOpen;
  return `${st.dev}:${st.ino}`;
}

function overlaps(a: { offset: bigint; length: bigint }, b: { offset: bigint; length: bigint }): boolean {
  // Zero-length ranges never conflict (MS-FSA 2.1.5.7).
  if (a.length === 0n || b.length === 0n) return false;
  return a.offset < b.offset + b.length && b.offset < a.offset + a.length;
}

/** The locks on a file whose opens are still open. */
function live(key: string): ByteLock[] {
  return (table.get(key) ?? []).filter((l) => !l.open.closed);
}

/**
 * Whether another holder's lock forbids `open` reading (write=false) or writing
 * [offset, offset+length) (MS-FSA 2.1.4.10): a read conflicts with another open's
 * exclusive lock; a write with another open's lock of any kind and with shared
 * locks, its own included. For I/O done on the server's behalf (FSCTLs).
 */
export function rangeConflicts(open: Open, offset: bigint, length: bigint, write: boolean): boolean {
  if (!open.file) return false;
  const want = { offset, length };
  return live(fileKey(open)).some((l) => overlaps(l, want) && (write ? !l.exclusive || l.open !== open : l.exclusive && l.open !== open));
}

export function handleLock(ctx: RequestContext): Reply {
  const req = decodeOr(() => decodeLockRequest(ctx.msg));
  if (typeof req === 'number') return errorReply(req);
  const open = lookupOpen(ctx, req.fileId);
  if (typeof open === 'number') return errorReply(open);
  if (!open.file || open.isDirectory) return errorReply(NtStatus.INVALID_PARAMETER);
  const unlocking = (req.locks[0]!.flags & LockFlags.UNLOCK) !== 0;
  for (const l of req.locks) {
    if (l.length !== 0n && l.offset + l.length - 1n > U64_MAX) return errorReply(NtStatus.INVALID_LOCK_RANGE);
    const kind = l.flags & (LockFlags.SHARED_LOCK | LockFlags.EXCLUSIVE_LOCK | LockFlags.UNLOCK);
    // 3.3.5.14: all elements unlock, or all lock; each exactly one of shared/exclusive/unlock.
    if (unlocking ? l.flags !== LockFlags.UNLOCK : kind !== LockFlags.SHARED_LOCK && kind !== LockFlags.EXCLUSIVE_LOCK) {
      return errorReply(NtStatus.INVALID_PARAMETER);
    }
    // 3.3.5.14: several locks in one request must all be FAIL_IMMEDIATELY.
    if (!unlocking && req.locks.length > 1 && !(l.flags & LockFlags.FAIL_IMMEDIATELY)) return errorReply(NtStatus.INVALID_PARAMETER);
  }
  const key = fileKey(open);
  const list = live(key);
  const status = unlocking ? unlock(list, open, req.locks) : lock(list, open, req.locks);
  if (list.length) table.set(key, list);
  else table.delete(key);
  return status === NtStatus.SUCCESS ? { status, body: encodeLockResponse() } : errorReply(status);
}

/** Removes each range in turn; the first one not held stops with RANGE_NOT_LOCKED (earlier ones stay removed). */
function unlock(list: ByteLock[], open: Open, locks: LockElement[]): number {
  for (const l of locks) {
    const i = list.findIndex((x) => x.open === open && x.offset === l.offset && x.length === l.length);
    if (i < 0) return NtStatus.RANGE_NOT_LOCKED;
    list.splice(i, 1);
  }
  return NtStatus.SUCCESS;
}

/** Takes every range or none. */
function lock(list: ByteLock[], open: Open, locks: LockElement[]): number {
  const before = list.length;
  for (const l of locks) {
    const want: ByteLock = { open, offset: l.offset, length: l.length, exclusive: (l.flags & LockFlags.EXCLUSIVE_LOCK) !== 0 };
    if (list.some((x) => overlaps(x, want) && (x.exclusive || want.exclusive))) {
      list.length = before;
      // A lock that would wait (no FAIL_IMMEDIATELY) is answered like Windows does when it times out.
      return l.flags & LockFlags.FAIL_IMMEDIATELY ? NtStatus.LOCK_NOT_GRANTED : NtStatus.FILE_LOCK_CONFLICT;
    }
    list.push(want);
  }
  return NtStatus.SUCCESS;
}
