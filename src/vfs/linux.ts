/**
 * Linux numbers shared by every VFS module, and struct statx as a VfsStat
 * (the bytes are decoded by uring/ops/statx.ts, for both modules).
 */
import { constants as fsc } from 'node:fs';
import { decodeStatx, type StatxExact } from '../uring/ops/statx.js';
import type { VfsStat } from './types.js';

// Native sys op numbers (native/src/sys.c).
export const SysOp = {
  openat2: 0, unlinkat: 1, renameat2: 2, mkdirat: 3, symlinkat: 4, linkat: 5, statx: 6,
  fgetxattr: 7, fsetxattr: 8, flistxattr: 9, fremovexattr: 10, fallocate: 11,
  readlinkat: 12, fsync: 13, ftruncate: 14, statxbatch: 15,
} as const;
/** statxbatch: the longest xattr value it returns (native/src/sys.c BATCH_XATTR_MAX) */
export const STATX_BATCH_XATTR_MAX = 256;
/** statxbatch: one record per name (BATCH_RECORD): struct statx, two i64 results, the xattr value */
export const STATX_BATCH_RECORD = 256 + 16 + STATX_BATCH_XATTR_MAX;
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
export const FALLOC_FL_PUNCH_HOLE = 2;
export const XATTR_CREATE = 1;
export const XATTR_REPLACE = 2;

export const STATX_BASIC_STATS = 0x7ff;
export const STATX_BTIME = 0x800;
export const STATX_SIZE = 256;

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

/** VfsStat of a decoded struct statx (decoded once, in uring/ops/statx.ts). */
export function vfsStatOf(x: StatxExact): VfsStat {
  const type = x.mode & S_IFMT;
  return {
    size: x.size,
    allocSize: x.blocks * 512n,
    isFile: type === S_IFREG,
    isDirectory: type === S_IFDIR,
    isSymlink: type === S_IFLNK,
    mode: x.mode,
    nlink: x.nlink,
    uid: x.uid,
    gid: x.gid,
    ino: x.ino,
    dev: x.dev,
    atimeNs: x.atime,
    birthtimeNs: x.mask & STATX_BTIME ? x.btime : null,
    ctimeNs: x.ctime,
    mtimeNs: x.mtime,
  };
}

/** VfsStat of the 256 bytes of a struct statx. */
export function decodeVfsStat(b: Buffer): VfsStat {
  return vfsStatOf(decodeStatx(b));
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A name the kernel gave (getdents, inotify), or null where it is not UTF-8 (SMB cannot name it). */
export function decodeName(bytes: Uint8Array): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}
