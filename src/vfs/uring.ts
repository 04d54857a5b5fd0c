/**
 * The io_uring VFS (seed 000's vfs_io_uring, taken further): the same
 * ShareRoot and open logic as the threadpool module (share.ts), with the
 * syscalls as ops on the EventContext's ring.
 *
 * On the ring: OPENAT2 (RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS, through
 * confine.ts), STATX, READ/WRITE (READ_FIXED/WRITE_FIXED for registered
 * buffers), FSYNC, UNLINKAT, RENAMEAT, MKDIRAT, SYMLINKAT, LINKAT, CLOSE,
 * and where probed FGETXATTR/FSETXATTR, FTRUNCATE, FALLOCATE, FADVISE.
 * On the threadpool, because io_uring has no op for them: readdir
 * (getdents), setTimes (futimens/utimensat), readlink, statfs, listXattr
 * and removeXattr; and the optional ops above where the kernel lacks them.
 * Parent directories the path ops open (O_PATH) are closed with close(2):
 * it cannot block and saves a round trip.
 *
 * Per share, calls that cannot wait for a device run inline instead
 * (inline.ts): on tmpfs the path and metadata calls, on local disk
 * filesystems the stat of an open file. io_uring has no inline path for
 * STATX or the xattr ops, and an io-wq round trip costs ten times the call
 * there. openShare(root, { inline: 'none' }) keeps everything on the ring.
 */
import { resolve as resolvePath } from 'node:path';
import type { RegisteredBuffers } from '../uring/buffers.js';
import type { Ring } from '../uring/ring.js';
import { SystemError } from '../util/errors.js';
import { AT_FDCWD, O_DIRECTORY, O_PATH } from './linux.js';
import { PathShare, shareMetadata } from './share.js';
import type { ShareOptions, ShareRoot, Vfs } from './types.js';
import { URING_VFS_OPS, UringSys } from './uring-sys.js';

export { UringFile, type Advice } from './uring-file.js';
export { URING_VFS_OPS } from './uring-sys.js';

export interface UringVfs extends Vfs {
  readonly name: 'uring';
  readonly ring: Ring;
  /**
   * The data path's registered buffers (the ring's one set), or null. From
   * then on read()/write() into a view of one of them use READ_FIXED /
   * WRITE_FIXED, and UringFile.readFixed/writeFixed take buffer indexes.
   */
  useFixedBuffers(fixed: RegisteredBuffers | null): void;
  /** Ops of this module in flight (0 when idle). */
  readonly inflight: number;
}

/** The required ops the ring's probe lacks; empty when the module can run on it. */
export function missingUringOps(ring: Ring): string[] {
  return URING_VFS_OPS.filter((op) => !ring.supports(op));
}

/** Why the module cannot run on this ring (one line), or null when it can. */
export function uringVfsUnusable(ring: Ring | null | undefined): string | null {
  if (!ring) return 'no io_uring ring (the event context has no uring backend)';
  if (ring.isClosed) return 'the io_uring ring is closed';
  const missing = missingUringOps(ring);
  return missing.length ? `io_uring lacks ${missing.join(', ')}` : null;
}

/** Throws (with uringVfsUnusable's reason) when the ring cannot serve. */
export function createUringVfs(ring: Ring, reason = 'io_uring requested'): UringVfs {
  const unusable = uringVfsUnusable(ring);
  if (unusable) throw new Error(`vfs uring: ${unusable}`);
  // Opens share roots; each share then gets its own UringSys with its filesystem's inline level.
  const sys = new UringSys(ring);
  return {
    name: 'uring',
    reason,
    ring,
    get inflight() {
      return sys.shared.inflight;
    },
    useFixedBuffers(fixed: RegisteredBuffers | null): void {
      if (fixed && fixed.ring !== ring) throw new TypeError('the registered buffers belong to another ring');
      sys.shared.fixed = fixed;
    },
    async openShare(rootPath: string, opts?: ShareOptions): Promise<ShareRoot> {
      const abs = resolvePath(rootPath);
      const r = await sys.openat2(AT_FDCWD, abs, O_PATH | O_DIRECTORY, 0, 0);
      if (r < 0) throw new SystemError('openat2', -r, abs);
      const meta = await shareMetadata(r, opts);
      return new PathShare(sys.forShare(meta.inline), abs, r, meta);
    },
  };
}
