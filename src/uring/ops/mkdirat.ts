/** IORING_OP_MKDIRAT: mkdirat(dirfd, path, mode). */
import type { Ring } from '../ring.js';
import type { Op } from '../op.js';
import { OP } from '../constants.js';
import { checkCallback, checkDirFd, checkString, checkUint, prepPathOp, submitPromise, type ResultCallback } from './common.js';

export function prepMkdirat(ring: Ring, dirfd: number, path: string, mode = 0o777, cb?: ResultCallback | null): Op {
  checkDirFd('dirfd', dirfd);
  checkString('path', path);
  checkUint('mode', mode, 0o7777);
  const op = prepPathOp(ring, OP.MKDIRAT, checkCallback('cb', cb), dirfd, path, null);
  op.len = mode;
  return op;
}

export function mkdirat(ring: Ring, dirfd: number, path: string, mode = 0o777): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepMkdirat(ring, dirfd, path, mode, cb));
}
