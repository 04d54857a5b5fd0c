/** LOCK request (MS-SMB2 2.2.26) with SMB2_LOCK_ELEMENTs (2.2.26.1), and response (2.2.27). */
import { HEADER_SIZE } from '../header.js';
import { FileId, MalformedError, need, readFileId, structureSize, writeFileId, zeroed } from '../wire.js';
import { decodeEmptyBody, encodeEmptyBody } from './empty.js';

const B = HEADER_SIZE;
export const LOCK_REQUEST_SIZE = 48;
export const LOCK_RESPONSE_SIZE = 4;
export const LOCK_ELEMENT_SIZE = 24;

export interface LockElement {
  offset: bigint;
  length: bigint;
  flags: number;
}

export interface LockRequest {
  /** LockSequenceNumber: the low 4 bits of the 32-bit field (2.2.26). */
  lockSequenceNumber: number;
  /** LockSequenceIndex: the high 28 bits. */
  lockSequenceIndex: number;
  fileId: FileId;
  locks: LockElement[];
}

export function decodeLockRequest(msg: Buffer): LockRequest {
  structureSize(msg, B, LOCK_REQUEST_SIZE, 'LOCK request');
  need(msg, B, 24, 'LOCK request');
  const count = msg.readUInt16LE(B + 2);
  // 3.3.5.14: LockCount 0 is STATUS_INVALID_PARAMETER.
  if (count === 0) throw new MalformedError('LOCK request: LockCount 0');
  need(msg, B + 24, count * LOCK_ELEMENT_SIZE, 'LOCK elements');
  const seq = msg.readUInt32LE(B + 4);
  const locks: LockElement[] = [];
  for (let i = 0; i < count; i++) {
    const o = B + 24 + i * LOCK_ELEMENT_SIZE;
    locks.push({ offset: msg.readBigUInt64LE(o), length: msg.readBigUInt64LE(o + 8), flags: msg.readUInt32LE(o + 16) });
  }
  return { lockSequenceNumber: seq & 0xf, lockSequenceIndex: seq >>> 4, fileId: readFileId(msg, B + 8), locks };
}

export function encodeLockRequest(r: LockRequest): Buffer {
  if (r.locks.length === 0 || r.locks.length > 0xffff) throw new RangeError('LOCK: 1..65535 elements');
  const b = zeroed(24 + r.locks.length * LOCK_ELEMENT_SIZE);
  b.writeUInt16LE(LOCK_REQUEST_SIZE, 0);
  b.writeUInt16LE(r.locks.length, 2);
  b.writeUInt32LE(((r.lockSequenceIndex << 4) | (r.lockSequenceNumber & 0xf)) >>> 0, 4);
  writeFileId(b, 8, r.fileId);
  r.locks.forEach((l, i) => {
    const o = 24 + i * LOCK_ELEMENT_SIZE;
    b.writeBigUInt64LE(l.offset, o);
    b.writeBigUInt64LE(l.length, o + 8);
    b.writeUInt32LE(l.flags, o + 16);
  });
  return b;
}

export function encodeLockResponse(): Buffer {
  return encodeEmptyBody(4);
}

export function decodeLockResponse(msg: Buffer): Record<string, never> {
  decodeEmptyBody(msg, 4, 'LOCK response');
  return {};
}
