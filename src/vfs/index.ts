/**
 * The VFS layer's front door: handlers get a `Vfs` from here and never know
 * which module serves it (ARCHITECTURE decision 1).
 */
import type { Ring } from '../uring/ring.js';
import { createThreadpoolVfs } from './threadpool.js';
import type { Vfs } from './types.js';
import { createUringVfs, uringVfsUnusable } from './uring.js';

export type { OpenOptions, SetTimes, ShareMetadata, ShareOptions, ShareRoot, StatFs, Vfs, VfsDirEntry, VfsFile, VfsKind, VfsStat } from './types.js';
export { relPathError, validateRelPath } from './confine.js';
export { createThreadpoolVfs } from './threadpool.js';
export { createUringVfs, missingUringOps, uringVfsUnusable, UringFile, URING_VFS_OPS, type Advice, type UringVfs } from './uring.js';

/**
 * 'threadpool' always works where the native addon loads. 'uring' takes the
 * ring (the EventContext's, whose probe says which ops exist) and throws
 * when it is missing or lacks an op. 'auto' takes uring when it can, else
 * the threadpool; vfs.reason says why, for the start-up log line.
 * Environment RINGSMB_VFS=threadpool makes 'auto' take the threadpool, as
 * libuv's UV_USE_IO_URING=0 does.
 */
export function createVfs(kind: 'threadpool' | 'uring' | 'auto', ring?: Ring | null): Vfs {
  if (kind === 'threadpool') return createThreadpoolVfs();
  const unusable = uringVfsUnusable(ring);
  if (kind === 'uring') {
    if (unusable) throw new Error(`vfs uring: ${unusable}`);
    return createUringVfs(ring!);
  }
  if (process.env.RINGSMB_VFS === 'threadpool') return createThreadpoolVfs('RINGSMB_VFS=threadpool');
  if (unusable) return createThreadpoolVfs(unusable);
  return createUringVfs(ring!, 'the ring has every op it needs');
}
