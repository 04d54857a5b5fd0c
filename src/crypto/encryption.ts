/**
 * SMB 3.x encryption (MS-SMB2 3.1.4.3) and the SMB2 TRANSFORM_HEADER
 * (MS-SMB2 2.2.41):
 *
 *   0  ProtocolId            0xFD 'S' 'M' 'B'
 *   4  Signature    (16)     the AEAD tag
 *  20  Nonce        (16)     11 bytes used for CCM, 12 for GCM, rest zero
 *  36  OriginalMessageSize   plaintext length
 *  40  Reserved     (2)
 *  42  Flags / EncryptionAlgorithm (2) = 0x0001 in every dialect
 *  44  SessionId    (8)
 *  52  encrypted SMB2 message(s)
 *
 * The AAD is the header from the Nonce to its end (bytes 20..51).
 */
import { createCipheriv, createDecipheriv, randomBytes, type CipherCCMTypes, type CipherGCMTypes } from 'node:crypto';

export const CipherId = {
  AES_128_CCM: 0x0001,
  AES_128_GCM: 0x0002,
  AES_256_CCM: 0x0003,
  AES_256_GCM: 0x0004,
} as const;
export type CipherId = (typeof CipherId)[keyof typeof CipherId];

export const TRANSFORM_HEADER_SIZE = 52;
export const TRANSFORM_PROTOCOL_ID = 0x424d53fd; // 0xFD 'S' 'M' 'B' read as LE uint32
const AAD_OFFSET = 20;
const NONCE_OFFSET = 20;
const TAG_SIZE = 16;

export function isKnownCipher(id: number): id is CipherId {
  return id >= 1 && id <= 4;
}

function checkCipher(id: number): CipherId {
  if (!isKnownCipher(id)) throw new RangeError(`unknown SMB cipher id ${id}`);
  return id;
}

export function cipherKeyLength(id: number): 16 | 32 {
  return checkCipher(id) >= CipherId.AES_256_CCM ? 32 : 16;
}

export function isCcm(id: number): boolean {
  const c = checkCipher(id);
  return c === CipherId.AES_128_CCM || c === CipherId.AES_256_CCM;
}

export function nonceLength(id: number): 11 | 12 {
  return isCcm(id) ? 11 : 12;
}

function algorithmName(id: number): string {
  const bits = cipherKeyLength(id) * 8;
  return `aes-${bits}-${isCcm(id) ? 'ccm' : 'gcm'}`;
}

/**
 * Nonces for one key. AES-CCM/GCM break if a nonce repeats under a key, so
 * each key gets one generator: a random 64-bit starting counter in the low
 * 8 bytes and a random salt in the remaining 3 (CCM) or 4 (GCM) bytes, the
 * counter incremented per message. Two generators on the same key (which
 * should not happen) would still need equal salts and overlapping counter
 * ranges to collide.
 */
export class NonceGenerator {
  private counter: bigint;
  private readonly salt: Buffer;
  readonly length: 11 | 12;

  constructor(cipherId: number) {
    this.length = nonceLength(cipherId);
    this.counter = randomBytes(8).readBigUInt64LE(0);
    this.salt = randomBytes(this.length - 8);
  }

  /** A fresh 16-byte Nonce field (bytes past the used length are zero). */
  next(): Buffer {
    const n = Buffer.alloc(16);
    n.writeBigUInt64LE(this.counter, 0);
    this.salt.copy(n, 8);
    this.counter = (this.counter + 1n) & 0xffffffffffffffffn;
    return n;
  }
}

const generators = new WeakMap<Buffer, NonceGenerator>();

function defaultNonce(cipherId: number, key: Buffer): Buffer {
  let g = generators.get(key);
  if (!g || g.length !== nonceLength(cipherId)) {
    g = new NonceGenerator(cipherId);
    generators.set(key, g);
  }
  return g.next();
}

export interface TransformHeader {
  signature: Buffer;
  nonce: Buffer;
  originalMessageSize: number;
  flags: number;
  sessionId: bigint;
}

export function isTransformMessage(buf: Buffer): boolean {
  return buf.length >= 4 && buf.readUInt32LE(0) === TRANSFORM_PROTOCOL_ID;
}

export function parseTransformHeader(buf: Buffer): TransformHeader | null {
  if (buf.length < TRANSFORM_HEADER_SIZE || !isTransformMessage(buf)) return null;
  return {
    signature: buf.subarray(4, 20),
    nonce: buf.subarray(20, 36),
    originalMessageSize: buf.readUInt32LE(36),
    flags: buf.readUInt16LE(42),
    sessionId: buf.readBigUInt64LE(44),
  };
}

function writeHeader(out: Buffer, nonce: Buffer, size: number, sessionId: bigint): void {
  out.writeUInt32LE(TRANSFORM_PROTOCOL_ID, 0);
  out.fill(0, 4, 20);
  nonce.copy(out, NONCE_OFFSET, 0, 16);
  out.fill(0, NONCE_OFFSET + nonce.length, 36);
  out.writeUInt32LE(size, 36);
  out.writeUInt16LE(0, 40);
  out.writeUInt16LE(0x0001, 42);
  out.writeBigUInt64LE(sessionId, 44);
}

function totalLength(parts: readonly Buffer[]): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}

/**
 * Encrypts into `out`: transform header at out[0..52], ciphertext after it.
 * Returns the number of bytes written. Node's ciphers return new buffers, so
 * the ciphertext is produced and then copied once into `out`; the plaintext
 * may itself live at out[52..] (it is read before `out` is written).
 */
export function encryptInto(
  cipherId: number,
  key: Buffer,
  sessionId: bigint,
  plain: Buffer | readonly Buffer[],
  out: Buffer,
  nonce?: Buffer,
): number {
  const parts = Buffer.isBuffer(plain) ? [plain] : plain;
  const size = totalLength(parts);
  if (out.length < TRANSFORM_HEADER_SIZE + size) throw new RangeError('output buffer too small');
  if (key.length !== cipherKeyLength(cipherId)) throw new RangeError('key length does not match the cipher');
  const nlen = nonceLength(cipherId);
  const n = nonce ?? defaultNonce(cipherId, key);
  const header = Buffer.alloc(TRANSFORM_HEADER_SIZE);
  writeHeader(header, n.subarray(0, nlen), size, sessionId);
  const aad = header.subarray(AAD_OFFSET);
  const iv = header.subarray(NONCE_OFFSET, NONCE_OFFSET + nlen);
  let off = TRANSFORM_HEADER_SIZE;
  let tag: Buffer;
  if (isCcm(cipherId)) {
    // CCM needs the whole plaintext in one update() (Node/OpenSSL rule).
    const c = createCipheriv(algorithmName(cipherId) as CipherCCMTypes, key, iv, { authTagLength: TAG_SIZE });
    c.setAAD(aad, { plaintextLength: size });
    const ct = c.update(parts.length === 1 ? parts[0]! : Buffer.concat(parts as Buffer[], size));
    c.final();
    tag = c.getAuthTag();
    off += ct.copy(out, off);
  } else {
    const c = createCipheriv(algorithmName(cipherId) as CipherGCMTypes, key, iv, { authTagLength: TAG_SIZE });
    c.setAAD(aad);
    const cts: Buffer[] = [];
    for (const p of parts) cts.push(c.update(p));
    c.final();
    tag = c.getAuthTag();
    for (const ct of cts) off += ct.copy(out, off);
  }
  header.copy(out, 0);
  tag.copy(out, 4);
  return off;
}

/** Encrypts one or more SMB2 messages into a new transform message. */
export function encryptMessage(
  cipherId: number,
  key: Buffer,
  sessionId: bigint,
  plain: Buffer | readonly Buffer[],
  nonce?: Buffer,
): Buffer {
  const parts = Buffer.isBuffer(plain) ? [plain] : plain;
  const out = Buffer.allocUnsafe(TRANSFORM_HEADER_SIZE + totalLength(parts));
  encryptInto(cipherId, key, sessionId, parts, out, nonce);
  return out;
}

/**
 * Decrypts a whole transform message. Returns the plaintext, or null when
 * the header is malformed or the tag does not authenticate (the caller
 * then drops the connection, MS-SMB2 3.3.5.2.1).
 */
export function decryptMessage(cipherId: number, key: Buffer, msg: Buffer): Buffer | null {
  const th = parseTransformHeader(msg);
  if (!th) return null;
  if (th.flags !== 0x0001) return null;
  if (th.originalMessageSize !== msg.length - TRANSFORM_HEADER_SIZE) return null;
  if (key.length !== cipherKeyLength(cipherId)) return null;
  const nlen = nonceLength(cipherId);
  const iv = th.nonce.subarray(0, nlen);
  const aad = msg.subarray(AAD_OFFSET, TRANSFORM_HEADER_SIZE);
  const ct = msg.subarray(TRANSFORM_HEADER_SIZE);
  try {
    if (isCcm(cipherId)) {
      const d = createDecipheriv(algorithmName(cipherId) as CipherCCMTypes, key, iv, { authTagLength: TAG_SIZE });
      d.setAuthTag(th.signature);
      d.setAAD(aad, { plaintextLength: ct.length });
      const pt = d.update(ct);
      d.final();
      return pt;
    }
    const d = createDecipheriv(algorithmName(cipherId) as CipherGCMTypes, key, iv, { authTagLength: TAG_SIZE });
    d.setAuthTag(th.signature);
    d.setAAD(aad);
    const pt = d.update(ct);
    d.final();
    return pt;
  } catch {
    return null;
  }
}

/** A key with its own nonce generator: what a session keeps per direction. */
export class Sealer {
  private readonly nonces: NonceGenerator;
  constructor(readonly cipherId: number, readonly key: Buffer) {
    if (key.length !== cipherKeyLength(cipherId)) throw new RangeError('key length does not match the cipher');
    this.nonces = new NonceGenerator(cipherId);
  }
  encrypt(sessionId: bigint, plain: Buffer | readonly Buffer[]): Buffer {
    return encryptMessage(this.cipherId, this.key, sessionId, plain, this.nonces.next());
  }
  encryptInto(sessionId: bigint, plain: Buffer | readonly Buffer[], out: Buffer): number {
    return encryptInto(this.cipherId, this.key, sessionId, plain, out, this.nonces.next());
  }
  decrypt(msg: Buffer): Buffer | null {
    return decryptMessage(this.cipherId, this.key, msg);
  }
}
