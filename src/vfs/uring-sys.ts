/**
 * The uring module's syscalls: ops on a ring that belongs to an EventContext.
 *
 * Submission and completion take the ring's normal path: an op queued
 * outside the context's handlers (after an await) wakes the owner through
 * ring.ownerKick, which flushes the SQ and keeps Node alive while ops are
 * in flight; the context's backend reaps the completions.
 *
 * What the ring cannot do goes to the threadpool module's ThreadpoolSys
 * (`tp`): readlinkat here, readdir/futimens/flistxattr/fremovexattr in the
 * file class, statfs in share.ts.
 */
import { requireNative } from '../native.js';
import type { RegisteredBuffers } from '../uring/buffers.js';
import { OP, type OpName } from '../uring/constants.js';
import { Op } from '../uring/op.js';
import type { Ring } from '../uring/ring.js';
import { checkFd, type ResultCallback } from '../uring/ops/common.js';
import { prepFadvise } from '../uring/ops/fadvise.js';
import { prepFsync } from '../uring/ops/fsync.js';
import { prepLinkat } from '../uring/ops/linkat.js';
import { prepMkdirat } from '../uring/ops/mkdirat.js';
import { prepOpenat2 } from '../uring/ops/openat2.js';
import { prepRenameat } from '../uring/ops/renameat.js';
import { prepRead, prepReadFixed, prepWrite, prepWriteFixed } from '../uring/ops/rw.js';
import { prepStatxWith } from '../uring/ops/statx.js';
import { prepSymlinkat } from '../uring/ops/symlinkat.js';
import { prepUnlinkat } from '../uring/ops/unlinkat.js';
import { prepClose } from '../uring/ops/close.js';
import { SystemError, errnoOf } from '../util/errors.js';
import { runsInline, type InlineLevel } from './inline.js';
import { AT_EMPTY_PATH, AT_REMOVEDIR, STATX_BASIC_STATS, STATX_BTIME, decodeVfsStat, type SysOpName } from './linux.js';
import type { VfsSys } from './share.js';
import { ThreadpoolSys } from './threadpool-sys.js';
import { UringFile } from './uring-file.js';
import type { VfsFile, VfsStat } from './types.js';

/** Ops the module cannot run without (5.15+: MKDIRAT/SYMLINKAT/LINKAT are the newest). */
export const URING_VFS_OPS: readonly OpName[] = [
  'OPENAT2', 'STATX', 'READ', 'WRITE', 'READ_FIXED', 'WRITE_FIXED', 'FSYNC', 'UNLINKAT', 'RENAMEAT', 'MKDIRAT',
  'SYMLINKAT', 'LINKAT', 'CLOSE',
];

/** Ops used when the probe has them, else the threadpool path (FTRUNCATE 6.9, xattrs 5.19). */
export interface OptionalOps {
  readonly FTRUNCATE: boolean;
  readonly FALLOCATE: boolean;
  readonly FADVISE: boolean;
  readonly FGETXATTR: boolean;
  readonly FSETXATTR: boolean;
}

const EBADF = errnoOf('EBADF');
const ENAMETOOLONG = errnoOf('ENAMETOOLONG');
const PATH_MAX = 4096;
const noop = (): void => {};

/** A promise's settle function in the shape of an op callback. */
type Settle<T> = (err: SystemError | null, v: T) => void;

/** What every share's UringSys of one Vfs shares. */
export interface UringShared {
  /** The data path's registered buffers (one set per ring), or null. */
  fixed: RegisteredBuffers | null;
  /** Ops submitted by the module and not yet completed. */
  inflight: number;
}

/**
 * One per share (and one for opening share roots): the ring and the shared
 * state are the Vfs's, `inline` is the share's (inline.ts). Path and
 * metadata calls the level covers go to `tp`, which makes them inline;
 * the rest are ring ops.
 */
export class UringSys implements VfsSys {
  readonly tp: ThreadpoolSys;
  readonly has: OptionalOps;

  private readonly n = requireNative();

  constructor(readonly ring: Ring, readonly inline: InlineLevel = 'none',
    readonly shared: UringShared = { fixed: null, inflight: 0 }) {
    const s = (op: OpName): boolean => ring.supports(op);
    this.has = { FTRUNCATE: s('FTRUNCATE'), FALLOCATE: s('FALLOCATE'), FADVISE: s('FADVISE'), FGETXATTR: s('FGETXATTR'), FSETXATTR: s('FSETXATTR') };
    this.tp = new ThreadpoolSys(inline);
  }

  /** The same module for a share whose filesystem allows `level`. */
  forShare(level: InlineLevel): UringSys {
    return new UringSys(this.ring, level, this.shared);
  }

  /** Whether this call goes inline through tp instead of the ring. */
  inlines(op: SysOpName, flags: number): boolean {
    return runsInline(this.inline, op, flags);
  }

  /**
   * Builds one op around `settle`, submits it and returns its promise. Op
   * errors are renamed to the syscall (same messages as the threadpool
   * module); a closed ring rejects with EBADF, ops in flight when it closes
   * with ECANCELED, each exactly once.
   */
  exec<T>(syscall: string, detail: string | undefined, build: (settle: Settle<T>) => Op): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.ring.isClosed) throw new SystemError(syscall, EBADF, 'the ring is closed');
      const op = build((err, v) => {
        this.shared.inflight--;
        if (err) reject(new SystemError(syscall, err.errno, detail));
        else resolve(v);
      });
      this.shared.inflight++;
      try {
        this.ring.submit(op);
      } catch {
        op.complete(-EBADF, 0); // releases its arena blocks and settles
      }
    });
  }

  /** exec for ops whose result is only success or an error. */
  private execVoid(syscall: string, detail: string | undefined, build: (cb: ResultCallback) => Op): Promise<void> {
    return this.exec<number>(syscall, detail, build).then(noop);
  }

  // ---- VfsSys ----

  /** Never rejects for a kernel error: the confinement algorithms want -errno. */
  openat2(dirfd: number, path: string, flags: number, mode: number, resolve: number): Promise<number> {
    if (this.inlines('openat2', flags)) return this.tp.openat2(dirfd, path, flags, mode, resolve);
    return this.exec<number>('openat2', path, (settle) =>
      prepOpenat2(this.ring, dirfd, path, { flags, mode, resolve }, (err, fd) => settle(null, err ? -err.errno : fd)));
  }

  /** O_PATH and directory fds the algorithms opened: close(2) cannot block on them, so no ring round trip. */
  closeFd(fd: number): void {
    this.n.close(fd);
  }

  statx(fd: number, name: string | null, atFlags: number): Promise<VfsStat> {
    const flags = name === null ? atFlags | AT_EMPTY_PATH : atFlags;
    if (this.inlines('statx', flags)) return this.tp.statx(fd, name, atFlags);
    return this.exec<VfsStat>('statx', name ?? undefined, (settle) =>
      prepStatxWith(this.ring, fd, name ?? '', decodeVfsStat, settle as Settle<VfsStat | null>,
        { flags, mask: STATX_BASIC_STATS | STATX_BTIME }));
  }

  mkdirat(dirfd: number, name: string, mode: number): Promise<void> {
    if (this.inlines('mkdirat', 0)) return this.tp.mkdirat(dirfd, name, mode);
    return this.execVoid('mkdirat', name, (cb) => prepMkdirat(this.ring, dirfd, name, mode, cb));
  }

  unlinkat(dirfd: number, name: string, flags: number): Promise<void> {
    return this.execVoid('unlinkat', name, (cb) =>
      prepUnlinkat(this.ring, dirfd, name, cb, { removeDir: (flags & AT_REMOVEDIR) !== 0 }));
  }

  renameat2(fromFd: number, fromName: string, toFd: number, toName: string, flags: number): Promise<void> {
    return this.execVoid('renameat2', `${fromName} -> ${toName}`, (cb) =>
      prepRenameat(this.ring, fromFd, fromName, toFd, toName, cb, { flags }));
  }

  linkat(fromFd: number, fromName: string, toFd: number, toName: string): Promise<void> {
    if (this.inlines('linkat', 0)) return this.tp.linkat(fromFd, fromName, toFd, toName);
    return this.execVoid('linkat', `${fromName} -> ${toName}`, (cb) =>
      prepLinkat(this.ring, fromFd, fromName, toFd, toName, cb, { flags: 0 }));
  }

  symlinkat(target: string, dirfd: number, name: string): Promise<void> {
    if (this.inlines('symlinkat', 0)) return this.tp.symlinkat(target, dirfd, name);
    // The arena refuses what the kernel would refuse with ENAMETOOLONG: say it the kernel's way.
    if (Buffer.byteLength(target) >= PATH_MAX) return Promise.reject(new SystemError('symlinkat', ENAMETOOLONG, name));
    return this.execVoid('symlinkat', name, (cb) => prepSymlinkat(this.ring, target, dirfd, name, cb));
  }

  /** No READLINKAT op in io_uring (tp makes it inline where the share allows). */
  readlinkat(dirfd: number, name: string): Promise<string> {
    return this.tp.readlinkat(dirfd, name);
  }

  newFile(fd: number, created: boolean, st: VfsStat): VfsFile {
    return new UringFile(this, fd, created, st);
  }

  // ---- file ops (uring-file.ts) ----

  /** READ, or READ_FIXED when buf lies inside one of the registered buffers. */
  read(fd: number, buf: Buffer, bufOff: number, len: number, pos: number): Promise<number> {
    const slot = this.fixedSlot(buf, bufOff, len);
    if (slot >= 0) return this.readFixed(fd, slot, buf.byteOffset + bufOff - slot * this.shared.fixed!.size, len, pos);
    return this.exec<number>('read', undefined, (cb) => prepRead(this.ring, fd, buf, pos, cb, { offset: bufOff, length: len }));
  }

  write(fd: number, buf: Buffer, bufOff: number, len: number, pos: number): Promise<number> {
    const slot = this.fixedSlot(buf, bufOff, len);
    if (slot >= 0) return this.writeFixed(fd, slot, buf.byteOffset + bufOff - slot * this.shared.fixed!.size, len, pos);
    return this.exec<number>('write', undefined, (cb) => prepWrite(this.ring, fd, buf, pos, cb, { offset: bufOff, length: len }));
  }

  readFixed(fd: number, index: number, offset: number, len: number, pos: number): Promise<number> {
    const fixed = this.requireFixed();
    return this.exec<number>('read', undefined, (cb) =>
      prepReadFixed(this.ring, fd, fixed, index, pos, cb, { offset, length: len }));
  }

  writeFixed(fd: number, index: number, offset: number, len: number, pos: number): Promise<number> {
    const fixed = this.requireFixed();
    return this.exec<number>('write', undefined, (cb) =>
      prepWriteFixed(this.ring, fd, fixed, index, pos, cb, { offset, length: len }));
  }

  fsync(fd: number, dataOnly: boolean): Promise<void> {
    return this.execVoid(dataOnly ? 'fdatasync' : 'fsync', undefined, (cb) =>
      prepFsync(this.ring, fd, cb, { datasync: dataOnly }));
  }

  fadvise(fd: number, offset: number, len: number, advice: number): Promise<void> {
    return this.execVoid('fadvise', undefined, (cb) => prepFadvise(this.ring, fd, offset, len, advice, cb));
  }

  ftruncate(fd: number, len: number): Promise<void> {
    return this.execVoid('ftruncate', undefined, (cb) => prepFtruncate(fd, len, cb));
  }

  fallocate(fd: number, mode: number, offset: number, len: number): Promise<void> {
    return this.execVoid('fallocate', undefined, (cb) => prepFallocate(fd, mode, offset, len, cb));
  }

  /**
   * close(2) on this thread where the share's filesystem allows inline calls
   * at all (inline.ts: not network or FUSE filesystems). A CLOSE op would run
   * here too: io_uring issues it inline unless the file has a ->flush (NFS,
   * FUSE), and the last reference's release (freeing an unlinked file's
   * pages) is task work on the submitting thread either way. The op only
   * added its CQE, whose eventfd signal costs Node's loop a turn.
   * Elsewhere CLOSE on the ring (io-wq runs the flush). When the ring is
   * gone, or closed with this op still queued (ECANCELED: it never ran),
   * close(2) directly: an fd must not leak.
   */
  async close(fd: number): Promise<void> {
    if (this.inline !== 'none') {
      const r = this.n.close(fd);
      if (r < 0) throw new SystemError('close', -r);
      return;
    }
    try {
      await this.execVoid('close', undefined, (cb) => prepClose(this.ring, fd, cb));
    } catch (err) {
      const e = (err as SystemError).code;
      if ((e !== 'EBADF' || !this.ring.isClosed) && e !== 'ECANCELED') throw err;
      this.n.close(fd);
    }
  }

  /** The registered buffer holding [bufOff, bufOff + len) of buf, or -1. */
  private fixedSlot(buf: Buffer, bufOff: number, len: number): number {
    const fixed = this.shared.fixed;
    if (!fixed || !fixed.isRegistered || buf.buffer !== fixed.region.buffer || len <= 0) return -1;
    const start = buf.byteOffset + bufOff;
    const index = Math.floor(start / fixed.size);
    if (bufOff < 0 || bufOff + len > buf.byteLength || start + len > (index + 1) * fixed.size || index >= fixed.count) return -1;
    return index;
  }

  private requireFixed(): RegisteredBuffers {
    const fixed = this.shared.fixed;
    if (!fixed || !fixed.isRegistered) throw new TypeError('no registered buffers: call useFixedBuffers() on the uring Vfs first');
    return fixed;
  }
}

// Preparers for the two ops src/uring/ops has no builder for yet (they
// belong there: ops/ftruncate.ts, ops/fallocate.ts). Layout from io_uring's
// io_ftruncate_prep (6.9) and io_fallocate_prep (5.6).

function prepFtruncate(fd: number, len: number, cb: ResultCallback): Op {
  checkFd('fd', fd);
  const op = new Op(OP.FTRUNCATE, cb);
  op.fd = fd;
  op.off = len;
  return op;
}

function prepFallocate(fd: number, mode: number, offset: number, len: number, cb: ResultCallback): Op {
  checkFd('fd', fd);
  const op = new Op(OP.FALLOCATE, cb);
  op.fd = fd;
  op.off = offset;
  op.addr = len;
  op.len = mode;
  return op;
}
