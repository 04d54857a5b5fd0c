/** IORING_OP_SYMLINKAT: symlinkat(target, newdirfd, linkpath). */
import type { Ring } from '../ring.js';
import type { Op } from '../op.js';
import { OP } from '../constants.js';
import { checkCallback, checkDirFd, checkString, prepPathOp, submitPromise, type ResultCallback } from './common.js';

export function prepSymlinkat(ring: Ring, target: string, newDirfd: number, linkPath: string, cb?: ResultCallback | null): Op {
  checkString('target', target);
  checkDirFd('newDirfd', newDirfd);
  checkString('linkPath', linkPath);
  return prepPathOp(ring, OP.SYMLINKAT, checkCallback('cb', cb), newDirfd, target, linkPath);
}

export function symlinkat(ring: Ring, target: string, newDirfd: number, linkPath: string): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepSymlinkat(ring, target, newDirfd, linkPath, cb));
}
