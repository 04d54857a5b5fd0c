/**
 * TIMEOUT (fires after a duration, or after `count` other completions),
 * LINK_TIMEOUT (bounds the op it is linked behind) and TIMEOUT_REMOVE.
 * Durations are in nanoseconds; the timespec lives in arena memory.
 */
import type { Ring } from '../ring.js';
import { Op } from '../op.js';
import { OP, SIZEOF, TIMEOUT_FLAGS } from '../constants.js';
import type { ArenaBlock } from '../memory.js';
import type { SystemError } from '../../util/errors.js';
import { checkCallback, checkOp, checkUint, holdBlocks, submitPromise, TargetedOp, type ResultCallback } from './common.js';

/** expired: the time ran out (the kernel's -ETIME); false: `count` completions came first. */
export type TimeoutCallback = (err: SystemError | null, expired: boolean) => void;

export interface TimeoutOptions {
  /** complete after this many other completions, if earlier than the time; default 0 (time only) */
  count?: number;
  /** TIMEOUT_FLAGS bits: ABS, BOOTTIME, REALTIME */
  flags?: number;
}

const ETIME = 62;

function timespec(ring: Ring, ns: number): ArenaBlock {
  if (typeof ns !== 'number') throw new TypeError(`ns must be a number, got ${typeof ns}`);
  if (!Number.isFinite(ns) || ns < 0) throw new RangeError(`ns must be a finite number >= 0, got ${ns}`);
  const b = ring.arena.alloc(SIZEOF.TIMESPEC);
  const sec = Math.floor(ns / 1e9);
  b.buf.writeBigInt64LE(BigInt(sec), 0);
  b.buf.writeBigInt64LE(BigInt(Math.floor(ns - sec * 1e9)), 8);
  return b;
}

export function prepTimeout(ring: Ring, ns: number, cb?: TimeoutCallback | null, opts?: TimeoutOptions): Op {
  const count = opts?.count === undefined ? 0 : checkUint('count', opts.count);
  const flags = opts?.flags === undefined ? 0 : checkUint('flags', opts.flags, TIMEOUT_FLAGS.REALTIME | TIMEOUT_FLAGS.BOOTTIME | TIMEOUT_FLAGS.ABS);
  const callback = checkCallback('cb', cb);
  const ts = timespec(ring, ns);
  const op = new Op(OP.TIMEOUT, callback ? (err) => (err && err.errno === ETIME ? callback(null, true) : callback(err, false)) : null);
  op.addr = ts.addr;
  op.len = 1;
  op.off = count;
  op.opFlags = flags;
  holdBlocks(ring, op, [ts]);
  return op;
}

export function timeout(ring: Ring, ns: number, opts?: TimeoutOptions): Promise<boolean> {
  return submitPromise<boolean>(ring, (cb) => prepTimeout(ring, ns, cb, opts));
}

/**
 * A LINK_TIMEOUT, to be submitted right behind the op it bounds
 * (ring.submitLinked([op, lt])). Its result: -ETIME when it fired (the op
 * then completes with ECANCELED), ECANCELED/0 when the op finished first.
 */
export function prepLinkTimeout(ring: Ring, ns: number, cb?: ResultCallback | null, opts?: { flags?: number }): Op {
  const flags = opts?.flags === undefined ? 0 : checkUint('flags', opts.flags, TIMEOUT_FLAGS.REALTIME | TIMEOUT_FLAGS.BOOTTIME | TIMEOUT_FLAGS.ABS);
  const callback = checkCallback('cb', cb);
  const ts = timespec(ring, ns);
  const op = new Op(OP.LINK_TIMEOUT, callback);
  op.addr = ts.addr;
  op.len = 1;
  op.opFlags = flags;
  holdBlocks(ring, op, [ts]);
  return op;
}

/** Submits `op` bounded by a LINK_TIMEOUT of `ns`; returns the timeout op. */
export function submitWithTimeout(ring: Ring, op: Op, ns: number, cb?: ResultCallback | null): Op {
  checkOp('op', op);
  const lt = prepLinkTimeout(ring, ns, cb);
  ring.submitLinked([op, lt]);
  return lt;
}

/** Removes a pending TIMEOUT: it completes with ECANCELED, this op with 0 (ENOENT if it had finished). */
export function prepTimeoutRemove(_ring: Ring, target: Op, cb?: ResultCallback | null): Op {
  checkOp('target', target);
  if (target.opcode !== OP.TIMEOUT) throw new TypeError('target must be a TIMEOUT op');
  return new TargetedOp(OP.TIMEOUT_REMOVE, checkCallback('cb', cb), target);
}

export function timeoutRemove(ring: Ring, target: Op): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepTimeoutRemove(ring, target, cb));
}
