/** IORING_OP_FADVISE: posix_fadvise(fd, offset, length, advice). */
import type { Ring } from '../ring.js';
import { Op } from '../op.js';
import { OP } from '../constants.js';
import { checkCallback, checkFd, checkUint, submitPromise, type ResultCallback } from './common.js';

export const FADV = { NORMAL: 0, RANDOM: 1, SEQUENTIAL: 2, WILLNEED: 3, DONTNEED: 4, NOREUSE: 5 } as const;

/** length 0 means "to the end of the file"; the kernel takes a 32-bit length here. */
export function prepFadvise(_ring: Ring, fd: number, offset: number, length: number, advice: number, cb?: ResultCallback | null): Op {
  checkFd('fd', fd);
  checkUint('offset', offset, Number.MAX_SAFE_INTEGER);
  checkUint('length', length);
  checkUint('advice', advice, FADV.NOREUSE);
  const op = new Op(OP.FADVISE, checkCallback('cb', cb));
  op.fd = fd;
  op.off = offset;
  op.len = length;
  op.opFlags = advice;
  return op;
}

export function fadvise(ring: Ring, fd: number, offset: number, length: number, advice: number): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepFadvise(ring, fd, offset, length, advice, cb));
}
