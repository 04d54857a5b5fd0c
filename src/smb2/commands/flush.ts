/** FLUSH request (MS-SMB2 2.2.17) and response (2.2.18). */
import { HEADER_SIZE } from '../header.js';
import { FileId, need, readFileId, structureSize, writeFileId, zeroed } from '../wire.js';
import { decodeEmptyBody, encodeEmptyBody } from './empty.js';

const B = HEADER_SIZE;
export const FLUSH_REQUEST_SIZE = 24;
export const FLUSH_RESPONSE_SIZE = 4;

export interface FlushRequest {
  fileId: FileId;
}

export function decodeFlushRequest(msg: Buffer): FlushRequest {
  structureSize(msg, B, FLUSH_REQUEST_SIZE, 'FLUSH request');
  need(msg, B, 24, 'FLUSH request');
  return { fileId: readFileId(msg, B + 8) };
}

export function encodeFlushRequest(r: FlushRequest): Buffer {
  const b = zeroed(24);
  b.writeUInt16LE(FLUSH_REQUEST_SIZE, 0);
  writeFileId(b, 8, r.fileId);
  return b;
}

export function encodeFlushResponse(): Buffer {
  return encodeEmptyBody(4);
}

export function decodeFlushResponse(msg: Buffer): Record<string, never> {
  decodeEmptyBody(msg, 4, 'FLUSH response');
  return {};
}
