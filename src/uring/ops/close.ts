/** IORING_OP_CLOSE: close(fd) in submission order with the ops before it. */
import type { Ring } from '../ring.js';
import { Op } from '../op.js';
import { OP } from '../constants.js';
import { checkCallback, checkFd, submitPromise, type ResultCallback } from './common.js';

export function prepClose(_ring: Ring, fd: number, cb?: ResultCallback | null): Op {
  checkFd('fd', fd);
  const op = new Op(OP.CLOSE, checkCallback('cb', cb));
  op.fd = fd;
  return op;
}

export function close(ring: Ring, fd: number): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepClose(ring, fd, cb));
}
