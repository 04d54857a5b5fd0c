/**
 * SP800-108 KDF in counter mode with HMAC-SHA256 as the PRF, r = 32, as
 * MS-SMB2 3.1.4.2 uses it:
 *   K(i) = HMAC-SHA256(Ki, [i]_32be || Label || 0x00 || Context || [L]_32be)
 * The output is the leftmost L bits of K(1) || K(2) || ...
 *
 * Label and Context are taken as raw bytes: the SMB labels carry their own
 * terminating NUL (e.g. "SMB2AESCMAC\0", 12 bytes) and the caller supplies it
 * (see keys.ts); the 0x00 separator above is separate from it.
 */
import { createHmac } from 'node:crypto';

export function kdfCounterHmacSha256(ki: Buffer, label: Buffer, context: Buffer, lBits: number): Buffer {
  if (lBits <= 0 || lBits % 8 !== 0) throw new RangeError('KDF output length must be a positive multiple of 8 bits');
  const outLen = lBits / 8;
  const n = Math.ceil(outLen / 32);
  const lenBuf = Buffer.alloc(4);
  lenBuf.writeUInt32BE(lBits);
  const parts: Buffer[] = [];
  for (let i = 1; i <= n; i++) {
    const ctr = Buffer.alloc(4);
    ctr.writeUInt32BE(i);
    const h = createHmac('sha256', ki);
    h.update(ctr).update(label).update(Buffer.of(0)).update(context).update(lenBuf);
    parts.push(h.digest());
  }
  return Buffer.concat(parts).subarray(0, outLen);
}

/** SMB3KDF with string label/context, each NUL-terminated as MS-SMB2 3.1.4.2 lists them. */
export function smb3Kdf(ki: Buffer, label: string, context: string | Buffer, lBits = 128): Buffer {
  const l = Buffer.from(label + '\0', 'latin1');
  const c = typeof context === 'string' ? Buffer.from(context + '\0', 'latin1') : context;
  return kdfCounterHmacSha256(ki, l, c, lBits);
}
