/**
 * Payloads of the FSCTLs an SMB2 server answers itself (MS-SMB2 2.2.31.x / 2.2.32.x,
 * MS-FSCC 2.3). The IOCTL framing is in ioctl.ts.
 */
import { MalformedError, copy16, need, put16, zeroed } from '../wire.js';

/** VALIDATE_NEGOTIATE_INFO request (2.2.31.4). */
export interface ValidateNegotiateInfoRequest {
  capabilities: number;
  guid: Buffer;
  securityMode: number;
  dialects: number[];
}

/** VALIDATE_NEGOTIATE_INFO response (2.2.32.6). */
export interface ValidateNegotiateInfoResponse {
  capabilities: number;
  guid: Buffer;
  securityMode: number;
  dialect: number;
}

export function decodeValidateNegotiateInfoRequest(b: Buffer): ValidateNegotiateInfoRequest {
  need(b, 0, 24, 'VALIDATE_NEGOTIATE_INFO');
  const n = b.readUInt16LE(22);
  need(b, 24, n * 2, 'VALIDATE_NEGOTIATE_INFO dialects');
  const dialects: number[] = [];
  for (let i = 0; i < n; i++) dialects.push(b.readUInt16LE(24 + i * 2));
  return { capabilities: b.readUInt32LE(0), guid: copy16(b, 4), securityMode: b.readUInt16LE(20), dialects };
}

export function encodeValidateNegotiateInfoRequest(r: ValidateNegotiateInfoRequest): Buffer {
  const b = zeroed(24 + r.dialects.length * 2);
  b.writeUInt32LE(r.capabilities >>> 0, 0);
  put16(b, 4, r.guid, 'guid');
  b.writeUInt16LE(r.securityMode, 20);
  b.writeUInt16LE(r.dialects.length, 22);
  r.dialects.forEach((d, i) => b.writeUInt16LE(d, 24 + i * 2));
  return b;
}

export function encodeValidateNegotiateInfoResponse(r: ValidateNegotiateInfoResponse): Buffer {
  const b = zeroed(24);
  b.writeUInt32LE(r.capabilities >>> 0, 0);
  put16(b, 4, r.guid, 'guid');
  b.writeUInt16LE(r.securityMode, 20);
  b.writeUInt16LE(r.dialect, 22);
  return b;
}

export function decodeValidateNegotiateInfoResponse(b: Buffer): ValidateNegotiateInfoResponse {
  need(b, 0, 24, 'VALIDATE_NEGOTIATE_INFO response');
  return { capabilities: b.readUInt32LE(0), guid: copy16(b, 4), securityMode: b.readUInt16LE(20), dialect: b.readUInt16LE(22) };
}

/** NETWORK_INTERFACE_INFO (2.2.32.5), 152 bytes each, chained by Next. */
export interface NetworkInterfaceInfo {
  ifIndex: number;
  capability: number;
  /** Bits per second. */
  linkSpeed: bigint;
  /** Dotted IPv4 or IPv6 text. */
  address: string;
  family: 'IPv4' | 'IPv6';
}

const AF_INET = 0x0002;
const AF_INET6 = 0x0017;

function ipv6Bytes(addr: string): Buffer {
  const [head, tail] = addr.includes('::') ? addr.split('::') : [addr, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) throw new RangeError(`bad IPv6 address ${addr}`);
  const b = zeroed(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

export function encodeNetworkInterfaceInfo(list: readonly NetworkInterfaceInfo[]): Buffer {
  const b = zeroed(152 * list.length);
  list.forEach((e, i) => {
    const o = i * 152;
    b.writeUInt32LE(i === list.length - 1 ? 0 : 152, o);
    b.writeUInt32LE(e.ifIndex, o + 4);
    b.writeUInt32LE(e.capability, o + 8);
    b.writeBigUInt64LE(e.linkSpeed, o + 16);
    const sa = o + 24;
    if (e.family === 'IPv4') {
      b.writeUInt16LE(AF_INET, sa);
      e.address.split('.').forEach((p, k) => b.writeUInt8(Number(p), sa + 4 + k));
    } else {
      b.writeUInt16LE(AF_INET6, sa);
      ipv6Bytes(e.address).copy(b, sa + 8);
    }
  });
  return b;
}

export function decodeNetworkInterfaceInfo(b: Buffer): NetworkInterfaceInfo[] {
  const out: NetworkInterfaceInfo[] = [];
  let off = 0;
  while (off < b.length) {
    need(b, off, 152, 'NETWORK_INTERFACE_INFO');
    const next = b.readUInt32LE(off);
    const sa = off + 24;
    const fam = b.readUInt16LE(sa);
    let address: string;
    let family: 'IPv4' | 'IPv6';
    if (fam === AF_INET) {
      family = 'IPv4';
      address = [0, 1, 2, 3].map((k) => b[sa + 4 + k]).join('.');
    } else if (fam === AF_INET6) {
      family = 'IPv6';
      const g: string[] = [];
      for (let k = 0; k < 8; k++) g.push(b.readUInt16BE(sa + 8 + k * 2).toString(16));
      address = g.join(':');
    } else {
      throw new MalformedError(`NETWORK_INTERFACE_INFO: family ${fam}`);
    }
    out.push({ ifIndex: b.readUInt32LE(off + 4), capability: b.readUInt32LE(off + 8), linkSpeed: b.readBigUInt64LE(off + 16), address, family });
    if (next === 0) break;
    if (next < 152) throw new MalformedError('NETWORK_INTERFACE_INFO: bad Next');
    off += next;
  }
  return out;
}

/**
 * SRV_REQUEST_RESUME_KEY response (2.2.32.3): ResumeKey(24) ContextLength(4) Context.
 * ContextLength is 0, but 4 zero bytes of Context follow when there is room, as
 * Windows and Samba send (Samba's client decodes a fixed 4-byte Context).
 */
export function encodeResumeKeyResponse(resumeKey: Buffer, room = 32): Buffer {
  if (resumeKey.length !== 24) throw new RangeError('resume key is 24 bytes');
  const b = zeroed(room >= 32 ? 32 : 28);
  resumeKey.copy(b, 0);
  return b;
}

export function decodeResumeKeyResponse(b: Buffer): Buffer {
  need(b, 0, 28, 'SRV_REQUEST_RESUME_KEY');
  return Buffer.from(b.subarray(0, 24));
}

/** SRV_COPYCHUNK_COPY (2.2.31.1). */
export interface CopyChunk {
  sourceOffset: bigint;
  targetOffset: bigint;
  length: number;
}

export function decodeCopyChunkCopy(b: Buffer): { sourceKey: Buffer; chunks: CopyChunk[] } {
  need(b, 0, 32, 'SRV_COPYCHUNK_COPY');
  const n = b.readUInt32LE(24);
  need(b, 32, n * 24, 'SRV_COPYCHUNK chunks');
  const chunks: CopyChunk[] = [];
  for (let i = 0; i < n; i++) {
    const o = 32 + i * 24;
    chunks.push({ sourceOffset: b.readBigUInt64LE(o), targetOffset: b.readBigUInt64LE(o + 8), length: b.readUInt32LE(o + 16) });
  }
  return { sourceKey: Buffer.from(b.subarray(0, 24)), chunks };
}

export function encodeCopyChunkCopy(sourceKey: Buffer, chunks: readonly CopyChunk[]): Buffer {
  if (sourceKey.length !== 24) throw new RangeError('source key is 24 bytes');
  const b = zeroed(32 + chunks.length * 24);
  sourceKey.copy(b, 0);
  b.writeUInt32LE(chunks.length, 24);
  chunks.forEach((c, i) => {
    const o = 32 + i * 24;
    b.writeBigUInt64LE(c.sourceOffset, o);
    b.writeBigUInt64LE(c.targetOffset, o + 8);
    b.writeUInt32LE(c.length, o + 16);
  });
  return b;
}

/** SRV_COPYCHUNK_RESPONSE (2.2.32.1). */
export interface CopyChunkResponse {
  chunksWritten: number;
  chunkBytesWritten: number;
  totalBytesWritten: number;
}

export function encodeCopyChunkResponse(r: CopyChunkResponse): Buffer {
  const b = zeroed(12);
  b.writeUInt32LE(r.chunksWritten, 0);
  b.writeUInt32LE(r.chunkBytesWritten, 4);
  b.writeUInt32LE(r.totalBytesWritten, 8);
  return b;
}

export function decodeCopyChunkResponse(b: Buffer): CopyChunkResponse {
  need(b, 0, 12, 'SRV_COPYCHUNK_RESPONSE');
  return { chunksWritten: b.readUInt32LE(0), chunkBytesWritten: b.readUInt32LE(4), totalBytesWritten: b.readUInt32LE(8) };
}

/** FILE_ZERO_DATA_INFORMATION (MS-FSCC 2.3.67) and FILE_ALLOCATED_RANGE_BUFFER (2.3.49): two i64 each. */
export interface ByteRange {
  offset: bigint;
  length: bigint;
}

export function decodeZeroDataInformation(b: Buffer): { fileOffset: bigint; beyondFinalZero: bigint } {
  need(b, 0, 16, 'FILE_ZERO_DATA_INFORMATION');
  return { fileOffset: b.readBigInt64LE(0), beyondFinalZero: b.readBigInt64LE(8) };
}

export function encodeZeroDataInformation(fileOffset: bigint, beyondFinalZero: bigint): Buffer {
  const b = zeroed(16);
  b.writeBigInt64LE(fileOffset, 0);
  b.writeBigInt64LE(beyondFinalZero, 8);
  return b;
}

/** QUERY_ALLOCATED_RANGES output: a whole number of 16-byte ranges. */
export function decodeAllocatedRanges(b: Buffer): ByteRange[] {
  if (b.length % 16 !== 0) throw new MalformedError('FILE_ALLOCATED_RANGE_BUFFER array: length not a multiple of 16');
  const out: ByteRange[] = [];
  for (let o = 0; o < b.length; o += 16) out.push({ offset: b.readBigInt64LE(o), length: b.readBigInt64LE(o + 8) });
  return out;
}

export function decodeAllocatedRange(b: Buffer): ByteRange {
  need(b, 0, 16, 'FILE_ALLOCATED_RANGE_BUFFER');
  return { offset: b.readBigInt64LE(0), length: b.readBigInt64LE(8) };
}

export function encodeAllocatedRanges(list: readonly ByteRange[]): Buffer {
  const b = zeroed(16 * list.length);
  list.forEach((r, i) => {
    b.writeBigInt64LE(r.offset, i * 16);
    b.writeBigInt64LE(r.length, i * 16 + 8);
  });
  return b;
}

/** FSCTL_PIPE_WAIT request (MS-FSCC 2.3.31). */
export function decodePipeWaitRequest(b: Buffer): { timeout: bigint; timeoutSpecified: boolean; name: string } {
  need(b, 0, 14, 'FSCTL_PIPE_WAIT');
  const len = b.readUInt32LE(8);
  need(b, 14, len, 'FSCTL_PIPE_WAIT name');
  return { timeout: b.readBigInt64LE(0), timeoutSpecified: b[12] !== 0, name: b.toString('utf16le', 14, 14 + (len & ~1)) };
}

/** SRV_SNAPSHOT_ARRAY (2.2.32.2) with no snapshots: what a server without them answers. */
export function encodeEmptySnapshotArray(): Buffer {
  return zeroed(12);
}
