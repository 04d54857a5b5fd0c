/** IORING_OP_SYMLINKAT: symlinkat(target, newdirfd, linkpath). */
import type { Ring } from '../ring.js';
import { Op } from '../op.js';
import { OP } from '../constants.js';
import { checkCallback, checkDirFd, checkString, holdBlocks, submitPromise, type ResultCallback } from './common.js';

export function prepSymlinkat(ring: Ring, target: string, newDirfd: number, linkPath: string, cb?: ResultCallback | null): Op {
  checkString('target', target);
  checkDirFd('newDirfd', newDirfd);
  checkString('linkPath', linkPath);
  const callback = checkCallback('cb', cb);
  const t = ring.arena.path(target);
  const l = ring.arena.path(linkPath);
  const op = new Op(OP.SYMLINKAT, callback);
  op.fd = newDirfd;
  op.addr = t.addr;
  op.off = l.addr;
  holdBlocks(ring, op, [t, l]);
  return op;
}

export function symlinkat(ring: Ring, target: string, newDirfd: number, linkPath: string): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepSymlinkat(ring, target, newDirfd, linkPath, cb));
}
