/**
 * READ, WRITE, READV, WRITEV, READ_FIXED, WRITE_FIXED. Results are byte
 * counts; position -1 means the file's current position (FEAT_RW_CUR_POS).
 * The buffers stay referenced (op.keep) until the final CQE.
 */
import type { Ring } from '../ring.js';
import { Op } from '../op.js';
import { OP, SIZEOF } from '../constants.js';
import { addressOf } from '../memory.js';
import type { RegisteredBuffers } from '../buffers.js';
import {
  checkBytes, checkCallback, checkFd, checkPosition, checkRange, checkUint, holdBlocks, submitPromise,
  type Bytes, type ResultCallback,
} from './common.js';

export interface RwOptions {
  /** byte offset inside the buffer; default 0 */
  offset?: number;
  /** bytes to transfer; default the rest of the buffer */
  length?: number;
  /** RWF_* flags (preadv2/pwritev2), e.g. RWF_NOWAIT = 8 */
  rwFlags?: number;
}

/** Longest iovec array one arena block holds. */
export const MAX_IOVECS = 4096 / SIZEOF.IOVEC;

function prepRw(opcode: number, fd: number, buf: Bytes, position: number, cb: ResultCallback | null | undefined, o: RwOptions | undefined): Op {
  checkFd('fd', fd);
  checkBytes('buf', buf);
  checkPosition('position', position);
  const [off, len] = checkRange(buf.byteLength, o?.offset, o?.length);
  const op = new Op(opcode, checkCallback('cb', cb));
  op.fd = fd;
  op.addr = addressOf(buf) + off;
  op.len = len;
  op.off = position;
  if (o?.rwFlags !== undefined) op.opFlags = checkUint('rwFlags', o.rwFlags);
  op.keep = buf;
  return op;
}

export function prepRead(_ring: Ring, fd: number, buf: Bytes, position: number, cb?: ResultCallback | null, opts?: RwOptions): Op {
  return prepRw(OP.READ, fd, buf, position, cb, opts);
}

export function prepWrite(_ring: Ring, fd: number, buf: Bytes, position: number, cb?: ResultCallback | null, opts?: RwOptions): Op {
  return prepRw(OP.WRITE, fd, buf, position, cb, opts);
}

export function read(ring: Ring, fd: number, buf: Bytes, position: number, opts?: RwOptions): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepRead(ring, fd, buf, position, cb, opts));
}

export function write(ring: Ring, fd: number, buf: Bytes, position: number, opts?: RwOptions): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepWrite(ring, fd, buf, position, cb, opts));
}

function prepVec(opcode: number, ring: Ring, fd: number, bufs: readonly Bytes[], position: number, cb: ResultCallback | null | undefined, rwFlags: number | undefined): Op {
  checkFd('fd', fd);
  if (!Array.isArray(bufs)) throw new TypeError('bufs must be an array of buffers');
  if (bufs.length === 0 || bufs.length > MAX_IOVECS) throw new RangeError(`bufs must hold 1 to ${MAX_IOVECS} buffers`);
  checkPosition('position', position);
  for (const b of bufs) checkBytes('bufs[i]', b);
  const flags = rwFlags === undefined ? 0 : checkUint('rwFlags', rwFlags);
  const callback = checkCallback('cb', cb);
  const block = ring.arena.alloc(bufs.length * SIZEOF.IOVEC);
  writeIovecs(block.buf, 0, bufs);
  const op = new Op(opcode, callback);
  op.fd = fd;
  op.addr = block.addr;
  op.len = bufs.length;
  op.off = position;
  op.opFlags = flags;
  op.keep = bufs.slice();
  holdBlocks(ring, op, [block]);
  return op;
}

/** Writes struct iovec {base u64, len u64} for each buffer at `at`. */
export function writeIovecs(dst: Buffer, at: number, bufs: readonly Bytes[]): void {
  for (let i = 0; i < bufs.length; i++) {
    const b = bufs[i]!;
    const o = at + i * SIZEOF.IOVEC;
    dst.writeUIntLE(b.byteLength ? addressOf(b) : 0, o, 6);
    dst.writeUInt16LE(0, o + 6);
    dst.writeUIntLE(b.byteLength, o + 8, 6);
    dst.writeUInt16LE(0, o + 14);
  }
}

export function prepReadv(ring: Ring, fd: number, bufs: readonly Bytes[], position: number, cb?: ResultCallback | null, opts?: { rwFlags?: number }): Op {
  return prepVec(OP.READV, ring, fd, bufs, position, cb, opts?.rwFlags);
}

export function prepWritev(ring: Ring, fd: number, bufs: readonly Bytes[], position: number, cb?: ResultCallback | null, opts?: { rwFlags?: number }): Op {
  return prepVec(OP.WRITEV, ring, fd, bufs, position, cb, opts?.rwFlags);
}

export function readv(ring: Ring, fd: number, bufs: readonly Bytes[], position: number, opts?: { rwFlags?: number }): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepReadv(ring, fd, bufs, position, cb, opts));
}

export function writev(ring: Ring, fd: number, bufs: readonly Bytes[], position: number, opts?: { rwFlags?: number }): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepWritev(ring, fd, bufs, position, cb, opts));
}

function prepFixed(opcode: number, fd: number, fixed: RegisteredBuffers, index: number, position: number, cb: ResultCallback | null | undefined, o: RwOptions | undefined): Op {
  checkFd('fd', fd);
  if (fixed === null || typeof fixed !== 'object' || typeof fixed.view !== 'function') throw new TypeError('fixed must be a RegisteredBuffers');
  checkUint('index', index, fixed.count - 1);
  checkPosition('position', position);
  const [off, len] = checkRange(fixed.size, o?.offset, o?.length);
  const op = new Op(opcode, checkCallback('cb', cb));
  op.fd = fd;
  op.addr = fixed.address(index) + off;
  op.len = len;
  op.off = position;
  op.bufIndex = index;
  if (o?.rwFlags !== undefined) op.opFlags = checkUint('rwFlags', o.rwFlags);
  return op;
}

/** READ_FIXED into registered buffer `index` (fixed.view(index) then holds the data). */
export function prepReadFixed(_ring: Ring, fd: number, fixed: RegisteredBuffers, index: number, position: number, cb?: ResultCallback | null, opts?: RwOptions): Op {
  return prepFixed(OP.READ_FIXED, fd, fixed, index, position, cb, opts);
}

export function prepWriteFixed(_ring: Ring, fd: number, fixed: RegisteredBuffers, index: number, position: number, cb?: ResultCallback | null, opts?: RwOptions): Op {
  return prepFixed(OP.WRITE_FIXED, fd, fixed, index, position, cb, opts);
}

export function readFixed(ring: Ring, fd: number, fixed: RegisteredBuffers, index: number, position: number, opts?: RwOptions): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepReadFixed(ring, fd, fixed, index, position, cb, opts));
}

export function writeFixed(ring: Ring, fd: number, fixed: RegisteredBuffers, index: number, position: number, opts?: RwOptions): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepWriteFixed(ring, fd, fixed, index, position, cb, opts));
}
