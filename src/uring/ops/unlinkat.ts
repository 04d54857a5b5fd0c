/** IORING_OP_UNLINKAT: unlinkat(dirfd, path, flags); AT_REMOVEDIR removes a directory. */
import type { Ring } from '../ring.js';
import { Op } from '../op.js';
import { AT, OP } from '../constants.js';
import { checkCallback, checkDirFd, checkString, holdBlocks, submitPromise, type ResultCallback } from './common.js';

export function prepUnlinkat(ring: Ring, dirfd: number, path: string, cb?: ResultCallback | null, opts?: { removeDir?: boolean }): Op {
  checkDirFd('dirfd', dirfd);
  checkString('path', path);
  const callback = checkCallback('cb', cb);
  const p = ring.arena.path(path);
  const op = new Op(OP.UNLINKAT, callback);
  op.fd = dirfd;
  op.addr = p.addr;
  if (opts?.removeDir) op.opFlags = AT.REMOVEDIR;
  holdBlocks(ring, op, [p]);
  return op;
}

export function unlinkat(ring: Ring, dirfd: number, path: string, opts?: { removeDir?: boolean }): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepUnlinkat(ring, dirfd, path, cb, opts));
}
