/**
 * Create context lists (MS-SMB2 2.2.13.2 / 2.2.14.2) and the data of the common ones.
 * A list is a chain of SMB2_CREATE_CONTEXT: Next(4) NameOffset(2) NameLength(2)
 * Reserved(2) DataOffset(2) DataLength(4) Buffer; offsets are relative to the context,
 * each context 8-aligned, Data 8-aligned within it.
 */
import { MalformedError, align8, copy16, joinChain, need, put16, zeroed } from '../wire.js';

export interface CreateContext {
  /** Usually 4 ASCII characters ('MxAc'); 16-byte GUID names are hex (32 characters, as on the wire). */
  name: string;
  data: Buffer;
}

/** GUID-named contexts are 16 raw bytes; we carry them as 32 hex characters. */
function nameBytes(name: string): Buffer {
  return name.length === 32 && /^[0-9a-fA-F]{32}$/.test(name) ? Buffer.from(name, 'hex') : Buffer.from(name, 'latin1');
}

function nameString(b: Buffer): string {
  return b.length === 16 ? b.toString('hex').toUpperCase() : b.toString('latin1');
}

/** Parses the list in `buf` (the CreateContexts region, starting 8-aligned). */
export function decodeCreateContexts(buf: Buffer): CreateContext[] {
  const out: CreateContext[] = [];
  let off = 0;
  while (off < buf.length) {
    need(buf, off, 16, 'create context');
    const next = buf.readUInt32LE(off);
    const nameOff = buf.readUInt16LE(off + 4);
    const nameLen = buf.readUInt16LE(off + 6);
    const dataOff = buf.readUInt16LE(off + 10);
    const dataLen = buf.readUInt32LE(off + 12);
    const end = next === 0 ? buf.length : off + next;
    if (next !== 0 && (next % 8 !== 0 || next < 16 || end > buf.length)) {
      throw new MalformedError(`create context: bad Next ${next}`);
    }
    if (nameLen === 0 || nameOff < 16 || off + nameOff + nameLen > end) {
      throw new MalformedError('create context: name outside the context');
    }
    if (dataLen !== 0 && (dataOff < nameOff + nameLen || off + dataOff + dataLen > end)) {
      throw new MalformedError('create context: data outside the context');
    }
    out.push({
      name: nameString(buf.subarray(off + nameOff, off + nameOff + nameLen)),
      data: buf.subarray(off + dataOff, off + dataOff + dataLen),
    });
    if (next === 0) break;
    off += next;
  }
  return out;
}

/** Encodes a list; empty list gives an empty buffer. The caller places it 8-aligned. */
export function encodeCreateContexts(list: readonly CreateContext[]): Buffer {
  const entries = list.map((c) => {
    const name = nameBytes(c.name);
    const dataOff = c.data.length ? align8(16 + name.length) : 0;
    const b = zeroed(c.data.length ? dataOff + c.data.length : 16 + name.length);
    b.writeUInt16LE(16, 4);
    b.writeUInt16LE(name.length, 6);
    b.writeUInt16LE(dataOff, 10);
    b.writeUInt32LE(c.data.length, 12);
    name.copy(b, 16);
    c.data.copy(b, dataOff);
    return b;
  });
  return joinChain(entries, 8);
}

export function findContext(list: readonly CreateContext[], name: string): CreateContext | undefined {
  return list.find((c) => c.name === name);
}

// ---- MxAc (2.2.13.2.5 / 2.2.14.2.5)

/** Request data: empty, or an 8-byte Timestamp. */
export function decodeMxAcRequest(data: Buffer): { timestamp?: bigint } {
  if (data.length === 0) return {};
  if (data.length !== 8) throw new MalformedError('MxAc: bad length');
  return { timestamp: data.readBigUInt64LE(0) };
}

export function encodeMxAcResponse(queryStatus: number, maximalAccess: number): Buffer {
  const b = zeroed(8);
  b.writeUInt32LE(queryStatus >>> 0, 0);
  b.writeUInt32LE(maximalAccess >>> 0, 4);
  return b;
}

export function decodeMxAcResponse(data: Buffer): { queryStatus: number; maximalAccess: number } {
  need(data, 0, 8, 'MxAc response');
  return { queryStatus: data.readUInt32LE(0), maximalAccess: data.readUInt32LE(4) };
}

// ---- QFid (2.2.14.2.9): DiskFileId(8) VolumeId(8) Reserved(16).

export function encodeQFidResponse(diskFileId: bigint, volumeId: bigint): Buffer {
  const b = zeroed(32);
  b.writeBigUInt64LE(diskFileId, 0);
  b.writeBigUInt64LE(volumeId, 8);
  return b;
}

export function decodeQFidResponse(data: Buffer): { diskFileId: bigint; volumeId: bigint } {
  need(data, 0, 32, 'QFid response');
  return { diskFileId: data.readBigUInt64LE(0), volumeId: data.readBigUInt64LE(8) };
}

// ---- Durable handles (2.2.13.2.3, .4, .11, .12; 2.2.14.2.3, .12)

/** DHnQ request data is 16 reserved bytes; anything else is malformed (3.3.5.9.6). */
export function decodeDHnQRequest(data: Buffer): Record<string, never> {
  if (data.length !== 16) throw new MalformedError('DHnQ: data must be 16 bytes');
  return {};
}

/** DHnQ response: 8 reserved bytes. */
export function encodeDHnQResponse(): Buffer {
  return zeroed(8);
}

export interface DH2QRequest {
  timeout: number;
  flags: number;
  createGuid: Buffer;
}

export function decodeDH2QRequest(data: Buffer): DH2QRequest {
  if (data.length !== 32) throw new MalformedError('DH2Q: data must be 32 bytes');
  return { timeout: data.readUInt32LE(0), flags: data.readUInt32LE(4), createGuid: copy16(data, 16) };
}

export function encodeDH2QRequest(r: DH2QRequest): Buffer {
  const b = zeroed(32);
  b.writeUInt32LE(r.timeout, 0);
  b.writeUInt32LE(r.flags, 4);
  put16(b, 16, r.createGuid, 'createGuid');
  return b;
}

export function encodeDH2QResponse(timeout: number, flags: number): Buffer {
  const b = zeroed(8);
  b.writeUInt32LE(timeout, 0);
  b.writeUInt32LE(flags, 4);
  return b;
}

/** DHnC: the FileId of the durable open (16 bytes). */
export function decodeDHnCRequest(data: Buffer): { persistent: bigint; volatile: bigint } {
  if (data.length !== 16) throw new MalformedError('DHnC: data must be 16 bytes');
  return { persistent: data.readBigUInt64LE(0), volatile: data.readBigUInt64LE(8) };
}

/** DH2C: FileId(16) CreateGuid(16) Flags(4). */
export function decodeDH2CRequest(data: Buffer): { persistent: bigint; volatile: bigint; createGuid: Buffer; flags: number } {
  if (data.length !== 36) throw new MalformedError('DH2C: data must be 36 bytes');
  return {
    persistent: data.readBigUInt64LE(0),
    volatile: data.readBigUInt64LE(8),
    createGuid: copy16(data, 16),
    flags: data.readUInt32LE(32),
  };
}

// ---- RqLs (2.2.13.2.8 v1: 32 bytes, 2.2.13.2.10 v2: 52 bytes)

export interface LeaseRequest {
  version: 1 | 2;
  leaseKey: Buffer;
  leaseState: number;
  leaseFlags: number;
  leaseDuration: bigint;
  /** v2 only. */
  parentLeaseKey?: Buffer;
  /** v2 only. */
  epoch?: number;
}

export function decodeLease(data: Buffer): LeaseRequest {
  if (data.length !== 32 && data.length !== 52) throw new MalformedError(`RqLs: bad length ${data.length}`);
  const r: LeaseRequest = {
    version: data.length === 32 ? 1 : 2,
    leaseKey: copy16(data, 0),
    leaseState: data.readUInt32LE(16),
    leaseFlags: data.readUInt32LE(20),
    leaseDuration: data.readBigUInt64LE(24),
  };
  if (r.version === 2) {
    r.parentLeaseKey = copy16(data, 32);
    r.epoch = data.readUInt16LE(48);
  }
  return r;
}

/** RqLs in either direction (the response has the same layout, 2.2.14.2.10/11). */
export function encodeLease(r: LeaseRequest): Buffer {
  const b = zeroed(r.version === 1 ? 32 : 52);
  put16(b, 0, r.leaseKey, 'leaseKey');
  b.writeUInt32LE(r.leaseState, 16);
  b.writeUInt32LE(r.leaseFlags, 20);
  b.writeBigUInt64LE(r.leaseDuration, 24);
  if (r.version === 2) {
    put16(b, 32, r.parentLeaseKey, 'parentLeaseKey');
    b.writeUInt16LE(r.epoch ?? 0, 48);
  }
  return b;
}

// ---- AlSi (2.2.13.2.6), TWrp (2.2.13.2.7)

export function decodeU64Context(data: Buffer, what: string): bigint {
  if (data.length !== 8) throw new MalformedError(`${what}: data must be 8 bytes`);
  return data.readBigUInt64LE(0);
}
