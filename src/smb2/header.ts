/**
 * The SMB2 packet header (MS-SMB2 2.2.1), the transform header of encrypted
 * messages (2.2.41), and recognition of the compression transform header (2.2.42).
 */
import { HeaderFlags } from './constants.js';
import { MalformedError, need, zeroed } from './wire.js';

export const HEADER_SIZE = 64;
export const TRANSFORM_HEADER_SIZE = 52;

/** 0xFE 'S' 'M' 'B', 0xFD 'S' 'M' 'B', 0xFC 'S' 'M' 'B' as little-endian u32. */
export const PROTOCOL_ID_SMB2 = 0x424d53fe;
export const PROTOCOL_ID_TRANSFORM = 0x424d53fd;
export const PROTOCOL_ID_COMPRESSED = 0x424d53fc;
/** 0xFF 'S' 'M' 'B': an SMB1 message, which a server sees only as a multi-protocol NEGOTIATE. */
export const PROTOCOL_ID_SMB1 = 0x424d53ff;

export interface Smb2Header {
  creditCharge: number;
  /** Status in responses; in 3.x requests the low 16 bits are ChannelSequence (2.2.1.2). */
  status: number;
  command: number;
  /** CreditRequest in requests, CreditResponse in responses. */
  credits: number;
  flags: number;
  nextCommand: number;
  messageId: bigint;
  /** Async form (SMB2_FLAGS_ASYNC_COMMAND set) only; 0n in the sync form. */
  asyncId: bigint;
  /** Sync form only (the field the spec calls Reserved, ProcessId in practice). */
  processId: number;
  /** Sync form only. */
  treeId: number;
  sessionId: bigint;
  /** 16 bytes; a view into the message when decoded. */
  signature: Buffer;
}

const ZERO_SIGNATURE = Buffer.alloc(16);

/** A header with every field zero except what is given. */
export function makeHeader(fields: Partial<Smb2Header> & { command: number }): Smb2Header {
  return {
    creditCharge: 0,
    status: 0,
    credits: 0,
    flags: 0,
    nextCommand: 0,
    messageId: 0n,
    asyncId: 0n,
    processId: 0,
    treeId: 0,
    sessionId: 0n,
    signature: ZERO_SIGNATURE,
    ...fields,
  };
}

/** What the first four bytes of a message say it is. */
export type ProtocolKind = 'smb2' | 'transform' | 'compressed' | 'smb1' | 'unknown';

export function protocolKind(buf: Buffer, off = 0): ProtocolKind {
  if (buf.length < off + 4) return 'unknown';
  switch (buf.readUInt32LE(off)) {
    case PROTOCOL_ID_SMB2:
      return 'smb2';
    case PROTOCOL_ID_TRANSFORM:
      return 'transform';
    case PROTOCOL_ID_COMPRESSED:
      return 'compressed';
    case PROTOCOL_ID_SMB1:
      return 'smb1';
    default:
      return 'unknown';
  }
}

export function isAsync(h: Pick<Smb2Header, 'flags'>): boolean {
  return (h.flags & HeaderFlags.ASYNC_COMMAND) !== 0;
}

export function isResponse(h: Pick<Smb2Header, 'flags'>): boolean {
  return (h.flags & HeaderFlags.SERVER_TO_REDIR) !== 0;
}

/** ChannelSequence of a 3.x request (2.2.1.2): the low 16 bits of the Status field. */
export function channelSequence(h: Pick<Smb2Header, 'status'>): number {
  return h.status & 0xffff;
}

/** decodeHeader(), or null where it finds no SMB2 header there (MalformedError): for input a peer sent. */
export function tryDecodeHeader(buf: Buffer, off = 0): Smb2Header | null {
  try {
    return decodeHeader(buf, off);
  } catch (err) {
    if (err instanceof MalformedError) return null;
    throw err;
  }
}

export function decodeHeader(buf: Buffer, off = 0): Smb2Header {
  need(buf, off, HEADER_SIZE, 'SMB2 header');
  if (buf.readUInt32LE(off) !== PROTOCOL_ID_SMB2) throw new MalformedError('SMB2 header: bad ProtocolId');
  const structureSize = buf.readUInt16LE(off + 4);
  if (structureSize !== 64) throw new MalformedError(`SMB2 header: StructureSize ${structureSize}`);
  const flags = buf.readUInt32LE(off + 16);
  const async = (flags & HeaderFlags.ASYNC_COMMAND) !== 0;
  return {
    creditCharge: buf.readUInt16LE(off + 6),
    status: buf.readUInt32LE(off + 8),
    command: buf.readUInt16LE(off + 12),
    credits: buf.readUInt16LE(off + 14),
    flags,
    nextCommand: buf.readUInt32LE(off + 20),
    messageId: buf.readBigUInt64LE(off + 24),
    asyncId: async ? buf.readBigUInt64LE(off + 32) : 0n,
    processId: async ? 0 : buf.readUInt32LE(off + 32),
    treeId: async ? 0 : buf.readUInt32LE(off + 36),
    sessionId: buf.readBigUInt64LE(off + 40),
    signature: buf.subarray(off + 48, off + 64),
  };
}

/** Writes the 64-byte header at `off`; the ASYNC flag picks the async or sync form. */
export function encodeHeader(h: Smb2Header, buf: Buffer, off = 0): void {
  if (buf.length < off + HEADER_SIZE) throw new RangeError('encodeHeader: buffer too small');
  buf.writeUInt32LE(PROTOCOL_ID_SMB2, off);
  buf.writeUInt16LE(64, off + 4);
  buf.writeUInt16LE(h.creditCharge, off + 6);
  buf.writeUInt32LE(h.status >>> 0, off + 8);
  buf.writeUInt16LE(h.command, off + 12);
  buf.writeUInt16LE(h.credits, off + 14);
  buf.writeUInt32LE(h.flags >>> 0, off + 16);
  buf.writeUInt32LE(h.nextCommand, off + 20);
  buf.writeBigUInt64LE(h.messageId, off + 24);
  if (isAsync(h)) {
    buf.writeBigUInt64LE(h.asyncId, off + 32);
  } else {
    buf.writeUInt32LE(h.processId, off + 32);
    buf.writeUInt32LE(h.treeId, off + 36);
  }
  buf.writeBigUInt64LE(h.sessionId, off + 40);
  if (h.signature.length !== 16) throw new RangeError('encodeHeader: signature must be 16 bytes');
  h.signature.copy(buf, off + 48);
}

/** A fresh 64-byte buffer holding the header. */
export function headerBuffer(h: Smb2Header): Buffer {
  const b = zeroed(HEADER_SIZE);
  encodeHeader(h, b);
  return b;
}

/** SMB2 TRANSFORM_HEADER (2.2.41). */
export interface TransformHeader {
  signature: Buffer;
  /** 16 bytes; CCM uses the first 11, GCM the first 12, the rest must be zero. */
  nonce: Buffer;
  originalMessageSize: number;
  /** Flags in 3.1.1 (1 = encrypted), EncryptionAlgorithm in 3.0/3.0.2 (1 = AES-128-CCM); both 1 in practice. */
  flags: number;
  sessionId: bigint;
}

export const TRANSFORM_FLAG_ENCRYPTED = 0x0001;

export function decodeTransformHeader(buf: Buffer, off = 0): TransformHeader {
  need(buf, off, TRANSFORM_HEADER_SIZE, 'transform header');
  if (buf.readUInt32LE(off) !== PROTOCOL_ID_TRANSFORM) throw new MalformedError('transform header: bad ProtocolId');
  return {
    signature: buf.subarray(off + 4, off + 20),
    nonce: buf.subarray(off + 20, off + 36),
    originalMessageSize: buf.readUInt32LE(off + 36),
    flags: buf.readUInt16LE(off + 42),
    sessionId: buf.readBigUInt64LE(off + 44),
  };
}

export function encodeTransformHeader(t: TransformHeader, buf: Buffer, off = 0): void {
  if (buf.length < off + TRANSFORM_HEADER_SIZE) throw new RangeError('encodeTransformHeader: buffer too small');
  if (t.signature.length !== 16 || t.nonce.length !== 16) throw new RangeError('signature and nonce are 16 bytes');
  buf.writeUInt32LE(PROTOCOL_ID_TRANSFORM, off);
  t.signature.copy(buf, off + 4);
  t.nonce.copy(buf, off + 20);
  buf.writeUInt32LE(t.originalMessageSize, off + 36);
  buf.writeUInt16LE(0, off + 40);
  buf.writeUInt16LE(t.flags, off + 42);
  buf.writeBigUInt64LE(t.sessionId, off + 44);
}

/**
 * The bytes a transform header's AEAD authenticates (3.1.4.3): everything after the
 * Signature, i.e. Nonce..SessionId (32 bytes).
 */
export function transformAad(buf: Buffer, off = 0): Buffer {
  need(buf, off, TRANSFORM_HEADER_SIZE, 'transform header');
  return buf.subarray(off + 20, off + TRANSFORM_HEADER_SIZE);
}

/**
 * Compressed messages (2.2.42) are not supported: a server never offers compression,
 * so a peer sending one is in error. Throws MalformedError for such a message.
 */
export function rejectCompressed(buf: Buffer, off = 0): void {
  if (protocolKind(buf, off) === 'compressed') {
    throw new MalformedError('compression transform header: compression was not negotiated');
  }
}

/** Header followed by body parts, in one new buffer. */
export function encodeMessage(h: Smb2Header, ...body: Buffer[]): Buffer {
  const len = body.reduce((n, b) => n + b.length, HEADER_SIZE);
  const out = Buffer.allocUnsafe(len);
  encodeHeader(h, out);
  let off = HEADER_SIZE;
  for (const b of body) off += b.copy(out, off);
  return out;
}
