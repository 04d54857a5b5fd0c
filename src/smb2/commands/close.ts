/** CLOSE request (MS-SMB2 2.2.15) and response (2.2.16). */
import { HEADER_SIZE } from '../header.js';
import { FileId, need, readFileId, structureSize, writeFileId } from '../wire.js';

const B = HEADER_SIZE;
export const CLOSE_REQUEST_SIZE = 24;
export const CLOSE_RESPONSE_SIZE = 60;

export interface CloseRequest {
  flags: number;
  fileId: FileId;
}

/** Attributes are zero unless the request had SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB. */
export interface CloseResponse {
  flags: number;
  creationTime: bigint;
  lastAccessTime: bigint;
  lastWriteTime: bigint;
  changeTime: bigint;
  allocationSize: bigint;
  endofFile: bigint;
  fileAttributes: number;
}

export function decodeCloseRequest(msg: Buffer): CloseRequest {
  structureSize(msg, B, CLOSE_REQUEST_SIZE, 'CLOSE request');
  need(msg, B, 24, 'CLOSE request');
  return { flags: msg.readUInt16LE(B + 2), fileId: readFileId(msg, B + 8) };
}

export function encodeCloseRequest(r: CloseRequest): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt16LE(CLOSE_REQUEST_SIZE, 0);
  b.writeUInt16LE(r.flags, 2);
  writeFileId(b, 8, r.fileId);
  return b;
}

export function encodeCloseResponse(r: CloseResponse): Buffer {
  const b = Buffer.alloc(60);
  b.writeUInt16LE(CLOSE_RESPONSE_SIZE, 0);
  b.writeUInt16LE(r.flags, 2);
  b.writeBigUInt64LE(r.creationTime, 8);
  b.writeBigUInt64LE(r.lastAccessTime, 16);
  b.writeBigUInt64LE(r.lastWriteTime, 24);
  b.writeBigUInt64LE(r.changeTime, 32);
  b.writeBigInt64LE(r.allocationSize, 40);
  b.writeBigInt64LE(r.endofFile, 48);
  b.writeUInt32LE(r.fileAttributes >>> 0, 56);
  return b;
}

export function decodeCloseResponse(msg: Buffer): CloseResponse {
  structureSize(msg, B, CLOSE_RESPONSE_SIZE, 'CLOSE response');
  need(msg, B, 60, 'CLOSE response');
  return {
    flags: msg.readUInt16LE(B + 2),
    creationTime: msg.readBigUInt64LE(B + 8),
    lastAccessTime: msg.readBigUInt64LE(B + 16),
    lastWriteTime: msg.readBigUInt64LE(B + 24),
    changeTime: msg.readBigUInt64LE(B + 32),
    allocationSize: msg.readBigInt64LE(B + 40),
    endofFile: msg.readBigInt64LE(B + 48),
    fileAttributes: msg.readUInt32LE(B + 56),
  };
}
