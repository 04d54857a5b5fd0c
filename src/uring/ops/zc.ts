/**
 * SEND_ZC and SENDMSG_ZC (6.0/6.1+): the kernel sends from the caller's
 * pages. Two CQEs: the result (bytes or error; CQE_F_MORE when a
 * notification follows), then the notification (CQE_F_NOTIF) when the
 * kernel no longer reads the buffer. The Op keeps the buffer referenced
 * until that notification; the caller must not reuse it before then either.
 */
import type { Ring } from '../ring.js';
import { Op } from '../op.js';
import { CQE, NOTIF_USAGE_ZC_COPIED, OP, SEND_ZC_REPORT_USAGE } from '../constants.js';
import { addressOf } from '../memory.js';
import type { SystemError } from '../../util/errors.js';
import {
  checkBytes, checkCallback, checkFd, checkRange, checkUint, holdBlocks, submitPromise, type Bytes,
} from './common.js';
import { msghdrBlock } from './msg.js';

/**
 * notif false: the send's result (res = bytes; `more` says a notification
 * follows). notif true: the buffer is released; with reportUsage, `copied`
 * says the kernel fell back to copying (as on loopback).
 */
export type ZcCallback = (err: SystemError | null, res: number, notif: boolean, more: boolean, copied: boolean) => void;

export interface ZcOptions {
  /** MSG_* flags */
  flags?: number;
  offset?: number;
  length?: number;
  /** IORING_SEND_ZC_REPORT_USAGE: the notification tells whether data was copied */
  reportUsage?: boolean;
}

function wrap(cb: ZcCallback): (err: SystemError | null, res: number, flags: number) => void {
  return (err, res, flags) => {
    if (flags & CQE.F_NOTIF) {
      // With REPORT_USAGE the notification's res has bit 31 set when copied: not an error.
      cb(null, res >>> 0, true, false, ((res >>> 0) & NOTIF_USAGE_ZC_COPIED) !== 0);
    } else {
      cb(err, res, false, (flags & CQE.F_MORE) !== 0, false);
    }
  };
}

export function prepSendZc(_ring: Ring, fd: number, buf: Bytes, cb: ZcCallback, opts?: ZcOptions): Op {
  checkFd('fd', fd);
  checkBytes('buf', buf);
  const [off, len] = checkRange(buf.byteLength, opts?.offset, opts?.length);
  const flags = opts?.flags === undefined ? 0 : checkUint('flags', opts.flags);
  const callback = checkCallback('cb', cb);
  if (!callback) throw new TypeError('cb is required for a zero-copy send (it sees the notification)');
  const op = new Op(OP.SEND_ZC, wrap(callback));
  op.fd = fd;
  op.addr = len ? addressOf(buf) + off : 0;
  op.len = len;
  op.opFlags = flags;
  if (opts?.reportUsage) op.ioprio = SEND_ZC_REPORT_USAGE;
  op.keep = buf;
  return op;
}

export function prepSendmsgZc(ring: Ring, fd: number, bufs: readonly Bytes[], cb: ZcCallback, opts?: { flags?: number; reportUsage?: boolean }): Op {
  checkFd('fd', fd);
  const flags = opts?.flags === undefined ? 0 : checkUint('flags', opts.flags);
  const callback = checkCallback('cb', cb);
  if (!callback) throw new TypeError('cb is required for a zero-copy send (it sees the notification)');
  const block = msghdrBlock(ring, bufs);
  const op = new Op(OP.SENDMSG_ZC, wrap(callback));
  op.fd = fd;
  op.addr = block.addr;
  op.len = 1;
  op.opFlags = flags;
  if (opts?.reportUsage) op.ioprio = SEND_ZC_REPORT_USAGE;
  op.keep = bufs.slice();
  holdBlocks(ring, op, [block]);
  return op;
}

/** Resolves with the bytes sent once the notification says the buffer is free again. */
function settleAtNotif(cb: (err: SystemError | null, v: number) => void): ZcCallback {
  let sent = 0;
  let failure: SystemError | null = null;
  return (err, res, notif, more) => {
    if (!notif) {
      if (err) failure = err;
      else sent = res;
      if (!more) cb(failure, sent);
    } else cb(failure, sent);
  };
}

export function sendZc(ring: Ring, fd: number, buf: Bytes, opts?: ZcOptions): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepSendZc(ring, fd, buf, settleAtNotif(cb), opts));
}

export function sendmsgZc(ring: Ring, fd: number, bufs: readonly Bytes[], opts?: { flags?: number }): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepSendmsgZc(ring, fd, bufs, settleAtNotif(cb), opts));
}
