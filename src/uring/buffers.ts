/**
 * Memory the kernel knows in advance:
 *
 * - RegisteredBuffers: one NativeRegion registered as N fixed buffers of S
 *   bytes (IORING_REGISTER_BUFFERS) for READ_FIXED/WRITE_FIXED and
 *   RECVSEND_FIXED_BUF; the kernel pins the pages once instead of per op.
 * - BufRing: a provided buffer ring (IORING_REGISTER_PBUF_RING, 5.19+) the
 *   kernel picks buffers from (SQE.BUFFER_SELECT, multishot RECV); user
 *   space gives each buffer back with recycle(bid) once it is consumed.
 *
 * Views are over the registered memory itself: no copy.
 */
import type { Ring } from './ring.js';
import { NativeRegion } from './memory.js';
import { REGISTER, SIZEOF } from './constants.js';
import { hi32, lo32 } from './sqe.js';
import { check } from '../util/errors.js';

const PAGE = 4096;

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** A registration the ring holds until dispose(); a closed ring has dropped it already. */
abstract class Registration {
  private registered = true;
  constructor(readonly ring: Ring) {}

  get isRegistered(): boolean {
    return this.registered;
  }

  dispose(): void {
    if (!this.registered) return;
    this.registered = false;
    if (!this.ring.isClosed) this.unregister();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  protected abstract unregister(): void;
}

export class RegisteredBuffers extends Registration {
  readonly region: NativeRegion;

  /** Registers `count` buffers of `size` bytes with the ring (one set per ring). */
  static register(ring: Ring, count: number, size: number): RegisteredBuffers {
    if (!Number.isInteger(count) || count < 1 || count > 16384) throw new RangeError('count must be an integer from 1 to 16384');
    if (!Number.isInteger(size) || size < 1 || size > 1 << 30) throw new RangeError('size must be an integer from 1 to 2^30');
    return new RegisteredBuffers(ring, count, size);
  }

  private constructor(ring: Ring, readonly count: number, readonly size: number) {
    super(ring);
    this.region = new NativeRegion(roundUp(count * size, PAGE));
    const iov = Buffer.alloc(count * SIZEOF.IOVEC);
    for (let i = 0; i < count; i++) {
      iov.writeUIntLE(this.region.address + i * size, i * SIZEOF.IOVEC, 6);
      iov.writeUIntLE(size, i * SIZEOF.IOVEC + 8, 6);
    }
    check('io_uring_register(BUFFERS)', ring.register(REGISTER.BUFFERS, iov, count));
  }

  /** Buffer i, over the registered memory. */
  view(i: number): Buffer {
    this.checkIndex(i);
    return this.region.view(i * this.size, this.size);
  }

  address(i: number): number {
    this.checkIndex(i);
    return this.region.address + i * this.size;
  }

  protected unregister(): void {
    check('io_uring_register(UNREGISTER_BUFFERS)', this.ring.register(REGISTER.UNREGISTER_BUFFERS, null, 0));
  }

  private checkIndex(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) throw new RangeError(`buffer index ${i} is outside 0..${this.count - 1}`);
  }
}

export interface BufRingOptions {
  /** buffer group id, used as the SQE's buf_group; default 0 */
  bgid?: number;
  /** number of buffers, a power of two up to 32768 */
  entries: number;
  /** bytes per buffer */
  size: number;
}

/**
 * struct io_uring_buf (16 bytes): addr u64, len u32, bid u16, resv u16;
 * the ring's tail is the resv field of entry 0, so entry 0 is written
 * field by field and its last two bytes are left to the tail.
 */
export class BufRing extends Registration {
  readonly bgid: number;
  readonly entries: number;
  readonly size: number;
  /** the entries (page aligned, as the kernel requires) */
  readonly ringMemory: NativeRegion;
  /** the buffers themselves */
  readonly memory: NativeRegion;
  private readonly mask: number;
  private readonly u16: Uint16Array;
  private readonly u32: Uint32Array;
  private tail = 0;

  static register(ring: Ring, opts: BufRingOptions): BufRing {
    const bgid = opts.bgid ?? 0;
    if (!Number.isInteger(bgid) || bgid < 0 || bgid > 0xffff) throw new RangeError('bgid must be an integer from 0 to 65535');
    const e = opts.entries;
    if (!Number.isInteger(e) || e < 1 || e > 32768 || (e & (e - 1)) !== 0) throw new RangeError('entries must be a power of two from 1 to 32768');
    if (!Number.isInteger(opts.size) || opts.size < 1 || opts.size > 0xffffffff) throw new RangeError('size must be an integer from 1 to 2^32-1');
    return new BufRing(ring, bgid, e, opts.size);
  }

  private constructor(ring: Ring, bgid: number, entries: number, size: number) {
    super(ring);
    this.bgid = bgid;
    this.entries = entries;
    this.size = size;
    this.mask = entries - 1;
    this.ringMemory = new NativeRegion(roundUp(entries * 16, PAGE));
    this.memory = new NativeRegion(roundUp(entries * size, PAGE));
    this.u16 = new Uint16Array(this.ringMemory.buffer);
    this.u32 = new Uint32Array(this.ringMemory.buffer);
    // struct io_uring_buf_reg: ring_addr u64, ring_entries u32, bgid u16, flags u16, resv u64[3]
    const reg = Buffer.alloc(40);
    reg.writeUIntLE(this.ringMemory.address, 0, 6);
    reg.writeUInt32LE(entries, 8);
    reg.writeUInt16LE(bgid, 12);
    check('io_uring_register(PBUF_RING)', ring.register(REGISTER.PBUF_RING, reg, 1));
    for (let bid = 0; bid < entries; bid++) this.put(bid);
    this.publish();
  }

  /** Gives buffer `bid` back to the kernel. */
  recycle(bid: number): void {
    this.checkBid(bid);
    this.put(bid);
    this.publish();
  }

  /** The first `len` bytes of buffer `bid`, over the ring's memory (no copy). */
  view(bid: number, len = this.size): Buffer {
    this.checkBid(bid);
    if (!Number.isInteger(len) || len < 0 || len > this.size) throw new RangeError(`length ${len} is outside 0..${this.size}`);
    return this.memory.view(bid * this.size, len);
  }

  address(bid: number): number {
    return this.memory.address + bid * this.size;
  }

  protected unregister(): void {
    const reg = Buffer.alloc(40);
    reg.writeUInt16LE(this.bgid, 12);
    check('io_uring_register(UNREGISTER_PBUF_RING)', this.ring.register(REGISTER.UNREGISTER_PBUF_RING, reg, 1));
  }

  private checkBid(bid: number): void {
    if (!Number.isInteger(bid) || bid < 0 || bid >= this.entries) throw new RangeError(`buffer id ${bid} is outside 0..${this.entries - 1}`);
  }

  private put(bid: number): void {
    const e = (this.tail & this.mask) * 4; // word index of the entry
    const addr = this.address(bid);
    this.u32[e] = lo32(addr);
    this.u32[e + 1] = hi32(addr);
    this.u32[e + 2] = this.size;
    this.u16[e * 2 + 6] = bid;
    this.tail = (this.tail + 1) & 0xffff;
  }

  private publish(): void {
    // The kernel reads the tail with smp_load_acquire; a seq-cst store orders the entries before it.
    Atomics.store(this.u16, 7, this.tail);
  }
}
