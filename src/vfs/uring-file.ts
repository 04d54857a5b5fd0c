/**
 * An open file or directory of the uring module. The public methods (checks,
 * guard, xattr size loop, readdir) are ThreadpoolFile's; the syscalls below
 * are ring ops instead. Inherited unchanged, on the threadpool: readdir (no
 * getdents op; the entries are statx'ed in batches by one native call),
 * setTimes (no futimens op), listXattr/removeXattr (no such ops).
 */
import { toSafeNumber } from './threadpool-sys.js';
import { ThreadpoolFile } from './threadpool-file.js';
import { AT_SYMLINK_NOFOLLOW } from './linux.js';
import type { UringSys } from './uring-sys.js';
import type { VfsStat } from './types.js';
import { FADV } from '../uring/ops/fadvise.js';
import { prepFgetxattr, prepFsetxattr } from '../uring/ops/xattr.js';
import { SystemError, errnoOf } from '../util/errors.js';

const ERANGE = errnoOf('ERANGE');
const XATTR_NAME_MAX = 255;
const EMPTY = Buffer.alloc(0);

export type Advice = keyof typeof FADV;

export class UringFile extends ThreadpoolFile {
  constructor(private readonly u: UringSys, fd: number, created: boolean, st: VfsStat) {
    super(u.tp, fd, created, st);
  }

  /**
   * Data-path hook: READ_FIXED into registered buffer `bufIndex` (of the
   * set given to the Vfs's useFixedBuffers()), at `offset` inside it, from
   * file position `pos`; the data is then in fixed.view(bufIndex). Plain
   * read() takes READ_FIXED by itself when its buffer lies inside one of
   * those buffers; this form saves building the view.
   */
  readFixed(bufIndex: number, offset: number, len: number, pos: number | bigint): Promise<number> {
    return this.guard.run(() => this.u.readFixed(this.fd, bufIndex, offset, len, toSafeNumber(pos, 'position')));
  }

  /** WRITE_FIXED from registered buffer `bufIndex`; see readFixed. */
  writeFixed(bufIndex: number, offset: number, len: number, pos: number | bigint): Promise<number> {
    return this.guard.run(() => this.u.writeFixed(this.fd, bufIndex, offset, len, toSafeNumber(pos, 'position')));
  }

  /**
   * posix_fadvise over [offset, offset + len) (len 0: to the end), a hint
   * for the data path (e.g. 'SEQUENTIAL' for a large read). Resolves
   * without doing anything where the ring has no FADVISE.
   */
  advise(offset: number, len: number, advice: Advice): Promise<void> {
    return this.guard.run(async () => {
      if (this.u.has.FADVISE) await this.u.fadvise(this.fd, offset, len, FADV[advice]);
    });
  }

  protected override pread(buf: Buffer, bufOff: number, len: number, pos: number): Promise<number> {
    return this.u.read(this.fd, buf, bufOff, len, pos);
  }

  protected override pwrite(buf: Buffer, bufOff: number, len: number, pos: number): Promise<number> {
    return this.u.write(this.fd, buf, bufOff, len, pos);
  }

  protected override statAt(name: string | null): Promise<VfsStat> {
    return this.u.statx(this.fd, name, name === null ? 0 : AT_SYMLINK_NOFOLLOW);
  }

  protected override ftruncate(len: number): Promise<void> {
    return this.u.has.FTRUNCATE ? this.u.ftruncate(this.fd, len) : super.ftruncate(len);
  }

  protected override fallocate(mode: number, offset: number, len: number): Promise<void> {
    return this.u.has.FALLOCATE ? this.u.fallocate(this.fd, mode, offset, len) : super.fallocate(mode, offset, len);
  }

  protected override fsync(dataOnly: boolean): Promise<void> {
    return this.u.fsync(this.fd, dataOnly);
  }

  protected override async fgetxattr(name: string, nameBytes: Buffer, out: Buffer | null): Promise<number> {
    if (!this.u.has.FGETXATTR || this.u.inlines('fgetxattr', 0)) return super.fgetxattr(name, nameBytes, out);
    // The op refuses (RangeError) a name the kernel would answer ERANGE.
    if (nameBytes.length - 1 > XATTR_NAME_MAX) return -ERANGE;
    try {
      return await this.u.exec<number>('fgetxattr', name, (cb) => prepFgetxattr(this.u.ring, this.fd, name, out ?? EMPTY, cb));
    } catch (err) {
      if (err instanceof SystemError && err.syscall === 'fgetxattr') return -err.errno;
      throw err;
    }
  }

  protected override async fsetxattr(name: string, nameBytes: Buffer, value: Buffer, flags: number): Promise<void> {
    if (!this.u.has.FSETXATTR || this.u.inlines('fsetxattr', 0)) return super.fsetxattr(name, nameBytes, value, flags);
    if (nameBytes.length - 1 > XATTR_NAME_MAX) throw new SystemError('fsetxattr', ERANGE, name);
    await this.u.exec<number>('fsetxattr', name, (cb) => prepFsetxattr(this.u.ring, this.fd, name, value, cb, { flags }));
  }

  protected override release(): Promise<void> {
    return this.u.close(this.fd);
  }
}
