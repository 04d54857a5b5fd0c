/**
 * Linux numbers and the struct statx decoder, shared by every VFS module
 * (the uring module decodes the same 256 bytes from its STATX completions).
 */
import { constants as fsc } from 'node:fs';
import type { VfsStat } from './types.js';

// Native sys op numbers (native/src/sys.c).
export const SysOp = {
  openat2: 0, unlinkat: 1, renameat2: 2, mkdirat: 3, symlinkat: 4, linkat: 5, statx: 6,
  fgetxattr: 7, fsetxattr: 8, flistxattr: 9, fremovexattr: 10, fallocate: 11,
  readlinkat: 12, fsync: 13, ftruncate: 14,
} as const;
export type SysOpName = keyof typeof SysOp;

// openat2 resolve flags (linux/openat2.h).
export const RESOLVE_NO_XDEV = 0x01;
export const RESOLVE_NO_MAGICLINKS = 0x02;
export const RESOLVE_NO_SYMLINKS = 0x04;
export const RESOLVE_BENEATH = 0x08;

// Open flags: take the arch-dependent ones from Node (O_DIRECTORY and
// O_NOFOLLOW differ between x86 and arm64); O_PATH/O_CLOEXEC are the same
// on every Linux arch Node supports and Node does not export them.
export const O_RDONLY = fsc.O_RDONLY;
export const O_WRONLY = fsc.O_WRONLY;
export const O_RDWR = fsc.O_RDWR;
export const O_CREAT = fsc.O_CREAT;
export const O_EXCL = fsc.O_EXCL;
export const O_TRUNC = fsc.O_TRUNC;
export const O_NOCTTY = fsc.O_NOCTTY;
export const O_NONBLOCK = fsc.O_NONBLOCK;
export const O_DIRECTORY = fsc.O_DIRECTORY;
export const O_NOFOLLOW = fsc.O_NOFOLLOW;
export const O_CLOEXEC = 0o2000000;
export const O_PATH = 0o10000000;

export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_REMOVEDIR = 0x200;
export const AT_EMPTY_PATH = 0x1000;

export const RENAME_NOREPLACE = 1;
export const FALLOC_FL_KEEP_SIZE = 1;
export const XATTR_CREATE = 1;
export const XATTR_REPLACE = 2;

export const STATX_BASIC_STATS = 0x7ff;
export const STATX_BTIME = 0x800;
export const STATX_SIZE = 256;

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

function tsNs(b: Buffer, off: number): bigint {
  return b.readBigInt64LE(off) * 1_000_000_000n + BigInt(b.readUInt32LE(off + 8));
}

/** glibc's makedev(), so `dev` equals what fs.stat reports. */
function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

/** Decodes struct statx (include/uapi/linux/stat.h). */
export function decodeStatx(b: Buffer): VfsStat {
  const mask = b.readUInt32LE(0);
  const mode = b.readUInt16LE(28);
  const type = mode & S_IFMT;
  return {
    size: b.readBigUInt64LE(40),
    allocSize: b.readBigUInt64LE(48) * 512n,
    isFile: type === S_IFREG,
    isDirectory: type === S_IFDIR,
    isSymlink: type === S_IFLNK,
    mode,
    nlink: b.readUInt32LE(16),
    uid: b.readUInt32LE(20),
    gid: b.readUInt32LE(24),
    ino: b.readBigUInt64LE(32),
    dev: makedev(b.readUInt32LE(136), b.readUInt32LE(140)),
    atimeNs: tsNs(b, 64),
    birthtimeNs: mask & STATX_BTIME ? tsNs(b, 80) : null,
    ctimeNs: tsNs(b, 96),
    mtimeNs: tsNs(b, 112),
  };
}
