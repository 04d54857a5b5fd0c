/**
 * The VFS layer's front door: handlers get a `Vfs` from here and never know
 * which module serves it (ARCHITECTURE decision 1).
 */
import { createThreadpoolVfs } from './threadpool.js';
import type { Vfs } from './types.js';

export type { OpenOptions, SetTimes, ShareRoot, StatFs, Vfs, VfsDirEntry, VfsFile, VfsKind, VfsStat } from './types.js';
export { relPathError, validateRelPath } from './confine.js';
export { createThreadpoolVfs } from './threadpool.js';

/**
 * kind 'threadpool' always works where the native addon loads. 'uring' and
 * 'auto' take the ring (the EventContext's, whose probe says which ops exist).
 * Environment RINGSMB_VFS=threadpool forces the fallback, as libuv's
 * UV_USE_IO_URING=0 does.
 */
export function createVfs(kind: 'threadpool' | 'uring' | 'auto', ring?: unknown): Vfs {
  if (kind === 'threadpool' || process.env.RINGSMB_VFS === 'threadpool') return createThreadpoolVfs();
  // TODO(vfs/uring): the io_uring module plugs in here. When `ring` is given
  // and its probe has OPENAT2, STATX, READ(_FIXED), WRITE(_FIXED), FSYNC,
  // UNLINKAT, RENAMEAT and MKDIRAT, return createUringVfs(ring) (it reuses
  // confine.ts and linux.ts). 'uring' should then throw when the ring lacks
  // those ops; 'auto' falls back to the threadpool, saying so in one log line.
  void ring;
  return createThreadpoolVfs();
}
