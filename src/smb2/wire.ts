/**
 * Small helpers shared by the SMB2 codecs: bounds-checked reads, UTF-16LE,
 * alignment, and the one error a decoder throws on bad input.
 */
import { RingsmbError } from '../util/errors.js';

/** Thrown by a decoder when a message does not fit its layout. */
export class MalformedError extends RingsmbError {
  constructor(message: string) {
    super('ERR_SMB2_MALFORMED', message);
  }
}

/** Throws MalformedError unless `buf` holds `len` bytes at `off`. */
export function need(buf: Buffer, off: number, len: number, what: string): void {
  if (off < 0 || len < 0 || off + len > buf.length) {
    throw new MalformedError(`${what}: needs ${len} bytes at ${off}, message has ${buf.length}`);
  }
}

/** The empty buffer every decoder returns for an absent region (shared: nothing can be written to it). */
const EMPTY = Buffer.alloc(0);

/**
 * The buffer that an Offset/Length pair of a message points at, as a view (no copy).
 * A zero length yields an empty buffer whatever the offset (MS-SMB2 lets senders put 0
 * there). `min` is the first byte after the fixed part: data may not overlap it.
 */
export function region(msg: Buffer, offset: number, length: number, min: number, what: string): Buffer {
  if (length === 0) return EMPTY;
  if (offset < min) throw new MalformedError(`${what}: offset ${offset} inside the fixed part (< ${min})`);
  need(msg, offset, length, what);
  return msg.subarray(offset, offset + length);
}

/** True when two non-empty Offset/Length regions share a byte. */
export function overlaps(aOff: number, aLen: number, bOff: number, bLen: number): boolean {
  return aLen !== 0 && bLen !== 0 && bOff < aOff + aLen && aOff < bOff + bLen;
}

export function align8(n: number): number {
  return (n + 7) & ~7;
}

/**
 * Joins the entries of a NextEntryOffset chain (MS-FSCC 2.4 and 2.7.1, MS-SMB2 2.2.13.2):
 * every entry but the last is padded to `alignment` and its first u32, NextEntryOffset,
 * set to that padded size; the last is unpadded with NextEntryOffset 0. Each entry comes
 * with its first four bytes left for that field. An empty list gives an empty buffer.
 */
export function joinChain(entries: readonly Buffer[], alignment: 4 | 8): Buffer {
  const last = entries.length - 1;
  const step = (e: Buffer) => (e.length + alignment - 1) & -alignment;
  let total = 0;
  entries.forEach((e, i) => (total += i === last ? e.length : step(e)));
  const out = zeroed(total);
  let off = 0;
  entries.forEach((e, i) => {
    e.copy(out, off);
    if (i === last) return;
    const next = step(e);
    out.writeUInt32LE(next, off);
    off += next;
  });
  return out;
}

/**
 * A zero-filled buffer for an encoder, from Buffer's pool below 4 KiB.
 * Buffer.alloc(n) puts n <= 64 on V8's heap, which V8 moves out (two
 * mallocs) the first time native code looks at it, as signing and the
 * transport do with every response part, and takes anything larger from
 * calloc: several mallocs per response, measured on CREATE + CLOSE.
 */
export function zeroed(n: number): Buffer {
  return Buffer.allocUnsafe(n).fill(0);
}

/** UTF-16LE bytes of a string. */
export function utf16(s: string): Buffer {
  return Buffer.from(s, 'utf16le');
}

/** Decodes UTF-16LE; an odd byte count is malformed. */
export function fromUtf16(b: Buffer, what = 'name'): string {
  if (b.length % 2 !== 0) throw new MalformedError(`${what}: odd UTF-16 length ${b.length}`);
  return b.toString('utf16le');
}

/** A 16-byte field (GUID, lease key): copies so the caller may keep it. */
export function copy16(buf: Buffer, off: number): Buffer {
  return Buffer.from(buf.subarray(off, off + 16));
}

/** Writes a 16-byte value, or zeros when absent; throws RangeError on a wrong size. */
export function put16(dst: Buffer, off: number, v: Buffer | undefined, what: string): void {
  if (v === undefined) {
    dst.fill(0, off, off + 16);
    return;
  }
  if (v.length !== 16) throw new RangeError(`${what} must be 16 bytes, got ${v.length}`);
  v.copy(dst, off);
}

/** SMB2_FILEID (MS-SMB2 2.2.14.1). */
export interface FileId {
  persistent: bigint;
  volatile: bigint;
}

/** The FileId a related compound request uses to mean "the previous one" (3.3.5.2.7.2). */
export const FILE_ID_ANY: Readonly<FileId> = Object.freeze({
  persistent: 0xffffffffffffffffn,
  volatile: 0xffffffffffffffffn,
});

export function readFileId(buf: Buffer, off: number): FileId {
  return { persistent: buf.readBigUInt64LE(off), volatile: buf.readBigUInt64LE(off + 8) };
}

export function writeFileId(buf: Buffer, off: number, id: FileId): void {
  buf.writeBigUInt64LE(id.persistent, off);
  buf.writeBigUInt64LE(id.volatile, off + 8);
}

/** Checks the StructureSize at the start of a body; throws MalformedError otherwise. */
export function structureSize(msg: Buffer, bodyOff: number, expect: number, what: string): void {
  need(msg, bodyOff, 2, what);
  const got = msg.readUInt16LE(bodyOff);
  if (got !== expect) throw new MalformedError(`${what}: StructureSize ${got}, expected ${expect}`);
}
