/**
 * File information classes a client sends in SET_INFO (MS-FSCC 2.4): decoders for the
 * server, encoders for the client. FileBasicInformation is in file-info.ts.
 * Also FILE_FULL_EA_INFORMATION (2.4.15) and FILE_GET_EA_INFORMATION (2.4.15.1),
 * used by both QUERY_INFO and SET_INFO.
 */
import { MalformedError, fromUtf16, joinChain, need, utf16, zeroed } from '../wire.js';

/**
 * FileRenameInformation / FileLinkInformation in their SMB2 form (2.4.37.2 / 2.4.27.2):
 * ReplaceIfExists(1) Reserved(7) RootDirectory(8, must be 0) FileNameLength(4) FileName.
 */
export interface FileRenameInformation {
  replaceIfExists: boolean;
  rootDirectory: bigint;
  /** Full path from the share root (a leading backslash is allowed), or a stream name ':x'. */
  fileName: string;
}
export type FileLinkInformation = FileRenameInformation;

export function decodeFileRenameInformation(b: Buffer): FileRenameInformation {
  need(b, 0, 20, 'FileRenameInformation');
  const len = b.readUInt32LE(16);
  need(b, 20, len, 'FileRenameInformation name');
  if (len === 0) throw new MalformedError('FileRenameInformation: empty name');
  return {
    replaceIfExists: b[0] !== 0,
    rootDirectory: b.readBigUInt64LE(8),
    fileName: fromUtf16(b.subarray(20, 20 + len)),
  };
}

export function encodeFileRenameInformation(i: FileRenameInformation): Buffer {
  const n = utf16(i.fileName);
  const b = zeroed(20 + n.length);
  b.writeUInt8(i.replaceIfExists ? 1 : 0, 0);
  b.writeBigUInt64LE(i.rootDirectory, 8);
  b.writeUInt32LE(n.length, 16);
  n.copy(b, 20);
  return b;
}

export const decodeFileLinkInformation = decodeFileRenameInformation;
export const encodeFileLinkInformation = encodeFileRenameInformation;

/** FileDispositionInformation (2.4.11): DeletePending(1). */
export function decodeFileDispositionInformation(b: Buffer): { deletePending: boolean } {
  need(b, 0, 1, 'FileDispositionInformation');
  return { deletePending: b[0] !== 0 };
}

export function encodeFileDispositionInformation(deletePending: boolean): Buffer {
  return Buffer.from([deletePending ? 1 : 0]);
}

/** FileDispositionInformationEx (2.4.12): Flags(4), see DispositionFlags. */
export function decodeFileDispositionInformationEx(b: Buffer): { flags: number } {
  need(b, 0, 4, 'FileDispositionInformationEx');
  return { flags: b.readUInt32LE(0) };
}

function u64(b: Buffer, what: string): bigint {
  need(b, 0, 8, what);
  return b.readBigInt64LE(0);
}

/** FileEndOfFileInformation (2.4.14): EndOfFile(8), signed: negative is invalid. */
export function decodeFileEndOfFileInformation(b: Buffer): { endOfFile: bigint } {
  return { endOfFile: u64(b, 'FileEndOfFileInformation') };
}

/** FileAllocationInformation (2.4.4): AllocationSize(8). */
export function decodeFileAllocationInformation(b: Buffer): { allocationSize: bigint } {
  return { allocationSize: u64(b, 'FileAllocationInformation') };
}

/** FilePositionInformation (2.4.35): CurrentByteOffset(8). */
export function decodeFilePositionInformation(b: Buffer): { currentByteOffset: bigint } {
  return { currentByteOffset: u64(b, 'FilePositionInformation') };
}

/** FileModeInformation (2.4.26): Mode(4). */
export function decodeFileModeInformation(b: Buffer): { mode: number } {
  need(b, 0, 4, 'FileModeInformation');
  return { mode: b.readUInt32LE(0) };
}

export function encodeI64(v: bigint): Buffer {
  const b = zeroed(8);
  b.writeBigInt64LE(v, 0);
  return b;
}

/** FILE_FULL_EA_INFORMATION entry (2.4.15). Names are ASCII (OEM), not UTF-16. */
export interface FileFullEaInformation {
  /** FILE_NEED_EA = 0x80. */
  flags: number;
  eaName: string;
  eaValue: Buffer;
}

/** A chain of entries, each 4-aligned, NextEntryOffset 0 on the last. */
export function decodeFileFullEaInformation(b: Buffer): FileFullEaInformation[] {
  const out: FileFullEaInformation[] = [];
  let off = 0;
  while (off < b.length) {
    need(b, off, 8, 'FileFullEaInformation');
    const next = b.readUInt32LE(off);
    const nameLen = b[off + 5]!;
    const valueLen = b.readUInt16LE(off + 6);
    const size = 8 + nameLen + 1 + valueLen;
    need(b, off, size, 'FileFullEaInformation entry');
    if (b[off + 8 + nameLen] !== 0) throw new MalformedError('FileFullEaInformation: EaName not NUL-terminated');
    if (next !== 0 && (next < size || next % 4 !== 0)) throw new MalformedError('FileFullEaInformation: bad NextEntryOffset');
    out.push({
      flags: b[off + 4]!,
      eaName: b.toString('latin1', off + 8, off + 8 + nameLen),
      eaValue: Buffer.from(b.subarray(off + 9 + nameLen, off + size)),
    });
    if (next === 0) break;
    off += next;
  }
  return out;
}

export function encodeFileFullEaInformation(list: readonly FileFullEaInformation[]): Buffer {
  const entries = list.map((e) => {
    const name = Buffer.from(e.eaName, 'latin1');
    if (name.length > 255 || e.eaValue.length > 0xffff) throw new RangeError('EA name or value too long');
    const b = zeroed(8 + name.length + 1 + e.eaValue.length);
    b.writeUInt8(e.flags, 4);
    b.writeUInt8(name.length, 5);
    b.writeUInt16LE(e.eaValue.length, 6);
    name.copy(b, 8);
    e.eaValue.copy(b, 9 + name.length);
    return b;
  });
  return joinChain(entries, 4);
}

/** FILE_GET_EA_INFORMATION list (2.4.15.1): the names a QUERY_INFO asks for. */
export function decodeFileGetEaInformation(b: Buffer): string[] {
  const out: string[] = [];
  let off = 0;
  while (off < b.length) {
    need(b, off, 5, 'FileGetEaInformation');
    const next = b.readUInt32LE(off);
    const len = b[off + 4]!;
    need(b, off + 5, len, 'FileGetEaInformation name');
    if (next !== 0 && next < 5 + len) throw new MalformedError('FileGetEaInformation: bad NextEntryOffset');
    out.push(b.toString('latin1', off + 5, off + 5 + len));
    if (next === 0) break;
    off += next;
  }
  return out;
}

