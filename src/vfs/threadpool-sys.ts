/**
 * Promise wrappers over the native path syscalls run on libuv's threadpool
 * (native/src/sys.c, sysAsync) and over Node's fd-based fs calls, all
 * rejecting with SystemError.
 */
import * as fs from 'node:fs';
import { requireNative, type NativeBinding } from '../native.js';
import { SystemError, errnoOf } from '../util/errors.js';
import { cString } from './confine.js';
import {
  AT_EMPTY_PATH, STATX_BASIC_STATS, STATX_BTIME, STATX_SIZE, SysOp, decodeVfsStat, type SysOpName,
} from './linux.js';
import { runsInline, type InlineLevel } from './inline.js';
import type { VfsSys } from './share.js';
import type { VfsStat } from './types.js';

const EMPTY_PATH = Buffer.from('\0');
const READLINK_MAX = 4096;

export interface SysArgs {
  dirfd?: number; path?: Buffer | null; dirfd2?: number; path2?: Buffer | null;
  flags?: number; mode?: number; resolve?: number; num?: number; num2?: number; out?: Buffer | null;
}

/**
 * The threadpool module's syscalls; the uring module keeps one for what the
 * ring cannot do. `inline` (inline.ts, chosen per share from its filesystem)
 * says which of them run on the calling thread instead of the pool.
 */
export class ThreadpoolSys implements Omit<VfsSys, 'newFile'> {
  readonly n: NativeBinding;

  constructor(readonly inline: InlineLevel = 'none') {
    this.n = requireNative();
  }

  /** Raw result: >= 0 or -errno. */
  raw(op: SysOpName, a: SysArgs): Promise<number> {
    const now = this.rawSync(op, a);
    if (now !== null) return Promise.resolve(now);
    return new Promise((resolve) => {
      const r = this.n.sysAsync(SysOp[op], a.dirfd ?? -1, a.path ?? null, a.dirfd2 ?? -1, a.path2 ?? null,
        a.flags ?? 0, a.mode ?? 0, a.resolve ?? 0, a.num ?? 0, a.num2 ?? 0, a.out ?? null, resolve);
      if (r < 0) resolve(r); // could not queue (ENOMEM/EAGAIN): the callback never runs
    });
  }

  /** Where the call runs inline (see raw): its result at once; null where it would go to the pool. */
  rawSync(op: SysOpName, a: SysArgs): number | null {
    if (!runsInline(this.inline, op, a.flags ?? 0)) return null;
    return this.n.sysSync(SysOp[op], a.dirfd ?? -1, a.path ?? null, a.dirfd2 ?? -1, a.path2 ?? null,
      a.flags ?? 0, a.mode ?? 0, a.resolve ?? 0, a.num ?? 0, a.num2 ?? 0, a.out ?? null);
  }

  /** Result, or a SystemError naming the syscall. */
  async call(op: SysOpName, a: SysArgs, detail?: string): Promise<number> {
    const r = await this.raw(op, a);
    if (r < 0) throw new SystemError(op, -r, detail);
    return r;
  }

  openat2(dirfd: number, path: string, flags: number, mode: number, resolve: number): Promise<number> {
    return this.raw('openat2', { dirfd, path: cString(path), flags, mode, resolve });
  }

  closeFd(fd: number): void {
    this.n.close(fd); // O_PATH/directory fds: close cannot block or fail usefully
  }

  /** statx of an open fd (AT_EMPTY_PATH), or of `name` relative to it. */
  async statx(fd: number, name: string | null, atFlags: number): Promise<VfsStat> {
    const out = Buffer.allocUnsafe(STATX_SIZE);
    await this.call('statx', {
      dirfd: fd, path: name === null ? EMPTY_PATH : cString(name), flags: name === null ? atFlags | AT_EMPTY_PATH : atFlags,
      mode: STATX_BASIC_STATS | STATX_BTIME, out,
    }, name ?? undefined);
    return decodeVfsStat(out);
  }

  async mkdirat(dirfd: number, name: string, mode: number): Promise<void> {
    await this.call('mkdirat', { dirfd, path: cString(name), mode }, name);
  }

  async unlinkat(dirfd: number, name: string, flags: number): Promise<void> {
    await this.call('unlinkat', { dirfd, path: cString(name), flags }, name);
  }

  async renameat2(fromFd: number, fromName: string, toFd: number, toName: string, flags: number): Promise<void> {
    await this.call('renameat2', { dirfd: fromFd, path: cString(fromName), dirfd2: toFd, path2: cString(toName), flags },
      `${fromName} -> ${toName}`);
  }

  async linkat(fromFd: number, fromName: string, toFd: number, toName: string): Promise<void> {
    await this.call('linkat', { dirfd: fromFd, path: cString(fromName), dirfd2: toFd, path2: cString(toName), flags: 0 },
      `${fromName} -> ${toName}`);
  }

  async symlinkat(target: string, dirfd: number, name: string): Promise<void> {
    await this.call('symlinkat', { path: cString(target), dirfd2: dirfd, path2: cString(name) }, name);
  }

  async readlinkat(dirfd: number, name: string): Promise<string> {
    const out = Buffer.allocUnsafe(READLINK_MAX);
    const n = await this.call('readlinkat', { dirfd, path: cString(name), out }, name);
    return out.subarray(0, n).toString('utf8');
  }
}

/** Node's fs errors (negative errno, string code) as our SystemError. */
export function toSystemError(err: unknown): unknown {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.errno === 'number' && typeof e.code === 'string') {
    return new SystemError(e.syscall ?? 'fs', e.errno);
  }
  return err;
}

export function fsRead(fd: number, buf: Buffer, off: number, len: number, pos: number | bigint): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.read(fd, buf, off, len, toSafeNumber(pos, 'position'), (err, n) => (err ? reject(toSystemError(err)) : resolve(n)));
  });
}

export function fsWrite(fd: number, buf: Buffer, off: number, len: number, pos: number | bigint): Promise<number> {
  return new Promise((resolve, reject) => {
    // Never pass fs.write a bigint: Node 20 silently treats a non-number
    // position as "current file position" and writes at the wrong place.
    fs.write(fd, buf, off, len, toSafeNumber(pos, 'position'), (err, n) => (err ? reject(toSystemError(err)) : resolve(n)));
  });
}

export function fsClose(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.close(fd, (err) => (err ? reject(toSystemError(err)) : resolve()));
  });
}

export function fsFchmod(fd: number, mode: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.fchmod(fd, mode, (err) => (err ? reject(toSystemError(err)) : resolve()));
  });
}

export function fsFutimes(fd: number, atimeSec: number, mtimeSec: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.futimes(fd, utimesArg(atimeSec), utimesArg(mtimeSec), (err) => (err ? reject(toSystemError(err)) : resolve()));
  });
}

/**
 * Node's futimes takes a negative number of seconds for "now"; a time before
 * 1970 (a client may set one: smbtorture smb2.timestamps sets 1968) goes as
 * a Date, which it takes as it is (to the millisecond).
 */
function utimesArg(sec: number): number | Date {
  return sec < 0 ? new Date(sec * 1000) : sec;
}

/** A byte count/offset the native layer takes as a double. */
export function toSafeNumber(v: number | bigint, what: string): number {
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} must be a non-negative safe integer, got ${v}`);
  return n;
}

export const ENODATA = errnoOf('ENODATA');
export const ERANGE = errnoOf('ERANGE');
