/**
 * SMB 3.x encryption (MS-SMB2 3.1.4.3): AES-CCM or AES-GCM over one or more
 * SMB2 messages behind a TRANSFORM_HEADER (2.2.41, laid out by
 * smb2/header.ts). The AEAD tag is the header's Signature, the nonce the
 * first 11 (CCM) or 12 (GCM) bytes of its Nonce field, the rest of which is
 * zero, and the AAD the header from the Nonce to its end (bytes 20..51).
 */
import { createCipheriv, createDecipheriv, randomBytes, type CipherCCMTypes, type CipherGCMTypes } from 'node:crypto';
import { Cipher } from '../smb2/constants.js';
import { native } from '../native.js';
import {
  decodeTransformHeader, encodeTransformHeader, protocolKind, TRANSFORM_FLAG_ENCRYPTED, TRANSFORM_HEADER_SIZE,
  transformAad, type TransformHeader,
} from '../smb2/header.js';

export { TRANSFORM_HEADER_SIZE, type TransformHeader };

/** Cipher values of SMB2_ENCRYPTION_CAPABILITIES (MS-SMB2 2.2.3.1.2). */
export const CipherId = Cipher;
export type CipherId = (typeof CipherId)[keyof typeof CipherId];

const NONCE_FIELD_SIZE = 16;
const TAG_SIZE = 16;
const ZERO_TAG = Buffer.alloc(TAG_SIZE);

interface CipherSpec {
  name: CipherCCMTypes | CipherGCMTypes;
  keyLength: 16 | 32;
  /** How many bytes of the 16-byte Nonce field the cipher uses. */
  nonceLength: 11 | 12;
  /** AES-CCM: node:crypto must see the whole plaintext in one update() (an OpenSSL rule); the addon's CCM takes pieces. */
  ccm: boolean;
}

const SPECS: ReadonlyMap<number, CipherSpec> = new Map([
  [CipherId.AES_128_CCM, { name: 'aes-128-ccm', keyLength: 16, nonceLength: 11, ccm: true }],
  [CipherId.AES_128_GCM, { name: 'aes-128-gcm', keyLength: 16, nonceLength: 12, ccm: false }],
  [CipherId.AES_256_CCM, { name: 'aes-256-ccm', keyLength: 32, nonceLength: 11, ccm: true }],
  [CipherId.AES_256_GCM, { name: 'aes-256-gcm', keyLength: 32, nonceLength: 12, ccm: false }],
] as const);

function cipherSpec(id: number): CipherSpec {
  const s = SPECS.get(id);
  if (!s) throw new RangeError(`unknown SMB cipher id ${id}`);
  return s;
}

export function cipherKeyLength(id: number): 16 | 32 {
  return cipherSpec(id).keyLength;
}

/**
 * Nonces for one key. AES-CCM/GCM break if a nonce repeats under a key, so
 * each key gets one generator: a random 64-bit starting counter in the low
 * 8 bytes and a random salt in the remaining 3 (CCM) or 4 (GCM) bytes, the
 * counter incremented per message. Two generators on the same key (which
 * should not happen) would still need equal salts and overlapping counter
 * ranges to collide. The counter is kept as two 32-bit halves: with BigInt
 * arithmetic next() took 0.75 µs per message, now 0.2 µs.
 */
export class NonceGenerator {
  private lo: number;
  private hi: number;
  private readonly salt: Buffer;
  readonly length: 11 | 12;

  constructor(cipherId: number) {
    this.length = cipherSpec(cipherId).nonceLength;
    const start = randomBytes(8);
    this.lo = start.readUInt32LE(0);
    this.hi = start.readUInt32LE(4);
    this.salt = randomBytes(this.length - 8);
  }

  /** A fresh 16-byte Nonce field (bytes past the used length are zero). */
  next(): Buffer {
    const n = Buffer.alloc(NONCE_FIELD_SIZE);
    n.writeUInt32LE(this.lo, 0);
    n.writeUInt32LE(this.hi, 4);
    this.salt.copy(n, 8);
    this.lo = (this.lo + 1) >>> 0;
    if (this.lo === 0) this.hi = (this.hi + 1) >>> 0;
    return n;
  }
}

const generators = new WeakMap<Buffer, NonceGenerator>();

function defaultNonce(cipherId: number, key: Buffer): Buffer {
  let g = generators.get(key);
  if (!g || g.length !== cipherSpec(cipherId).nonceLength) {
    g = new NonceGenerator(cipherId);
    generators.set(key, g);
  }
  return g.next();
}

/**
 * Which AES-GCM the server's sealing and opening run on, for the start-up
 * log: the addon's VAES-512 code (native/src/gcm.c), OpenSSL through the
 * addon, or node:crypto without it.
 */
export function aesGcmImplementation(): 'vaes-512' | 'openssl' | 'node:crypto' {
  if (typeof native?.aeadSeal !== 'function') return 'node:crypto';
  return (native.gcmFast as (() => number) | undefined)?.() ? 'vaes-512' : 'openssl';
}

/** The transform header of a message, or null when it is not one (too short, other ProtocolId). */
export function parseTransformHeader(buf: Buffer): TransformHeader | null {
  if (buf.length < TRANSFORM_HEADER_SIZE || protocolKind(buf) !== 'transform') return null;
  return decodeTransformHeader(buf);
}

function totalLength(parts: readonly Buffer[]): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}

/** The transform header (its Signature still zero) and the 16-byte Nonce field for one message. */
function transformFor(spec: CipherSpec, cipherId: number, key: Buffer, sessionId: bigint, size: number, nonce?: Buffer): { header: Buffer; field: Buffer } {
  if (key.length !== spec.keyLength) throw new RangeError('key length does not match the cipher');
  // The Nonce field: the bytes the cipher uses, then zeros.
  const field = Buffer.alloc(NONCE_FIELD_SIZE);
  (nonce ?? defaultNonce(cipherId, key)).copy(field, 0, 0, spec.nonceLength);
  const header = Buffer.allocUnsafe(TRANSFORM_HEADER_SIZE);
  encodeTransformHeader(
    { signature: ZERO_TAG, nonce: field, originalMessageSize: size, flags: TRANSFORM_FLAG_ENCRYPTED, sessionId },
    header,
  );
  return { header, field };
}

/**
 * Seals a message in place (ARCHITECTURE decision 5: a READ's data is
 * encrypted where it was read, in the pooled buffer, and sent from there).
 * Parts in `owned` are lent memory the caller lets us overwrite with their
 * ciphertext; runs of other parts (headers, bodies, shared constants) are
 * first copied together, so nothing else is ever written. Returns what to
 * send: the transform header, then the ciphertext pieces. Without the
 * native primitive this is sealParts().
 */
export function sealInPlace(
  cipherId: number,
  key: Buffer,
  sessionId: bigint,
  parts: readonly Buffer[],
  owned: ReadonlySet<Buffer>,
  nonce?: Buffer,
): Buffer[] {
  const spec = cipherSpec(cipherId);
  const aead = native?.aeadSeal as AeadSeal | undefined;
  if (!aead || owned.size === 0) return sealParts(cipherId, key, sessionId, parts, nonce);
  const s = prepareSeal(spec, cipherId, key, sessionId, parts, owned, nonce);
  const r = aead(spec.ccm ? 1 : 0, key, s.nonce, s.aad, null, s.pieces, s.tag);
  if (r < 0) throw new Error(`AEAD seal failed (errno ${-r})`);
  return s.frame;
}

/**
 * sealInPlace() with the cipher run on a libuv pool thread, so that sealing
 * an 8 MiB READ does not hold the event loop: `done` gets the frame, or an
 * error. Returns false (and `done` is not called) where that cannot be had:
 * no native addon, or no owned part to seal in place; use sealInPlace().
 * The parts must stay untouched until `done`.
 */
export function sealInPlaceAsync(
  cipherId: number,
  key: Buffer,
  sessionId: bigint,
  parts: readonly Buffer[],
  owned: ReadonlySet<Buffer>,
  done: (err: Error | null, frame: Buffer[]) => void,
  nonce?: Buffer,
): boolean {
  const spec = cipherSpec(cipherId);
  const aead = native?.aeadSealAsync as AeadSealAsync | undefined;
  if (!aead || owned.size === 0) return false;
  const s = prepareSeal(spec, cipherId, key, sessionId, parts, owned, nonce);
  const r = aead(spec.ccm ? 1 : 0, key, s.nonce, s.aad, null, s.pieces, s.tag, (res) =>
    res < 0 ? done(new Error(`AEAD seal failed (errno ${-res})`), []) : done(null, s.frame),
  );
  return r >= 0;
}

/** The pieces to encrypt (owned parts as they are, runs of others copied together) and the transform header around them. */
function prepareSeal(spec: CipherSpec, cipherId: number, key: Buffer, sessionId: bigint, parts: readonly Buffer[], owned: ReadonlySet<Buffer>, nonce?: Buffer) {
  const pieces: Buffer[] = [];
  let run: Buffer[] = [];
  const flush = (): void => {
    if (run.length) pieces.push(run.length === 1 ? Buffer.from(run[0]!) : Buffer.concat(run));
    run = [];
  };
  for (const p of parts) {
    if (p.length === 0) continue;
    if (owned.has(p)) {
      flush();
      pieces.push(p);
    } else run.push(p);
  }
  flush();
  const { header, field } = transformFor(spec, cipherId, key, sessionId, totalLength(pieces), nonce);
  return { pieces, nonce: field.subarray(0, spec.nonceLength), aad: transformAad(header), tag: header.subarray(4, 20), frame: [header, ...pieces] };
}

/**
 * One message sealed as its plaintext comes, in pieces and in order, each
 * encrypted where it lies (AES-GCM or AES-CCM through the addon): a READ response is
 * sealed piece by piece as the file is read, so the cipher runs while the
 * rest is still being read instead of after all of it. The size is fixed at
 * the start (it is in the transform header, which the AAD covers); finish()
 * gives the transform header with its tag once exactly that many bytes went
 * through (CCM needs it first too: it is in the MAC's first block). start()
 * is null without the addon: seal the whole with sealInPlace().
 */
export class SealStream {
  private left: number;

  private constructor(private s: object | null, readonly header: Buffer, size: number) {
    this.left = size;
  }

  /** Whether start() can give a stream for this cipher here. */
  static available(cipherId: number): boolean {
    return typeof native?.aeadStream === 'function' && SPECS.has(cipherId);
  }

  static start(cipherId: number, key: Buffer, sessionId: bigint, size: number, nonce?: Buffer): SealStream | null {
    if (!SealStream.available(cipherId)) return null;
    const spec = cipherSpec(cipherId);
    const { header, field } = transformFor(spec, cipherId, key, sessionId, size, nonce);
    const s = (native!.aeadStream as AeadStream)(spec.ccm ? 1 : 0, key, field.subarray(0, spec.nonceLength), transformAad(header), size);
    if (typeof s === 'number') throw new Error(`AEAD seal failed (errno ${-s})`);
    return new SealStream(s, header, size);
  }

  /** Encrypts the next piece of the plaintext in place. */
  update(piece: Buffer): void {
    if (!this.s || piece.length > this.left) throw new RangeError('more plaintext than the sealed size');
    const r = (native!.aeadStreamNext as AeadStreamNext)(this.s, piece, false);
    if (r < 0) throw new Error(`AEAD seal failed (errno ${-r})`);
    this.left -= piece.length;
  }

  /** The transform header, its Signature now the tag; the stream takes no more. */
  finish(): Buffer {
    if (!this.s || this.left !== 0) throw new RangeError(`sealed size not reached (${this.left} bytes short)`);
    const r = (native!.aeadStreamNext as AeadStreamNext)(this.s, this.header.subarray(4, 20), true);
    this.s = null;
    if (r < 0) throw new Error(`AEAD seal failed (errno ${-r})`);
    return this.header;
  }
}

type AeadStream = (ccm: number, key: Buffer, nonce: Buffer, aad: Buffer, total: number) => object | number;
type AeadStreamNext = (stream: object, data: Buffer, last: boolean) => number;

/**
 * Opens an encrypted message where it lies: on success the plaintext
 * overwrites the ciphertext and a view of it is returned; on failure
 * (bad header, wrong size, authentication) null, and the bytes are
 * garbage. Falls back to decryptMessage() without the native primitive.
 */
export function openInPlace(cipherId: number, key: Buffer, msg: Buffer): Buffer | null {
  const aead = native?.aeadOpen as AeadOpen | undefined;
  if (!aead) return decryptMessage(cipherId, key, msg);
  const o = openArgs(cipherId, key, msg);
  if (!o) return null;
  return aead(o.spec.ccm ? 1 : 0, key, o.nonce, o.aad, o.ct, o.tag) === 0 ? o.ct : null;
}

/**
 * openInPlace() with the cipher run on a libuv pool thread: `done` gets the
 * plaintext view, or null (bad header, wrong size, authentication). Returns
 * false (and `done` is not called) without the addon: use openInPlace().
 * The message must stay untouched until `done`.
 */
export function openInPlaceAsync(cipherId: number, key: Buffer, msg: Buffer, done: (plain: Buffer | null) => void): boolean {
  const aead = native?.aeadOpenAsync as AeadOpenAsync | undefined;
  if (!aead) return false;
  const o = openArgs(cipherId, key, msg);
  if (!o) {
    done(null);
    return true;
  }
  return aead(o.spec.ccm ? 1 : 0, key, o.nonce, o.aad, o.ct, o.tag, (res) => done(res === 0 ? o.ct : null)) >= 0;
}

/** What the cipher needs to open `msg` where it lies, or null when its transform header, size or key length is wrong. */
function openArgs(cipherId: number, key: Buffer, msg: Buffer) {
  const th = parseTransformHeader(msg);
  if (!th || th.flags !== TRANSFORM_FLAG_ENCRYPTED || th.originalMessageSize !== msg.length - TRANSFORM_HEADER_SIZE) return null;
  const spec = cipherSpec(cipherId);
  if (key.length !== spec.keyLength) return null;
  return { spec, nonce: th.nonce.subarray(0, spec.nonceLength), aad: transformAad(msg), ct: msg.subarray(TRANSFORM_HEADER_SIZE), tag: th.signature };
}

type AeadOpenAsync = (ccm: number, key: Buffer, nonce: Buffer, aad: Buffer, data: Buffer, tag: Buffer, cb: (res: number) => void) => number;
export type AeadSeal = (ccm: number, key: Buffer, nonce: Buffer, aad: Buffer | null, aadParts: Buffer[] | null, parts: Buffer[], tagOut: Buffer) => number;
export type AeadSealAsync = (ccm: number, key: Buffer, nonce: Buffer, aad: Buffer | null, aadParts: Buffer[] | null, parts: Buffer[], tagOut: Buffer, cb: (res: number) => void) => number;
type AeadOpen = (ccm: number, key: Buffer, nonce: Buffer, aad: Buffer, data: Buffer, tag: Buffer) => number;

/**
 * Seals a message (MS-SMB2 3.1.4.3) as a list of buffers to send as they are:
 * the 52-byte transform header, then the ciphertext in the pieces the cipher
 * returned. Nothing is copied beyond what the cipher itself writes (Node's
 * ciphers return new buffers), so a large READ response is not copied once
 * more into one contiguous buffer before it is sent.
 */
export function sealParts(
  cipherId: number,
  key: Buffer,
  sessionId: bigint,
  plain: Buffer | readonly Buffer[],
  nonce?: Buffer,
): Buffer[] {
  const spec = cipherSpec(cipherId);
  let parts = Buffer.isBuffer(plain) ? [plain] : plain;
  const size = totalLength(parts);
  const { header, field } = transformFor(spec, cipherId, key, sessionId, size, nonce);
  // One code path for both modes: the GCM typing admits setAAD's plaintextLength, which CCM needs and GCM ignores.
  const c = createCipheriv(spec.name as CipherGCMTypes, key, field.subarray(0, spec.nonceLength), { authTagLength: TAG_SIZE });
  c.setAAD(transformAad(header), { plaintextLength: size });
  if (spec.ccm && parts.length > 1) parts = [Buffer.concat(parts as Buffer[], size)];
  const out: Buffer[] = [header];
  for (const p of parts) {
    const ct = c.update(p);
    if (ct.length) out.push(ct);
  }
  const last = c.final();
  if (last.length) out.push(last);
  c.getAuthTag().copy(header, 4);
  return out;
}

/**
 * Encrypts into `out`: transform header at out[0..52], ciphertext after it.
 * Returns the number of bytes written. The plaintext may itself live at
 * out[52..] (it is read before `out` is written).
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
  if (out.length < TRANSFORM_HEADER_SIZE + totalLength(parts)) throw new RangeError('output buffer too small');
  let off = 0;
  for (const p of sealParts(cipherId, key, sessionId, parts, nonce)) off += p.copy(out, off);
  return off;
}

/** Encrypts one or more SMB2 messages into a new transform message. */
export function encryptMessage(cipherId: number, key: Buffer, sessionId: bigint, plain: Buffer | readonly Buffer[], nonce?: Buffer): Buffer {
  return Buffer.concat(sealParts(cipherId, key, sessionId, plain, nonce));
}

/**
 * Decrypts a whole transform message. Returns the plaintext, or null when
 * the header is malformed or the tag does not authenticate (the caller
 * then drops the connection, MS-SMB2 3.3.5.2.1).
 */
export function decryptMessage(cipherId: number, key: Buffer, msg: Buffer): Buffer | null {
  const th = parseTransformHeader(msg);
  if (!th) return null;
  if (th.flags !== TRANSFORM_FLAG_ENCRYPTED) return null;
  if (th.originalMessageSize !== msg.length - TRANSFORM_HEADER_SIZE) return null;
  const spec = cipherSpec(cipherId);
  if (key.length !== spec.keyLength) return null;
  const ct = msg.subarray(TRANSFORM_HEADER_SIZE);
  try {
    const d = createDecipheriv(spec.name as CipherGCMTypes, key, th.nonce.subarray(0, spec.nonceLength), { authTagLength: TAG_SIZE });
    d.setAuthTag(th.signature);
    d.setAAD(transformAad(msg), { plaintextLength: ct.length });
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
