/**
 * Which path and metadata syscalls of a share run on the calling thread
 * instead of a worker (io-wq for the ring, libuv's pool for the threadpool
 * module), decided per share from the filesystem it lives on.
 *
 * Why: io_uring has no inline path for STATX or the xattr ops (they always
 * go to an io-wq worker), nor for OPENAT2 with O_CREAT. A worker hop costs a
 * thread wake-up there and an event-loop wake-up back: measured 20-120 us on
 * the 2-core VM, against 2-4 us for the syscall itself on a memory
 * filesystem. A CREATE pays two or three of them in a row; Samba's smbd
 * makes these calls synchronously and answered an open in half our time
 * (smbtorture smb2.bench.path-contention-shared). So where a call cannot
 * wait for a device, it is made inline:
 *
 * - 'all' (tmpfs, ramfs: everything is in memory): statx, the xattr calls,
 *   openat2 without O_TRUNC, mkdirat, symlinkat, linkat, readlinkat.
 *   Calls that may free a file's data stay on a worker, since freeing
 *   gigabytes of pages takes milliseconds: unlinkat, renameat2 (it may
 *   replace a file), openat2 with O_TRUNC, ftruncate, fallocate, close.
 *   (The uring module closes inline at 'all' and 'stat' all the same: its
 *   CLOSE op would run on the loop thread too, see UringSys.close.)
 *   fsync and data I/O always stay on the ring or the pool.
 * - 'stat' (ext2/3/4, xfs, btrfs, f2fs, overlayfs on them): only statx of an
 *   open fd (AT_EMPTY_PATH), which reads the in-memory inode; a path lookup
 *   or an xattr block may need the disk, and a disk read must not stall
 *   every client on the loop.
 * - 'none' (network and FUSE filesystems, anything unknown): everything on a
 *   worker; even a stat may be a round trip to another machine.
 *
 * RINGSMB_INLINE_META=none|stat|all overrides the choice for every share
 * (for measurements: 'none' reruns the seed's all-async comparison).
 */
import { AT_EMPTY_PATH, O_TRUNC, type SysOpName } from './linux.js';

export type InlineLevel = 'none' | 'stat' | 'all';

const FS_KIND = new Map<number, { name: string; level: InlineLevel }>([
  [0x01021994, { name: 'tmpfs', level: 'all' }],
  [0x858458f6, { name: 'ramfs', level: 'all' }],
  [0xef53, { name: 'ext4', level: 'stat' }],
  [0x58465342, { name: 'xfs', level: 'stat' }],
  [0x9123683e, { name: 'btrfs', level: 'stat' }],
  [0xf2f52010, { name: 'f2fs', level: 'stat' }],
  [0x794c7630, { name: 'overlayfs', level: 'stat' }],
]);

/** From least to most inline. */
const LEVELS: readonly InlineLevel[] = ['none', 'stat', 'all'];

/** The less inline of two levels (a share with a slower filesystem mounted beneath it takes that one's). */
export function lowerLevel(a: InlineLevel, b: InlineLevel): InlineLevel {
  return LEVELS.indexOf(a) <= LEVELS.indexOf(b) ? a : b;
}

/** The level for a statfs f_type (and the environment override), with a name for the log. */
export function inlineLevelFor(fsType: number | bigint): { level: InlineLevel; fs: string; forced: boolean } {
  const t = Number(fsType);
  const kind = FS_KIND.get(t);
  const fs = kind?.name ?? `fs type 0x${t.toString(16)}`;
  const env = process.env.RINGSMB_INLINE_META;
  if (env && (LEVELS as readonly string[]).includes(env)) return { level: env as InlineLevel, fs, forced: true };
  return { level: kind?.level ?? 'none', fs, forced: false };
}

const ALL_OPS = new Set<SysOpName>([
  'statx', 'statxbatch', 'fgetxattr', 'fsetxattr', 'flistxattr', 'fremovexattr', 'openat2', 'mkdirat', 'symlinkat',
  'linkat', 'readlinkat',
]);

/** Whether a syscall with these flags runs inline at this level (see the file comment). */
export function runsInline(level: InlineLevel, op: SysOpName, flags: number): boolean {
  if (level === 'none') return false;
  if (op === 'statx' && flags & AT_EMPTY_PATH) return true;
  if (level !== 'all' || !ALL_OPS.has(op)) return false;
  return op !== 'openat2' || (flags & O_TRUNC) === 0;
}
