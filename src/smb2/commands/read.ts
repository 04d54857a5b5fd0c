/** READ request (MS-SMB2 2.2.19) and response (2.2.20). */
import { HEADER_SIZE } from '../header.js';
import { FileId, MalformedError, need, readFileId, region, structureSize, writeFileId, zeroed } from '../wire.js';

const B = HEADER_SIZE;
export const READ_REQUEST_SIZE = 49;
export const READ_RESPONSE_SIZE = 17;
/** Where a server puts the data: right after the 16-byte response prefix (header 64 + 16). */
export const READ_RESPONSE_DATA_OFFSET = 0x50;

export interface ReadRequest {
  padding: number;
  flags: number;
  length: number;
  offset: bigint;
  fileId: FileId;
  minimumCount: number;
  channel: number;
  remainingBytes: number;
  /** RDMA descriptors; a view into the message, usually empty. */
  readChannelInfo: Buffer;
}

export interface ReadResponse {
  dataOffset: number;
  dataRemaining: number;
  flags: number;
  /** A view into the message when decoded. */
  data: Buffer;
}

export function decodeReadRequest(msg: Buffer): ReadRequest {
  structureSize(msg, B, READ_REQUEST_SIZE, 'READ request');
  need(msg, B, 48, 'READ request');
  const chOff = msg.readUInt16LE(B + 44);
  const chLen = msg.readUInt16LE(B + 46);
  return {
    padding: msg.readUInt8(B + 2),
    flags: msg.readUInt8(B + 3),
    length: msg.readUInt32LE(B + 4),
    offset: msg.readBigUInt64LE(B + 8),
    fileId: readFileId(msg, B + 16),
    minimumCount: msg.readUInt32LE(B + 32),
    channel: msg.readUInt32LE(B + 36),
    remainingBytes: msg.readUInt32LE(B + 40),
    readChannelInfo: region(msg, chOff, chLen, B + 48, 'READ channel info'),
  };
}

export function encodeReadRequest(r: ReadRequest): Buffer {
  // Buffer must hold at least one byte (2.2.19: "The client MUST set one byte of this field to 0").
  const b = zeroed(48 + Math.max(1, r.readChannelInfo.length));
  b.writeUInt16LE(READ_REQUEST_SIZE, 0);
  b.writeUInt8(r.padding, 2);
  b.writeUInt8(r.flags, 3);
  b.writeUInt32LE(r.length, 4);
  b.writeBigUInt64LE(r.offset, 8);
  writeFileId(b, 16, r.fileId);
  b.writeUInt32LE(r.minimumCount, 32);
  b.writeUInt32LE(r.channel, 36);
  b.writeUInt32LE(r.remainingBytes, 40);
  b.writeUInt16LE(r.readChannelInfo.length ? B + 48 : 0, 44);
  b.writeUInt16LE(r.readChannelInfo.length, 46);
  r.readChannelInfo.copy(b, 48);
  return b;
}

function writeReadResponseHead(b: Buffer, dataLength: number, dataRemaining: number, flags: number): void {
  b.writeUInt16LE(READ_RESPONSE_SIZE, 0);
  b.writeUInt8(READ_RESPONSE_DATA_OFFSET, 2);
  b.writeUInt32LE(dataLength, 4);
  b.writeUInt32LE(dataRemaining, 8);
  b.writeUInt32LE(flags, 12);
}

/**
 * The 16-byte body prefix of a READ response whose data (`dataLength` bytes) follows
 * immediately at offset 0x50, so the data can be sent separately (splice, sendfile)
 * without copying it into the message.
 */
export function encodeReadResponseHead(dataLength: number, dataRemaining = 0, flags = 0): Buffer {
  const b = zeroed(16);
  writeReadResponseHead(b, dataLength, dataRemaining, flags);
  return b;
}

/** The whole body, prefix and data (copies the data). */
export function encodeReadResponse(r: Pick<ReadResponse, 'data'> & Partial<ReadResponse>): Buffer {
  // An empty read still carries the one byte of Buffer StructureSize counts.
  const b = zeroed(16 + Math.max(1, r.data.length));
  writeReadResponseHead(b, r.data.length, r.dataRemaining ?? 0, r.flags ?? 0);
  r.data.copy(b, 16);
  return b;
}

export function decodeReadResponse(msg: Buffer): ReadResponse {
  structureSize(msg, B, READ_RESPONSE_SIZE, 'READ response');
  need(msg, B, 16, 'READ response');
  const dataOffset = msg.readUInt8(B + 2);
  const len = msg.readUInt32LE(B + 4);
  if (len && dataOffset < B + 16) throw new MalformedError(`READ response: DataOffset ${dataOffset}`);
  return {
    dataOffset,
    dataRemaining: msg.readUInt32LE(B + 8),
    flags: msg.readUInt32LE(B + 12),
    data: region(msg, dataOffset, len, B + 16, 'READ data'),
  };
}
