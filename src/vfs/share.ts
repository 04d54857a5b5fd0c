/**
 * The share root and the open algorithm, written once for every VFS module.
 *
 * A module supplies a `VfsSys`: the handful of syscalls below, done its own
 * way (threadpool: native calls on libuv's pool; uring: ops on the ring),
 * and the VfsFile class for what it opened. Confinement (confine.ts), the
 * create/open races, the directory rules and the errno each case yields are
 * the same code for both, so callers cannot tell the modules apart.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { requireNative } from '../native.js';
import { SystemError, errnoOf } from '../util/errors.js';
import { openBeneath, validateRelPath, withParent, withTwoParents, type PathSys } from './confine.js';
import { FdGuard } from './guard.js';
import {
  AT_REMOVEDIR, O_CREAT, O_DIRECTORY, O_EXCL, O_NOCTTY, O_NOFOLLOW, O_NONBLOCK, O_PATH, O_RDONLY, O_RDWR, O_TRUNC,
  O_WRONLY, RENAME_NOREPLACE,
} from './linux.js';
import { inlineLevelFor, lowerLevel, type InlineLevel } from './inline.js';
import type { OpenOptions, ShareMetadata, ShareOptions, ShareRoot, StatFs, VfsFile, VfsStat } from './types.js';
import type { PrefetchedXattr, ThreadpoolFile } from './threadpool-file.js';

const EEXIST = errnoOf('EEXIST');
const ENOENT = errnoOf('ENOENT');
const EISDIR = errnoOf('EISDIR');
const EACCES = errnoOf('EACCES');
const EINVAL = errnoOf('EINVAL');
/** open-or-create races with another client's unlink/create; give up after this many laps. */
const CREATE_RACE_RETRIES = 8;

/**
 * What a VFS module provides. Names are single components relative to a
 * directory fd (from confine.ts's withParent); every method rejects with a
 * SystemError carrying the kernel's errno.
 */
export interface VfsSys extends PathSys {
  /** statx of fd itself (name null) or of name relative to it. */
  statx(fd: number, name: string | null, atFlags: number): Promise<VfsStat>;
  mkdirat(dirfd: number, name: string, mode: number): Promise<void>;
  /** flags: 0 or AT_REMOVEDIR */
  unlinkat(dirfd: number, name: string, flags: number): Promise<void>;
  /** flags: 0 or RENAME_NOREPLACE */
  renameat2(fromFd: number, fromName: string, toFd: number, toName: string, flags: number): Promise<void>;
  /** Never follows a symlink at fromName. */
  linkat(fromFd: number, fromName: string, toFd: number, toName: string): Promise<void>;
  symlinkat(target: string, dirfd: number, name: string): Promise<void>;
  readlinkat(dirfd: number, name: string): Promise<string>;
  /** Wraps an fd this module opened (ownership passes to the file). */
  newFile(fd: number, created: boolean, st: VfsStat): VfsFile;
}

/** The ShareRoot of every module: a root directory fd and the VfsSys to act through. */
export class PathShare implements ShareRoot {
  private readonly guard = new FdGuard('share');

  constructor(private readonly sys: VfsSys, readonly rootPath: string, private readonly rootfd: number,
    readonly metadata: ShareMetadata = { fs: 'unknown', inline: 'none', forced: false, nested: [] }) {}

  open(rel: string, opts: OpenOptions): Promise<VfsFile> {
    return this.guard.run(() => openFile(this.sys, this.rootfd, rel, opts));
  }

  /** From the fds' /proc links (no I/O: the kernel knows both paths). */
  relOf(fd: number): string | null {
    try {
      const top = readlinkSync(`/proc/self/fd/${this.rootfd}`);
      const here = readlinkSync(`/proc/self/fd/${fd}`);
      if (here === top) return '';
      const prefix = top.endsWith('/') ? top : `${top}/`;
      return here.startsWith(prefix) ? here.slice(prefix.length) : null;
    } catch {
      return null;
    }
  }

  /** Through an O_PATH fd, so a final symlink is followed (follow) only beneath the root. */
  stat(rel: string, opts: { follow?: boolean } = {}): Promise<VfsStat> {
    return this.guard.run(async () => {
      validateRelPath(rel);
      const fd = await openBeneath(this.sys, this.rootfd, rel, O_PATH | (opts.follow ? 0 : O_NOFOLLOW), 0);
      try {
        return await this.sys.statx(fd, null, 0);
      } finally {
        this.sys.closeFd(fd);
      }
    });
  }

  mkdir(rel: string, mode = 0o777): Promise<void> {
    return this.inParent(rel, (dirfd, name) => this.sys.mkdirat(dirfd, name, mode));
  }

  unlink(rel: string): Promise<void> {
    return this.inParent(rel, (dirfd, name) => this.sys.unlinkat(dirfd, name, 0));
  }

  rmdir(rel: string): Promise<void> {
    return this.inParent(rel, (dirfd, name) => this.sys.unlinkat(dirfd, name, AT_REMOVEDIR));
  }

  /** Filesystems without RENAME_NOREPLACE answer EINVAL; reported as is. */
  rename(fromRel: string, toRel: string, opts: { replace: boolean }): Promise<void> {
    const flags = opts.replace ? 0 : RENAME_NOREPLACE;
    return this.guard.run(() => withTwoParents(this.sys, this.rootfd, fromRel, toRel,
      (fd1, n1, fd2, n2) => this.sys.renameat2(fd1, n1, fd2, n2, flags)));
  }

  link(fromRel: string, toRel: string): Promise<void> {
    return this.guard.run(() => withTwoParents(this.sys, this.rootfd, fromRel, toRel,
      (fd1, n1, fd2, n2) => this.sys.linkat(fd1, n1, fd2, n2)));
  }

  symlink(target: string, linkRel: string): Promise<void> {
    if (typeof target !== 'string' || target === '' || target.includes('\0')) {
      return Promise.reject(new SystemError('symlinkat', EINVAL, 'bad target'));
    }
    return this.inParent(linkRel, (dirfd, name) => this.sys.symlinkat(target, dirfd, name));
  }

  readlink(rel: string): Promise<string> {
    return this.inParent(rel, (dirfd, name) => this.sys.readlinkat(dirfd, name));
  }

  statfs(): Promise<StatFs> {
    return this.guard.run(() => statfsOfFd(this.rootfd));
  }

  close(): Promise<void> {
    return this.guard.close(() => { this.sys.closeFd(this.rootfd); });
  }

  private inParent<T>(rel: string, fn: (dirfd: number, name: string) => Promise<T>): Promise<T> {
    return this.guard.run(() => withParent(this.sys, this.rootfd, rel, fn));
  }
}

/** statfs(2) of an open fd, through its /proc link (no io_uring op, no native call for it). */
export async function statfsOfFd(fd: number): Promise<StatFs> {
  try {
    const s = await statfs(`/proc/self/fd/${fd}`, { bigint: true });
    return { blockSize: Number(s.bsize), totalBlocks: s.blocks, freeBlocks: s.bfree, availBlocks: s.bavail };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw typeof e?.errno === 'number' ? new SystemError('statfs', e.errno) : err;
  }
}

/**
 * The filesystem under a share's root fd, and which calls may run inline
 * there (inline.ts). A filesystem mounted beneath the root (an NFS or FUSE
 * mount inside a tmpfs share) takes the share down to its own level, since
 * a path call made inline could land on it: the share gets the lowest level
 * of all. Mounts made after the share was opened are not seen.
 */
export async function shareMetadata(rootfd: number, opts: ShareOptions = {}): Promise<ShareMetadata> {
  const chosen = await levelOf(`/proc/self/fd/${rootfd}`);
  let level = chosen.level;
  const nested: ShareMetadata['nested'][number][] = [];
  for (const path of mountsBeneath(readlinkSync(`/proc/self/fd/${rootfd}`))) {
    const m = await levelOf(path);
    nested.push({ path, fs: m.fs, inline: m.level });
    level = lowerLevel(level, m.level);
  }
  if (opts.inline) return { fs: chosen.fs, inline: opts.inline, forced: true, nested };
  return { fs: chosen.fs, inline: chosen.forced ? chosen.level : level, forced: chosen.forced, nested };
}

async function levelOf(path: string): Promise<{ level: InlineLevel; fs: string; forced: boolean }> {
  try {
    return inlineLevelFor((await statfs(path, { bigint: true })).type);
  } catch {
    return { level: 'none', fs: 'unknown (statfs failed)', forced: false };
  }
}

/** Mount points strictly beneath dir, from /proc/self/mountinfo (field 5, octal escapes undone). */
export function mountsBeneath(dir: string, mountinfo?: string): string[] {
  let text = mountinfo;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/mountinfo', 'utf8');
    } catch {
      return [];
    }
  }
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (!field) continue;
    const mp = field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (mp.startsWith(prefix)) out.add(mp);
  }
  return [...out];
}

function isErrno(err: unknown, errno: number): boolean {
  return err instanceof SystemError && err.errno === errno;
}

async function openFile(sys: VfsSys, rootfd: number, rel: string, opts: OpenOptions): Promise<VfsFile> {
  validateRelPath(rel);
  if (opts.truncate && !opts.write) throw new TypeError('OpenOptions.truncate requires write');
  const follow = opts.followSymlinks ?? true;
  const nofollow = follow ? 0 : O_NOFOLLOW;
  const create = opts.create ?? 'never';
  if ((opts.directory ?? 'any') === 'must') return openDirectory(sys, rootfd, rel, opts, follow);

  const access = opts.read && opts.write ? O_RDWR : opts.write ? O_WRONLY : O_RDONLY;
  // O_NONBLOCK: opening a FIFO planted in the share must not hang a worker.
  const base = access | O_NOCTTY | O_NONBLOCK | nofollow;
  const trunc = opts.truncate ? O_TRUNC : 0;
  const mode = opts.mode ?? 0o666;
  const tryOpen = (flags: number): Promise<number> => openBeneath(sys, rootfd, rel, flags, mode, follow);

  let fd = -1;
  let created = false;
  try {
    if (create === 'exclusive') {
      fd = await tryOpen(base | O_CREAT | O_EXCL);
      created = true;
    } else if (create === 'always') {
      // O_CREAT alone cannot say whether it created: try exclusive, then plain.
      for (let lap = 0; fd < 0; lap++) {
        try {
          fd = await tryOpen(base | O_CREAT | O_EXCL);
          created = true;
        } catch (err) {
          if (!isErrno(err, EEXIST)) throw err;
          try {
            fd = await tryOpen(base | trunc);
          } catch (err2) {
            if (!isErrno(err2, ENOENT) || lap >= CREATE_RACE_RETRIES) throw err2;
          }
        }
      }
    } else {
      fd = await tryOpen(base | trunc);
    }
  } catch (err) {
    // Write access to a directory means attributes in SMB: open it read-only.
    if (!isErrno(err, EISDIR) || opts.directory === 'mustNot' || opts.truncate) throw err;
    return openDirectory(sys, rootfd, rel, { ...opts, create: 'never' }, follow);
  }
  return finishOpen(sys, fd, created, opts);
}

async function openDirectory(sys: VfsSys, rootfd: number, rel: string, opts: OpenOptions,
  follow: boolean): Promise<VfsFile> {
  let created = false;
  if (opts.create === 'always' || opts.create === 'exclusive') {
    try {
      if (rel === '') throw new SystemError('mkdirat', EEXIST, 'the share root');
      await withParent(sys, rootfd, rel, (dirfd, name) => sys.mkdirat(dirfd, name, opts.mode ?? 0o777));
      created = true;
    } catch (err) {
      if (!isErrno(err, EEXIST) || opts.create === 'exclusive') throw err;
    }
  }
  const fd = await openBeneath(sys, rootfd, rel, O_RDONLY | O_DIRECTORY | (follow ? 0 : O_NOFOLLOW), 0, follow);
  return finishOpen(sys, fd, created, { ...opts, directory: 'must' });
}

/** A file object's stat until finishOpen's statx is back (nothing reads it before). */
const PENDING_STAT = { isDirectory: false, isFile: true } as VfsStat;

/** Both modules' files are ThreadpoolFiles (the uring one extends it). */
type Settles = Pick<ThreadpoolFile, 'settleOpen'>;

/**
 * statx the new fd, enforce directory: 'mustNot', clear O_NONBLOCK. With
 * prefetchXattr the attributes are read at the same time as the statx,
 * through the file object (made first, its stat filled in when the statx is
 * back).
 */
async function finishOpen(sys: VfsSys, fd: number, created: boolean, opts: OpenOptions): Promise<VfsFile> {
  const names = typeof opts.prefetchXattr === 'string' ? [opts.prefetchXattr] : opts.prefetchXattr ?? [];
  if (names.length) {
    const file = sys.newFile(fd, created, PENDING_STAT);
    const xattrs = Promise.all(names.map((name) => file.getXattr(name).then(
      (value): PrefetchedXattr => ({ name, value, error: null }),
      (error: unknown): PrefetchedXattr => ({ name, value: null, error }),
    )));
    try {
      const st = await sys.statx(fd, null, 0);
      checkOpened(fd, st, opts);
      (file as unknown as Settles).settleOpen(st, await xattrs);
      return file;
    } catch (err) {
      await xattrs;
      await file.close().catch(() => undefined);
      throw err;
    }
  }
  try {
    const st = await sys.statx(fd, null, 0);
    checkOpened(fd, st, opts);
    return sys.newFile(fd, created, st);
  } catch (err) {
    sys.closeFd(fd);
    throw err;
  }
}

const F_SETFL = 4;

/** What an open may not be, and the O_NONBLOCK a regular file must lose. */
function checkOpened(fd: number, st: VfsStat, opts: OpenOptions): void {
  if (st.isDirectory && opts.directory === 'mustNot') throw new SystemError('open', EISDIR);
  if (!st.isDirectory && !st.isFile) {
    // FIFOs, sockets, devices: no SMB meaning and a worker could block on them.
    throw new SystemError('open', EACCES, 'not a regular file or directory');
  }
  if (!st.isDirectory) {
    // Also for io_uring: a READ on an O_NONBLOCK file completes with
    // EAGAIN instead of being punted to a worker. O_NONBLOCK is the only
    // status flag openFile sets (F_SETFL ignores the access mode and the
    // creation flags), so one F_SETFL of 0 clears it: no F_GETFL first.
    const r = requireNative().fcntlInt(fd, F_SETFL, 0);
    if (r < 0) throw new SystemError('fcntl', -r);
  }
}
