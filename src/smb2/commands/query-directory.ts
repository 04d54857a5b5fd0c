/** QUERY_DIRECTORY request (MS-SMB2 2.2.33) and response (2.2.34). Entries: fscc/directory.ts. */
import { HEADER_SIZE } from '../header.js';
import { FileId, fromUtf16, need, readFileId, region, structureSize, utf16, writeFileId, zeroed } from '../wire.js';

const B = HEADER_SIZE;
export const QUERY_DIRECTORY_REQUEST_SIZE = 33;
export const QUERY_DIRECTORY_RESPONSE_SIZE = 9;

export interface QueryDirectoryRequest {
  fileInformationClass: number;
  flags: number;
  fileIndex: number;
  fileId: FileId;
  /** The search pattern ('*', 'foo?.txt'); '' when FileNameLength is 0. */
  fileName: string;
  outputBufferLength: number;
}

export interface QueryDirectoryResponse {
  /** The directory entries as encoded by fscc/directory.ts; a view when decoded. */
  output: Buffer;
}

export function decodeQueryDirectoryRequest(msg: Buffer): QueryDirectoryRequest {
  structureSize(msg, B, QUERY_DIRECTORY_REQUEST_SIZE, 'QUERY_DIRECTORY request');
  need(msg, B, 32, 'QUERY_DIRECTORY request');
  const name = region(msg, msg.readUInt16LE(B + 24), msg.readUInt16LE(B + 26), B + 32, 'QUERY_DIRECTORY name');
  return {
    fileInformationClass: msg.readUInt8(B + 2),
    flags: msg.readUInt8(B + 3),
    fileIndex: msg.readUInt32LE(B + 4),
    fileId: readFileId(msg, B + 8),
    fileName: fromUtf16(name, 'QUERY_DIRECTORY name'),
    outputBufferLength: msg.readUInt32LE(B + 28),
  };
}

export function encodeQueryDirectoryRequest(r: QueryDirectoryRequest): Buffer {
  const name = utf16(r.fileName);
  const b = zeroed(Math.max(32 + name.length, QUERY_DIRECTORY_REQUEST_SIZE));
  b.writeUInt16LE(QUERY_DIRECTORY_REQUEST_SIZE, 0);
  b.writeUInt8(r.fileInformationClass, 2);
  b.writeUInt8(r.flags, 3);
  b.writeUInt32LE(r.fileIndex, 4);
  writeFileId(b, 8, r.fileId);
  b.writeUInt16LE(name.length ? B + 32 : 0, 24);
  b.writeUInt16LE(name.length, 26);
  b.writeUInt32LE(r.outputBufferLength, 28);
  name.copy(b, 32);
  return b;
}

/**
 * QUERY_DIRECTORY, CHANGE_NOTIFY and QUERY_INFO responses share this layout:
 * StructureSize 9, OutputBufferOffset(2), OutputBufferLength(4), Buffer.
 */
function writeOutputBufferHead(b: Buffer, outputLength: number): void {
  b.writeUInt16LE(9, 0);
  b.writeUInt16LE(outputLength ? B + 8 : 0, 2);
  b.writeUInt32LE(outputLength, 4);
}

export function encodeOutputBufferResponse(output: Buffer): Buffer {
  const b = zeroed(8 + Math.max(1, output.length));
  writeOutputBufferHead(b, output.length);
  output.copy(b, 8);
  return b;
}

/** The 8-byte prefix alone, for output that is sent separately. */
export function encodeOutputBufferResponseHead(outputLength: number): Buffer {
  const b = zeroed(8);
  writeOutputBufferHead(b, outputLength);
  return b;
}

export function decodeOutputBufferResponse(msg: Buffer, what: string): Buffer {
  structureSize(msg, B, 9, what);
  need(msg, B, 8, what);
  return region(msg, msg.readUInt16LE(B + 2), msg.readUInt32LE(B + 4), B + 8, `${what} output`);
}

export function encodeQueryDirectoryResponse(r: QueryDirectoryResponse): Buffer {
  return encodeOutputBufferResponse(r.output);
}

export function decodeQueryDirectoryResponse(msg: Buffer): QueryDirectoryResponse {
  return { output: decodeOutputBufferResponse(msg, 'QUERY_DIRECTORY response') };
}
