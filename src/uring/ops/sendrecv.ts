/**
 * SEND and RECV on a connected socket, and multishot RECV (6.0+) that takes
 * its buffers from a provided buffer ring: one SQE, one CQE per arrival,
 * the data read in place from the BufRing until the caller recycles it.
 */
import type { Ring } from '../ring.js';
import { Op } from '../op.js';
import { CQE, OP, RECV_MULTISHOT, SQE } from '../constants.js';
import { addressOf } from '../memory.js';
import type { BufRing } from '../buffers.js';
import type { SystemError } from '../../util/errors.js';
import {
  checkBytes, checkCallback, checkFd, checkRange, checkUint, submitPromise, type Bytes, type ResultCallback,
} from './common.js';

export interface SendRecvOptions {
  /** MSG_* flags (MSG_WAITALL, MSG_MORE, MSG_DONTWAIT, ...) */
  flags?: number;
  offset?: number;
  length?: number;
}

/**
 * One multishot RECV completion. `bid` is the BufRing buffer holding the
 * `len` bytes seen through `view` (no copy; call bufRing.recycle(bid) once
 * consumed), -1 when no buffer was used (end of stream: len 0). `more`
 * false means the RECV is no longer armed (EOF, error, or ENOBUFS when the
 * ring ran out of buffers: then recycle and submit again).
 */
export type RecvMultiCallback = (err: SystemError | null, bid: number, len: number, more: boolean, view: Buffer | null) => void;

function prepSR(opcode: number, fd: number, buf: Bytes, cb: ResultCallback | null | undefined, o: SendRecvOptions | undefined): Op {
  checkFd('fd', fd);
  checkBytes('buf', buf);
  const [off, len] = checkRange(buf.byteLength, o?.offset, o?.length);
  const flags = o?.flags === undefined ? 0 : checkUint('flags', o.flags);
  const op = new Op(opcode, checkCallback('cb', cb));
  op.fd = fd;
  op.addr = len ? addressOf(buf) + off : 0;
  op.len = len;
  op.opFlags = flags;
  op.keep = buf;
  return op;
}

export function prepSend(_ring: Ring, fd: number, buf: Bytes, cb?: ResultCallback | null, opts?: SendRecvOptions): Op {
  return prepSR(OP.SEND, fd, buf, cb, opts);
}

export function prepRecv(_ring: Ring, fd: number, buf: Bytes, cb?: ResultCallback | null, opts?: SendRecvOptions): Op {
  return prepSR(OP.RECV, fd, buf, cb, opts);
}

export function send(ring: Ring, fd: number, buf: Bytes, opts?: SendRecvOptions): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepSend(ring, fd, buf, cb, opts));
}

export function recv(ring: Ring, fd: number, buf: Bytes, opts?: SendRecvOptions): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepRecv(ring, fd, buf, cb, opts));
}

export function prepRecvMultishot(ring: Ring, fd: number, bufRing: BufRing, cb: RecvMultiCallback, opts?: { flags?: number }): Op {
  return prepRecvSelect(ring, fd, bufRing, cb, opts, true);
}

/**
 * One RECV whose buffer the kernel picks from `bufRing` when data is there
 * (IOSQE_BUFFER_SELECT): a socket waiting for data holds no buffer. The
 * callback gets the buffer as with multishot; `more` is always false.
 */
export function prepRecvOnce(ring: Ring, fd: number, bufRing: BufRing, cb: RecvMultiCallback, opts?: { flags?: number }): Op {
  return prepRecvSelect(ring, fd, bufRing, cb, opts, false);
}

function prepRecvSelect(_ring: Ring, fd: number, bufRing: BufRing, cb: RecvMultiCallback, opts: { flags?: number } | undefined, multishot: boolean): Op {
  checkFd('fd', fd);
  if (bufRing === null || typeof bufRing !== 'object' || typeof bufRing.recycle !== 'function') throw new TypeError('bufRing must be a BufRing');
  const callback = checkCallback('cb', cb);
  if (!callback) throw new TypeError('cb is required for a recv from a buffer ring');
  const flags = opts?.flags === undefined ? 0 : checkUint('flags', opts.flags);
  const op = new Op(OP.RECV, (err, res, cflags) => {
    const more = (cflags & CQE.F_MORE) !== 0;
    if ((cflags & CQE.F_BUFFER) === 0) return callback(err, -1, err ? 0 : res, more, null);
    const bid = cflags >>> CQE.BUFFER_SHIFT;
    callback(err, bid, res, more, err ? null : bufRing.view(bid, res));
  });
  op.fd = fd;
  if (multishot) op.ioprio = RECV_MULTISHOT;
  else op.len = bufRing.size;
  op.flags = SQE.BUFFER_SELECT;
  op.bufIndex = bufRing.bgid;
  op.opFlags = flags;
  op.keep = bufRing;
  return op;
}
