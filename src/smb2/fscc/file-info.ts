/**
 * File information classes returned by QUERY_INFO (MS-FSCC 2.4): encoders for the
 * server, decoders for the client. Sizes are the spec's; all integers little-endian.
 */
import { MalformedError, fromUtf16, joinChain, need, utf16, zeroed } from '../wire.js';
import { readFileTimes, writeFileTimes, type FileTimes } from './time.js';

/** FileBasicInformation (2.4.7), 40 bytes. Also the SET_INFO form. */
export interface FileBasicInformation extends FileTimes {
  fileAttributes: number;
}

export function encodeFileBasicInformation(i: FileBasicInformation): Buffer {
  const b = zeroed(40);
  writeFileTimes(b, 0, i);
  b.writeUInt32LE(i.fileAttributes >>> 0, 32);
  return b;
}

/** Accepts 36 bytes too: some clients omit the trailing Reserved in SET_INFO. */
export function decodeFileBasicInformation(b: Buffer): FileBasicInformation {
  need(b, 0, 36, 'FileBasicInformation');
  return { ...readFileTimes(b, 0), fileAttributes: b.readUInt32LE(32) };
}

/** FileStandardInformation (2.4.41), 24 bytes. */
export interface FileStandardInformation {
  allocationSize: bigint;
  endOfFile: bigint;
  numberOfLinks: number;
  deletePending: boolean;
  directory: boolean;
}

export function encodeFileStandardInformation(i: FileStandardInformation): Buffer {
  const b = zeroed(24);
  b.writeBigInt64LE(i.allocationSize, 0);
  b.writeBigInt64LE(i.endOfFile, 8);
  b.writeUInt32LE(i.numberOfLinks, 16);
  b.writeUInt8(i.deletePending ? 1 : 0, 20);
  b.writeUInt8(i.directory ? 1 : 0, 21);
  return b;
}

export function decodeFileStandardInformation(b: Buffer): FileStandardInformation {
  need(b, 0, 22, 'FileStandardInformation');
  return {
    allocationSize: b.readBigInt64LE(0),
    endOfFile: b.readBigInt64LE(8),
    numberOfLinks: b.readUInt32LE(16),
    deletePending: b[20] !== 0,
    directory: b[21] !== 0,
  };
}

/** One u32 or u64 field: FileInternal (2.4.22, IndexNumber u64), FileEa (2.4.13, EaSize),
 * FileAccess (2.4.1, AccessFlags), FilePosition (2.4.35, CurrentByteOffset u64),
 * FileMode (2.4.26, Mode), FileAlignment (2.4.3, AlignmentRequirement). */
export function encodeU32Information(v: number): Buffer {
  const b = zeroed(4);
  b.writeUInt32LE(v >>> 0, 0);
  return b;
}

export function encodeU64Information(v: bigint): Buffer {
  const b = zeroed(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, v), 0);
  return b;
}

export function decodeU32Information(b: Buffer, what: string): number {
  need(b, 0, 4, what);
  return b.readUInt32LE(0);
}

export function decodeU64Information(b: Buffer, what: string): bigint {
  need(b, 0, 8, what);
  return b.readBigUInt64LE(0);
}

export const encodeFileInternalInformation = (indexNumber: bigint) => encodeU64Information(indexNumber);
export const encodeFileEaInformation = (eaSize: number) => encodeU32Information(eaSize);
export const encodeFileAccessInformation = (accessFlags: number) => encodeU32Information(accessFlags);
export const encodeFilePositionInformation = (currentByteOffset: bigint) => encodeU64Information(currentByteOffset);
export const encodeFileModeInformation = (mode: number) => encodeU32Information(mode);
export const encodeFileAlignmentInformation = (alignmentRequirement: number) => encodeU32Information(alignmentRequirement);

/**
 * FileNameInformation (2.4.28): FileNameLength(4) FileName. Same layout for
 * FileAlternateNameInformation (2.4.5) and FileNormalizedNameInformation (2.4.30).
 */
export function encodeFileNameInformation(fileName: string): Buffer {
  const n = utf16(fileName);
  const b = zeroed(4 + n.length);
  b.writeUInt32LE(n.length, 0);
  n.copy(b, 4);
  return b;
}

export function decodeFileNameInformation(b: Buffer): string {
  need(b, 0, 4, 'FileNameInformation');
  const len = b.readUInt32LE(0);
  need(b, 4, len, 'FileNameInformation name');
  return fromUtf16(b.subarray(4, 4 + len));
}

export const encodeFileAlternateNameInformation = encodeFileNameInformation;
export const encodeFileNormalizedNameInformation = encodeFileNameInformation;

/** FileAllInformation (2.4.2): the nine classes back to back, 100 bytes + name. */
export interface FileAllInformation {
  basic: FileBasicInformation;
  standard: FileStandardInformation;
  indexNumber: bigint;
  eaSize: number;
  accessFlags: number;
  currentByteOffset: bigint;
  mode: number;
  alignmentRequirement: number;
  fileName: string;
}

export function encodeFileAllInformation(i: FileAllInformation): Buffer {
  return Buffer.concat([
    encodeFileBasicInformation(i.basic),
    encodeFileStandardInformation(i.standard),
    encodeU64Information(i.indexNumber),
    encodeU32Information(i.eaSize),
    encodeU32Information(i.accessFlags),
    encodeU64Information(i.currentByteOffset),
    encodeU32Information(i.mode),
    encodeU32Information(i.alignmentRequirement),
    encodeFileNameInformation(i.fileName),
  ]);
}

export function decodeFileAllInformation(b: Buffer): FileAllInformation {
  need(b, 0, 100, 'FileAllInformation');
  return {
    basic: decodeFileBasicInformation(b.subarray(0, 40)),
    standard: decodeFileStandardInformation(b.subarray(40, 64)),
    indexNumber: b.readBigUInt64LE(64),
    eaSize: b.readUInt32LE(72),
    accessFlags: b.readUInt32LE(76),
    currentByteOffset: b.readBigUInt64LE(80),
    mode: b.readUInt32LE(88),
    alignmentRequirement: b.readUInt32LE(92),
    fileName: decodeFileNameInformation(b.subarray(96)),
  };
}

/** FileNetworkOpenInformation (2.4.29), 56 bytes. */
export interface FileNetworkOpenInformation extends FileTimes {
  allocationSize: bigint;
  endOfFile: bigint;
  fileAttributes: number;
}

export function encodeFileNetworkOpenInformation(i: FileNetworkOpenInformation): Buffer {
  const b = zeroed(56);
  writeFileTimes(b, 0, i);
  b.writeBigInt64LE(i.allocationSize, 32);
  b.writeBigInt64LE(i.endOfFile, 40);
  b.writeUInt32LE(i.fileAttributes >>> 0, 48);
  return b;
}

export function decodeFileNetworkOpenInformation(b: Buffer): FileNetworkOpenInformation {
  need(b, 0, 52, 'FileNetworkOpenInformation');
  return {
    ...readFileTimes(b, 0),
    allocationSize: b.readBigInt64LE(32),
    endOfFile: b.readBigInt64LE(40),
    fileAttributes: b.readUInt32LE(48),
  };
}

/** FileAttributeTagInformation (2.4.6), 8 bytes. */
export function encodeFileAttributeTagInformation(fileAttributes: number, reparseTag: number): Buffer {
  const b = zeroed(8);
  b.writeUInt32LE(fileAttributes >>> 0, 0);
  b.writeUInt32LE(reparseTag >>> 0, 4);
  return b;
}

export function decodeFileAttributeTagInformation(b: Buffer): { fileAttributes: number; reparseTag: number } {
  need(b, 0, 8, 'FileAttributeTagInformation');
  return { fileAttributes: b.readUInt32LE(0), reparseTag: b.readUInt32LE(4) };
}

/** FileStreamInformation (2.4.43) entry; names are '::$DATA' for the unnamed stream. */
export interface FileStreamEntry {
  streamName: string;
  streamSize: bigint;
  streamAllocationSize: bigint;
}

/** Entries 8-aligned, last NextEntryOffset 0. An empty list is an empty buffer. */
export function encodeFileStreamInformation(list: readonly FileStreamEntry[]): Buffer {
  const entries = list.map((e) => {
    const n = utf16(e.streamName);
    const b = zeroed(24 + n.length);
    b.writeUInt32LE(n.length, 4);
    b.writeBigInt64LE(e.streamSize, 8);
    b.writeBigInt64LE(e.streamAllocationSize, 16);
    n.copy(b, 24);
    return b;
  });
  return joinChain(entries, 8);
}

export function decodeFileStreamInformation(b: Buffer): FileStreamEntry[] {
  const out: FileStreamEntry[] = [];
  let off = 0;
  while (off < b.length) {
    need(b, off, 24, 'FileStreamInformation');
    const next = b.readUInt32LE(off);
    const len = b.readUInt32LE(off + 4);
    need(b, off + 24, len, 'FileStreamInformation name');
    if (next !== 0 && next < 24 + len) throw new MalformedError('FileStreamInformation: bad NextEntryOffset');
    out.push({
      streamName: fromUtf16(b.subarray(off + 24, off + 24 + len)),
      streamSize: b.readBigInt64LE(off + 8),
      streamAllocationSize: b.readBigInt64LE(off + 16),
    });
    if (next === 0) break;
    off += next;
  }
  return out;
}

/** FileCompressionInformation (2.4.9), 16 bytes. */
export interface FileCompressionInformation {
  compressedFileSize: bigint;
  compressionFormat: number;
  compressionUnitShift: number;
  chunkShift: number;
  clusterShift: number;
}

export function encodeFileCompressionInformation(i: FileCompressionInformation): Buffer {
  const b = zeroed(16);
  b.writeBigInt64LE(i.compressedFileSize, 0);
  b.writeUInt16LE(i.compressionFormat, 8);
  b.writeUInt8(i.compressionUnitShift, 10);
  b.writeUInt8(i.chunkShift, 11);
  b.writeUInt8(i.clusterShift, 12);
  return b;
}

export function decodeFileCompressionInformation(b: Buffer): FileCompressionInformation {
  need(b, 0, 13, 'FileCompressionInformation');
  return {
    compressedFileSize: b.readBigInt64LE(0),
    compressionFormat: b.readUInt16LE(8),
    compressionUnitShift: b[10]!,
    chunkShift: b[11]!,
    clusterShift: b[12]!,
  };
}

/** FileIdInformation (2.4.21): VolumeSerialNumber(8) FileId(16), 24 bytes. */
export function encodeFileIdInformation(volumeSerialNumber: bigint, fileId: bigint): Buffer {
  const b = zeroed(24);
  b.writeBigUInt64LE(volumeSerialNumber, 0);
  b.writeBigUInt64LE(BigInt.asUintN(64, fileId), 8);
  b.writeBigUInt64LE(BigInt.asUintN(64, fileId >> 64n), 16);
  return b;
}

export function decodeFileIdInformation(b: Buffer): { volumeSerialNumber: bigint; fileId: bigint } {
  need(b, 0, 24, 'FileIdInformation');
  return { volumeSerialNumber: b.readBigUInt64LE(0), fileId: b.readBigUInt64LE(8) | (b.readBigUInt64LE(16) << 64n) };
}
