/**
 * What every op family shares: argument checks (thrown before the kernel is
 * reached), arena blocks returned at the final CQE, the promise helper, and
 * ops that aim at another op by its user_data.
 */
import type { Ring } from '../ring.js';
import { Op, type OpCallback } from '../op.js';
import type { SqeWriter } from '../sqe.js';
import type { ArenaBlock, Arena } from '../memory.js';
import type { SystemError } from '../../util/errors.js';
import { CQE } from '../constants.js';

/** The plain completion: err when res < 0, else the kernel's result. */
export type ResultCallback = (err: SystemError | null, res: number) => void;

export type Bytes = ArrayBufferView;

const INT32_MAX = 0x7fffffff;

export function checkFd(name: string, fd: unknown): number {
  if (typeof fd !== 'number') throw new TypeError(`${name} must be a number, got ${typeof fd}`);
  if (!Number.isInteger(fd) || fd < 0 || fd > INT32_MAX) throw new RangeError(`${name} must be a file descriptor (integer >= 0), got ${fd}`);
  return fd;
}

/** A directory fd for the *at ops: an fd or AT_FDCWD (-100). */
export function checkDirFd(name: string, fd: unknown): number {
  if (fd === -100) return fd;
  return checkFd(name, fd);
}

export function checkBytes(name: string, buf: unknown): Bytes {
  if (!ArrayBuffer.isView(buf)) throw new TypeError(`${name} must be a Buffer, TypedArray or DataView`);
  return buf;
}

export function checkUint(name: string, v: unknown, max = 0xffffffff): number {
  if (typeof v !== 'number') throw new TypeError(`${name} must be a number, got ${typeof v}`);
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${name} must be an integer from 0 to ${max}, got ${v}`);
  return v;
}

/** A file offset, or -1 for "the current file position" (FEAT_RW_CUR_POS). */
export function checkPosition(name: string, v: unknown): number {
  if (typeof v !== 'number') throw new TypeError(`${name} must be a number, got ${typeof v}`);
  if (!Number.isSafeInteger(v) || v < -1) throw new RangeError(`${name} must be a safe integer >= -1, got ${v}`);
  return v;
}

export function checkString(name: string, v: unknown): string {
  if (typeof v !== 'string') throw new TypeError(`${name} must be a string, got ${typeof v}`);
  return v;
}

export function checkCallback<T>(name: string, cb: T | undefined | null): T | null {
  if (cb === undefined || cb === null) return null;
  if (typeof cb !== 'function') throw new TypeError(`${name} must be a function`);
  return cb;
}

/** A byte range of a buffer of `size` bytes: [offset, offset + length) must lie inside it. */
export function checkRange(size: number, offset: number | undefined, length: number | undefined): [number, number] {
  const off = offset === undefined ? 0 : checkUint('offset', offset, size);
  const len = length === undefined ? size - off : checkUint('length', length);
  if (off + len > size) throw new RangeError(`offset + length (${off + len}) exceeds the buffer (${size} bytes)`);
  return [off, len];
}

const releasers = new WeakMap<Arena, (op: Op) => void>();

/** Gives the op's arena blocks back to the arena at its final CQE. */
export function holdBlocks(ring: Ring, op: Op, blocks: ArenaBlock[]): void {
  op.blocks = blocks;
  let r = releasers.get(ring.arena);
  if (!r) {
    const arena = ring.arena;
    r = (o: Op): void => {
      const bs = o.blocks;
      if (!bs) return;
      o.blocks = null;
      for (const b of bs) arena.release(b);
    };
    releasers.set(ring.arena, r);
  }
  op.release = r;
}

/**
 * The *at ops' common layout: fd = the directory fd, addr = the first path,
 * off = the second block (a second path, else a `scratch` block of that
 * many bytes: open_how, the statx buffer). Paths are copied NUL-terminated
 * into the arena and held until the final CQE. All blocks or none: when the
 * arena refuses a path (too long, a NUL), those taken before it go back.
 */
export function prepPathOp(
  ring: Ring, opcode: number, cb: OpCallback | null, dirfd: number, path: string, path2: string | null, scratch = 0,
): Op {
  const arena = ring.arena;
  const blocks: ArenaBlock[] = [];
  try {
    blocks.push(arena.path(path));
    if (path2 !== null) blocks.push(arena.path(path2));
    if (scratch > 0) blocks.push(arena.alloc(scratch));
  } catch (err) {
    for (const b of blocks) arena.release(b);
    throw err;
  }
  const op = new Op(opcode, cb);
  op.fd = dirfd;
  op.addr = blocks[0]!.addr;
  if (blocks.length > 1) op.off = blocks[1]!.addr;
  holdBlocks(ring, op, blocks);
  return op;
}

/** A multishot op's completion: `more` false means it is no longer armed (no CQE_F_MORE). */
export type MultishotCallback = (err: SystemError | null, res: number, more: boolean) => void;

/** The op callback of a multishot op (ACCEPT, POLL_ADD): one call per CQE, with `more`. */
export function multishot(cb: MultishotCallback): OpCallback {
  return (err, res, flags) => cb(err, res, (flags & CQE.F_MORE) !== 0);
}

/** user_data the ring gave a submitted op (slot + generation); 0 matches nothing. */
export function userDataOf(op: Op): number {
  return op.userData;
}

/**
 * An op whose `addr` names another op's user_data (POLL_REMOVE,
 * TIMEOUT_REMOVE, ASYNC_CANCEL). Resolved when the SQE is built: the target,
 * queued earlier in the same FIFO, has its slot by then.
 */
export class TargetedOp extends Op {
  constructor(opcode: number, cb: OpCallback | null, readonly target: Op) {
    super(opcode, cb);
  }
  override prep(sqe: SqeWriter): void {
    this.addr = userDataOf(this.target);
    super.prep(sqe);
  }
}

export function checkOp(name: string, op: unknown): Op {
  if (!(op instanceof Op)) throw new TypeError(`${name} must be an Op`);
  return op;
}

/**
 * Builds (checks throw synchronously here), submits, and settles with the
 * mapped result. On a ring that is not attached, the caller drives
 * ring.wait() until the promise settles.
 */
export function submitPromise<T>(ring: Ring, build: (cb: (err: SystemError | null, v: T) => void) => Op): Promise<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const p = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const op = build((err, v) => (err ? reject(err) : resolve(v)));
  ring.submit(op);
  return p;
}
