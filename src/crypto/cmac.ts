/**
 * AES-128-CMAC (RFC 4493, NIST SP 800-38B), used for SMB 3.x signing
 * (MS-SMB2 3.1.4.1). OpenSSL 3 has CMAC only through EVP_MAC, which Node 20
 * does not expose, so it is built here on aes-128-cbc without padding: the
 * last CBC output block is the running MAC state.
 *
 * Signing runs per message, so each key keeps one CBC cipher for its whole
 * life, with its subkeys. A CBC cipher that has already run computes
 * E(block XOR chain), chain being its last output block; a MAC that starts
 * on such a cipher XORs that chain into its first block, which cancels it,
 * so every MAC sees the zero IV that CMAC starts from. The final block goes
 * through the same cipher (M_last XOR K1/K2, chained as CMAC chains it), and
 * no cipher is created per message.
 *
 * Input may come in several chunks (header, zeroed signature, body) without
 * being concatenated: small chunks gather in a 64-byte stage, the bulk goes
 * through one update() of the cipher.
 */
import { createCipheriv, type Cipher } from 'node:crypto';

const ZERO_BLOCK = Buffer.alloc(16);
const RB = 0x87;

function dbl(block: Buffer): Buffer {
  const out = Buffer.alloc(16);
  let carry = 0;
  for (let i = 15; i >= 0; i--) {
    const v = block[i]!;
    out[i] = ((v << 1) | carry) & 0xff;
    carry = v >> 7;
  }
  if (block[0]! & 0x80) out[15] = out[15]! ^ RB;
  return out;
}

/** One key's long-lived CBC cipher, its chain value and its subkeys. */
class CmacKey {
  readonly key: Buffer;
  readonly cbc: Cipher;
  /** The cipher's last output block: what it XORs into the next input block. */
  readonly chain = Buffer.alloc(16);
  readonly k1: Buffer;
  readonly k2: Buffer;
  /**
   * An AesCmac is running on this cipher; a second one takes a cipher of its
   * own (so does every later one, should a MAC be dropped before digest()).
   */
  busy = false;

  constructor(key: Buffer) {
    this.key = Buffer.from(key);
    this.cbc = createCipheriv('aes-128-cbc', key, ZERO_BLOCK);
    this.cbc.setAutoPadding(false);
    // L = AES(K, 0^128): the first block through a zero-IV CBC is plain AES.
    const l = this.run(ZERO_BLOCK);
    this.k1 = dbl(l);
    this.k2 = dbl(this.k1);
  }

  /** Encrypts whole blocks, keeping the chain; returns the cipher's output. */
  run(blocks: Buffer): Buffer {
    const out = this.cbc.update(blocks);
    out.copy(this.chain, 0, out.length - 16);
    return out;
  }
}

const keys = new WeakMap<Buffer, CmacKey>();

/** The cached state for a key, checked against the key's bytes in case the buffer was reused. */
function cmacKey(key: Buffer): CmacKey {
  let k = keys.get(key);
  if (!k || !k.key.equals(key)) {
    k = new CmacKey(key);
    keys.set(key, k);
  }
  return k;
}

/** The two RFC 4493 subkeys K1, K2 for a key. */
export function cmacSubkeys(key: Buffer): { k1: Buffer; k2: Buffer } {
  const { k1, k2 } = new CmacKey(key);
  return { k1, k2 };
}

/** Bytes held back before the cipher runs: small pieces (a header, its zeroed signature) gather into one update(). */
const STAGE_SIZE = 64;

/** Incremental AES-128-CMAC. */
export class AesCmac {
  private readonly state: CmacKey;
  /** Nothing has reached the cipher yet: the first block must cancel its chain. */
  private first = true;
  /**
   * Bytes not yet fed: the final block must be treated specially, so the
   * last 1..16 bytes are always held back.
   */
  private readonly stage = Buffer.alloc(STAGE_SIZE);
  private staged = 0;
  private done = false;

  constructor(key: Buffer) {
    if (key.length !== 16) throw new RangeError('AES-128-CMAC key must be 16 bytes');
    const shared = cmacKey(key);
    this.state = shared.busy ? new CmacKey(key) : shared;
    this.state.busy = true;
  }

  /** Feeds stage[0..n] (whole blocks), cancelling the chain in the message's first block. */
  private flushStage(n: number): void {
    if (this.first) {
      this.first = false;
      const chain = this.state.chain;
      for (let i = 0; i < 16; i++) this.stage[i] = this.stage[i]! ^ chain[i]!;
    }
    this.state.run(this.stage.subarray(0, n));
  }

  update(data: Buffer): this {
    if (this.done) throw new Error('AesCmac: update after digest');
    if (this.staged + data.length <= STAGE_SIZE) {
      this.staged += data.copy(this.stage, this.staged);
      return this;
    }
    // More follows the staged bytes: complete their last block (or stage the
    // message's first block) and feed them.
    const off = this.first && this.staged === 0 ? 16 : (16 - (this.staged % 16)) % 16;
    this.staged += data.copy(this.stage, this.staged, 0, off);
    if (this.staged > 0) this.flushStage(this.staged);
    // Feed the rest in bulk but for its last 1..16 bytes.
    const rest = data.length - off;
    const bulk = Math.floor((rest - 1) / 16) * 16;
    if (bulk > 0) this.state.run(data.subarray(off, off + bulk));
    this.staged = data.copy(this.stage, 0, off + bulk);
    return this;
  }

  digest(): Buffer {
    if (this.done) throw new Error('AesCmac: digest called twice');
    this.done = true;
    const lastStart = this.staged === 0 ? 0 : Math.floor((this.staged - 1) / 16) * 16;
    if (lastStart > 0) this.flushStage(lastStart);
    const lastLen = this.staged - lastStart;
    const last = this.stage.subarray(lastStart, lastStart + 16);
    const { k1, k2 } = this.state;
    let sub = k1;
    if (lastLen < 16) {
      last.fill(0, lastLen);
      last[lastLen] = 0x80;
      sub = k2;
    }
    const chain = this.state.chain;
    for (let i = 0; i < 16; i++) last[i] = last[i]! ^ sub[i]! ^ (this.first ? chain[i]! : 0);
    const tag = this.state.run(last);
    this.state.busy = false;
    return tag;
  }
}

export function aesCmac(key: Buffer, ...chunks: Buffer[]): Buffer {
  const m = new AesCmac(key);
  for (const c of chunks) m.update(c);
  return m.digest();
}
