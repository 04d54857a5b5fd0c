/**
 * Memory with known addresses, for SQE fields that point at user memory.
 *
 * - addressOf(view): one native call per ArrayBuffer, then cached, since V8
 *   never moves an ArrayBuffer's backing store.
 * - Arena: small blocks (timespecs, open_how, statx buffers, msghdrs, paths)
 *   carved from native memory whose base address is known, so building an
 *   SQE needs no native call at all.
 */
import { requireNative } from '../native.js';
import { check } from '../util/errors.js';

const addressCache = new WeakMap<ArrayBufferLike, number>();

/** Address of the first byte of a view (or ArrayBuffer). */
export function addressOf(view: ArrayBufferView | ArrayBuffer): number {
  if (view instanceof ArrayBuffer) {
    let a = addressCache.get(view);
    if (a === undefined) {
      a = requireNative().addressOf(view);
      addressCache.set(view, a);
    }
    return a;
  }
  const ab = view.buffer;
  let base = addressCache.get(ab);
  if (base === undefined) {
    // A zero-length or detached buffer has no stable address worth caching.
    base = requireNative().addressOf(view) - view.byteOffset;
    if (view.byteLength > 0) addressCache.set(ab, base);
  }
  return base + view.byteOffset;
}

/** Native, page-aligned memory that is never moved and whose address is known. */
export class NativeRegion {
  readonly buffer: ArrayBuffer;
  readonly address: number;
  readonly size: number;
  constructor(size: number) {
    const r = requireNative().allocBuffer(size);
    if (typeof r === 'number') check('mmap', r);
    const { buffer, address } = r as { buffer: ArrayBuffer; address: number };
    this.buffer = buffer;
    this.address = address;
    this.size = size;
    addressCache.set(buffer, address);
  }
  view(offset: number, length: number): Buffer {
    return Buffer.from(this.buffer, offset, length);
  }
}

/** A block of arena memory: `buf` views it, `addr` is its address. */
export interface ArenaBlock {
  readonly buf: Buffer;
  readonly addr: number;
  readonly cls: number;
  readonly index: number;
}

const CLASSES = [64, 512, 4096] as const;
const PER_CHUNK = [1024, 256, 64] as const;

/**
 * Fixed-size-class allocator over native chunks. Blocks are recycled on
 * free(); a new chunk is mapped when a class runs out.
 */
export class Arena {
  private free: ArenaBlock[][] = CLASSES.map(() => []);
  private chunks: NativeRegion[] = [];
  allocated = 0;

  alloc(size: number): ArenaBlock {
    let cls = 0;
    while (cls < CLASSES.length && CLASSES[cls]! < size) cls++;
    if (cls === CLASSES.length) throw new RangeError(`arena block of ${size} bytes is too large (max ${CLASSES[CLASSES.length - 1]})`);
    const list = this.free[cls]!;
    if (list.length === 0) this.grow(cls);
    this.allocated++;
    return list.pop()!;
  }

  /** A NUL-terminated UTF-8 copy of a path; paths longer than PATH_MAX are refused. */
  path(p: string): ArenaBlock {
    const len = Buffer.byteLength(p);
    if (len >= 4096) throw new RangeError('path longer than PATH_MAX (4095 bytes)');
    if (p.includes('\0')) throw new TypeError('path contains a NUL character');
    const b = this.alloc(len + 1);
    b.buf.write(p, 0, 'utf8');
    b.buf[len] = 0;
    return b;
  }

  release(b: ArenaBlock): void {
    this.allocated--;
    this.free[b.cls]!.push(b);
  }

  private grow(cls: number): void {
    const size = CLASSES[cls]!;
    const n = PER_CHUNK[cls]!;
    const region = new NativeRegion(size * n);
    this.chunks.push(region);
    const list = this.free[cls]!;
    for (let i = n - 1; i >= 0; i--) {
      list.push({ buf: region.view(i * size, size), addr: region.address + i * size, cls, index: i });
    }
  }
}
