/**
 * ASYNC_CANCEL: by op (its user_data), by fd (every request on it, 5.19+),
 * or everything in flight. Result: how many were cancelled (by fd / all),
 * 0 for one op; ENOENT when nothing matched, EALREADY when the target was
 * already running and cannot be stopped.
 */
import type { Ring } from '../ring.js';
import { Op } from '../op.js';
import { CANCEL, OP } from '../constants.js';
import { checkCallback, checkFd, checkOp, submitPromise, TargetedOp, type ResultCallback } from './common.js';

export function prepCancel(_ring: Ring, target: Op, cb?: ResultCallback | null): Op {
  checkOp('target', target);
  return new TargetedOp(OP.ASYNC_CANCEL, checkCallback('cb', cb), target);
}

export function prepCancelFd(_ring: Ring, fd: number, cb?: ResultCallback | null): Op {
  checkFd('fd', fd);
  const op = new Op(OP.ASYNC_CANCEL, checkCallback('cb', cb));
  op.fd = fd;
  op.opFlags = CANCEL.FD | CANCEL.ALL;
  return op;
}

export function prepCancelAll(_ring: Ring, cb?: ResultCallback | null): Op {
  const op = new Op(OP.ASYNC_CANCEL, checkCallback('cb', cb));
  op.opFlags = CANCEL.ANY | CANCEL.ALL;
  return op;
}

export function cancel(ring: Ring, target: Op): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepCancel(ring, target, cb));
}

export function cancelFd(ring: Ring, fd: number): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepCancelFd(ring, fd, cb));
}

export function cancelAll(ring: Ring): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepCancelAll(ring, cb));
}
