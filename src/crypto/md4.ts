/**
 * MD4 (RFC 1320). Node 20 links OpenSSL 3, whose default provider no longer
 * offers MD4, yet NTLM's NT hash (MS-NLMP 3.3.1, NTOWFv1) is MD4 of the
 * UTF-16LE password. Only small inputs go through here (passwords), so a
 * straightforward implementation is enough.
 */

function rotl(x: number, n: number): number {
  return (x << n) | (x >>> (32 - n));
}

function compress(st: Uint32Array, block: Buffer, off: number): void {
  const x = new Uint32Array(16);
  for (let i = 0; i < 16; i++) x[i] = block.readUInt32LE(off + i * 4);
  let a = st[0]!, b = st[1]!, c = st[2]!, d = st[3]!;
  const F = (p: number, q: number, r: number) => (p & q) | (~p & r);
  const G = (p: number, q: number, r: number) => (p & q) | (p & r) | (q & r);
  const H = (p: number, q: number, r: number) => p ^ q ^ r;
  // Round 1: [abcd k s] with s = 3, 7, 11, 19.
  const s1 = [3, 7, 11, 19];
  for (let i = 0; i < 16; i++) {
    const t = rotl((a + F(b, c, d) + x[i]!) | 0, s1[i % 4]!);
    a = d; d = c; c = b; b = t;
  }
  // Round 2: k in column order, constant 0x5A827999.
  const s2 = [3, 5, 9, 13];
  for (let i = 0; i < 16; i++) {
    const k = (i % 4) * 4 + Math.floor(i / 4);
    const t = rotl((a + G(b, c, d) + x[k]! + 0x5a827999) | 0, s2[i % 4]!);
    a = d; d = c; c = b; b = t;
  }
  // Round 3: k in bit-reversed order, constant 0x6ED9EBA1.
  const s3 = [3, 9, 11, 15];
  const order3 = [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15];
  for (let i = 0; i < 16; i++) {
    const t = rotl((a + H(b, c, d) + x[order3[i]!]! + 0x6ed9eba1) | 0, s3[i % 4]!);
    a = d; d = c; c = b; b = t;
  }
  st[0] = (st[0]! + a) | 0;
  st[1] = (st[1]! + b) | 0;
  st[2] = (st[2]! + c) | 0;
  st[3] = (st[3]! + d) | 0;
}

export function md4(data: Buffer): Buffer {
  const st = new Uint32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]);
  const padLen = ((data.length + 8) >> 6) * 64 + 64;
  const msg = Buffer.alloc(padLen);
  data.copy(msg);
  msg[data.length] = 0x80;
  const bits = BigInt(data.length) * 8n;
  msg.writeBigUInt64LE(bits & 0xffffffffffffffffn, padLen - 8);
  for (let off = 0; off < padLen; off += 64) compress(st, msg, off);
  const out = Buffer.alloc(16);
  for (let i = 0; i < 4; i++) out.writeUInt32LE(st[i]! >>> 0, i * 4);
  return out;
}
