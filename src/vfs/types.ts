/**
 * The VFS contract: the only way server handlers reach files.
 *
 * Two modules implement it: `threadpool` (native path syscalls on libuv's
 * threadpool, Node fs for fd I/O) and `uring` (OPENAT2, STATX,
 * READ/WRITE(_FIXED), FSYNC, UNLINKAT, RENAMEAT, MKDIRAT ... on the ring;
 * see uring.ts for what stays on the threadpool). Both run share.ts.
 * Callers cannot tell them apart (ARCHITECTURE decision 1).
 *
 * Rules every implementation keeps:
 * - Everything is async and handle-based: a share root is a directory fd,
 *   an open file is an fd; names are resolved only beneath the root fd with
 *   openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) (decision 6).
 * - Failures reject with `SystemError` (errno + code). errno -> NTSTATUS is
 *   mapped in one place in server/, never here.
 * - `rel` is a share-relative path with '/' separators, '' meaning the root,
 *   already converted from SMB form by the caller; see confine.ts for what is
 *   refused (EINVAL: absolute, empty or '.' components, NUL; EACCES: '..').
 * - Programmer errors (truncate without write, bad numbers) throw TypeError /
 *   RangeError synchronously-in-the-promise; they are bugs, not NTSTATUS.
 */

import type { InlineLevel } from './inline.js';

export type VfsKind = 'threadpool' | 'uring';

export interface Vfs {
  readonly name: VfsKind;
  /** Why this module serves, in one line for the start-up log
   * (e.g. 'io_uring lacks OPENAT2, STATX'). */
  readonly reason: string;
  /** Opens the share's root directory (trusted configuration: symlinks in
   * rootPath itself are followed). Which calls run inline is chosen from
   * the root's filesystem (vfs/inline.ts) unless opts.inline says. */
  openShare(rootPath: string, opts?: ShareOptions): Promise<ShareRoot>;
}

/** lstat-like facts about one file, from statx(2). Times are ns since the epoch. */
export interface VfsStat {
  size: bigint;
  /** stx_blocks * 512: bytes actually allocated (SMB AllocationSize). */
  allocSize: bigint;
  isFile: boolean;
  isDirectory: boolean;
  isSymlink: boolean;
  /** st_mode, type bits included. */
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  ino: bigint;
  /** makedev(major, minor), the same number Node's fs.stat gives. */
  dev: bigint;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  /** null when the filesystem does not report a birth time (STATX_BTIME unset). */
  birthtimeNs: bigint | null;
}

export interface VfsDirEntry {
  name: string;
  /** Of the entry itself (symlinks are not followed). */
  stat: VfsStat;
  /**
   * With readdir({ xattr }): that attribute of the entry itself (not
   * followed), null when it has none, cannot have one, or its value is
   * longer than 256 bytes (linux.ts STATX_BATCH_XATTR_MAX).
   */
  xattr?: Buffer | null;
}

export interface OpenOptions {
  /** Data access. Directories are always opened read-only whatever these say:
   * SMB "write" access to a directory is about attributes, not data. */
  read: boolean;
  write: boolean;
  /** 'never' (default): must exist. 'always': open or create (the result's
   * `created` tells which). 'exclusive': must not exist (EEXIST). */
  create?: 'never' | 'always' | 'exclusive';
  /** O_TRUNC; requires write. Ignored for a file just created. */
  truncate?: boolean;
  /** 'must': a directory (created with mkdir when `create` asks);
   * 'mustNot': EISDIR on a directory; 'any' (default). */
  directory?: 'must' | 'mustNot' | 'any';
  /** Permission bits for a new file/directory (default 0o666 / 0o777, less umask). */
  mode?: number;
  /** Default true. false: no symlink anywhere in the path is followed (ELOOP). */
  followSymlinks?: boolean;
  /**
   * Extended attributes to read right away, beside the statx every open
   * does (all requests in flight at once instead of one after the other);
   * the caller takes each with VfsFile.takeXattrAtOpen().
   */
  prefetchXattr?: string | readonly string[];
}

export interface SetTimes {
  atimeNs?: bigint;
  mtimeNs?: bigint;
}

export interface StatFs {
  blockSize: number;
  totalBlocks: bigint;
  freeBlocks: bigint;
  availBlocks: bigint;
}

export interface ShareOptions {
  /** overrides the filesystem's choice (and RINGSMB_INLINE_META) */
  inline?: InlineLevel;
}

/** The filesystem a share lives on, and which of its calls run inline (vfs/inline.ts). */
export interface ShareMetadata {
  /** 'tmpfs', 'ext4', ... or 'fs type 0x...' */
  readonly fs: string;
  readonly inline: InlineLevel;
  /** set by RINGSMB_INLINE_META rather than by the filesystem */
  readonly forced: boolean;
  /** filesystems mounted beneath the root when the share was opened; `inline` is the lowest level of all */
  readonly nested: readonly { readonly path: string; readonly fs: string; readonly inline: InlineLevel }[];
}

export interface ShareRoot {
  readonly rootPath: string;
  readonly metadata: ShareMetadata;
  open(rel: string, opts: OpenOptions): Promise<VfsFile>;
  /** follow defaults to false (lstat), as SMB clients see links as reparse points. */
  stat(rel: string, opts?: { follow?: boolean }): Promise<VfsStat>;
  mkdir(rel: string, mode?: number): Promise<void>;
  /** Files and symlinks; EISDIR for a directory. */
  unlink(rel: string): Promise<void>;
  /** Empty directories only (ENOTEMPTY, ENOTDIR). */
  rmdir(rel: string): Promise<void>;
  /** replace=false fails with EEXIST when toRel exists (RENAME_NOREPLACE). */
  rename(fromRel: string, toRel: string, opts: { replace: boolean }): Promise<void>;
  /** Creates linkRel containing `target` verbatim. A target pointing outside is
   * stored but can never be followed through the VFS (resolution is beneath). */
  symlink(target: string, linkRel: string): Promise<void>;
  readlink(rel: string): Promise<string>;
  /** Hard link; a symlink at fromRel is linked itself, not followed. */
  link(fromRel: string, toRel: string): Promise<void>;
  statfs(): Promise<StatFs>;
  /**
   * Where a directory or file opened beneath the root is now, as a path below
   * it ('' for the root itself; symlinks it was opened through resolved), or
   * null when it is not beneath the root or the system cannot say.
   */
  relOf(fd: number): string | null;
  /** Closes the root fd. Open VfsFiles stay valid; path ops then fail EBADF. */
  close(): Promise<void>;
}

export interface VfsFile {
  /** For the data path (SPLICE, READ_FIXED): valid until close() is called. */
  readonly fd: number;
  readonly isDirectory: boolean;
  /** True when this open created the file (SMB CreateAction FILE_CREATED). */
  readonly created: boolean;
  /** statx taken right after open, for the CREATE response. */
  readonly statAtOpen: VfsStat;
  /**
   * The attribute OpenOptions.prefetchXattr named, as getXattr() would have
   * answered at open (it throws what getXattr would have thrown), once:
   * later calls, another name, or a set/remove since give undefined.
   */
  takeXattrAtOpen(name: string): Buffer | null | undefined;
  /** Bytes read; 0 at end of file. pos is an absolute offset (pread). */
  read(buf: Buffer, bufOff: number, len: number, pos: number | bigint): Promise<number>;
  /** Bytes written (may be short); pwrite at pos. */
  write(buf: Buffer, bufOff: number, len: number, pos: number | bigint): Promise<number>;
  stat(): Promise<VfsStat>;
  truncate(len: number | bigint): Promise<void>;
  /** Reserves space up to len bytes; keepSize (default true) leaves the end of
   * file alone (FALLOC_FL_KEEP_SIZE), as SMB AllocationSize asks. */
  allocate(len: number | bigint, opts?: { keepSize?: boolean }): Promise<void>;
  /** Deallocates [offset, offset+length) so it reads as zeros, never changing the
   * end of file (fallocate PUNCH_HOLE | KEEP_SIZE). EOPNOTSUPP where the
   * filesystem cannot; callers then write zeros. length 0 does nothing. */
  punchHole(offset: number | bigint, length: number | bigint): Promise<void>;
  sync(dataOnly?: boolean): Promise<void>;
  /** A time left out keeps its value. Precision is what futimes(2) through a
   * double gives (about a microsecond today), see threadpool.ts. */
  setTimes(t: SetTimes): Promise<void>;
  /** fchmod(2): the permission bits (0o7777) of the file. */
  setMode(mode: number): Promise<void>;
  /** Directories only (ENOTDIR): every entry but . and .., with lstat facts
   * and, with opts.xattr, that extended attribute of each entry.
   * Names that are not valid UTF-8 are left out (SMB cannot name them). */
  readdir(opts?: { xattr?: string }): Promise<VfsDirEntry[]>;
  /** Directories only (ENOTDIR): the names of readdir without their stat (no call per entry),
   * valid UTF-8 only, in the directory's order. */
  readdirNames(): Promise<string[]>;
  /** null when the attribute does not exist (ENODATA). */
  getXattr(name: string): Promise<Buffer | null>;
  setXattr(name: string, value: Buffer, opts?: { create?: boolean; replace?: boolean }): Promise<void>;
  removeXattr(name: string): Promise<void>;
  listXattr(): Promise<string[]>;
  /**
   * Keeps `fd` open for a use outside these methods (a splice the transport
   * runs later) until the returned function is called; close() waits for it
   * as for an operation in flight. Throws EBADF once close() was called.
   */
  hold(): () => void;
  /** Waits for operations in flight, then closes; later calls fail EBADF. Idempotent. */
  close(): Promise<void>;
}
