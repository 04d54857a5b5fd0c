// SMB2/3 signing, key derivation and transform-header encryption.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHmac, createDecipheriv } from 'node:crypto';
import { aesCmac } from '../../src/crypto/cmac.js';
import {
  SigningAlgorithm, sign, signv, verify, signInPlace, signInPlaceAsync, gmacNonce, signingAlgorithmFor,
} from '../../src/crypto/signing.js';
import { deriveSessionKeys, keysForRole, Dialect } from '../../src/crypto/keys.js';
import {
  CipherId, encryptMessage, decryptMessage, encryptInto, parseTransformHeader, NonceGenerator, Sealer,
  TRANSFORM_HEADER_SIZE, cipherKeyLength, sealInPlace, sealInPlaceAsync, openInPlace, openInPlaceAsync, SealStream,
} from '../../src/crypto/encryption.js';
import { native } from '../../src/native.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** A plausible SMB2 message: header + body, with garbage in the Signature field. */
function sampleMessage(opts: { command?: number; flags?: number; messageId?: bigint; bodyLen?: number } = {}): Buffer {
  const body = opts.bodyLen ?? 40;
  const m = Buffer.alloc(64 + body);
  m.writeUInt32LE(0x424d53fe, 0);
  m.writeUInt16LE(64, 4);
  m.writeUInt16LE(opts.command ?? 0x0008, 12);
  m.writeUInt32LE(opts.flags ?? 0, 16);
  m.writeBigUInt64LE(opts.messageId ?? 0x1122334455667788n, 24);
  m.writeBigUInt64LE(0x0000400000000001n, 40);
  m.fill(0xee, 48, 64);
  for (let i = 64; i < m.length; i++) m[i] = i & 0xff;
  return m;
}

function zeroedCopy(m: Buffer): Buffer {
  const c = Buffer.from(m);
  c.fill(0, 48, 64);
  return c;
}

const key16 = hex('000102030405060708090a0b0c0d0e0f');

test('signing: algorithm choice per dialect', () => {
  assert.equal(signingAlgorithmFor(0x0202), SigningAlgorithm.HMAC_SHA256);
  assert.equal(signingAlgorithmFor(0x0210), SigningAlgorithm.HMAC_SHA256);
  assert.equal(signingAlgorithmFor(0x0300), SigningAlgorithm.AES_CMAC);
  assert.equal(signingAlgorithmFor(0x0302), SigningAlgorithm.AES_CMAC);
  assert.equal(signingAlgorithmFor(0x0311), SigningAlgorithm.AES_CMAC);
  assert.equal(signingAlgorithmFor(0x0311, SigningAlgorithm.AES_GMAC), SigningAlgorithm.AES_GMAC);
});

test('signing: HMAC-SHA256 equals an independent computation over the zeroed message', () => {
  const m = sampleMessage();
  const expect = createHmac('sha256', key16).update(zeroedCopy(m)).digest().subarray(0, 16);
  assert.deepEqual(sign(SigningAlgorithm.HMAC_SHA256, key16, m), expect);
});

test('signing: AES-CMAC equals CMAC (RFC 4493-checked) over the zeroed message', () => {
  for (const len of [0, 1, 16, 1000]) {
    const m = sampleMessage({ bodyLen: len });
    assert.deepEqual(sign(SigningAlgorithm.AES_CMAC, key16, m), aesCmac(key16, zeroedCopy(m)));
  }
  // A message in more parts than one native call takes (64): the same signature.
  const m = sampleMessage({ bodyLen: 7000 });
  const parts = [m.subarray(0, 100)];
  for (let o = 100; o < m.length; o += 50) parts.push(m.subarray(o, o + 50));
  assert.ok(parts.length > 64);
  assert.deepEqual(signv(SigningAlgorithm.AES_CMAC, key16, parts), aesCmac(key16, zeroedCopy(m)));
});

test('signing: AES-GMAC nonce is MessageId || role/cancel bits (MS-SMB2 3.1.4.1)', () => {
  const req = sampleMessage({ messageId: 5n });
  assert.equal(gmacNonce(req).toString('hex'), '0500000000000000' + '00000000');
  const resp = sampleMessage({ messageId: 5n, flags: 0x1 | 0x8 });
  assert.equal(gmacNonce(resp).toString('hex'), '0500000000000000' + '01000000');
  const cancel = sampleMessage({ messageId: 7n, command: 0x000c, flags: 0x8 });
  assert.equal(gmacNonce(cancel).toString('hex'), '0700000000000000' + '02000000');
});

test('signing: AES-GMAC equals GCM with empty plaintext and the message as AAD', () => {
  const m = sampleMessage({ flags: 0x1 });
  const nonce = Buffer.concat([hex('8877665544332211'), hex('01000000')]);
  const c = createCipheriv('aes-128-gcm', key16, nonce);
  c.setAAD(zeroedCopy(m));
  c.final();
  assert.deepEqual(sign(SigningAlgorithm.AES_GMAC, key16, m), c.getAuthTag());
  // Longer, in one call and in more parts than one native call takes (64): the same MAC as node:crypto's.
  const big = sampleMessage({ flags: 0x1, bodyLen: 7000 });
  const g = createCipheriv('aes-128-gcm', key16, nonce);
  g.setAAD(zeroedCopy(big));
  g.final();
  const want = g.getAuthTag();
  assert.deepEqual(sign(SigningAlgorithm.AES_GMAC, key16, big), want);
  const parts = [big.subarray(0, 100)];
  for (let o = 100; o < big.length; o += 50) parts.push(big.subarray(o, o + 50));
  assert.ok(parts.length > 64);
  assert.deepEqual(signv(SigningAlgorithm.AES_GMAC, key16, parts), want);
});

test('signing: signInPlace, verify, tampering, scatter-gather', () => {
  for (const alg of [SigningAlgorithm.HMAC_SHA256, SigningAlgorithm.AES_CMAC, SigningAlgorithm.AES_GMAC]) {
    const m = sampleMessage({ bodyLen: 300 });
    const before = Buffer.from(m);
    signInPlace(alg, key16, m);
    assert.equal(m.readUInt32LE(16) & 0x8, 0x8, 'SIGNED flag set');
    assert.ok(verify(alg, key16, m));
    assert.deepEqual(m.subarray(64), before.subarray(64), 'body untouched');
    assert.deepEqual(signv(alg, key16, [m.subarray(0, 100), m.subarray(100, 101), m.subarray(101)]), m.subarray(48, 64));
    const bad = Buffer.from(m);
    bad[200] ^= 1;
    assert.equal(verify(alg, key16, bad), false);
    const badKey = Buffer.from(key16);
    badKey[0] ^= 1;
    assert.equal(verify(alg, badKey, m), false);
  }
  // GMAC binds the direction bit: the same bytes verify only with the right role.
  const m = sampleMessage();
  signInPlace(SigningAlgorithm.AES_GMAC, key16, m);
  assert.equal(verify(SigningAlgorithm.AES_GMAC, key16, m, { serverToClient: true }), false);
});

test('keys: 3.0 derivation (SessionKey/SigningKey pair of the MS "Encryption in SMB 3.0" blog)', () => {
  const k = deriveSessionKeys({ dialect: Dialect.SMB300, gssSessionKey: hex('7cd451825d0450d235424e44ba6e78cc') });
  assert.equal(k.signingKey.toString('hex'), '0b7e9c5cac36c0f6ea9ab275298cedce');
  // The rest checked against OpenSSL's KBKDF with the same labels.
  assert.equal(k.clientToServerKey!.toString('hex'), 'fad27796665b313ebb578f388632b4f7');
  assert.equal(k.serverToClientKey!.toString('hex'), 'b0f0427f7ceb416d1d9dcc0cd4f99447');
  assert.equal(k.applicationKey!.toString('hex'), 'bb23a4575aa26c721af525af15a87b4f');
  const srv = keysForRole(k, 'server');
  assert.deepEqual(srv.encryptionKey, k.serverToClientKey);
  assert.deepEqual(srv.decryptionKey, k.clientToServerKey);
});

test('keys: 3.1.1 derivation with preauth hash; 256-bit cipher keys from the full key', () => {
  const sk = hex('7cd451825d0450d235424e44ba6e78cc');
  const full = Buffer.concat([sk, hex('00112233445566778899aabbccddeeff')]);
  const preauthHash = Buffer.alloc(64, 0x11);
  const k128 = deriveSessionKeys({ dialect: Dialect.SMB311, gssSessionKey: sk, cipherId: CipherId.AES_128_GCM, preauthHash });
  assert.equal(k128.signingKey.toString('hex'), '2f05d79f70511c7b5d41a60e80a3c347');
  assert.equal(k128.clientToServerKey!.toString('hex'), 'c166096e6eda791ad3b4c3252a48a4d8');
  assert.equal(k128.applicationKey!.toString('hex'), 'cab3f5faafddd3c080b8261beffb5d90');
  const k256 = deriveSessionKeys({ dialect: Dialect.SMB311, gssSessionKey: full, cipherId: CipherId.AES_256_GCM, preauthHash });
  assert.equal(k256.sessionKey.toString('hex'), sk.toString('hex'));
  assert.equal(k256.signingKey.toString('hex'), '2f05d79f70511c7b5d41a60e80a3c347');
  assert.equal(k256.clientToServerKey!.toString('hex'), '623d7a7f931fb6e5d6b65a86ac6f0d81ddafe048f927abe21fb1bbad37c6412e');
  assert.equal(k256.serverToClientKey!.toString('hex'), 'b39127f600034d71a4af4ace2edf63e53b59f0750058dbb859e914a50b8073f7');
  assert.throws(() => deriveSessionKeys({ dialect: Dialect.SMB311, gssSessionKey: sk }));
});

test('keys: 2.x signing key is the session key, short keys are zero-padded', () => {
  const k = deriveSessionKeys({ dialect: Dialect.SMB210, gssSessionKey: hex('0102') });
  assert.equal(k.signingKey.toString('hex'), '01020000000000000000000000000000');
  assert.equal(k.clientToServerKey, null);
});

const ciphers = [CipherId.AES_128_CCM, CipherId.AES_128_GCM, CipherId.AES_256_CCM, CipherId.AES_256_GCM];

function keyFor(c: number): Buffer {
  return Buffer.alloc(cipherKeyLength(c), 0x42 + c);
}

test('encryption: round trip, header layout, tamper detection for all four ciphers', () => {
  for (const c of ciphers) {
    const key = keyFor(c);
    const plain = sampleMessage({ bodyLen: 1000 });
    const enc = encryptMessage(c, key, 0x1234n, plain);
    const th = parseTransformHeader(enc)!;
    assert.equal(enc.readUInt32BE(0), 0xfd534d42);
    assert.equal(th.originalMessageSize, plain.length);
    assert.equal(th.flags, 1);
    assert.equal(th.sessionId, 0x1234n);
    const used = c === CipherId.AES_128_CCM || c === CipherId.AES_256_CCM ? 11 : 12;
    assert.ok(th.nonce.subarray(used).every((b) => b === 0), 'unused nonce bytes are zero');
    assert.notDeepEqual(enc.subarray(TRANSFORM_HEADER_SIZE), plain);
    assert.deepEqual(decryptMessage(c, key, enc), plain);
    for (const at of [5, 25, 40, 46, 60, enc.length - 1]) {
      const bad = Buffer.from(enc);
      bad[at] ^= 0x10;
      assert.equal(decryptMessage(c, key, bad), null, `cipher ${c} tamper at ${at}`);
    }
    assert.equal(decryptMessage(c, Buffer.alloc(key.length), enc), null, 'wrong key');
    assert.equal(decryptMessage(c, key, enc.subarray(0, enc.length - 1)), null, 'truncated');
  }
});

test('encryption: independent AEAD decrypt of our output (AAD = header bytes 20..51)', () => {
  for (const c of ciphers) {
    const key = keyFor(c);
    const plain = sampleMessage();
    const enc = encryptMessage(c, key, 9n, plain);
    const ccm = c === CipherId.AES_128_CCM || c === CipherId.AES_256_CCM;
    const name = `aes-${key.length * 8}-${ccm ? 'ccm' : 'gcm'}`;
    const d = createDecipheriv(name as 'aes-128-gcm', key, enc.subarray(20, 20 + (ccm ? 11 : 12)), { authTagLength: 16 });
    d.setAuthTag(enc.subarray(4, 20));
    d.setAAD(enc.subarray(20, 52), { plaintextLength: plain.length });
    const pt = Buffer.concat([d.update(enc.subarray(52)), d.final()]);
    assert.deepEqual(pt, plain);
  }
});

test('encryption: scatter input, in-place output, explicit nonce', () => {
  for (const c of ciphers) {
    const key = keyFor(c);
    const plain = sampleMessage({ bodyLen: 5000 });
    const parts = [plain.subarray(0, 64), plain.subarray(64, 100), plain.subarray(100)];
    // Plaintext already sits where the ciphertext goes.
    const out = Buffer.alloc(TRANSFORM_HEADER_SIZE + plain.length);
    plain.copy(out, TRANSFORM_HEADER_SIZE);
    const n = encryptInto(c, key, 1n, out.subarray(TRANSFORM_HEADER_SIZE), out);
    assert.equal(n, out.length);
    assert.deepEqual(decryptMessage(c, key, out), plain);
    const nonce = Buffer.alloc(16, 0xab);
    const a = encryptMessage(c, key, 1n, parts, nonce);
    const b = encryptMessage(c, key, 1n, plain, nonce);
    assert.deepEqual(a, b);
  }
});

test('encryption in place (native AEAD): same bytes as the JS path, only owned parts overwritten, opened where it lies', { skip: native ? false : 'native addon not built' }, () => {
  for (const c of ciphers) {
    const key = keyFor(c);
    const plain = sampleMessage({ bodyLen: 300_000 });
    const head = Buffer.from(plain.subarray(0, 80));
    const shared = Buffer.from(plain.subarray(80, 96)); // stands for a shared constant (a pad, a fixed body)
    const data = Buffer.from(plain.subarray(96));
    const nonce = Buffer.alloc(16, 0x3c);
    const want = encryptMessage(c, key, 7n, plain, nonce);
    // Only `data` is lent: the header and the constant are copied, never written.
    const out = sealInPlace(c, key, 7n, [head, shared, data], new Set([data]), nonce);
    assert.deepEqual(Buffer.concat(out), want, `cipher ${c}: byte-identical to the JS path`);
    assert.deepEqual(head, plain.subarray(0, 80), 'header untouched');
    assert.deepEqual(shared, plain.subarray(80, 96), 'shared constant untouched');
    assert.ok(out.includes(data) && !data.equals(plain.subarray(96)), 'the data part was sealed where it lies');
    // Open in place: plaintext back in the same memory; tampering gives null.
    const msg = Buffer.from(want);
    const pt = openInPlace(c, key, msg)!;
    assert.ok(pt && pt.buffer === msg.buffer && pt.byteOffset === msg.byteOffset + TRANSFORM_HEADER_SIZE);
    assert.deepEqual(pt, plain);
    const bad = Buffer.from(want);
    bad[bad.length - 1] ^= 1;
    assert.equal(openInPlace(c, key, bad), null, 'tampered body');
    const badHdr = Buffer.from(want);
    badHdr[30] ^= 1;
    assert.equal(openInPlace(c, key, badHdr), null, 'tampered AAD');
    assert.equal(openInPlace(c, key, want.subarray(0, 40)), null, 'truncated');
  }
});

test('off the event loop (native, libuv pool): GMAC, CMAC and HMAC-SHA256 signing, GCM and CCM sealing and opening give the same bytes as on it', { skip: native ? false : 'native addon not built' }, async () => {
  // Signing: a multi-part message (header+body, then data), as a READ response is.
  const plain = sampleMessage({ bodyLen: 600_000, flags: 1 });
  for (const alg of [SigningAlgorithm.AES_GMAC, SigningAlgorithm.AES_CMAC, SigningAlgorithm.HMAC_SHA256]) {
    const want = [Buffer.from(plain.subarray(0, 80)), Buffer.from(plain.subarray(80))];
    signInPlace(alg, key16, want);
    const got = [Buffer.from(plain.subarray(0, 80)), Buffer.from(plain.subarray(80))];
    await new Promise<void>((res, rej) => {
      assert.equal(signInPlaceAsync(alg, key16, got, (err) => (err ? rej(err) : res())), true);
    });
    assert.deepEqual(Buffer.concat(got), Buffer.concat(want), `alg ${alg}: same flag and signature`);
    assert.ok(verify(alg, key16, Buffer.concat(got)));
  }
  // The CMAC of the zeroed message, as RFC 4493 computes it (the JS AesCmac, checked against its examples).
  const signed = Buffer.from(plain);
  signInPlace(SigningAlgorithm.AES_CMAC, key16, signed);
  assert.deepEqual(signed.subarray(48, 64), aesCmac(key16, zeroedCopy(signed)));
  // And HMAC-SHA256's, as node:crypto computes it.
  const hsigned = Buffer.from(plain);
  signInPlace(SigningAlgorithm.HMAC_SHA256, key16, hsigned);
  assert.deepEqual(hsigned.subarray(48, 64), createHmac('sha256', key16).update(zeroedCopy(hsigned)).digest().subarray(0, 16));
  // Sealing: byte-identical to the synchronous in-place seal with the same nonce; opening gives the plaintext back where it lies.
  for (const c of ciphers) {
    const key = keyFor(c);
    const nonce = Buffer.alloc(16, 0x5a);
    const syncData = Buffer.from(plain.subarray(96));
    const expect = Buffer.concat(sealInPlace(c, key, 9n, [Buffer.from(plain.subarray(0, 96)), syncData], new Set([syncData]), nonce));
    const data = Buffer.from(plain.subarray(96));
    const head = Buffer.from(plain.subarray(0, 96));
    const frame = await new Promise<Buffer[] | null>((res, rej) => {
      const ok = sealInPlaceAsync(c, key, 9n, [head, data], new Set([data]), (err, f) => (err ? rej(err) : res(f)), nonce);
      if (!ok) res(null);
    });
    assert.ok(frame, `cipher ${c}: sealed off the loop`);
    assert.deepEqual(Buffer.concat(frame), expect, `cipher ${c}: byte-identical`);
    assert.ok(frame.includes(data), 'sealed where it lies');
    assert.deepEqual(head, plain.subarray(0, 96), 'header untouched');
    const open = (msg: Buffer): Promise<Buffer | null> =>
      new Promise((res) => assert.equal(openInPlaceAsync(c, key, msg, res), true, `cipher ${c}: opened off the loop`));
    const msg = Buffer.from(expect);
    const pt = await open(msg);
    assert.ok(pt && pt.buffer === msg.buffer, `cipher ${c}: opened where it lies`);
    assert.deepEqual(pt, plain);
    const bad = Buffer.from(expect);
    bad[bad.length - 100] ^= 0x80;
    assert.equal(await open(bad), null, `cipher ${c}: a flipped bit does not open`);
  }
});

test('AES-CCM (native, from CBC-MAC and CTR): node:crypto\'s bytes and tag for every length and split; opening checks the tag', { skip: native ? false : 'native addon not built' }, () => {
  // The addon's CCM against OpenSSL's own (node:crypto, one update), around the block edges,
  // the plaintext split anywhere; AES-128 and AES-256.
  const seal = native!.aeadSeal as (ccm: number, key: Buffer, nonce: Buffer, aad: Buffer | null, aadParts: Buffer[] | null, parts: Buffer[], tag: Buffer) => number;
  const openN = native!.aeadOpen as (ccm: number, key: Buffer, nonce: Buffer, aad: Buffer, data: Buffer, tag: Buffer) => number;
  const src = Buffer.alloc(5000);
  for (let i = 0; i < src.length; i++) src[i] = (i * 29 + 11) & 0xff;
  for (const keyLen of [16, 32]) {
    const key = src.subarray(100, 100 + keyLen);
    const nonce = src.subarray(200, 211);
    for (const aadLen of [0, 1, 14, 32, 100]) {
      const aad = src.subarray(300, 300 + aadLen);
      for (const len of [0, 1, 15, 16, 17, 31, 33, 4095, 4096, 4097]) {
        const pt = src.subarray(0, len);
        const ref = createCipheriv(keyLen === 16 ? 'aes-128-ccm' : 'aes-256-ccm', key, nonce, { authTagLength: 16 });
        ref.setAAD(aad, { plaintextLength: len });
        const want = Buffer.concat([ref.update(pt), ref.final()]);
        const wantTag = ref.getAuthTag();
        for (const cut of [0, 1, 16, Math.floor(len / 2)].filter((x) => x <= len)) {
          const a = Buffer.from(pt.subarray(0, cut));
          const b = Buffer.from(pt.subarray(cut));
          const tag = Buffer.alloc(16);
          assert.equal(seal(1, key, nonce, aadLen ? aad : null, null, [a, b], tag), 0);
          const where = `key ${keyLen * 8}, aad ${aadLen}, len ${len}, cut ${cut}`;
          assert.deepEqual(Buffer.concat([a, b]), want, `${where}: ciphertext`);
          assert.deepEqual(tag, wantTag, `${where}: tag`);
        }
        const ct = Buffer.from(want);
        assert.equal(openN(1, key, nonce, aad, ct, wantTag), 0);
        assert.deepEqual(ct, pt, 'opened in place');
        const badTag = Buffer.from(wantTag);
        badTag[15] ^= 1;
        assert.equal(openN(1, key, nonce, aad, Buffer.from(want), badTag), -74 /* EBADMSG */, 'a wrong tag does not open');
      }
    }
  }
  // What SMB's 4-byte length field cannot hold, and nonces outside 7..13 bytes, are refused.
  assert.ok(seal(1, src.subarray(0, 16), src.subarray(0, 14), null, null, [Buffer.alloc(1)], Buffer.alloc(16)) < 0);
  assert.ok(seal(1, src.subarray(0, 24), src.subarray(0, 11), null, null, [Buffer.alloc(1)], Buffer.alloc(16)) < 0, 'AES-192 is not an SMB cipher');
});

test('sealing in pieces (SealStream, native): the same frame as sealing the whole, each piece encrypted where it lies; sizes are held to', { skip: native ? false : 'native addon not built' }, () => {
  const plain = sampleMessage({ bodyLen: 1_000_003 });
  for (const c of ciphers) {
    const key = keyFor(c);
    const nonce = Buffer.alloc(16, 0x6b);
    const want = encryptMessage(c, key, 11n, plain, nonce);
    const st = SealStream.start(c, key, 11n, plain.length, nonce);
    assert.ok(st);
    const copy = Buffer.from(plain);
    // Uneven pieces, one not a multiple of the block size, one empty.
    const cuts = [0, 80, 4096 + 80, 4096 + 80, 300_001, plain.length];
    const pieces: Buffer[] = [];
    for (let i = 0; i + 1 < cuts.length; i++) {
      const p = copy.subarray(cuts[i], cuts[i + 1]);
      st.update(p);
      pieces.push(p);
    }
    const header = st.finish();
    assert.deepEqual(Buffer.concat([header, ...pieces]), want, `cipher ${c}: byte-identical to sealing the whole`);
    assert.ok(!copy.subarray(80).equals(plain.subarray(80)), 'encrypted in place');
    assert.throws(() => st.update(Buffer.alloc(1)), RangeError, 'spent');
    const short = SealStream.start(c, key, 11n, 100, nonce)!;
    short.update(Buffer.alloc(60));
    assert.throws(() => short.finish(), RangeError, 'finish before the size');
    assert.throws(() => short.update(Buffer.alloc(41)), RangeError, 'past the size');
  }
});

test('encryption: nonces never repeat; Sealer keeps one generator per key', () => {
  const g = new NonceGenerator(CipherId.AES_128_CCM);
  const seen = new Set<string>();
  for (let i = 0; i < 10000; i++) seen.add(g.next().toString('hex'));
  assert.equal(seen.size, 10000);
  const s = new Sealer(CipherId.AES_128_GCM, keyFor(CipherId.AES_128_GCM));
  const m = sampleMessage();
  const e1 = s.encrypt(3n, m);
  const e2 = s.encrypt(3n, m);
  assert.notDeepEqual(e1.subarray(20, 36), e2.subarray(20, 36));
  assert.deepEqual(s.decrypt(e2), m);
  // Implicit nonces through encryptMessage also differ.
  const k = keyFor(CipherId.AES_256_CCM);
  const x = encryptMessage(CipherId.AES_256_CCM, k, 3n, m);
  const y = encryptMessage(CipherId.AES_256_CCM, k, 3n, m);
  assert.notDeepEqual(x.subarray(20, 36), y.subarray(20, 36));
});

test('AES-GCM and AES-GMAC (native: gcm.c where the CPU has VAES-512, else OpenSSL): node:crypto\'s bytes and tag for every length, AAD and split, sealed whole, in parts and streamed; opening checks the tag', { skip: native ? false : 'native addon not built' }, () => {
  const n = native!;
  const seal = n.aeadSeal as (ccm: number, key: Buffer, nonce: Buffer, aad: Buffer | null, aadParts: Buffer[] | null, parts: Buffer[], tag: Buffer) => number;
  const openN = n.aeadOpen as (ccm: number, key: Buffer, nonce: Buffer, aad: Buffer, data: Buffer, tag: Buffer) => number;
  const stream = n.aeadStream as (ccm: number, key: Buffer, nonce: Buffer, aad: Buffer, total: number) => object | number;
  const next = n.aeadStreamNext as (s: object, bytes: Buffer, last: boolean) => number;
  const gmacStream = n.gmacStream as (key: Buffer, nonce: Buffer) => object | number;
  const impl = (n.gcmFast as () => number)() ? 'gcm.c' : 'OpenSSL';
  let seed = 0x2545f491;
  const rand = (k: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % k;
  };
  const src = Buffer.alloc(70_000);
  for (let i = 0; i < src.length; i++) src[i] = (i * 131 + (i >> 8) * 7 + 3) & 0xff;
  /** Cuts b into pieces at random places (copies, so that each is encrypted where it lies). */
  const cut = (b: Buffer): Buffer[] => {
    const out: Buffer[] = [];
    for (let o = 0; o < b.length || out.length === 0;) {
      const m = Math.min(b.length - o, rand(3) === 0 ? rand(17) : rand(b.length + 1));
      out.push(Buffer.from(b.subarray(o, o + m)));
      o += m;
      if (m === 0 && o >= b.length) break;
    }
    return out;
  };
  // Around the 16-byte block, the 16-block (256-byte) vector step and the 4 KiB pass; big ones too.
  const lens = [0, 1, 15, 16, 17, 31, 32, 33, 63, 255, 256, 257, 271, 511, 1000, 4095, 4096, 4097, 4111, 8191, 12_288 + 240, 65_537];
  const aadLens = [0, 1, 12, 16, 17, 32, 255, 256, 257, 4113];
  let cases = 0;
  for (const keyLen of [16, 32]) {
    for (let k = 0; k < 3; k++) {
      const key = src.subarray(100 + k * 7, 100 + k * 7 + keyLen);
      const nonce = src.subarray(200 + k * 5, 212 + k * 5);
      for (const len of lens) {
        const aadLen = aadLens[(len + k) % aadLens.length]!;
        const aad = src.subarray(300, 300 + aadLen);
        const pt = src.subarray(1000 + k, 1000 + k + len);
        const ref = createCipheriv(keyLen === 16 ? 'aes-128-gcm' : 'aes-256-gcm', key, nonce, { authTagLength: 16 });
        ref.setAAD(aad);
        const want = Buffer.concat([ref.update(pt), ref.final()]);
        const wantTag = ref.getAuthTag();
        const where = `${impl}, key ${keyLen * 8}, aad ${aadLen}, len ${len}`;
        // whole, AAD and plaintext each in random parts
        const parts = cut(pt);
        const tag = Buffer.alloc(16);
        assert.equal(seal(0, key, nonce, null, aadLen ? cut(Buffer.from(aad)) : null, parts, tag), 0);
        assert.deepEqual(Buffer.concat(parts), want, `${where}: ciphertext in parts`);
        assert.deepEqual(tag, wantTag, `${where}: tag in parts`);
        // streamed, as a READ is sealed while it is read
        const s = stream(0, key, nonce, Buffer.from(aad), len);
        assert.equal(typeof s, 'object');
        const pieces = cut(pt);
        for (const p of pieces) assert.equal(next(s as object, p, false), 0);
        const stag = Buffer.alloc(16);
        assert.equal(next(s as object, stag, true), 0);
        assert.deepEqual(Buffer.concat(pieces), want, `${where}: ciphertext streamed`);
        assert.deepEqual(stag, wantTag, `${where}: tag streamed`);
        // opened where it lies; one flipped bit anywhere (data, AAD, tag) does not open
        const ct = Buffer.from(want);
        assert.equal(openN(0, key, nonce, aad, ct, wantTag), 0, `${where}: opens`);
        assert.deepEqual(ct, pt, `${where}: plaintext back`);
        const flip = (b: Buffer, i: number): Buffer => { const c = Buffer.from(b); c[i] = c[i]! ^ (1 << rand(8)); return c; };
        assert.equal(openN(0, key, nonce, aad, Buffer.from(want), flip(wantTag, rand(16))), -74, `${where}: wrong tag`);
        if (len) assert.equal(openN(0, key, nonce, aad, flip(want, rand(len)), wantTag), -74, `${where}: flipped data`);
        if (aadLen) assert.equal(openN(0, key, nonce, flip(aad, rand(aadLen)), Buffer.from(want), wantTag), -74, `${where}: flipped AAD`);
        // GMAC (SMB 3.1.1 signing): no plaintext, the message as AAD
        const g = createCipheriv(keyLen === 16 ? 'aes-128-gcm' : 'aes-256-gcm', key, nonce, { authTagLength: 16 });
        g.setAAD(pt);
        g.final();
        const mac = Buffer.alloc(16);
        assert.equal(seal(0, key, nonce, null, cut(Buffer.from(pt)), [], mac), 0);
        const gtag = g.getAuthTag();
        assert.deepEqual(mac, gtag, `${where}: GMAC`);
        // and in pieces, as a READ is signed while it is read (the pieces are only read)
        const gs = gmacStream(key, nonce);
        assert.equal(typeof gs, 'object');
        const gp = cut(Buffer.from(pt));
        for (const p of gp) assert.equal(next(gs as object, p, false), 0);
        const gmac = Buffer.alloc(16);
        assert.equal(next(gs as object, gmac, true), 0);
        assert.deepEqual(gmac, gtag, `${where}: GMAC streamed`);
        assert.deepEqual(Buffer.concat(gp), pt, `${where}: GMAC leaves the message as it was`);
        cases++;
      }
    }
  }
  assert.equal(cases, 2 * 3 * lens.length);
  // Only 12-byte nonces take gcm.c; others go to OpenSSL and still agree.
  const key = src.subarray(0, 16);
  const nonce16 = src.subarray(16, 32);
  const ref = createCipheriv('aes-128-gcm', key, nonce16, { authTagLength: 16 });
  const want = Buffer.concat([ref.update(src.subarray(0, 300)), ref.final()]);
  const part = Buffer.from(src.subarray(0, 300));
  const tag = Buffer.alloc(16);
  assert.equal(seal(0, key, nonce16, null, null, [part], tag), 0);
  assert.deepEqual(part, want);
  assert.deepEqual(tag, ref.getAuthTag());
  assert.ok(seal(0, src.subarray(0, 24), src.subarray(0, 12), null, null, [Buffer.alloc(1)], Buffer.alloc(16)) < 0, 'AES-192 is not an SMB cipher');
});
