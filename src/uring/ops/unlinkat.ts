/** IORING_OP_UNLINKAT: unlinkat(dirfd, path, flags); AT_REMOVEDIR removes a directory. */
import type { Ring } from '../ring.js';
import type { Op } from '../op.js';
import { AT, OP } from '../constants.js';
import { checkCallback, checkDirFd, checkString, prepPathOp, submitPromise, type ResultCallback } from './common.js';

export function prepUnlinkat(ring: Ring, dirfd: number, path: string, cb?: ResultCallback | null, opts?: { removeDir?: boolean }): Op {
  checkDirFd('dirfd', dirfd);
  checkString('path', path);
  const op = prepPathOp(ring, OP.UNLINKAT, checkCallback('cb', cb), dirfd, path, null);
  if (opts?.removeDir) op.opFlags = AT.REMOVEDIR;
  return op;
}

export function unlinkat(ring: Ring, dirfd: number, path: string, opts?: { removeDir?: boolean }): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepUnlinkat(ring, dirfd, path, cb, opts));
}
