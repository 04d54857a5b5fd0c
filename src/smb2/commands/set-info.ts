/** SET_INFO request (MS-SMB2 2.2.39) and response (2.2.40). Payloads: fscc/. */
import { HEADER_SIZE } from '../header.js';
import { FileId, need, readFileId, region, structureSize, writeFileId, zeroed } from '../wire.js';
import { decodeEmptyBody, encodeEmptyBody } from './empty.js';

const B = HEADER_SIZE;
export const SET_INFO_REQUEST_SIZE = 33;
export const SET_INFO_RESPONSE_SIZE = 2;

export interface SetInfoRequest {
  infoType: number;
  fileInfoClass: number;
  /** A view into the message. */
  buffer: Buffer;
  additionalInformation: number;
  fileId: FileId;
}

export function decodeSetInfoRequest(msg: Buffer): SetInfoRequest {
  structureSize(msg, B, SET_INFO_REQUEST_SIZE, 'SET_INFO request');
  need(msg, B, 32, 'SET_INFO request');
  return {
    infoType: msg.readUInt8(B + 2),
    fileInfoClass: msg.readUInt8(B + 3),
    buffer: region(msg, msg.readUInt16LE(B + 8), msg.readUInt32LE(B + 4), B + 32, 'SET_INFO buffer'),
    additionalInformation: msg.readUInt32LE(B + 12),
    fileId: readFileId(msg, B + 16),
  };
}

export function encodeSetInfoRequest(r: SetInfoRequest): Buffer {
  const b = zeroed(32 + Math.max(1, r.buffer.length));
  b.writeUInt16LE(SET_INFO_REQUEST_SIZE, 0);
  b.writeUInt8(r.infoType, 2);
  b.writeUInt8(r.fileInfoClass, 3);
  b.writeUInt32LE(r.buffer.length, 4);
  b.writeUInt16LE(B + 32, 8);
  b.writeUInt32LE(r.additionalInformation >>> 0, 12);
  writeFileId(b, 16, r.fileId);
  r.buffer.copy(b, 32);
  return b;
}

export function encodeSetInfoResponse(): Buffer {
  return encodeEmptyBody(2);
}

export function decodeSetInfoResponse(msg: Buffer): Record<string, never> {
  decodeEmptyBody(msg, 2, 'SET_INFO response');
  return {};
}
