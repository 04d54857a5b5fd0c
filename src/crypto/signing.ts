/**
 * SMB2/3 message signing (MS-SMB2 3.1.4.1).
 *
 * The signature covers the whole SMB2 message (one command of a compound,
 * from its header to the end of its padded body) with the 16-byte Signature
 * field at header offset 48 taken as zero. We feed the MAC three pieces
 * (bytes 0..48, 16 zero bytes, bytes 64..end) so nothing is copied or
 * modified during computation.
 */
import { createCipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { Command, Dialect, HeaderFlags, SigningAlgorithm as SigningAlgorithmIds } from '../smb2/constants.js';
import { HEADER_SIZE } from '../smb2/header.js';
import { AesCmac } from './cmac.js';
import { native } from '../native.js';
import type { AeadSeal, AeadSealAsync } from './encryption.js';

/** SigningAlgorithmId values of SMB2_SIGNING_CAPABILITIES (MS-SMB2 2.2.3.1.7). */
export const SigningAlgorithm = SigningAlgorithmIds;
export type SigningAlgorithm = (typeof SigningAlgorithm)[keyof typeof SigningAlgorithm];

/** SMB2 header fields (MS-SMB2 2.2.1.2) that signing reads or writes. */
const COMMAND_OFFSET = 12;
const FLAGS_OFFSET = 16;
const MESSAGE_ID_OFFSET = 24;
const SIGNATURE_OFFSET = 48;
const SIGNATURE_SIZE = 16;
const ZERO_SIG = Buffer.alloc(SIGNATURE_SIZE);

/**
 * The algorithm for a connection: HMAC-SHA256 below 3.0, AES-CMAC for 3.x,
 * unless 3.1.1 negotiated another through SIGNING_CAPABILITIES.
 */
export function signingAlgorithmFor(dialect: number, negotiated?: SigningAlgorithm): SigningAlgorithm {
  if (dialect < Dialect.SMB300) return SigningAlgorithm.HMAC_SHA256;
  if (dialect === Dialect.SMB311 && negotiated !== undefined) return negotiated;
  return SigningAlgorithm.AES_CMAC;
}

export interface SignOptions {
  /** Override of the GMAC nonce inputs; by default read from the header. */
  messageId?: bigint;
  serverToClient?: boolean;
  isCancel?: boolean;
}

/**
 * AES-GMAC nonce (MS-SMB2 3.1.4.1): 12 bytes, MessageId (8, LE) followed by
 * a 32-bit LE word whose bit 0 is set for a server-to-client message (the
 * header's SMB2_FLAGS_SERVER_TO_REDIR) and bit 1 for an SMB2 CANCEL request;
 * the other bits are zero.
 */
export function gmacNonce(msg: Buffer, opts: SignOptions = {}): Buffer {
  // From Buffer's pool (every byte is written below): a 12-byte Buffer.alloc lives on V8's
  // heap, and handing it to the addon makes V8 move it out (two mallocs) for each message.
  const nonce = Buffer.allocUnsafe(12);
  const mid = opts.messageId ?? msg.readBigUInt64LE(MESSAGE_ID_OFFSET);
  const s2c = opts.serverToClient ?? (msg.readUInt32LE(FLAGS_OFFSET) & HeaderFlags.SERVER_TO_REDIR) !== 0;
  const cancel = opts.isCancel ?? msg.readUInt16LE(COMMAND_OFFSET) === Command.CANCEL;
  nonce.writeBigUInt64LE(mid, 0);
  nonce.writeUInt32LE((s2c ? 1 : 0) | (cancel ? 2 : 0), 8);
  return nonce;
}

function pieces(parts: readonly Buffer[]): Buffer[] {
  const first = parts[0];
  if (!first || first.length < HEADER_SIZE) throw new RangeError('SMB2 message shorter than its header');
  return [first.subarray(0, SIGNATURE_OFFSET), ZERO_SIG, first.subarray(SIGNATURE_OFFSET + SIGNATURE_SIZE), ...parts.slice(1)];
}

/** The 16-byte signature of an SMB2 message (its own Signature field ignored). */
export function sign(alg: SigningAlgorithm, key: Buffer, msg: Buffer, opts: SignOptions = {}): Buffer {
  return signv(alg, key, [msg], opts);
}

/**
 * As sign(), for a message held in several buffers (say header+body, then
 * file data in a registered buffer); the first must hold the whole header.
 */
export function signv(alg: SigningAlgorithm, key: Buffer, parts: readonly Buffer[], opts: SignOptions = {}): Buffer {
  const chunks = pieces(parts);
  const n = nativeMacFor(alg);
  if (n && chunks.length <= NATIVE_MAX_PARTS) {
    // In one call, where the parts lie (see NativeMacs).
    const out = Buffer.allocUnsafe(SIGNATURE_SIZE);
    const r = n.once(key, chunks, out, n.nonced ? gmacNonce(parts[0]!, opts) : null);
    if (r < 0) throw new Error(`${n.name} failed (errno ${-r})`);
    return out;
  }
  const mac = macFor(alg, key, parts[0]!, opts);
  for (const c of chunks) mac.update(c);
  return mac.digest();
}

/** A signing MAC fed in pieces. */
interface Mac {
  update(piece: Buffer): void;
  digest(): Buffer;
}

/**
 * AES-CMAC, HMAC-SHA256 and AES-GMAC in the native addon (native/src/aead.c,
 * gcm.c): where the data lies, and on a pool thread when asked (signvAsync). AES-CMAC there
 * also spares the ciphertext that node:crypto's CBC would return (8 MiB of
 * new memory per 8 MiB READ signed) at about twice AesCmac's speed (1.31
 * against 0.69 GiB/s over 8 MiB, 1.4 against 3.0 us for a 100-byte message,
 * 2026-12-06). Null without the addon: AesCmac (src/crypto/cmac.ts) and
 * node:crypto's HMAC then.
 */
interface NativeMacs {
  cmac(key: Buffer, parts: Buffer[], out: Buffer): number;
  cmacAsync(key: Buffer, parts: Buffer[], out: Buffer, cb: (res: number) => void): number;
  cmacStream(key: Buffer): object | number;
  hmac(key: Buffer, parts: Buffer[], out: Buffer): number;
  hmacAsync(key: Buffer, parts: Buffer[], out: Buffer, cb: (res: number) => void): number;
  hmacStream(key: Buffer): object | number;
  gmacStream(key: Buffer, nonce: Buffer): object | number;
  aeadSeal: AeadSeal;
  aeadSealAsync: AeadSealAsync;
  aeadStreamNext(stream: object, bytes: Buffer, last: boolean): number;
}
/** Parts one native call takes at most (MAX_PARTS in aead.c); more go through the stream. */
const NATIVE_MAX_PARTS = 64;
// gmacStream came last of these: an addon that has it has them all.
const nativeMacs: NativeMacs | null = typeof native?.gmacStream === 'function' ? (native as unknown as NativeMacs) : null;

/**
 * One native MAC's three entry points. AES-GMAC is GCM with the message as
 * AAD and no plaintext (aeadSeal, aeadSealAsync, gmacStream), under the
 * nonce of its message (`nonced`: gmacNonce); the others take no nonce.
 */
interface NativeMac {
  name: string;
  nonced: boolean;
  once(key: Buffer, parts: Buffer[], out: Buffer, nonce: Buffer | null): number;
  async(key: Buffer, parts: Buffer[], out: Buffer, cb: (res: number) => void, nonce: Buffer | null): number;
  stream(key: Buffer, nonce: Buffer | null): object | number;
}
/** GCM's plaintext for a GMAC: none. */
const NO_DATA: Buffer[] = [];
const NATIVE_MACS: ReadonlyMap<SigningAlgorithm, NativeMac> | null = nativeMacs && new Map<SigningAlgorithm, NativeMac>([
  // The addon's CMAC and HMAC entry points take no nonce (the argument past theirs is ignored).
  [SigningAlgorithm.AES_CMAC, { name: 'AES-CMAC', nonced: false, once: nativeMacs.cmac, async: nativeMacs.cmacAsync, stream: nativeMacs.cmacStream }],
  [SigningAlgorithm.HMAC_SHA256, { name: 'HMAC-SHA256', nonced: false, once: nativeMacs.hmac, async: nativeMacs.hmacAsync, stream: nativeMacs.hmacStream }],
  [SigningAlgorithm.AES_GMAC, {
    name: 'AES-GMAC', nonced: true,
    once: (k, p, o, n) => nativeMacs.aeadSeal(0, k, n!, null, p, NO_DATA, o),
    async: (k, p, o, cb, n) => nativeMacs.aeadSealAsync(0, k, n!, null, p, NO_DATA, o, cb),
    stream: (k, n) => nativeMacs.gmacStream(k, n!),
  }],
]);

/** The native MAC of a signing algorithm, if the addon has one. */
function nativeMacFor(alg: SigningAlgorithm): NativeMac | null {
  return NATIVE_MACS?.get(alg) ?? null;
}

/** A native MAC fed in pieces (SignStream); the signature is its first 16 bytes. */
function nativeStream(n: NativeMac, key: Buffer, nonce: Buffer | null): Mac {
  const s = n.stream(key, nonce);
  if (typeof s === 'number') throw new Error(`${n.name} failed (errno ${-s})`);
  const check = (r: number): void => {
    if (r < 0) throw new Error(`${n.name} failed (errno ${-r})`);
  };
  return {
    update: (p) => check(nativeMacs!.aeadStreamNext(s, p, false)),
    digest: () => {
      const out = Buffer.allocUnsafe(SIGNATURE_SIZE);
      check(nativeMacs!.aeadStreamNext(s, out, true));
      return out;
    },
  };
}

/** The MAC of a signing algorithm (MS-SMB2 3.1.4.1), for the message whose header is `head` (the GMAC nonce comes from it). */
function macFor(alg: SigningAlgorithm, key: Buffer, head: Buffer, opts: SignOptions = {}): Mac {
  const n = nativeMacFor(alg);
  if (n) return nativeStream(n, key, n.nonced ? gmacNonce(head, opts) : null);
  switch (alg) {
    case SigningAlgorithm.HMAC_SHA256: {
      // HMAC-SHA256 keyed with Session.SessionKey, first 16 bytes kept.
      const h = createHmac('sha256', key);
      return { update: (p) => void h.update(p), digest: () => h.digest().subarray(0, SIGNATURE_SIZE) };
    }
    case SigningAlgorithm.AES_CMAC:
      return new AesCmac(key);
    case SigningAlgorithm.AES_GMAC: {
      // GMAC = GCM with an empty plaintext; the message is all AAD.
      const c = createCipheriv('aes-128-gcm', key, gmacNonce(head, opts), { authTagLength: 16 });
      return {
        update: (p) => void c.setAAD(p),
        digest: () => {
          c.final();
          return c.getAuthTag();
        },
      };
    }
    default:
      throw new RangeError(`unknown signing algorithm ${alg as number}`);
  }
}

/** Constant-time check of the signature at bytes 48..63. */
export function verify(alg: SigningAlgorithm, key: Buffer, msg: Buffer, opts: SignOptions = {}): boolean {
  if (msg.length < HEADER_SIZE) return false;
  const expected = sign(alg, key, msg, opts);
  return timingSafeEqual(expected, msg.subarray(SIGNATURE_OFFSET, SIGNATURE_OFFSET + SIGNATURE_SIZE));
}

/**
 * Sets SMB2_FLAGS_SIGNED and writes the signature into bytes 48..63 of the
 * message itself: the data path signs a registered buffer where it lies.
 * The message may be given in parts (header+body, then file data), the
 * first holding the whole header. The flag is set first because the
 * signature covers it.
 */
export function signInPlace(alg: SigningAlgorithm, key: Buffer, msg: Buffer | readonly Buffer[], opts: SignOptions = {}): void {
  const parts = Buffer.isBuffer(msg) ? [msg] : msg;
  const head = parts[0];
  if (!head || head.length < HEADER_SIZE) throw new RangeError('SMB2 message shorter than its header');
  setSigned(head);
  signv(alg, key, parts, opts).copy(head, SIGNATURE_OFFSET);
}

/**
 * signInPlace() with the MAC computed on a libuv pool thread, so that
 * signing an 8 MiB READ does not hold the event loop: `done` runs once the
 * signature is in place. AES-GMAC (GCM with the message as AAD), AES-CMAC and
 * HMAC-SHA256, through the native addon; returns false (and `done` is not
 * called) without the addon: use signInPlace(). The parts must stay
 * untouched until `done`.
 */
export function signInPlaceAsync(alg: SigningAlgorithm, key: Buffer, parts: readonly Buffer[], done: (err: Error | null) => void, opts: SignOptions = {}): boolean {
  const head = parts[0];
  if (!head || head.length < HEADER_SIZE) throw new RangeError('SMB2 message shorter than its header');
  if (!nativeMacFor(alg)) return false;
  setSigned(head);
  // The MAC reads ZERO_SIG in place of bytes 48..63, so the tag may be written there directly.
  return signvAsync(alg, key, parts, head.subarray(SIGNATURE_OFFSET, SIGNATURE_OFFSET + SIGNATURE_SIZE), done, opts);
}

/** SMB2_FLAGS_SIGNED, set before the signature is computed: it covers the flag. */
function setSigned(head: Buffer): void {
  head.writeUInt32LE((head.readUInt32LE(FLAGS_OFFSET) | HeaderFlags.SIGNED) >>> 0, FLAGS_OFFSET);
}

/**
 * signv() on a libuv pool thread, the 16-byte signature written to `out`
 * before `done` runs. Every algorithm through the addon (see signInPlaceAsync); false,
 * and no `done`, where it cannot be had. The parts must stay untouched until
 * then.
 */
export function signvAsync(alg: SigningAlgorithm, key: Buffer, parts: readonly Buffer[], out: Buffer, done: (err: Error | null) => void, opts: SignOptions = {}): boolean {
  const n = nativeMacFor(alg);
  if (!n) return false;
  const cb = (res: number): void => done(res < 0 ? new Error(`${n.name} failed (errno ${-res})`) : null);
  return n.async(key, pieces(parts), out, cb, n.nonced ? gmacNonce(parts[0]!, opts) : null) >= 0;
}

/**
 * A message signed as it comes, in pieces and in order (a READ response
 * signed as the file is read): the constructor sets SMB2_FLAGS_SIGNED in the
 * header (the signature covers it) and takes it as the first piece, its
 * Signature field read as zero; update() takes the rest; finishInto() writes
 * the signature into the header, as signInPlace() would have.
 */
export class SignStream {
  private readonly mac: Mac;

  constructor(alg: SigningAlgorithm, key: Buffer, head: Buffer) {
    if (head.length < HEADER_SIZE) throw new RangeError('SMB2 message shorter than its header');
    setSigned(head);
    this.mac = macFor(alg, key, head);
    for (const p of pieces([head])) this.mac.update(p);
  }

  update(piece: Buffer): void {
    this.mac.update(piece);
  }

  /** Writes the signature into bytes 48..63 of `head` (the header it began with) and returns `head`. */
  finishInto(head: Buffer): Buffer {
    this.mac.digest().copy(head, SIGNATURE_OFFSET);
    return head;
  }
}
