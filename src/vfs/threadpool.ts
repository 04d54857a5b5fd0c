/**
 * The threadpool VFS: the fallback when io_uring is missing or forbidden, and
 * the baseline every benchmark compares against (decision 5). Path syscalls
 * (openat2, *at, statx, xattrs) run on libuv's threadpool through the native
 * addon; pread/pwrite/close through Node's fs. The share and open logic is
 * share.ts, shared with the uring module.
 */
import { resolve as resolvePath } from 'node:path';
import { SystemError } from '../util/errors.js';
import { AT_FDCWD, O_CLOEXEC, O_DIRECTORY, O_PATH } from './linux.js';
import { PathShare, shareMetadata, type VfsSys } from './share.js';
import { ThreadpoolFile } from './threadpool-file.js';
import { ThreadpoolSys } from './threadpool-sys.js';
import type { ShareOptions, ShareRoot, Vfs, VfsFile, VfsStat } from './types.js';

class ThreadpoolVfsSys extends ThreadpoolSys implements VfsSys {
  newFile(fd: number, created: boolean, st: VfsStat): VfsFile {
    return new ThreadpoolFile(this, fd, created, st);
  }
}

export function createThreadpoolVfs(reason = 'threadpool requested'): Vfs {
  // Opens share roots; each share then gets its own, with its filesystem's inline level.
  const sys = new ThreadpoolVfsSys();
  return {
    name: 'threadpool',
    reason,
    async openShare(rootPath: string, opts?: ShareOptions): Promise<ShareRoot> {
      const abs = resolvePath(rootPath);
      const r = await sys.openat2(AT_FDCWD, abs, O_PATH | O_DIRECTORY | O_CLOEXEC, 0, 0);
      if (r < 0) throw new SystemError('openat2', -r, abs);
      const meta = await shareMetadata(r, opts);
      return new PathShare(new ThreadpoolVfsSys(meta.inline), abs, r, meta);
    },
  };
}
