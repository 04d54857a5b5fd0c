/** IORING_OP_RENAMEAT: renameat2(olddirfd, oldpath, newdirfd, newpath, flags). */
import type { Ring } from '../ring.js';
import type { Op } from '../op.js';
import { OP } from '../constants.js';
import { checkCallback, checkDirFd, checkString, checkUint, prepPathOp, submitPromise, type ResultCallback } from './common.js';

export const RENAME = { NOREPLACE: 1, EXCHANGE: 2, WHITEOUT: 4 } as const;

export function prepRenameat(ring: Ring, oldDirfd: number, oldPath: string, newDirfd: number, newPath: string, cb?: ResultCallback | null, opts?: { flags?: number }): Op {
  checkDirFd('oldDirfd', oldDirfd);
  checkString('oldPath', oldPath);
  checkDirFd('newDirfd', newDirfd);
  checkString('newPath', newPath);
  const flags = opts?.flags === undefined ? 0 : checkUint('flags', opts.flags, 7);
  const op = prepPathOp(ring, OP.RENAMEAT, checkCallback('cb', cb), oldDirfd, oldPath, newPath);
  op.len = newDirfd >>> 0;
  op.opFlags = flags;
  return op;
}

export function renameat(ring: Ring, oldDirfd: number, oldPath: string, newDirfd: number, newPath: string, opts?: { flags?: number }): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepRenameat(ring, oldDirfd, oldPath, newDirfd, newPath, cb, opts));
}
