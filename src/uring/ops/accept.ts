/**
 * IORING_OP_ACCEPT, one-shot or multishot (5.19+: one SQE, one CQE per
 * connection, CQE_F_MORE while it stays armed). New fds are close-on-exec.
 */
import type { Ring } from '../ring.js';
import { Op } from '../op.js';
import { ACCEPT_MULTISHOT, OP } from '../constants.js';
import { checkCallback, checkFd, checkUint, multishot, submitPromise, type MultishotCallback, type ResultCallback } from './common.js';
import { SOCK } from './socket.js';

/** fd of the accepted connection; `more` false means the multishot accept ended. */
export type AcceptMultiCallback = MultishotCallback;

export interface AcceptOptions {
  /** accept4 flags besides SOCK_CLOEXEC (always set), e.g. SOCK_NONBLOCK */
  flags?: number;
}

export function prepAccept(_ring: Ring, fd: number, cb?: ResultCallback | null, opts?: AcceptOptions): Op {
  checkFd('fd', fd);
  const flags = opts?.flags === undefined ? 0 : checkUint('flags', opts.flags);
  const op = new Op(OP.ACCEPT, checkCallback('cb', cb));
  op.fd = fd;
  op.opFlags = (flags | SOCK.CLOEXEC) >>> 0;
  return op;
}

export function prepAcceptMultishot(ring: Ring, fd: number, cb: AcceptMultiCallback, opts?: AcceptOptions): Op {
  const callback = checkCallback('cb', cb);
  if (!callback) throw new TypeError('cb is required for a multishot accept');
  const op = prepAccept(ring, fd, null, opts);
  op.ioprio = ACCEPT_MULTISHOT;
  op.cb = multishot(callback);
  return op;
}

export function accept(ring: Ring, fd: number, opts?: AcceptOptions): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepAccept(ring, fd, cb, opts));
}
