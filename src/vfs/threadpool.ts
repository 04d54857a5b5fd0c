/**
 * The threadpool VFS: the fallback when io_uring is missing or forbidden, and
 * the baseline every benchmark compares against (decision 5). Path syscalls
 * (openat2, *at, statx, xattrs) run on libuv's threadpool through the native
 * addon; pread/pwrite/close through Node's fs.
 */
import { statfs } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { SystemError, errnoOf } from '../util/errors.js';
import { openBeneath, validateRelPath, withParent, withTwoParents } from './confine.js';
import { FdGuard } from './guard.js';
import {
  AT_FDCWD, AT_REMOVEDIR, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_EXCL, O_NOCTTY, O_NOFOLLOW, O_NONBLOCK,
  O_PATH, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, RENAME_NOREPLACE,
} from './linux.js';
import { ThreadpoolFile } from './threadpool-file.js';
import { ThreadpoolSys, toSystemError } from './threadpool-sys.js';
import type { OpenOptions, ShareRoot, StatFs, Vfs, VfsFile, VfsStat } from './types.js';

const EEXIST = errnoOf('EEXIST');
const ENOENT = errnoOf('ENOENT');
const EISDIR = errnoOf('EISDIR');
const EACCES = errnoOf('EACCES');
const EINVAL_ERRNO = errnoOf('EINVAL');
/** open-or-create races with another client's unlink/create; give up after this many laps. */
const CREATE_RACE_RETRIES = 8;
const READLINK_MAX = 4096;

export function createThreadpoolVfs(): Vfs {
  const sys = new ThreadpoolSys();
  return {
    name: 'threadpool',
    async openShare(rootPath: string): Promise<ShareRoot> {
      const abs = resolvePath(rootPath);
      const r = await sys.openat2(AT_FDCWD, Buffer.from(abs + '\0'), O_PATH | O_DIRECTORY | O_CLOEXEC, 0, 0);
      if (r < 0) throw new SystemError('openat2', -r, abs);
      return new ThreadpoolShare(sys, abs, r);
    },
  };
}

class ThreadpoolShare implements ShareRoot {
  private readonly guard = new FdGuard('share');

  constructor(private readonly sys: ThreadpoolSys, readonly rootPath: string, private readonly rootfd: number) {}

  open(rel: string, opts: OpenOptions): Promise<VfsFile> {
    return this.guard.run(() => openFile(this.sys, this.rootfd, rel, opts));
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
    return this.pathOp(rel, 'mkdirat', (dirfd, path) => ({ dirfd, path, mode }));
  }

  unlink(rel: string): Promise<void> {
    return this.pathOp(rel, 'unlinkat', (dirfd, path) => ({ dirfd, path, flags: 0 }));
  }

  rmdir(rel: string): Promise<void> {
    return this.pathOp(rel, 'unlinkat', (dirfd, path) => ({ dirfd, path, flags: AT_REMOVEDIR }));
  }

  /** Filesystems without RENAME_NOREPLACE answer EINVAL; reported as is. */
  rename(fromRel: string, toRel: string, opts: { replace: boolean }): Promise<void> {
    return this.twoPathOp(fromRel, toRel, 'renameat2', opts.replace ? 0 : RENAME_NOREPLACE);
  }

  link(fromRel: string, toRel: string): Promise<void> {
    return this.twoPathOp(fromRel, toRel, 'linkat', 0);
  }

  symlink(target: string, linkRel: string): Promise<void> {
    if (typeof target !== 'string' || target === '' || target.includes('\0')) {
      return Promise.reject(new SystemError('symlinkat', EINVAL_ERRNO, 'bad target'));
    }
    const t = Buffer.from(target + '\0', 'utf8');
    return this.pathOp(linkRel, 'symlinkat', (dirfd, path) => ({ path: t, dirfd2: dirfd, path2: path }));
  }

  readlink(rel: string): Promise<string> {
    return this.guard.run(() => withParent(this.sys, this.rootfd, rel, async (dirfd, path) => {
      const out = Buffer.allocUnsafe(READLINK_MAX);
      const n = await this.sys.call('readlinkat', { dirfd, path, out }, rel);
      return out.subarray(0, n).toString('utf8');
    }));
  }

  statfs(): Promise<StatFs> {
    return this.guard.run(async () => {
      try {
        const s = await statfs(`/proc/self/fd/${this.rootfd}`, { bigint: true });
        return { blockSize: Number(s.bsize), totalBlocks: s.blocks, freeBlocks: s.bfree, availBlocks: s.bavail };
      } catch (err) {
        throw toSystemError(err);
      }
    });
  }

  close(): Promise<void> {
    return this.guard.close(() => { this.sys.closeFd(this.rootfd); });
  }

  private pathOp(rel: string, op: 'mkdirat' | 'unlinkat' | 'symlinkat',
    args: (dirfd: number, path: Buffer) => Parameters<ThreadpoolSys['call']>[1]): Promise<void> {
    return this.guard.run(() => withParent(this.sys, this.rootfd, rel, async (dirfd, path) => {
      await this.sys.call(op, args(dirfd, path), rel);
    }));
  }

  private twoPathOp(fromRel: string, toRel: string, op: 'renameat2' | 'linkat', flags: number): Promise<void> {
    return this.guard.run(() => withTwoParents(this.sys, this.rootfd, fromRel, toRel, async (fd1, n1, fd2, n2) => {
      await this.sys.call(op, { dirfd: fd1, path: n1, dirfd2: fd2, path2: n2, flags }, `${fromRel} -> ${toRel}`);
    }));
  }
}

/** SystemError with this errno? */
function isErrno(err: unknown, errno: number): boolean {
  return err instanceof SystemError && err.errno === errno;
}

async function openFile(sys: ThreadpoolSys, rootfd: number, rel: string, opts: OpenOptions): Promise<VfsFile> {
  validateRelPath(rel);
  if (opts.truncate && !opts.write) throw new TypeError('OpenOptions.truncate requires write');
  const follow = opts.followSymlinks ?? true;
  const nofollow = follow ? 0 : O_NOFOLLOW;
  const create = opts.create ?? 'never';
  if ((opts.directory ?? 'any') === 'must') return openDirectory(sys, rootfd, rel, opts, follow);

  const access = opts.read && opts.write ? O_RDWR : opts.write ? O_WRONLY : O_RDONLY;
  // O_NONBLOCK: opening a FIFO planted in the share must not hang a pool thread.
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

async function openDirectory(sys: ThreadpoolSys, rootfd: number, rel: string, opts: OpenOptions,
  follow: boolean): Promise<VfsFile> {
  let created = false;
  if (opts.create === 'always' || opts.create === 'exclusive') {
    try {
      if (rel === '') throw new SystemError('mkdirat', EEXIST, 'the share root');
      await withParent(sys, rootfd, rel, (dirfd, path) =>
        sys.call('mkdirat', { dirfd, path, mode: opts.mode ?? 0o777 }, rel));
      created = true;
    } catch (err) {
      if (!isErrno(err, EEXIST) || opts.create === 'exclusive') throw err;
    }
  }
  const fd = await openBeneath(sys, rootfd, rel, O_RDONLY | O_DIRECTORY | (follow ? 0 : O_NOFOLLOW), 0, follow);
  return finishOpen(sys, fd, created, { ...opts, directory: 'must' });
}

/** statx the new fd, enforce directory: 'mustNot', clear O_NONBLOCK. */
async function finishOpen(sys: ThreadpoolSys, fd: number, created: boolean, opts: OpenOptions): Promise<VfsFile> {
  try {
    const st = await sys.statx(fd, null, 0);
    if (st.isDirectory && opts.directory === 'mustNot') throw new SystemError('open', EISDIR);
    if (!st.isDirectory && !st.isFile) {
      // FIFOs, sockets, devices: no SMB meaning and a pool thread could block on them.
      throw new SystemError('open', EACCES, 'not a regular file or directory');
    }
    if (!st.isDirectory) {
      const r = sys.n.fcntlFlags(fd, 0, O_NONBLOCK);
      if (r < 0) throw new SystemError('fcntl', -r);
    }
    return new ThreadpoolFile(sys, fd, created, st);
  } catch (err) {
    sys.closeFd(fd);
    throw err;
  }
}
