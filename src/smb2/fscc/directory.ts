/**
 * Directory information classes of QUERY_DIRECTORY (MS-FSCC 2.4): an encoder that
 * fills entries up to the client's OutputBufferLength, and a decoder for the client.
 *
 * Each entry starts 8-aligned; NextEntryOffset is the distance to the next entry, 0 in
 * the last one (2.4 "NextEntryOffset"). The output stops after the last entry's name:
 * its trailing alignment padding is not sent.
 */
import { FileInfoClass as C } from '../constants.js';
import { MalformedError, align8, fromUtf16, need, utf16 } from '../wire.js';
import { readFileTimes, writeFileTimes, type FileTimes } from './time.js';

export interface DirectoryEntry extends FileTimes {
  fileName: string;
  fileIndex?: number;
  endOfFile: bigint;
  allocationSize: bigint;
  fileAttributes: number;
  /** Or the reparse tag when FILE_ATTRIBUTE_REPARSE_POINT is set (2.4.17 EaSize). */
  eaSize?: number;
  /** 8.3 name, Both classes only; empty when the server has none. */
  shortName?: string;
  /** FileId: 8 bytes in IdBoth/IdFull, 16 in IdExtd (written zero-extended). */
  fileId?: bigint;
  /** IdExtd only. */
  reparsePointTag?: number;
}

interface Layout {
  /** Offset of FileName. */
  fixed: number;
  eaSize?: number;
  shortName?: number;
  fileId?: number;
  fileIdBytes?: 8 | 16;
  reparseTag?: number;
}

const LAYOUTS: Readonly<Record<number, Layout>> = {
  [C.FileDirectoryInformation]: { fixed: 64 },
  [C.FileFullDirectoryInformation]: { fixed: 68, eaSize: 64 },
  [C.FileIdFullDirectoryInformation]: { fixed: 80, eaSize: 64, fileId: 72, fileIdBytes: 8 },
  [C.FileBothDirectoryInformation]: { fixed: 94, eaSize: 64, shortName: 68 },
  [C.FileIdBothDirectoryInformation]: { fixed: 104, eaSize: 64, shortName: 68, fileId: 96, fileIdBytes: 8 },
  [C.FileIdExtdDirectoryInformation]: { fixed: 88, eaSize: 64, reparseTag: 68, fileId: 72, fileIdBytes: 16 },
  [C.FileNamesInformation]: { fixed: 12 },
};

export function isDirectoryInfoClass(c: number): boolean {
  return LAYOUTS[c] !== undefined;
}

/** The encoded size of one entry, without trailing padding. */
export function directoryEntrySize(infoClass: number, fileName: string): number {
  const l = layout(infoClass);
  return l.fixed + fileName.length * 2;
}

function layout(infoClass: number): Layout {
  const l = LAYOUTS[infoClass];
  if (!l) throw new RangeError(`not a directory information class: ${infoClass}`);
  return l;
}

function writeEntry(b: Buffer, off: number, infoClass: number, l: Layout, e: DirectoryEntry, name: Buffer): void {
  b.writeUInt32LE(e.fileIndex ?? 0, off + 4);
  if (infoClass === C.FileNamesInformation) {
    b.writeUInt32LE(name.length, off + 8);
    name.copy(b, off + 12);
    return;
  }
  writeFileTimes(b, off + 8, e);
  b.writeBigInt64LE(e.endOfFile, off + 40);
  b.writeBigInt64LE(e.allocationSize, off + 48);
  b.writeUInt32LE(e.fileAttributes >>> 0, off + 56);
  b.writeUInt32LE(name.length, off + 60);
  if (l.eaSize !== undefined) b.writeUInt32LE((e.eaSize ?? 0) >>> 0, off + l.eaSize);
  if (l.reparseTag !== undefined) b.writeUInt32LE((e.reparsePointTag ?? 0) >>> 0, off + l.reparseTag);
  if (l.shortName !== undefined && e.shortName) {
    const sn = utf16(e.shortName).subarray(0, 24);
    b.writeUInt8(sn.length, off + l.shortName);
    sn.copy(b, off + l.shortName + 2);
  }
  if (l.fileId !== undefined) {
    b.writeBigUInt64LE(BigInt.asUintN(64, e.fileId ?? 0n), off + l.fileId);
    // The high half of a 128-bit FileId stays zero.
  }
  name.copy(b, off + l.fixed);
}

/**
 * Fills one QUERY_DIRECTORY output buffer. `add` returns false, and writes nothing,
 * when the entry does not fit in `limit` bytes; the caller keeps that entry for the
 * next request (or, if it is the first, answers STATUS_INFO_LENGTH_MISMATCH, 3.3.5.18).
 */
export class DirectoryEncoder {
  readonly infoClass: number;
  readonly limit: number;
  private readonly layout: Layout;
  private buf: Buffer;
  private end = 0;
  private lastOff = -1;
  count = 0;

  constructor(infoClass: number, limit: number) {
    this.infoClass = infoClass;
    this.layout = layout(infoClass);
    this.limit = limit;
    this.buf = Buffer.allocUnsafe(Math.min(limit, 64 * 1024));
  }

  add(e: DirectoryEntry): boolean {
    const name = utf16(e.fileName);
    const start = this.lastOff < 0 ? 0 : align8(this.end);
    const size = this.layout.fixed + name.length;
    if (start + size > this.limit) return false;
    if (start + size > this.buf.length) this.grow(start + size);
    this.buf.fill(0, this.end, start + size);
    writeEntry(this.buf, start, this.infoClass, this.layout, e, name);
    if (this.lastOff >= 0) this.buf.writeUInt32LE(start - this.lastOff, this.lastOff);
    this.buf.writeUInt32LE(0, start);
    this.lastOff = start;
    this.end = start + size;
    this.count++;
    return true;
  }

  private grow(need: number): void {
    let n = this.buf.length * 2;
    while (n < need) n *= 2;
    const b = Buffer.allocUnsafe(Math.min(n, this.limit));
    this.buf.copy(b, 0, 0, this.end);
    this.buf = b;
  }

  /** The bytes so far (a view; empty if nothing was added). */
  finish(): Buffer {
    return this.buf.subarray(0, this.end);
  }
}

/** Encodes all entries (no limit). */
export function encodeDirectoryEntries(infoClass: number, entries: readonly DirectoryEntry[]): Buffer {
  let total = 0;
  for (const e of entries) total = align8(total) + directoryEntrySize(infoClass, e.fileName);
  const enc = new DirectoryEncoder(infoClass, Math.max(total, 1));
  for (const e of entries) if (!enc.add(e)) throw new RangeError('entry did not fit');
  return Buffer.from(enc.finish());
}

export function decodeDirectoryEntries(infoClass: number, b: Buffer): DirectoryEntry[] {
  const l = layout(infoClass);
  const out: DirectoryEntry[] = [];
  let off = 0;
  while (off < b.length) {
    need(b, off, l.fixed, 'directory entry');
    const next = b.readUInt32LE(off);
    const names = infoClass === C.FileNamesInformation;
    const nameLen = b.readUInt32LE(off + (names ? 8 : 60));
    need(b, off + l.fixed, nameLen, 'directory entry name');
    if (next !== 0 && next < l.fixed + nameLen) throw new MalformedError('directory entry: bad NextEntryOffset');
    out.push(readEntry(b, off, infoClass, l, nameLen));
    if (next === 0) break;
    off += next;
  }
  return out;
}

function readEntry(b: Buffer, off: number, infoClass: number, l: Layout, nameLen: number): DirectoryEntry {
  const fileName = fromUtf16(b.subarray(off + l.fixed, off + l.fixed + nameLen));
  if (infoClass === C.FileNamesInformation) {
    return {
      fileName,
      fileIndex: b.readUInt32LE(off + 4),
      creationTime: 0n,
      lastAccessTime: 0n,
      lastWriteTime: 0n,
      changeTime: 0n,
      endOfFile: 0n,
      allocationSize: 0n,
      fileAttributes: 0,
    };
  }
  const e: DirectoryEntry = {
    fileName,
    fileIndex: b.readUInt32LE(off + 4),
    ...readFileTimes(b, off + 8),
    endOfFile: b.readBigInt64LE(off + 40),
    allocationSize: b.readBigInt64LE(off + 48),
    fileAttributes: b.readUInt32LE(off + 56),
  };
  if (l.eaSize !== undefined) e.eaSize = b.readUInt32LE(off + l.eaSize);
  if (l.reparseTag !== undefined) e.reparsePointTag = b.readUInt32LE(off + l.reparseTag);
  if (l.shortName !== undefined) {
    const n = Math.min(b[off + l.shortName]!, 24) & ~1;
    e.shortName = fromUtf16(b.subarray(off + l.shortName + 2, off + l.shortName + 2 + n));
  }
  if (l.fileId !== undefined) e.fileId = b.readBigUInt64LE(off + l.fileId);
  return e;
}
