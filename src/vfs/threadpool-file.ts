/**
 * An open file or directory of the threadpool VFS: Node's fs for pread/pwrite/
 * futimes/close, the native threadpool syscalls for the rest.
 *
 * The public methods hold the checks, the FdGuard and the loops (xattr
 * sizes, readdir); each syscall is one protected primitive, which the uring
 * module's file (uring-file.ts) overrides with a ring op where it has one.
 */
import { readdir } from 'node:fs/promises';
import { SystemError, errnoOf } from '../util/errors.js';
import { FdGuard } from './guard.js';
import {
  AT_SYMLINK_NOFOLLOW, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, STATX_BASIC_STATS, STATX_BATCH_RECORD, STATX_BTIME,
  STATX_SIZE, XATTR_CREATE, XATTR_REPLACE, decodeName, decodeVfsStat,
} from './linux.js';
import {
  ENODATA, ERANGE, type ThreadpoolSys, fsClose, fsFchmod, fsFutimes, fsRead, fsWrite, toSafeNumber, toSystemError,
} from './threadpool-sys.js';
import { type SetTimes, type VfsDirEntry, type VfsFile, type VfsStat } from './types.js';

const ENOTDIR = errnoOf('ENOTDIR');
const ENOENT = errnoOf('ENOENT');
/** Names per native statx batch in readdir, and batches in flight: enough
 * to keep the pool busy, few enough not to starve other clients' requests
 * queued behind them (libuv's pool has 4 threads). */
const READDIR_BATCH = 64;
const READDIR_CONCURRENCY = 2;
const XATTR_FIRST_TRY = 4096;
/**
 * The first try of an fgetxattr made inline: one buffer for all, since the
 * call and the copy out run without a break. Per call, 4 KiB from malloc
 * (past Buffer's pool) cost more than the syscall: every CREATE reads two
 * attributes, and a malloc that size first consolidates glibc's fastbins.
 */
const XATTR_SCRATCH = Buffer.allocUnsafeSlow(XATTR_FIRST_TRY);

/** An attribute read beside an open's statx (OpenOptions.prefetchXattr): what getXattr answered, or threw. */
export type PrefetchedXattr = { name: string; value: Buffer | null; error: unknown };

/**
 * Also the base of the uring module's file, which overrides what the ring
 * does and inherits the rest (readdir, setTimes, list/remove xattr).
 */
export class ThreadpoolFile implements VfsFile {
  protected readonly guard = new FdGuard('file');

  private st: VfsStat;
  /** attributes read beside the open's statx (OpenOptions.prefetchXattr), until taken */
  private prefetched: PrefetchedXattr[] = [];

  constructor(protected readonly sys: ThreadpoolSys, readonly fd: number, readonly created: boolean, st: VfsStat) {
    this.st = st;
  }

  get statAtOpen(): VfsStat {
    return this.st;
  }

  /** @internal finishOpen (share.ts): the statx and the prefetched attributes, which ran side by side */
  settleOpen(st: VfsStat, prefetched: PrefetchedXattr[]): void {
    this.st = st;
    this.prefetched = prefetched;
  }

  takeXattrAtOpen(name: string): Buffer | null | undefined {
    const i = this.prefetched.findIndex((p) => p.name === name);
    if (i < 0) return undefined;
    const p = this.prefetched[i]!;
    this.prefetched.splice(i, 1);
    if (p.error) throw p.error;
    return p.value;
  }

  get isDirectory(): boolean {
    return this.statAtOpen.isDirectory;
  }

  read(buf: Buffer, bufOff: number, len: number, pos: number | bigint): Promise<number> {
    return this.guard.run(() => this.pread(buf, bufOff, len, toSafeNumber(pos, 'position')));
  }

  write(buf: Buffer, bufOff: number, len: number, pos: number | bigint): Promise<number> {
    return this.guard.run(() => this.pwrite(buf, bufOff, len, toSafeNumber(pos, 'position')));
  }

  stat(): Promise<VfsStat> {
    return this.guard.run(() => this.statAt(null));
  }

  truncate(len: number | bigint): Promise<void> {
    return this.guard.run(() => this.ftruncate(toSafeNumber(len, 'length')));
  }

  allocate(len: number | bigint, opts: { keepSize?: boolean } = {}): Promise<void> {
    return this.guard.run(async () => {
      const n = toSafeNumber(len, 'length');
      if (n === 0) return; // fallocate(len 0) is EINVAL; nothing to reserve
      await this.fallocate(opts.keepSize === false ? 0 : FALLOC_FL_KEEP_SIZE, 0, n);
    });
  }

  punchHole(offset: number | bigint, length: number | bigint): Promise<void> {
    return this.guard.run(async () => {
      const off = toSafeNumber(offset, 'offset');
      const n = toSafeNumber(length, 'length');
      if (n === 0) return; // fallocate(len 0) is EINVAL
      await this.fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, n);
    });
  }

  sync(dataOnly = false): Promise<void> {
    return this.guard.run(() => this.fsync(dataOnly));
  }

  // ---- primitives: one syscall each, called inside guard.run ----

  protected pread(buf: Buffer, bufOff: number, len: number, pos: number): Promise<number> {
    return fsRead(this.fd, buf, bufOff, len, pos);
  }

  protected pwrite(buf: Buffer, bufOff: number, len: number, pos: number): Promise<number> {
    return fsWrite(this.fd, buf, bufOff, len, pos);
  }

  /** lstat of name in this directory, or of the file itself (null). */
  protected statAt(name: string | null): Promise<VfsStat> {
    return this.sys.statx(this.fd, name, name === null ? 0 : AT_SYMLINK_NOFOLLOW);
  }

  protected async ftruncate(len: number): Promise<void> {
    await this.sys.call('ftruncate', { dirfd: this.fd, num: len });
  }

  protected async fallocate(mode: number, offset: number, len: number): Promise<void> {
    await this.sys.call('fallocate', { dirfd: this.fd, flags: mode, num: offset, num2: len });
  }

  protected async fsync(dataOnly: boolean): Promise<void> {
    await this.sys.call('fsync', { dirfd: this.fd, flags: dataOnly ? 1 : 0 });
  }

  /** The value's length (out null: the size it needs), or -errno. */
  protected fgetxattr(_name: string, nameBytes: Buffer, out: Buffer | null): Promise<number> {
    return this.sys.raw('fgetxattr', { dirfd: this.fd, path: nameBytes, out });
  }

  protected async fsetxattr(name: string, nameBytes: Buffer, value: Buffer, flags: number): Promise<void> {
    await this.sys.call('fsetxattr', { dirfd: this.fd, path: nameBytes, out: value, flags }, name);
  }

  /** Closes the fd once every operation drained (FdGuard.close). */
  protected release(): Promise<void> {
    return fsClose(this.fd);
  }

  /** No io_uring op for fchmod: the pool in both modules. */
  setMode(mode: number): Promise<void> {
    return this.guard.run(() => fsFchmod(this.fd, mode & 0o7777));
  }

  /**
   * futimes(2) through Node takes seconds as a double: about 240 ns of
   * precision today, coarser than SMB's 100 ns. A left-out time is read back
   * first (racy against another writer; utimensat with UTIME_OMIT in the
   * native layer would fix both).
   */
  setTimes(t: SetTimes): Promise<void> {
    return this.guard.run(async () => {
      if (t.atimeNs === undefined && t.mtimeNs === undefined) return;
      let { atimeNs, mtimeNs } = t;
      if (atimeNs === undefined || mtimeNs === undefined) {
        const st = await this.statAt(null);
        atimeNs ??= st.atimeNs;
        mtimeNs ??= st.mtimeNs;
      }
      await fsFutimes(this.fd, nsToSeconds(atimeNs), nsToSeconds(mtimeNs));
    });
  }

  readdir(opts: { xattr?: string } = {}): Promise<VfsDirEntry[]> {
    return this.guard.run(async () => this.statEntries(await this.listNames(), opts.xattr));
  }

  readdirNames(): Promise<string[]> {
    return this.guard.run(() => this.listNames());
  }

  private async listNames(): Promise<string[]> {
    if (!this.isDirectory) throw new SystemError('readdir', ENOTDIR);
    // No getdents in the addon (nor in io_uring): list through the fd's
    // /proc link, which Node opens as a second, independent directory fd.
    let raw: Buffer[];
    try {
      raw = await readdir(`/proc/self/fd/${this.fd}`, { encoding: 'buffer' });
    } catch (err) {
      throw toSystemError(err);
    }
    const named: string[] = [];
    for (const bytes of raw) {
      const name = decodeName(bytes);
      if (name !== null) named.push(name);
    }
    return named;
  }

  /**
   * lstat of each name relative to this directory fd (and the attribute
   * `xattr` of each), READDIR_BATCH names per native call: one thread hop
   * (or one inline call where the share allows) for a batch instead of one
   * or two ring or pool round trips per entry. Entries that vanished between
   * listing and statx are dropped, as a later listing would.
   */
  private async statEntries(named: string[], xattr?: string): Promise<VfsDirEntry[]> {
    const out: (VfsDirEntry | null)[] = new Array(named.length).fill(null);
    const attr = xattr === undefined ? null : xattrName(xattr);
    let next = 0;
    // The first failure; the other worker stops at its next batch.
    let failure: { err: unknown } | null = null;
    const worker = async (): Promise<void> => {
      while (!failure && next < named.length) {
        const from = next;
        next = Math.min(named.length, next + READDIR_BATCH);
        const names = named.slice(from, next);
        const recs = Buffer.allocUnsafe(names.length * STATX_BATCH_RECORD);
        await this.sys.call('statxbatch', {
          dirfd: this.fd, path: Buffer.from(names.map((n) => `${n}\0`).join('')), path2: attr, num: names.length,
          flags: AT_SYMLINK_NOFOLLOW, mode: STATX_BASIC_STATS | STATX_BTIME, out: recs,
        });
        for (let k = 0; k < names.length; k++) {
          const at = k * STATX_BATCH_RECORD;
          // The i64 results are 0, a length up to 256 or -errno: their low words, read signed, are exact.
          const sr = recs.readInt32LE(at + STATX_SIZE);
          if (sr === -ENOENT) continue;
          if (sr < 0) throw new SystemError('statx', -sr, names[k]);
          const e: VfsDirEntry = { name: names[k]!, stat: decodeVfsStat(recs.subarray(at, at + STATX_SIZE)) };
          if (attr) {
            // ENODATA, ENOTSUP, EPERM (a symlink), ERANGE (longer than STATX_BATCH_XATTR_MAX): none.
            // Copied out: a value must not keep the whole batch's records alive.
            const xr = recs.readInt32LE(at + STATX_SIZE + 8);
            e.xattr = xr >= 0 ? Buffer.from(recs.subarray(at + STATX_SIZE + 16, at + STATX_SIZE + 16 + xr)) : null;
          }
          out[from + k] = e;
        }
      }
    };
    // Caught per worker, so the wait is for every batch under way: the fd guard
    // counts this call done on return, and a batch still running uses this.fd
    // (a CLOSE could otherwise close it, and the kernel hand the number on).
    const workers = Math.min(READDIR_CONCURRENCY, Math.ceil(named.length / READDIR_BATCH));
    await Promise.all(Array.from({ length: workers }, () => worker().catch((err: unknown) => void (failure ??= { err }))));
    if (failure) throw (failure as { err: unknown }).err;
    return out.filter((e): e is VfsDirEntry => e !== null);
  }

  getXattr(name: string): Promise<Buffer | null> {
    return this.guard.run(async () => {
      const nameBytes = xattrName(name);
      const r0 = this.sys.rawSync('fgetxattr', { dirfd: this.fd, path: nameBytes, out: XATTR_SCRATCH });
      if (r0 !== null) {
        if (r0 >= 0) return Buffer.from(XATTR_SCRATCH.subarray(0, r0));
        if (-r0 === ENODATA) return null;
        if (-r0 !== ERANGE) throw new SystemError('fgetxattr', -r0, name);
      }
      // Past the scratch (or not inline): a buffer of its own, sized by asking once it did not fit.
      let out: Buffer | null = r0 === null ? Buffer.allocUnsafe(XATTR_FIRST_TRY) : null;
      for (;;) {
        if (out === null) {
          const size = await this.fgetxattr(name, nameBytes, null);
          if (-size === ENODATA) return null;
          if (size < 0) throw new SystemError('fgetxattr', -size, name);
          out = Buffer.allocUnsafe(Math.max(size, 1));
        }
        const r = await this.fgetxattr(name, nameBytes, out);
        if (r >= 0) return Buffer.from(out.subarray(0, r));
        if (-r === ENODATA) return null;
        if (-r !== ERANGE) throw new SystemError('fgetxattr', -r, name);
        out = null; // grew since we asked
      }
    });
  }

  setXattr(name: string, value: Buffer, opts: { create?: boolean; replace?: boolean } = {}): Promise<void> {
    this.prefetched = [];
    return this.guard.run(async () => {
      const flags = (opts.create ? XATTR_CREATE : 0) | (opts.replace ? XATTR_REPLACE : 0);
      await this.fsetxattr(name, xattrName(name), value, flags);
    });
  }

  removeXattr(name: string): Promise<void> {
    this.prefetched = [];
    return this.guard.run(async () => {
      await this.sys.call('fremovexattr', { dirfd: this.fd, path: xattrName(name) }, name);
    });
  }

  listXattr(): Promise<string[]> {
    return this.guard.run(async () => {
      let out = Buffer.allocUnsafe(XATTR_FIRST_TRY);
      for (;;) {
        const r = await this.sys.raw('flistxattr', { dirfd: this.fd, out });
        if (r >= 0) return out.subarray(0, r).toString('utf8').split('\0').filter((s) => s !== '');
        if (-r !== ERANGE) throw new SystemError('flistxattr', -r);
        const size = await this.sys.call('flistxattr', { dirfd: this.fd, out: null });
        out = Buffer.allocUnsafe(Math.max(size, 1));
      }
    });
  }

  hold(): () => void {
    return this.guard.hold();
  }

  close(): Promise<void> {
    return this.guard.close(() => this.release());
  }
}

function nsToSeconds(ns: bigint): number {
  return Number(ns / 1_000_000_000n) + Number(ns % 1_000_000_000n) / 1e9;
}

function xattrName(name: string): Buffer {
  if (typeof name !== 'string' || name === '' || name.includes('\0')) {
    throw new TypeError(`xattr name must be a non-empty string without NUL, got ${JSON.stringify(name)}`);
  }
  return Buffer.from(name + '\0', 'utf8');
}
