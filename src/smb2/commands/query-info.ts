/** QUERY_INFO request (MS-SMB2 2.2.37) and response (2.2.38). Payloads: fscc/. */
import { HEADER_SIZE } from '../header.js';
import { FileId, need, readFileId, region, structureSize, writeFileId, zeroed } from '../wire.js';
import { decodeOutputBufferResponse, encodeOutputBufferResponse } from './query-directory.js';

const B = HEADER_SIZE;
export const QUERY_INFO_REQUEST_SIZE = 41;
export const QUERY_INFO_RESPONSE_SIZE = 9;

export interface QueryInfoRequest {
  infoType: number;
  fileInfoClass: number;
  outputBufferLength: number;
  /** Used by FileFullEaInformation (EA name list) and quota queries; a view. */
  input: Buffer;
  additionalInformation: number;
  flags: number;
  fileId: FileId;
}

export function decodeQueryInfoRequest(msg: Buffer): QueryInfoRequest {
  structureSize(msg, B, QUERY_INFO_REQUEST_SIZE, 'QUERY_INFO request');
  need(msg, B, 40, 'QUERY_INFO request');
  return {
    infoType: msg.readUInt8(B + 2),
    fileInfoClass: msg.readUInt8(B + 3),
    outputBufferLength: msg.readUInt32LE(B + 4),
    input: region(msg, msg.readUInt16LE(B + 8), msg.readUInt32LE(B + 12), B + 40, 'QUERY_INFO input'),
    additionalInformation: msg.readUInt32LE(B + 16),
    flags: msg.readUInt32LE(B + 20),
    fileId: readFileId(msg, B + 24),
  };
}

export function encodeQueryInfoRequest(r: QueryInfoRequest): Buffer {
  const b = zeroed(40 + Math.max(1, r.input.length));
  b.writeUInt16LE(QUERY_INFO_REQUEST_SIZE, 0);
  b.writeUInt8(r.infoType, 2);
  b.writeUInt8(r.fileInfoClass, 3);
  b.writeUInt32LE(r.outputBufferLength, 4);
  b.writeUInt16LE(r.input.length ? B + 40 : 0, 8);
  b.writeUInt32LE(r.input.length, 12);
  b.writeUInt32LE(r.additionalInformation >>> 0, 16);
  b.writeUInt32LE(r.flags, 20);
  writeFileId(b, 24, r.fileId);
  r.input.copy(b, 40);
  return b;
}

export function encodeQueryInfoResponse(r: { output: Buffer }): Buffer {
  return encodeOutputBufferResponse(r.output);
}

export function decodeQueryInfoResponse(msg: Buffer): { output: Buffer } {
  return { output: decodeOutputBufferResponse(msg, 'QUERY_INFO response') };
}
