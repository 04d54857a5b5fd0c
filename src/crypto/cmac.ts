/**
 * AES-128-CMAC (RFC 4493, NIST SP 800-38B), used for SMB 3.x signing
 * (MS-SMB2 3.1.4.1). OpenSSL 3 has CMAC only through EVP_MAC, which Node 20
 * does not expose, so it is built here on aes-128-cbc (zero IV, no padding:
 * the last CBC block is the running MAC state) plus one ECB block at the end.
 *
 * Input may come in several chunks (header, zeroed signature, body) without
 * being concatenated; the bulk goes through one CBC cipher object.
 */
import { createCipheriv, type Cipher } from 'node:crypto';

const ZERO_IV = Buffer.alloc(16);
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

function aesBlock(key: Buffer, block: Buffer): Buffer {
  const c = createCipheriv('aes-128-ecb', key, null);
  c.setAutoPadding(false);
  return c.update(block);
}

/** The two RFC 4493 subkeys K1, K2 for a key. */
export function cmacSubkeys(key: Buffer): { k1: Buffer; k2: Buffer } {
  const l = aesBlock(key, Buffer.alloc(16));
  const k1 = dbl(l);
  return { k1, k2: dbl(k1) };
}

/** Incremental AES-128-CMAC. */
export class AesCmac {
  private readonly cbc: Cipher;
  private readonly key: Buffer;
  private chain: Buffer = ZERO_IV;
  /** 1..16 bytes held back: the final block must be treated specially. */
  private pending = Buffer.alloc(16);
  private pendingLen = 0;
  private done = false;

  constructor(key: Buffer) {
    if (key.length !== 16) throw new RangeError('AES-128-CMAC key must be 16 bytes');
    this.key = key;
    this.cbc = createCipheriv('aes-128-cbc', key, ZERO_IV);
    this.cbc.setAutoPadding(false);
  }

  private feed(blocks: Buffer): void {
    if (blocks.length === 0) return;
    const out = this.cbc.update(blocks);
    this.chain = out.subarray(out.length - 16);
  }

  update(data: Buffer): this {
    if (this.done) throw new Error('AesCmac: update after digest');
    let off = 0;
    // Top up the pending block; flush it only if more data follows.
    if (this.pendingLen > 0 || data.length <= 16) {
      const take = Math.min(16 - this.pendingLen, data.length);
      data.copy(this.pending, this.pendingLen, 0, take);
      this.pendingLen += take;
      off = take;
      if (off === data.length) return this;
      this.feed(this.pending);
      this.pendingLen = 0;
    }
    const rest = data.length - off;
    // Keep 1..16 bytes back for the final block.
    const bulk = Math.floor((rest - 1) / 16) * 16;
    this.feed(data.subarray(off, off + bulk));
    const tail = data.subarray(off + bulk);
    tail.copy(this.pending, 0);
    this.pendingLen = tail.length;
    return this;
  }

  digest(): Buffer {
    if (this.done) throw new Error('AesCmac: digest called twice');
    this.done = true;
    const { k1, k2 } = cmacSubkeys(this.key);
    const last = Buffer.alloc(16);
    let sub = k1;
    if (this.pendingLen === 16) {
      this.pending.copy(last);
    } else {
      this.pending.copy(last, 0, 0, this.pendingLen);
      last[this.pendingLen] = 0x80;
      sub = k2;
    }
    for (let i = 0; i < 16; i++) last[i] = last[i]! ^ sub[i]! ^ this.chain[i]!;
    return aesBlock(this.key, last);
  }
}

export function aesCmac(key: Buffer, ...chunks: Buffer[]): Buffer {
  const m = new AesCmac(key);
  for (const c of chunks) m.update(c);
  return m.digest();
}
