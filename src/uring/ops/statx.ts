/** IORING_OP_STATX, parsed into a plain object (times as bigint ns since the epoch). */
import type { Ring } from '../ring.js';
import type { Op } from '../op.js';
import { AT, OP, SIZEOF } from '../constants.js';
import type { SystemError } from '../../util/errors.js';
import { checkCallback, checkDirFd, checkString, checkUint, prepPathOp, submitPromise } from './common.js';

export const STATX = {
  TYPE: 0x1, MODE: 0x2, NLINK: 0x4, UID: 0x8, GID: 0x10, ATIME: 0x20, MTIME: 0x40, CTIME: 0x80,
  INO: 0x100, SIZE: 0x200, BLOCKS: 0x400, BASIC_STATS: 0x7ff, BTIME: 0x800, MNT_ID: 0x1000, ALL: 0xfff,
} as const;

export interface Statx {
  /** STATX_* bits the kernel filled in */
  mask: number;
  blksize: number;
  attributes: bigint;
  attributesMask: bigint;
  nlink: number;
  uid: number;
  gid: number;
  mode: number;
  ino: bigint;
  size: number;
  /** 512-byte blocks */
  blocks: number;
  atime: bigint;
  btime: bigint;
  ctime: bigint;
  mtime: bigint;
  rdev: number;
  dev: number;
  mntId: bigint;
}

export type StatxCallback = (err: SystemError | null, st: Statx | null) => void;

export interface StatxOptions {
  /** AT_* flags: AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH (with path '' to stat dirfd itself) */
  flags?: number;
  /** STATX_* fields wanted; default BASIC_STATS | BTIME */
  mask?: number;
}

function ts(b: Buffer, o: number): bigint {
  return b.readBigInt64LE(o) * 1000000000n + BigInt(b.readUInt32LE(o + 8));
}

/**
 * glibc's makedev(), as Node reports st_dev: ((major & ~0xfff) << 32) |
 * ((major & 0xfff) << 8) | ((minor & ~0xff) << 12) | (minor & 0xff).
 */
function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

/** struct statx exactly as the kernel wrote it: 64-bit fields and device numbers as bigint. */
export interface StatxExact extends Omit<Statx, 'size' | 'blocks' | 'rdev' | 'dev'> {
  size: bigint;
  blocks: bigint;
  rdev: bigint;
  dev: bigint;
}

/**
 * Decodes struct statx (include/uapi/linux/stat.h). The only decoder of
 * these 256 bytes in the project: the VFS modules map its result to VfsStat.
 */
export function decodeStatx(b: Buffer): StatxExact {
  return {
    mask: b.readUInt32LE(0),
    blksize: b.readUInt32LE(4),
    attributes: b.readBigUInt64LE(8),
    nlink: b.readUInt32LE(16),
    uid: b.readUInt32LE(20),
    gid: b.readUInt32LE(24),
    mode: b.readUInt16LE(28),
    ino: b.readBigUInt64LE(32),
    size: b.readBigUInt64LE(40),
    blocks: b.readBigUInt64LE(48),
    attributesMask: b.readBigUInt64LE(56),
    atime: ts(b, 64),
    btime: ts(b, 80),
    ctime: ts(b, 96),
    mtime: ts(b, 112),
    rdev: makedev(b.readUInt32LE(128), b.readUInt32LE(132)),
    dev: makedev(b.readUInt32LE(136), b.readUInt32LE(140)),
    mntId: b.readBigUInt64LE(144),
  };
}

/**
 * decodeStatx with sizes and device numbers as plain numbers (exact up to
 * 2^53: Linux majors fit 12 bits, so dev always is; a sparse file's size
 * may not be, which is why the VFS takes decodeStatx).
 */
export function parseStatx(b: Buffer): Statx {
  const x = decodeStatx(b);
  return { ...x, size: Number(x.size), blocks: Number(x.blocks), rdev: Number(x.rdev), dev: Number(x.dev) };
}

export function prepStatx(ring: Ring, dirfd: number, path: string, cb: StatxCallback, opts?: StatxOptions): Op {
  return prepStatxWith(ring, dirfd, path, parseStatx, cb, opts);
}

/** prepStatx with the decoder of your choice (decodeStatx for exact sizes). */
export function prepStatxWith<T>(ring: Ring, dirfd: number, path: string, decode: (b: Buffer) => T,
  cb: (err: SystemError | null, st: T | null) => void, opts?: StatxOptions): Op {
  checkDirFd('dirfd', dirfd);
  checkString('path', path);
  const flags = opts?.flags === undefined ? 0 : checkUint('flags', opts.flags);
  const mask = opts?.mask === undefined ? STATX.BASIC_STATS | STATX.BTIME : checkUint('mask', opts.mask);
  const callback = checkCallback('cb', cb);
  if (!callback) throw new TypeError('cb is required for statx (it receives the result)');
  if (path === '' && (flags & AT.EMPTY_PATH) === 0) throw new RangeError("an empty path needs AT_EMPTY_PATH in flags");
  const op = prepPathOp(ring, OP.STATX, null, dirfd, path, null, SIZEOF.STATX);
  const out = op.blocks![1]!.buf;
  // The block goes back to the arena just before this runs (Op.complete);
  // nothing can take it again before the decode, which comes first.
  op.cb = (err) => callback(err, err ? null : decode(out));
  op.len = mask;
  op.opFlags = flags;
  return op;
}

export function statx(ring: Ring, dirfd: number, path: string, opts?: StatxOptions): Promise<Statx> {
  return submitPromise<Statx>(ring, (cb) => prepStatx(ring, dirfd, path, cb as StatxCallback, opts));
}

/** statx of an open fd (AT_EMPTY_PATH). */
export function fstatx(ring: Ring, fd: number, opts?: { mask?: number }): Promise<Statx> {
  return statx(ring, fd, '', { flags: AT.EMPTY_PATH, mask: opts?.mask });
}
