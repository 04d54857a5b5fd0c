/** CLOSE request (MS-SMB2 2.2.15) and response (2.2.16). */
import { HEADER_SIZE } from '../header.js';
import { FileId, need, readFileId, structureSize, writeFileId, zeroed } from '../wire.js';
import { readOpenAttributes, writeOpenAttributes, type OpenAttributes } from './open-attributes.js';

const B = HEADER_SIZE;
export const CLOSE_REQUEST_SIZE = 24;
export const CLOSE_RESPONSE_SIZE = 60;

export interface CloseRequest {
  flags: number;
  fileId: FileId;
}

/** Attributes are zero unless the request had SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB. */
export interface CloseResponse extends OpenAttributes {
  flags: number;
}

export function decodeCloseRequest(msg: Buffer): CloseRequest {
  structureSize(msg, B, CLOSE_REQUEST_SIZE, 'CLOSE request');
  need(msg, B, 24, 'CLOSE request');
  return { flags: msg.readUInt16LE(B + 2), fileId: readFileId(msg, B + 8) };
}

export function encodeCloseRequest(r: CloseRequest): Buffer {
  const b = zeroed(24);
  b.writeUInt16LE(CLOSE_REQUEST_SIZE, 0);
  b.writeUInt16LE(r.flags, 2);
  writeFileId(b, 8, r.fileId);
  return b;
}

export function encodeCloseResponse(r: CloseResponse): Buffer {
  const b = zeroed(60);
  b.writeUInt16LE(CLOSE_RESPONSE_SIZE, 0);
  b.writeUInt16LE(r.flags, 2);
  writeOpenAttributes(b, 8, r);
  return b;
}

export function decodeCloseResponse(msg: Buffer): CloseResponse {
  structureSize(msg, B, CLOSE_RESPONSE_SIZE, 'CLOSE response');
  need(msg, B, 60, 'CLOSE response');
  return { flags: msg.readUInt16LE(B + 2), ...readOpenAttributes(msg, B + 8) };
}
