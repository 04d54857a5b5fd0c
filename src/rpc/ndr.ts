/**
 * NDR 2.0 (C706 chapter 14), little-endian, as carried in DCE/RPC stub data.
 *
 * Alignment is relative to the start of the stub (C706 14.2.2); the writer and reader
 * each start at stub offset 0. Pointer referents follow the rules of C706 14.3.12 as
 * MS-RPCE 2.2.5 uses them: the referent of a top-level pointer follows the pointer at
 * once; the referents of pointers embedded in a constructed type (struct, union, array)
 * follow the whole constructed type, in the order the pointers appear, and each
 * referent's own embedded referents follow that referent before the next one starts.
 */
import { RingsmbError } from '../util/errors.js';

/** Malformed or truncated stub data (maps to the fault nca_s_fault_ndr). */
export class NdrError extends RingsmbError {
  constructor(message: string) {
    super('ERR_NDR', message);
  }
}

export class NdrWriter {
  private buf = Buffer.alloc(256);
  private len = 0;
  private nextReferent = 0x00020000;
  /** Queue of embedded-pointer referents of the constructed type being written. */
  private deferred: Array<() => void> | null = null;

  get length(): number {
    return this.len;
  }

  /** Grows the buffer (which may replace it: read `this.buf` only after calling). */
  private reserve(n: number): number {
    if (this.len + n > this.buf.length) {
      const grown = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
      this.buf.copy(grown, 0, 0, this.len);
      this.buf = grown;
    }
    const at = this.len;
    this.len += n;
    return at;
  }

  align(n: number): this {
    const pad = (n - (this.len % n)) % n;
    const at = this.reserve(pad);
    this.buf.fill(0, at, this.len);
    return this;
  }

  u8(v: number): this {
    const at = this.reserve(1);
    this.buf.writeUInt8(v & 0xff, at);
    return this;
  }

  u16(v: number): this {
    this.align(2);
    const at = this.reserve(2);
    this.buf.writeUInt16LE(v & 0xffff, at);
    return this;
  }

  u32(v: number): this {
    this.align(4);
    const at = this.reserve(4);
    this.buf.writeUInt32LE(v >>> 0, at);
    return this;
  }

  i32(v: number): this {
    this.align(4);
    const at = this.reserve(4);
    this.buf.writeInt32LE(v | 0, at);
    return this;
  }

  u64(v: bigint): this {
    this.align(8);
    const at = this.reserve(8);
    this.buf.writeBigUInt64LE(v, at);
    return this;
  }

  bytes(b: Buffer): this {
    const at = this.reserve(b.length);
    b.copy(this.buf, at);
    return this;
  }

  /**
   * Writes a constructed type: `body` writes its scalars (embedded pointers queue their
   * referents), then the queued referents are written in order, each as its own
   * constructed scope so that its embedded referents come right after it.
   */
  constructed(body: () => void): this {
    const saved = this.deferred;
    const queue: Array<() => void> = [];
    this.deferred = queue;
    try {
      body();
    } finally {
      this.deferred = saved;
    }
    for (const write of queue) this.constructed(write);
    return this;
  }

  /**
   * A [unique] (or [ptr]) pointer: the referent id, or 0 for NULL. At top level the
   * referent follows at once; inside `constructed` it is deferred (C706 14.3.12.3).
   */
  uniquePtr<T>(value: T | null | undefined, writeReferent: (v: T) => void): this {
    if (value === null || value === undefined) return this.u32(0);
    this.u32(this.nextReferent);
    this.nextReferent += 4;
    if (this.deferred) this.deferred.push(() => writeReferent(value));
    else this.constructed(() => writeReferent(value));
    return this;
  }

  /** [string] wchar_t*: conformant varying, counts include the terminating NUL. */
  wstring(s: string): this {
    const count = s.length + 1;
    this.u32(count).u32(0).u32(count);
    const at = this.reserve(count * 2);
    this.buf.write(s, at, 'utf16le');
    this.buf.writeUInt16LE(0, at + s.length * 2);
    return this;
  }

  /** A unique pointer to a [string] wchar_t (NULL when s is null/undefined). */
  wstringPtr(s: string | null | undefined): this {
    return this.uniquePtr(s, (v) => this.wstring(v));
  }

  /** Conformant array: max_count, then the elements as one constructed type. */
  conformantArray<T>(items: readonly T[], writeElement: (item: T) => void): this {
    this.u32(items.length);
    return this.constructed(() => {
      for (const item of items) writeElement(item);
    });
  }

  /**
   * The bytes written, as a view: no copy, since the stub is copied into its PDUs anyway.
   * Later writes only append, so they never change what the view shows.
   */
  finish(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

export class NdrReader {
  private off = 0;
  constructor(private readonly buf: Buffer) {}

  get offset(): number {
    return this.off;
  }

  get remaining(): number {
    return this.buf.length - this.off;
  }

  private take(n: number): number {
    if (this.off + n > this.buf.length) {
      throw new NdrError(`stub truncated: need ${n} bytes at offset ${this.off}, have ${this.buf.length - this.off}`);
    }
    const at = this.off;
    this.off += n;
    return at;
  }

  align(n: number): this {
    const pad = (n - (this.off % n)) % n;
    this.take(pad);
    return this;
  }

  u8(): number {
    return this.buf.readUInt8(this.take(1));
  }

  u16(): number {
    this.align(2);
    return this.buf.readUInt16LE(this.take(2));
  }

  u32(): number {
    this.align(4);
    return this.buf.readUInt32LE(this.take(4));
  }

  u64(): bigint {
    this.align(8);
    return this.buf.readBigUInt64LE(this.take(8));
  }

  /** A unique pointer's referent id (0 = NULL). */
  ptr(): number {
    return this.u32();
  }

  /** [string] wchar_t*: conformant varying; the terminating NUL is dropped. */
  wstring(): string {
    const max = this.u32();
    const offset = this.u32();
    const actual = this.u32();
    if (offset !== 0 || actual > max) {
      throw new NdrError(`bad varying string bounds: max ${max}, offset ${offset}, actual ${actual}`);
    }
    const raw = this.buf.subarray(this.take(actual * 2), this.off);
    let s = raw.toString('utf16le');
    const nul = s.indexOf('\0');
    if (nul >= 0) s = s.slice(0, nul);
    return s;
  }

  /** A unique pointer to a [string] wchar_t; null when the pointer is NULL. */
  wstringPtr(): string | null {
    return this.ptr() === 0 ? null : this.wstring();
  }
}
