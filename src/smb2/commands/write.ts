/** WRITE request (MS-SMB2 2.2.21) and response (2.2.22). */
import { HEADER_SIZE } from '../header.js';
import { FileId, need, readFileId, region, structureSize, writeFileId, zeroed } from '../wire.js';

const B = HEADER_SIZE;
export const WRITE_REQUEST_SIZE = 49;
export const WRITE_RESPONSE_SIZE = 17;
/** Where a client puts the data: right after the fixed part (header 64 + 48). */
export const WRITE_REQUEST_DATA_OFFSET = 0x70;

export interface WriteRequest {
  /** From the header start, as on the wire. */
  dataOffset: number;
  length: number;
  offset: bigint;
  fileId: FileId;
  channel: number;
  remainingBytes: number;
  writeChannelInfo: Buffer;
  flags: number;
  /** A view of `length` bytes into the message: no copy. */
  data: Buffer;
}

export interface WriteResponse {
  count: number;
  remaining: number;
}

/**
 * Decodes the fixed part and returns the data as a view. For a message whose data was
 * not read into memory (spliced to a file), use decodeWriteRequestHead instead.
 */
export function decodeWriteRequest(msg: Buffer): WriteRequest {
  // The head object gains `data` in place: no second object per WRITE.
  const r = decodeWriteRequestHead(msg) as WriteRequest;
  r.data = region(msg, r.dataOffset, r.length, B + 48, 'WRITE data');
  return r;
}

/** Only the 48-byte fixed part: what a server needs to decide where the data goes. */
export function decodeWriteRequestHead(msg: Buffer): Omit<WriteRequest, 'data'> {
  structureSize(msg, B, WRITE_REQUEST_SIZE, 'WRITE request');
  need(msg, B, 48, 'WRITE request');
  return {
    dataOffset: msg.readUInt16LE(B + 2),
    length: msg.readUInt32LE(B + 4),
    offset: msg.readBigUInt64LE(B + 8),
    fileId: readFileId(msg, B + 16),
    channel: msg.readUInt32LE(B + 32),
    remainingBytes: msg.readUInt32LE(B + 36),
    writeChannelInfo: region(msg, msg.readUInt16LE(B + 40), msg.readUInt16LE(B + 42), B + 48, 'WRITE channel info'),
    flags: msg.readUInt32LE(B + 44),
  };
}

/** What a client supplies; WriteChannelInfo (RDMA) is not encoded. */
export type WriteRequestFields = Omit<WriteRequest, 'dataOffset' | 'data' | 'length' | 'writeChannelInfo'>;

/** The 48-byte fixed part for `length` bytes of data placed at 0x70 (sent separately). */
export function encodeWriteRequestHead(r: WriteRequestFields, length: number): Buffer {
  const b = zeroed(48);
  b.writeUInt16LE(WRITE_REQUEST_SIZE, 0);
  b.writeUInt16LE(WRITE_REQUEST_DATA_OFFSET, 2);
  b.writeUInt32LE(length, 4);
  b.writeBigUInt64LE(r.offset, 8);
  writeFileId(b, 16, r.fileId);
  b.writeUInt32LE(r.channel, 32);
  b.writeUInt32LE(r.remainingBytes, 36);
  b.writeUInt32LE(r.flags, 44);
  return b;
}

export function encodeWriteRequest(r: WriteRequestFields & { data: Buffer }): Buffer {
  const head = encodeWriteRequestHead(r, r.data.length);
  return Buffer.concat([head, r.data.length ? r.data : zeroed(1)]);
}

export function encodeWriteResponse(r: WriteResponse): Buffer {
  const b = zeroed(16);
  b.writeUInt16LE(WRITE_RESPONSE_SIZE, 0);
  b.writeUInt32LE(r.count, 4);
  b.writeUInt32LE(r.remaining, 8);
  return b;
}

export function decodeWriteResponse(msg: Buffer): WriteResponse {
  structureSize(msg, B, WRITE_RESPONSE_SIZE, 'WRITE response');
  need(msg, B, 16, 'WRITE response');
  return { count: msg.readUInt32LE(B + 4), remaining: msg.readUInt32LE(B + 8) };
}
