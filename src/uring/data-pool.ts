/**
 * Large data buffers for the SMB data path (ARCHITECTURE decision 5: "pipes
 * and buffers are pooled, not made per request"): the bodies of big WRITE
 * requests as they come off the socket, and READ data that must be signed or
 * sealed before it leaves.
 *
 * Allocating a fresh multi-megabyte Buffer per request costs page faults
 * and zeroing in the kernel, and, worse, counts as V8 external memory: at
 * a gigabyte per second that forces major garbage collections which, on a
 * 2-core machine, took as much CPU as the data path itself (measured with
 * perf on `smbclient put`: ConcurrentMarking, Sweeper at the top).
 *
 * The pool holds up to `count` buffers of `size` bytes, made on first use.
 * With a ring, they are one NativeRegion registered with the ring
 * (IORING_REGISTER_BUFFERS), so a VFS that was given them
 * (Vfs.useFixedBuffers) reads and writes them with READ_FIXED/WRITE_FIXED:
 * the kernel pinned the pages once, not per op. Where registration is
 * refused (RLIMIT_MEMLOCK for an unprivileged user, an old kernel) the
 * same region serves unregistered.
 *
 * Registration pins the whole region at the first take(), so `count` stays
 * small; past it, up to `spare` more buffers of plain native memory are made
 * one at a time when a burst needs them and kept for the next (the VFS
 * reads and writes those with plain READ/WRITE). Four clients putting signed
 * data at once had 10-11 buffers out: with 8 and no spares, 8% of their
 * WRITEs allocated their own 8 MiB, and the server ran 22 major GCs per
 * 8 GiB instead of 1, at 0.95 against 0.86 CPU s/GiB (2026-12-06). When
 * every buffer is out, take() returns null and the caller allocates as
 * before: a burst degrades to the old cost, never fails.
 */
import type { Ring } from './ring.js';
import { RegisteredBuffers } from './buffers.js';
import { NativeRegion } from './memory.js';

export interface DataBuffer {
  /** `len` bytes of pooled memory */
  readonly buf: Buffer;
  /** Gives the memory back; later calls do nothing. The buffer must not be used after. */
  release(): void;
}

export interface DataPoolStats {
  /** buffers made so far (at most count) */
  made: number;
  /** spare buffers made so far (at most spare) */
  spares: number;
  /** buffers given out and not yet released */
  out: number;
  /** take() calls that found the pool empty (the caller allocated instead) */
  misses: number;
  /** whether the memory is registered with a ring */
  registered: boolean;
}

export interface DataPoolOptions {
  /** bytes per buffer */
  size: number;
  /** buffers at most in the (registered) region */
  count: number;
  /** plain buffers at most past the region, made one by one when it is all out (default 0) */
  spare?: number;
  /** register the memory with this ring (READ_FIXED/WRITE_FIXED) */
  ring?: Ring | null;
  /** told once when registration was refused */
  onRegisterError?: (err: Error) => void;
  /** told when the registration is made, to hand it to the VFS */
  onRegistered?: (fixed: RegisteredBuffers) => void;
}

export class DataPool {
  readonly size: number;
  readonly count: number;
  private region: NativeRegion | null = null;
  private fixed: RegisteredBuffers | null = null;
  private readonly free: number[] = [];
  private readonly spareFree: NativeRegion[] = [];
  private spares = 0;
  private made = 0;
  private out = 0;
  private misses = 0;
  private closed = false;

  constructor(private readonly opts: DataPoolOptions) {
    if (!Number.isInteger(opts.size) || opts.size < 4096) throw new RangeError('size must be an integer >= 4096');
    if (!Number.isInteger(opts.count) || opts.count < 0 || opts.count > 1024) throw new RangeError('count must be an integer from 0 to 1024');
    if (opts.spare !== undefined && (!Number.isInteger(opts.spare) || opts.spare < 0 || opts.spare > 1024)) throw new RangeError('spare must be an integer from 0 to 1024');
    this.size = opts.size;
    this.count = opts.count;
  }

  get stats(): DataPoolStats {
    return { made: this.made, spares: this.spares, out: this.out, misses: this.misses, registered: this.fixed?.isRegistered ?? false };
  }

  /** `len` bytes of pooled memory, or null (too big, pool empty or closed: allocate instead). */
  take(len: number): DataBuffer | null {
    if (len > this.size || this.closed || this.count === 0) return null;
    let index = this.free.pop();
    if (index === undefined) {
      if (this.made === this.count) return this.takeSpare(len);
      if (!this.setup()) return null;
      index = this.made++;
    }
    return this.lend(this.view(index, len), () => this.free.push(index!));
  }

  /** A spare buffer (the region is all out): a free one, or a new one while fewer than `spare` exist. */
  private takeSpare(len: number): DataBuffer | null {
    let r = this.spareFree.pop();
    if (!r && this.spares < (this.opts.spare ?? 0)) {
      try {
        r = new NativeRegion(this.size);
        this.spares++;
      } catch {
        r = undefined; // no memory for it: the caller allocates, as on a miss
      }
    }
    if (!r) {
      this.misses++;
      return null;
    }
    const region = r;
    return this.lend(region.view(0, len), () => this.spareFree.push(region));
  }

  private lend(buf: Buffer, giveBack: () => void): DataBuffer {
    this.out++;
    let done = false;
    return {
      buf,
      release: () => {
        if (done) return;
        done = true;
        this.out--;
        if (!this.closed) giveBack();
      },
    };
  }

  /** Drops the registration; buffers still out stay valid memory until released and collected. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.free.length = 0;
    this.spareFree.length = 0;
    this.fixed?.dispose();
  }

  private view(index: number, len: number): Buffer {
    return this.region!.view(index * this.size, len);
  }

  /** Makes the memory on first use; false (and the pool stays empty for good) when even plain memory is refused. */
  private setup(): boolean {
    if (this.region) return true;
    const ring = this.opts.ring;
    if (ring && !ring.isClosed) {
      try {
        this.fixed = RegisteredBuffers.register(ring, this.count, this.size);
        this.region = this.fixed.region;
        this.opts.onRegistered?.(this.fixed);
        return true;
      } catch (err) {
        this.opts.onRegisterError?.(err as Error);
      }
    }
    try {
      this.region = new NativeRegion(Math.ceil((this.count * this.size) / 4096) * 4096);
      return true;
    } catch (err) {
      // No memory for the pool (mmap refused): requests allocate their own buffers, as without a pool.
      this.opts.onRegisterError?.(err as Error);
      this.closed = true;
      return false;
    }
  }
}
