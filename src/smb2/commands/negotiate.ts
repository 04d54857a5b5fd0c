/**
 * NEGOTIATE request (MS-SMB2 2.2.3) and response (2.2.4), with the negotiate context
 * list of 3.1.1 (2.2.3.1 / 2.2.4.1).
 */
import { Dialect, NegotiateContextType as T } from '../constants.js';
import { HEADER_SIZE } from '../header.js';
import { MalformedError, align8, copy16, fromUtf16, need, put16, region, structureSize, utf16, zeroed } from '../wire.js';

const B = HEADER_SIZE;
export const NEGOTIATE_REQUEST_SIZE = 36;
export const NEGOTIATE_RESPONSE_SIZE = 65;

/** The negotiate contexts of one message, by type. Unknown types are kept raw (3.3.5.4 ignores them). */
export interface NegotiateContexts {
  preauthIntegrity?: { hashAlgorithms: number[]; salt: Buffer };
  encryption?: { ciphers: number[] };
  /** Decoded only; ringsmb does not negotiate compression. */
  compression?: { compressionAlgorithms: number[]; flags: number };
  netName?: string;
  transport?: { flags: number };
  /** Decoded only; ringsmb has no RDMA. */
  rdmaTransform?: { transformIds: number[] };
  signing?: { signingAlgorithms: number[] };
  unknown?: { contextType: number; data: Buffer }[];
}

export interface NegotiateRequest {
  securityMode: number;
  capabilities: number;
  clientGuid: Buffer;
  dialects: number[];
  /** Present when `dialects` contains 3.1.1, else undefined (the field is ClientStartTime, ignored). */
  negotiateContexts?: NegotiateContexts;
}

export interface NegotiateResponse {
  securityMode: number;
  dialectRevision: number;
  serverGuid: Buffer;
  capabilities: number;
  maxTransactSize: number;
  maxReadSize: number;
  maxWriteSize: number;
  systemTime: bigint;
  serverStartTime: bigint;
  securityBuffer: Buffer;
  /** Sent only when dialectRevision is 3.1.1. */
  negotiateContexts?: NegotiateContexts;
}

function u16list(data: Buffer, off: number, count: number, what: string): number[] {
  need(data, off, count * 2, what);
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(data.readUInt16LE(off + i * 2));
  return out;
}

function decodeOne(ctx: NegotiateContexts, type: number, data: Buffer): void {
  const dup = (present: unknown) => {
    // 3.3.5.4: more than one of these is STATUS_INVALID_PARAMETER.
    if (present !== undefined) throw new MalformedError(`negotiate context ${type} appears twice`);
  };
  switch (type) {
    case T.PREAUTH_INTEGRITY_CAPABILITIES: {
      dup(ctx.preauthIntegrity);
      need(data, 0, 4, 'preauth context');
      const n = data.readUInt16LE(0);
      const saltLen = data.readUInt16LE(2);
      if (n === 0) throw new MalformedError('preauth context: HashAlgorithmCount 0');
      const hashAlgorithms = u16list(data, 4, n, 'preauth context');
      need(data, 4 + n * 2, saltLen, 'preauth salt');
      const salt = Buffer.from(data.subarray(4 + n * 2, 4 + n * 2 + saltLen));
      ctx.preauthIntegrity = { hashAlgorithms, salt };
      return;
    }
    case T.ENCRYPTION_CAPABILITIES: {
      dup(ctx.encryption);
      need(data, 0, 2, 'encryption context');
      const n = data.readUInt16LE(0);
      if (n === 0) throw new MalformedError('encryption context: CipherCount 0');
      ctx.encryption = { ciphers: u16list(data, 2, n, 'encryption context') };
      return;
    }
    case T.COMPRESSION_CAPABILITIES: {
      dup(ctx.compression);
      need(data, 0, 8, 'compression context');
      const n = data.readUInt16LE(0);
      if (n === 0) throw new MalformedError('compression context: CompressionAlgorithmCount 0');
      ctx.compression = { flags: data.readUInt32LE(4), compressionAlgorithms: u16list(data, 8, n, 'compression context') };
      return;
    }
    case T.NETNAME_NEGOTIATE_CONTEXT_ID:
      // Not unique per 3.3.5.4; the last one wins here.
      ctx.netName = fromUtf16(data.length % 2 ? data.subarray(0, data.length - 1) : data, 'netname').replace(/\0+$/, '');
      return;
    case T.TRANSPORT_CAPABILITIES:
      dup(ctx.transport);
      need(data, 0, 4, 'transport context');
      ctx.transport = { flags: data.readUInt32LE(0) };
      return;
    case T.RDMA_TRANSFORM_CAPABILITIES: {
      dup(ctx.rdmaTransform);
      need(data, 0, 8, 'rdma context');
      const n = data.readUInt16LE(0);
      if (n === 0) throw new MalformedError('rdma context: TransformCount 0');
      ctx.rdmaTransform = { transformIds: u16list(data, 8, n, 'rdma context') };
      return;
    }
    case T.SIGNING_CAPABILITIES: {
      dup(ctx.signing);
      need(data, 0, 2, 'signing context');
      const n = data.readUInt16LE(0);
      if (n === 0) throw new MalformedError('signing context: SigningAlgorithmCount 0');
      ctx.signing = { signingAlgorithms: u16list(data, 2, n, 'signing context') };
      return;
    }
    default:
      (ctx.unknown ??= []).push({ contextType: type, data: Buffer.from(data) });
  }
}

/** Parses `count` contexts at absolute `offset` of `msg`; each after the first starts 8-aligned. */
export function decodeNegotiateContexts(msg: Buffer, offset: number, count: number, min: number): NegotiateContexts {
  const ctx: NegotiateContexts = {};
  if (count === 0) return ctx;
  if (offset < min || offset % 8 !== 0) throw new MalformedError(`NegotiateContextOffset ${offset} invalid`);
  let off = offset;
  for (let i = 0; i < count; i++) {
    off = align8(off);
    need(msg, off, 8, 'negotiate context');
    const type = msg.readUInt16LE(off);
    const len = msg.readUInt16LE(off + 2);
    need(msg, off + 8, len, 'negotiate context data');
    decodeOne(ctx, type, msg.subarray(off + 8, off + 8 + len));
    off += 8 + len;
  }
  return ctx;
}

function ctxData(type: number, c: NegotiateContexts): Buffer | undefined {
  switch (type) {
    case T.PREAUTH_INTEGRITY_CAPABILITIES: {
      const p = c.preauthIntegrity;
      if (!p) return undefined;
      const b = zeroed(4 + p.hashAlgorithms.length * 2 + p.salt.length);
      b.writeUInt16LE(p.hashAlgorithms.length, 0);
      b.writeUInt16LE(p.salt.length, 2);
      p.hashAlgorithms.forEach((a, i) => b.writeUInt16LE(a, 4 + i * 2));
      p.salt.copy(b, 4 + p.hashAlgorithms.length * 2);
      return b;
    }
    case T.ENCRYPTION_CAPABILITIES:
      return c.encryption && list16(c.encryption.ciphers, 2);
    case T.SIGNING_CAPABILITIES:
      return c.signing && list16(c.signing.signingAlgorithms, 2);
    case T.COMPRESSION_CAPABILITIES: {
      if (!c.compression) return undefined;
      const b = list16(c.compression.compressionAlgorithms, 8);
      b.writeUInt32LE(c.compression.flags, 4);
      return b;
    }
    case T.RDMA_TRANSFORM_CAPABILITIES:
      return c.rdmaTransform && list16(c.rdmaTransform.transformIds, 8);
    case T.NETNAME_NEGOTIATE_CONTEXT_ID:
      return c.netName === undefined ? undefined : utf16(c.netName);
    case T.TRANSPORT_CAPABILITIES: {
      if (!c.transport) return undefined;
      const b = zeroed(4);
      b.writeUInt32LE(c.transport.flags, 0);
      return b;
    }
  }
  return undefined;
}

/** Count at 0, then u16 items starting at `at`. */
function list16(items: number[], at: number): Buffer {
  const b = zeroed(at + items.length * 2);
  b.writeUInt16LE(items.length, 0);
  items.forEach((v, i) => b.writeUInt16LE(v, at + i * 2));
  return b;
}

const ORDER = [
  T.PREAUTH_INTEGRITY_CAPABILITIES,
  T.ENCRYPTION_CAPABILITIES,
  T.COMPRESSION_CAPABILITIES,
  T.NETNAME_NEGOTIATE_CONTEXT_ID,
  T.TRANSPORT_CAPABILITIES,
  T.RDMA_TRANSFORM_CAPABILITIES,
  T.SIGNING_CAPABILITIES,
];

/** The context list as bytes (starting 8-aligned, no padding after the last) and its count. */
export function encodeNegotiateContexts(c: NegotiateContexts): { bytes: Buffer; count: number } {
  const parts: Buffer[] = [];
  let len = 0;
  let count = 0;
  const add = (type: number, data: Buffer) => {
    if (data.length > 0xffff) throw new RangeError('negotiate context too large');
    const pad = align8(len) - len;
    if (pad) parts.push(zeroed(pad));
    const h = zeroed(8);
    h.writeUInt16LE(type, 0);
    h.writeUInt16LE(data.length, 2);
    parts.push(h, data);
    len += pad + 8 + data.length;
    count++;
  };
  for (const type of ORDER) {
    const d = ctxData(type, c);
    if (d) add(type, d);
  }
  for (const u of c.unknown ?? []) add(u.contextType, u.data);
  return { bytes: Buffer.concat(parts, len), count };
}

export function decodeNegotiateRequest(msg: Buffer): NegotiateRequest {
  structureSize(msg, B, NEGOTIATE_REQUEST_SIZE, 'NEGOTIATE request');
  need(msg, B, NEGOTIATE_REQUEST_SIZE, 'NEGOTIATE request');
  const count = msg.readUInt16LE(B + 2);
  if (count === 0) throw new MalformedError('NEGOTIATE request: DialectCount 0');
  const dialects = u16list(msg, B + 36, count, 'NEGOTIATE dialects');
  const r: NegotiateRequest = {
    securityMode: msg.readUInt16LE(B + 4),
    capabilities: msg.readUInt32LE(B + 8),
    clientGuid: copy16(msg, B + 12),
    dialects,
  };
  if (dialects.includes(Dialect.SMB311)) {
    const off = msg.readUInt32LE(B + 28);
    const n = msg.readUInt16LE(B + 32);
    r.negotiateContexts = decodeNegotiateContexts(msg, off, n, B + 36 + count * 2);
  }
  return r;
}

export function encodeNegotiateRequest(r: NegotiateRequest): Buffer {
  const dialectsEnd = NEGOTIATE_REQUEST_SIZE + r.dialects.length * 2;
  const ctx = r.negotiateContexts ? encodeNegotiateContexts(r.negotiateContexts) : undefined;
  const ctxOff = ctx && ctx.count ? align8(B + dialectsEnd) : 0;
  const body = zeroed(ctx && ctx.count ? ctxOff - B + ctx.bytes.length : dialectsEnd);
  body.writeUInt16LE(NEGOTIATE_REQUEST_SIZE, 0);
  body.writeUInt16LE(r.dialects.length, 2);
  body.writeUInt16LE(r.securityMode, 4);
  body.writeUInt32LE(r.capabilities, 8);
  put16(body, 12, r.clientGuid, 'clientGuid');
  if (ctx && ctx.count) {
    body.writeUInt32LE(ctxOff, 28);
    body.writeUInt16LE(ctx.count, 32);
    ctx.bytes.copy(body, ctxOff - B);
  }
  r.dialects.forEach((d, i) => body.writeUInt16LE(d, 36 + i * 2));
  return body;
}

export function encodeNegotiateResponse(r: NegotiateResponse): Buffer {
  const secEnd = 64 + r.securityBuffer.length;
  const ctx = r.negotiateContexts ? encodeNegotiateContexts(r.negotiateContexts) : undefined;
  const ctxOff = ctx && ctx.count ? align8(B + secEnd) : 0;
  // The body is at least 65 bytes: StructureSize counts one byte of Buffer (2.2.4).
  const size = ctx && ctx.count ? ctxOff - B + ctx.bytes.length : Math.max(secEnd, NEGOTIATE_RESPONSE_SIZE);
  const body = zeroed(size);
  body.writeUInt16LE(NEGOTIATE_RESPONSE_SIZE, 0);
  body.writeUInt16LE(r.securityMode, 2);
  body.writeUInt16LE(r.dialectRevision, 4);
  body.writeUInt16LE(ctx ? ctx.count : 0, 6);
  put16(body, 8, r.serverGuid, 'serverGuid');
  body.writeUInt32LE(r.capabilities, 24);
  body.writeUInt32LE(r.maxTransactSize, 28);
  body.writeUInt32LE(r.maxReadSize, 32);
  body.writeUInt32LE(r.maxWriteSize, 36);
  body.writeBigUInt64LE(r.systemTime, 40);
  body.writeBigUInt64LE(r.serverStartTime, 48);
  body.writeUInt16LE(B + 64, 56);
  body.writeUInt16LE(r.securityBuffer.length, 58);
  body.writeUInt32LE(ctxOff, 60);
  r.securityBuffer.copy(body, 64);
  if (ctx && ctx.count) ctx.bytes.copy(body, ctxOff - B);
  return body;
}

export function decodeNegotiateResponse(msg: Buffer): NegotiateResponse {
  structureSize(msg, B, NEGOTIATE_RESPONSE_SIZE, 'NEGOTIATE response');
  need(msg, B, 64, 'NEGOTIATE response');
  const dialectRevision = msg.readUInt16LE(B + 4);
  const secOff = msg.readUInt16LE(B + 56);
  const secLen = msg.readUInt16LE(B + 58);
  const r: NegotiateResponse = {
    securityMode: msg.readUInt16LE(B + 2),
    dialectRevision,
    serverGuid: copy16(msg, B + 8),
    capabilities: msg.readUInt32LE(B + 24),
    maxTransactSize: msg.readUInt32LE(B + 28),
    maxReadSize: msg.readUInt32LE(B + 32),
    maxWriteSize: msg.readUInt32LE(B + 36),
    systemTime: msg.readBigUInt64LE(B + 40),
    serverStartTime: msg.readBigUInt64LE(B + 48),
    securityBuffer: region(msg, secOff, secLen, B + 64, 'NEGOTIATE security buffer'),
  };
  if (dialectRevision === Dialect.SMB311) {
    const n = msg.readUInt16LE(B + 6);
    r.negotiateContexts = decodeNegotiateContexts(msg, msg.readUInt32LE(B + 60), n, B + 64);
  }
  return r;
}
