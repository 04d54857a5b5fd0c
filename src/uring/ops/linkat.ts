/** IORING_OP_LINKAT: linkat(olddirfd, oldpath, newdirfd, newpath, flags). */
import type { Ring } from '../ring.js';
import type { Op } from '../op.js';
import { AT, OP } from '../constants.js';
import { checkCallback, checkDirFd, checkString, checkUint, prepPathOp, submitPromise, type ResultCallback } from './common.js';

export function prepLinkat(ring: Ring, oldDirfd: number, oldPath: string, newDirfd: number, newPath: string, cb?: ResultCallback | null, opts?: { flags?: number }): Op {
  checkDirFd('oldDirfd', oldDirfd);
  checkString('oldPath', oldPath);
  checkDirFd('newDirfd', newDirfd);
  checkString('newPath', newPath);
  const flags = opts?.flags === undefined ? 0 : checkUint('flags', opts.flags);
  if (flags & ~(AT.SYMLINK_FOLLOW | AT.EMPTY_PATH)) throw new RangeError('linkat flags may hold only AT_SYMLINK_FOLLOW and AT_EMPTY_PATH');
  const op = prepPathOp(ring, OP.LINKAT, checkCallback('cb', cb), oldDirfd, oldPath, newPath);
  op.len = newDirfd >>> 0;
  op.opFlags = flags;
  return op;
}

export function linkat(ring: Ring, oldDirfd: number, oldPath: string, newDirfd: number, newPath: string, opts?: { flags?: number }): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepLinkat(ring, oldDirfd, oldPath, newDirfd, newPath, cb, opts));
}
