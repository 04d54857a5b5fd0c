/**
 * The byte-range locks of one file, kept so that every question LOCK, READ
 * and WRITE ask costs O(log n) in the locks held, not O(n).
 *
 * Why: a LOCK request carries up to 65535 elements, each checked against
 * every lock on the file. With a plain list that was quadratic: one request
 * of 16000 elements held the event loop (every client's) for 1.5 s, and
 * 65535 for about half a minute; each READ and WRITE scanned the list too.
 *
 * Ranges are half-open [offset, end), end = offset + length (2^64 at most),
 * and two ranges meet when `a.offset < b.end && b.offset < a.end`. That one
 * test is exactly MS-FSA 2.1.5.7's rule as smbtorture has it, zero-length
 * ranges included: two zero-length ranges never meet, and one at X meets a
 * range holding X strictly inside it.
 *
 * Two treaps (keyed by offset, then by grant order), augmented per subtree
 * with the greatest end, the least end, the greatest offset and the owner
 * when every lock in it has the same one:
 * - shared locks: "does any shared lock meet [s, e)?" walks one path (the
 *   interval-tree search on the greatest end);
 * - exclusive locks: "does another open's exclusive lock meet [s, e)?"
 *   prunes subtrees owned by the asking open and answers at once for a
 *   subtree wholly inside the range. Granted exclusive locks never meet one
 *   another (an exclusive request conflicts with every lock it meets), so
 *   those meeting a range lie side by side in offset order and the search
 *   visits O(log n) subtrees.
 */

/** Who holds a lock: compared by identity only. */
export type LockOwner = object;

export interface HeldLock {
  readonly owner: LockOwner;
  readonly offset: bigint;
  readonly length: bigint;
  readonly end: bigint;
  readonly exclusive: boolean;
  /** grant order on the file: older locks have smaller numbers */
  readonly seq: number;
}

const MIXED: LockOwner = {};

interface Node {
  lock: HeldLock;
  prio: number;
  left: Node | null;
  right: Node | null;
  maxEnd: bigint;
  minEnd: bigint;
  maxOffset: bigint;
  minOffset: bigint;
  /** the owner of every lock in the subtree, or MIXED */
  owner: LockOwner;
}

function pull(n: Node): Node {
  const l = n.left;
  const r = n.right;
  let maxEnd = n.lock.end;
  let minEnd = n.lock.end;
  let owner = n.lock.owner;
  if (l) {
    if (l.maxEnd > maxEnd) maxEnd = l.maxEnd;
    if (l.minEnd < minEnd) minEnd = l.minEnd;
    if (l.owner !== owner) owner = MIXED;
  }
  if (r) {
    if (r.maxEnd > maxEnd) maxEnd = r.maxEnd;
    if (r.minEnd < minEnd) minEnd = r.minEnd;
    if (r.owner !== owner) owner = MIXED;
  }
  n.maxEnd = maxEnd;
  n.minEnd = minEnd;
  n.minOffset = l ? l.minOffset : n.lock.offset;
  n.maxOffset = r ? r.maxOffset : n.lock.offset;
  n.owner = owner;
  return n;
}

function before(a: HeldLock, b: HeldLock): boolean {
  return a.offset < b.offset || (a.offset === b.offset && a.seq < b.seq);
}

/** Splits into the locks ordered before `k` and the rest. */
function split(n: Node | null, k: HeldLock): [Node | null, Node | null] {
  if (!n) return [null, null];
  if (before(n.lock, k)) {
    const [a, b] = split(n.right, k);
    n.right = a;
    return [pull(n), b];
  }
  const [a, b] = split(n.left, k);
  n.left = b;
  return [a, pull(n)];
}

function merge(a: Node | null, b: Node | null): Node | null {
  if (!a) return b;
  if (!b) return a;
  if (a.prio > b.prio) {
    a.right = merge(a.right, b);
    return pull(a);
  }
  b.left = merge(a, b.left);
  return pull(b);
}

function insert(root: Node | null, lock: HeldLock): Node {
  const n = pull({ lock, prio: Math.random(), left: null, right: null, maxEnd: 0n, minEnd: 0n, maxOffset: 0n, minOffset: 0n, owner: lock.owner });
  const [a, b] = split(root, lock);
  return merge(merge(a, n), b)!;
}

function remove(root: Node | null, lock: HeldLock): Node | null {
  if (!root) return null;
  if (root.lock === lock) return merge(root.left, root.right);
  if (before(lock, root.lock)) root.left = remove(root.left, lock);
  else root.right = remove(root.right, lock);
  return pull(root);
}

/** Whether any lock in the tree meets [s, e): one path down. */
function anyMeets(root: Node | null, s: bigint, e: bigint): boolean {
  let n = root;
  while (n) {
    if (n.maxEnd <= s) return false;
    if (n.lock.offset < e && n.lock.end > s) return true;
    if (n.left && n.left.maxEnd > s) {
      // Every lock on the left starts at or before this one: if this one starts before e, one there meets.
      if (n.lock.offset < e) return true;
      n = n.left;
    } else {
      if (n.lock.offset >= e) return false;
      n = n.right;
    }
  }
  return false;
}

/** Whether a lock of an owner other than `owner` meets [s, e). */
function otherMeets(n: Node | null, s: bigint, e: bigint, owner: LockOwner): boolean {
  if (!n || n.maxEnd <= s || n.minOffset >= e || n.owner === owner) return false;
  // Every lock of the subtree meets the range, and not all are the asker's.
  if (n.minEnd > s && n.maxOffset < e) return true;
  if (n.lock.offset < e && n.lock.end > s && n.lock.owner !== owner) return true;
  return otherMeets(n.left, s, e, owner) || otherMeets(n.right, s, e, owner);
}

export class FileLocks {
  private shared: Node | null = null;
  private exclusive: Node | null = null;
  /** per owner, per "offset:length", its locks there oldest first (locks stack) */
  private readonly byOwner = new Map<LockOwner, Map<string, HeldLock[]>>();
  private nextSeq = 0;
  size = 0;

  /**
   * Whether a lock of this kind may be granted to `owner` now (MS-FSA
   * 2.1.5.7): an exclusive one meets no lock at all, the owner's own
   * included; a shared one meets no other owner's exclusive lock (so an
   * owner may stack a shared lock on its own exclusive one).
   */
  grantable(owner: LockOwner, offset: bigint, length: bigint, exclusive: boolean): boolean {
    const end = offset + length;
    if (exclusive) return !anyMeets(this.shared, offset, end) && !anyMeets(this.exclusive, offset, end);
    return !otherMeets(this.exclusive, offset, end, owner);
  }

  /** Whether I/O by `owner` on [offset, offset+length) is forbidden (MS-FSA 2.1.4.10). */
  conflicts(owner: LockOwner, offset: bigint, length: bigint, write: boolean): boolean {
    const end = offset + length;
    // A read: another owner's exclusive lock. A write: that, or any shared lock (the writer's own too).
    if (write && anyMeets(this.shared, offset, end)) return true;
    return otherMeets(this.exclusive, offset, end, owner);
  }

  add(owner: LockOwner, offset: bigint, length: bigint, exclusive: boolean): HeldLock {
    const lock: HeldLock = { owner, offset, length, end: offset + length, exclusive, seq: this.nextSeq++ };
    if (exclusive) this.exclusive = insert(this.exclusive, lock);
    else this.shared = insert(this.shared, lock);
    let mine = this.byOwner.get(owner);
    if (!mine) this.byOwner.set(owner, (mine = new Map()));
    const key = `${offset}:${length}`;
    const at = mine.get(key);
    if (at) at.push(lock);
    else mine.set(key, [lock]);
    this.size++;
    return lock;
  }

  /** Removes the owner's oldest lock on exactly this range; false when it holds none there. */
  removeOldest(owner: LockOwner, offset: bigint, length: bigint): boolean {
    const mine = this.byOwner.get(owner);
    const key = `${offset}:${length}`;
    const at = mine?.get(key);
    if (!at) return false;
    const lock = at.shift()!;
    if (at.length === 0) mine!.delete(key);
    if (mine!.size === 0) this.byOwner.delete(owner);
    this.drop(lock);
    return true;
  }

  /** Takes back one lock just granted (a request that fails part-way grants none). */
  undo(lock: HeldLock): void {
    const mine = this.byOwner.get(lock.owner)!;
    const key = `${lock.offset}:${lock.length}`;
    const at = mine.get(key)!;
    at.splice(at.indexOf(lock), 1);
    if (at.length === 0) mine.delete(key);
    if (mine.size === 0) this.byOwner.delete(lock.owner);
    this.drop(lock);
  }

  /** Removes every lock of the owner; how many there were. */
  removeOwner(owner: LockOwner): number {
    const mine = this.byOwner.get(owner);
    if (!mine) return 0;
    this.byOwner.delete(owner);
    let n = 0;
    for (const at of mine.values()) {
      for (const lock of at) {
        this.drop(lock);
        n++;
      }
    }
    return n;
  }

  private drop(lock: HeldLock): void {
    if (lock.exclusive) this.exclusive = remove(this.exclusive, lock);
    else this.shared = remove(this.shared, lock);
    this.size--;
  }
}
