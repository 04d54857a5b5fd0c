/**
 * SPLICE and TEE: move (or duplicate) bytes between an fd and a pipe inside
 * the kernel (the zero-copy READ path: file -> pipe -> socket). Offsets are
 * -1 for "no offset" (pipes, sockets, or the file's position).
 */
import type { Ring } from '../ring.js';
import { Op } from '../op.js';
import { OP } from '../constants.js';
import { checkCallback, checkFd, checkPosition, checkUint, submitPromise, type ResultCallback } from './common.js';

export interface SpliceOptions {
  /** SPLICE_F_* bits (MOVE, NONBLOCK, MORE) */
  flags?: number;
}

/** SPLICE and TEE share their layout; TEE leaves both offsets 0, as the kernel requires. */
function spliceOp(opcode: number, fdIn: number, offIn: number, fdOut: number, offOut: number, length: number, cb: ResultCallback | null | undefined, opts: SpliceOptions | undefined): Op {
  checkUint('length', length);
  const flags = opts?.flags === undefined ? 0 : checkUint('flags', opts.flags, 0xf);
  const op = new Op(opcode, checkCallback('cb', cb));
  op.spliceFdIn = fdIn;
  op.addr = offIn; // splice_off_in shares the addr field; -1 writes all ones
  op.fd = fdOut;
  op.off = offOut;
  op.len = length;
  op.opFlags = flags;
  return op;
}

export function prepSplice(_ring: Ring, fdIn: number, offIn: number, fdOut: number, offOut: number, length: number, cb?: ResultCallback | null, opts?: SpliceOptions): Op {
  checkFd('fdIn', fdIn);
  checkPosition('offIn', offIn);
  checkFd('fdOut', fdOut);
  checkPosition('offOut', offOut);
  return spliceOp(OP.SPLICE, fdIn, offIn, fdOut, offOut, length, cb, opts);
}

export function prepTee(_ring: Ring, fdIn: number, fdOut: number, length: number, cb?: ResultCallback | null, opts?: SpliceOptions): Op {
  checkFd('fdIn', fdIn);
  checkFd('fdOut', fdOut);
  return spliceOp(OP.TEE, fdIn, 0, fdOut, 0, length, cb, opts);
}

export function splice(ring: Ring, fdIn: number, offIn: number, fdOut: number, offOut: number, length: number, opts?: SpliceOptions): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepSplice(ring, fdIn, offIn, fdOut, offOut, length, cb, opts));
}

export function tee(ring: Ring, fdIn: number, fdOut: number, length: number, opts?: SpliceOptions): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepTee(ring, fdIn, fdOut, length, cb, opts));
}
