// MD4, RC4, AES-CMAC, HMAC-SHA256 (native) and the SP800-108 KDF against published vectors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { md4 } from '../../src/crypto/md4.js';
import { rc4, Rc4 } from '../../src/crypto/rc4.js';
import { aesCmac, AesCmac, cmacSubkeys } from '../../src/crypto/cmac.js';
import { kdfCounterHmacSha256, smb3Kdf } from '../../src/crypto/kdf.js';
import { preauthUpdate, preauthInitial, PreauthHash } from '../../src/crypto/preauth.js';
import { createHash, createHmac } from 'node:crypto';
import { native } from '../../src/native.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('MD4: RFC 1320 A.5 test suite', () => {
  const cases: [string, string][] = [
    ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
    ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
    ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
    ['message digest', 'd9130a8164549fe818874806e1c7014b'],
    ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '043f8582f241db351ce627e153e7f0e4'],
    ['1234567890'.repeat(8), 'e33b4ddc9c38f2199c3e7b164fcc0536'],
  ];
  for (const [input, digest] of cases) assert.equal(md4(Buffer.from(input, 'latin1')).toString('hex'), digest, input);
});

test('MD4: lengths around the padding boundary do not throw and differ', () => {
  const seen = new Set<string>();
  for (let n = 50; n < 140; n++) seen.add(md4(Buffer.alloc(n, 0x61)).toString('hex'));
  assert.equal(seen.size, 90);
});

test('RC4: classic vectors and RFC 6229 keystream', () => {
  assert.equal(rc4(Buffer.from('Key'), Buffer.from('Plaintext')).toString('hex'), 'bbf316e8d940af0ad3');
  assert.equal(rc4(Buffer.from('Wiki'), Buffer.from('pedia')).toString('hex'), '1021bf0420');
  assert.equal(rc4(Buffer.from('Secret'), Buffer.from('Attack at dawn')).toString('hex'), '45a01f645fc35b383552544b9bf5');
  // RFC 6229, 40-bit key 0x0102030405, offset 0.
  assert.equal(rc4(hex('0102030405'), Buffer.alloc(16)).toString('hex'), 'b2396305f03dc027ccc3524a0a1118a8');
});

test('RC4: a handle continues its keystream across calls', () => {
  const key = Buffer.from('session');
  const data = Buffer.from('0123456789abcdefghijklmnop');
  const h = new Rc4(key);
  const joined = Buffer.concat([h.update(data.subarray(0, 7)), h.update(data.subarray(7))]);
  assert.deepEqual(joined, rc4(key, data));
});

const cmacKey = hex('2b7e151628aed2a6abf7158809cf4f3c');
const cmacMsg = hex(`6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51
  30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710`);

test('AES-CMAC: RFC 4493 subkeys and examples 1-4', () => {
  const { k1, k2 } = cmacSubkeys(cmacKey);
  assert.equal(k1.toString('hex'), 'fbeed618357133667c85e08f7236a8de');
  assert.equal(k2.toString('hex'), 'f7ddac306ae266ccf90bc11ee46d513b');
  assert.equal(aesCmac(cmacKey, Buffer.alloc(0)).toString('hex'), 'bb1d6929e95937287fa37d129b756746');
  assert.equal(aesCmac(cmacKey, cmacMsg.subarray(0, 16)).toString('hex'), '070a16b46b4d4144f79bdd9dd04a287c');
  assert.equal(aesCmac(cmacKey, cmacMsg.subarray(0, 40)).toString('hex'), 'dfa66747de9ae63030ca32611497c827');
  assert.equal(aesCmac(cmacKey, cmacMsg).toString('hex'), '51f0bebf7e3b9d92fc49741779363cfe');
});

test('AES-CMAC: any chunking gives the one-shot result', () => {
  const data = Buffer.alloc(200);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + 3) & 0xff;
  for (const len of [0, 1, 15, 16, 17, 31, 32, 33, 64, 100, 200]) {
    const msg = data.subarray(0, len);
    const whole = aesCmac(cmacKey, msg);
    for (const step of [1, 3, 16, 17, 48]) {
      const m = new AesCmac(cmacKey);
      for (let o = 0; o < len; o += step) m.update(msg.subarray(o, o + step));
      assert.deepEqual(m.digest(), whole, `len ${len} step ${step}`);
    }
    assert.deepEqual(new AesCmac(cmacKey).update(Buffer.alloc(0)).update(msg).update(Buffer.alloc(0)).digest(), whole);
  }
});

type MacCall = (key: Buffer, parts: Buffer[], out: Buffer) => number;
type MacAsync = (key: Buffer, parts: Buffer[], out: Buffer, cb: (res: number) => void) => number;
/** The addon's MACs: cmac, cmacAsync, cmacStream and the same for hmac. */
type NativeMacs = Record<'cmac' | 'hmac', MacCall> & Record<'cmacAsync' | 'hmacAsync', MacAsync> & Record<'cmacStream' | 'hmacStream', (key: Buffer) => object | number>;

/** One native MAC: its exports, and helpers giving its first `outLen` bytes in hex from one call or a stream. */
function macCalls(kind: 'cmac' | 'hmac', outLen: number) {
  const n = native as unknown as NativeMacs;
  const next = native!.aeadStreamNext as (stream: object, bytes: Buffer, last: boolean) => number;
  const once = n[kind];
  const stream = n[`${kind}Stream`];
  const oneShot = (key: Buffer, parts: Buffer[], len = outLen): string => {
    const out = Buffer.alloc(len);
    assert.equal(once(key, parts, out), 0);
    return out.toString('hex');
  };
  const streamed = (key: Buffer, parts: Buffer[], len = outLen): string => {
    const s = stream(key);
    assert.equal(typeof s, 'object');
    for (const p of parts) assert.equal(next(s as object, p, false), 0);
    const out = Buffer.alloc(len);
    assert.equal(next(s as object, out, true), 0);
    assert.ok(next(s as object, out, true) < 0, 'a spent stream takes no more');
    return out.toString('hex');
  };
  return { n, oneShot, streamed };
}

test('AES-CMAC, native (one call, in pieces, on a pool thread): RFC 4493 examples 1-4, any chunking, bad sizes refused', { skip: native ? false : 'native addon not built' }, async () => {
  const { n, oneShot, streamed } = macCalls('cmac', 16);
  const rfc: [number, string][] = [
    [0, 'bb1d6929e95937287fa37d129b756746'],
    [16, '070a16b46b4d4144f79bdd9dd04a287c'],
    [40, 'dfa66747de9ae63030ca32611497c827'],
    [64, '51f0bebf7e3b9d92fc49741779363cfe'],
  ];
  for (const [len, want] of rfc) {
    assert.equal(oneShot(cmacKey, [cmacMsg.subarray(0, len)]), want, `example len ${len}`);
    assert.equal(streamed(cmacKey, [cmacMsg.subarray(0, len)]), want, `example len ${len}, streamed`);
  }
  // Pieces of every size around the block edges, and a bulk part (the C code
  // feeds the cipher through a 4 KiB scratch), against the JS AesCmac.
  const data = Buffer.alloc(70_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 131 + 7) & 0xff;
  for (const len of [1, 15, 16, 17, 32, 33, 4096, 4112, 4113, 70_000]) {
    const msg = data.subarray(0, len);
    const want = aesCmac(cmacKey, msg).toString('hex');
    for (const step of [1, 5, 16, 17, 4095, 70_000]) {
      const parts: Buffer[] = [];
      for (let o = 0; o < len; o += step) parts.push(msg.subarray(o, o + step), Buffer.alloc(0));
      if (parts.length <= 64) assert.equal(oneShot(cmacKey, parts), want, `len ${len} step ${step}`);
      else assert.throws(() => oneShot(cmacKey, parts), RangeError, 'one call takes at most 64 parts');
      assert.equal(streamed(cmacKey, parts), want, `len ${len} step ${step}, streamed`);
    }
  }
  const out = Buffer.alloc(16);
  await new Promise<void>((res) =>
    assert.equal(n.cmacAsync(cmacKey, [data], out, (r) => (assert.equal(r, 0), assert.equal(out.toString('hex'), aesCmac(cmacKey, data).toString('hex')), res())), 0),
  );
  // AES-128 only (SMB 3.x signing keys are 16 bytes); the MAC needs 16 bytes of room.
  assert.ok(n.cmac(Buffer.alloc(32), [data], out) < 0);
  assert.ok((n.cmacStream(Buffer.alloc(15)) as number) < 0);
  assert.ok(n.cmac(cmacKey, [data], Buffer.alloc(15)) < 0);
  assert.throws(() => n.cmac(cmacKey, 'x' as unknown as Buffer[], out), TypeError);
});

test('KDF: SP800-108 counter HMAC-SHA256 against independent results', () => {
  // Greenbone openvas-scanner's smb3kdf test vector (label/context as raw bytes).
  assert.equal(
    kdfCounterHmacSha256(Buffer.from('mykey'), Buffer.from('mylabel'), Buffer.from('mycontext'), 128).toString('hex'),
    'a5948d63659bd73a5a642b1a81d172c6',
  );
  // OpenSSL 3 KBKDF (mac HMAC, digest SHA256, salt=label, info=context), run on the command line.
  const ki = hex('000102030405060708090a0b0c0d0e0f');
  assert.equal(smb3Kdf(ki, 'SMB2AESCMAC', 'SmbSign').toString('hex'), '6234814cbb8ea9227440ebfeb5eacbe1');
  assert.equal(
    smb3Kdf(ki, 'SMB2AESCMAC', 'SmbSign', 256).toString('hex'),
    '8f7d6acd78c8f3d7052094c0a5ac3f821c2265ca1b3a900dddd1f6cd366f222d',
  );
});

test('preauth hash chains SHA-512(H || message)', () => {
  const m1 = Buffer.from('negotiate request');
  const m2 = Buffer.from('negotiate response');
  const h1 = createHash('sha512').update(Buffer.alloc(64)).update(m1).digest();
  const h2 = createHash('sha512').update(h1).update(m2).digest();
  assert.deepEqual(preauthUpdate(preauthUpdate(preauthInitial(), m1), m2), h2);
  const p = new PreauthHash();
  p.update([m1.subarray(0, 5), m1.subarray(5)]);
  const fork = p.clone();
  p.update(m2);
  assert.deepEqual(p.value, h2);
  assert.deepEqual(fork.value, h1);
});

test('HMAC-SHA256, native (one call, in pieces, on a pool thread): RFC 4231 cases 1, 2, 4, 6, 7, node:crypto for any chunking, bad sizes refused', { skip: native ? false : 'native addon not built' }, async () => {
  const { n, oneShot, streamed } = macCalls('hmac', 32);
  const seq = (from: number, to: number): Buffer => Buffer.from(Array.from({ length: to - from + 1 }, (_, i) => from + i));
  const big = Buffer.alloc(131, 0xaa);
  const rfc: [Buffer, Buffer, string][] = [
    [Buffer.alloc(20, 0x0b), Buffer.from('Hi There'), 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7'],
    [Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'],
    [seq(1, 25), Buffer.alloc(50, 0xcd), '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b'],
    [big, Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First'), '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54'],
    [big, Buffer.from('This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.'),
      '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2'],
  ];
  for (const [key, msg, want] of rfc) {
    if (key.length <= 64) assert.equal(oneShot(key, [msg]), want, `key ${key.length}: one call`);
    else assert.ok(n.hmac(key, [msg], Buffer.alloc(32)) < 0, 'one call takes keys up to the block size');
    assert.equal(streamed(key, [msg]), want, `key ${key.length}: streamed`);
    assert.equal(streamed(key, [msg], 16), want.slice(0, 32), 'a 16-byte out gets the first 16 (the SMB signature)');
  }
  const key = Buffer.alloc(16, 0x42);
  const data = Buffer.alloc(70_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 131 + 7) & 0xff;
  for (const len of [0, 1, 63, 64, 65, 4096, 70_000]) {
    const msg = data.subarray(0, len);
    const want = createHmac('sha256', key).update(msg).digest('hex');
    for (const step of [1, 17, 64, 4095, 70_000]) {
      const parts: Buffer[] = [];
      for (let o = 0; o < len; o += step) parts.push(msg.subarray(o, o + step), Buffer.alloc(0));
      if (parts.length <= 64) assert.equal(oneShot(key, parts), want, `len ${len} step ${step}`);
      assert.equal(streamed(key, parts), want, `len ${len} step ${step}, streamed`);
    }
  }
  const out = Buffer.alloc(16);
  await new Promise<void>((res) =>
    assert.equal(n.hmacAsync(key, [data], out, (r) => (assert.equal(r, 0), assert.equal(out.toString('hex'), createHmac('sha256', key).update(data).digest('hex').slice(0, 32)), res())), 0),
  );
  assert.ok(n.hmac(key, [data], Buffer.alloc(15)) < 0, 'the MAC needs 16 bytes of room');
  assert.throws(() => n.hmac(key, 'x' as unknown as Buffer[], out), TypeError);
});
