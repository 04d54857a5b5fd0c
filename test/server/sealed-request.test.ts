/**
 * Sealed requests from a raw client (its cipher node:crypto's, the
 * server's the addon's: gcm.c where the CPU has VAES-512, else OpenSSL):
 * a WRITE and READs of a file round-trip byte for byte under each SMB 3.1.1
 * cipher, every response sealed too. A sealed message that was altered on
 * the way (one bit of its tag, of its ciphertext, or of the nonce or
 * session in its transform header) fails decryption: the server ends that
 * connection (MS-SMB2 3.3.5.2.1.1), says so in its log, answers nothing
 * from it, and goes on serving the others.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, USER, PASSWORD, type Running } from '../interop/harness.js';
import { SignedConnection, readRequest, type ClientSession } from './signed-client.js';
import { Cipher, Command } from '../../src/smb2/constants.js';
import { decodeWriteResponse, encodeWriteRequest } from '../../src/smb2/commands/write.js';
import { decodeReadResponse } from '../../src/smb2/commands/read.js';
import { encodeEchoRequest } from '../../src/smb2/commands/echo.js';
import type { FileId } from '../../src/smb2/wire.js';
import { native } from '../../src/native.js';

let srv: Running;
before(async () => {
  srv = await startServer({ signing: 'enabled' });
});
after(async () => {
  await srv.stop();
});

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A session on a new connection that negotiated `cipher`, and the share's tree, connected sealed. */
async function sealedSession(cipher: number): Promise<{ c: SignedConnection; s: ClientSession; tree: number }> {
  const c = await SignedConnection.open(srv.port, { ciphers: [cipher] });
  assert.equal(c.cipherId, cipher, 'the server took the only cipher offered');
  const { session } = await c.authenticate(USER, PASSWORD);
  assert.ok(session?.encryptionKey, 'a 3.1.1 session has cipher keys');
  // Throws unless it succeeds and is answered sealed.
  return { c, s: session, tree: await c.treeConnect(session, 'share', { sealed: true }) };
}

async function sealedCreate(c: SignedConnection, s: ClientSession, tree: number, name: string): Promise<FileId> {
  const { reply, fileId } = await c.create(s, tree, name, { disposition: 5 /* overwrite or create */, sealed: true });
  assert.equal(reply.hdr.status, 0, `CREATE ${name}`);
  assert.equal(reply.sealed, true);
  return fileId;
}

const CIPHERS: [string, number][] = [['AES-128-GCM', Cipher.AES_128_GCM], ['AES-256-GCM', Cipher.AES_256_GCM], ['AES-128-CCM', Cipher.AES_128_CCM], ['AES-256-CCM', Cipher.AES_256_CCM]];

for (const [name, cipher] of CIPHERS) {
  test(`sealed WRITE and READs with ${name}: the file byte for byte on disk and back, every response sealed`, async () => {
    const { c, s, tree } = await sealedSession(cipher);
    try {
      // Not a multiple of 16 or of 4 KiB; large enough for the vector paths and a sealed READ in pieces.
      const data = randomBytes((5 << 20) + 4099);
      const file = `sealed-${cipher}.bin`;
      const fid = await sealedCreate(c, s, tree, file);
      const w = await c.sealedCall(s, Command.WRITE, encodeWriteRequest({ offset: 0n, fileId: fid, channel: 0, remainingBytes: 0, flags: 0, data }), tree);
      assert.equal(w.hdr.status, 0);
      assert.equal(w.sealed, true);
      assert.equal(decodeWriteResponse(w.msg).count, data.length);
      assert.equal(sha(readFileSync(join(srv.dir, file))), sha(data), 'on disk as sent');
      const back: Buffer[] = [];
      for (const [off, len] of [[0, 4 << 20], [4 << 20, data.length - (4 << 20)]] as const) {
        const r = await c.sealedCall(s, Command.READ, readRequest(fid, len, BigInt(off)), tree);
        assert.equal(r.hdr.status, 0);
        assert.equal(r.sealed, true);
        back.push(Buffer.from(decodeReadResponse(r.msg).data));
      }
      assert.equal(sha(Buffer.concat(back)), sha(data), 'read back as written');
      assert.equal(c.undecryptable, 0, 'every sealed response opened with node:crypto');
    } finally {
      c.destroy();
    }
  });
}

/** Ways a sealed frame is altered on the way: transform header (52 bytes) = ProtocolId 4, Signature 16, Nonce 16, OriginalMessageSize 4, Reserved 2, Flags 2, SessionId 8. */
const TAMPER: [string, (f: Buffer) => void][] = [
  ['one bit of the tag', (f) => void (f[4 + 7] ^= 0x10)],
  ['one bit of the ciphertext', (f) => void (f[52 + 40] ^= 0x01)],
  ['one bit of the nonce', (f) => void (f[20 + 3] ^= 0x80)],
  ['the session id', (f) => void (f[44] ^= 0x01)],
];

for (const [what, tamper] of TAMPER) {
  test(`a sealed request with ${what} altered: the connection ends with a log line, no response, others go on`, async () => {
    const victim = await sealedSession(Cipher.AES_128_GCM);
    const other = await sealedSession(Cipher.AES_128_GCM);
    try {
      const logsBefore = srv.logs.length;
      let answered = false;
      victim.c.sealedCall(victim.s, Command.ECHO, encodeEchoRequest(), 0, tamper).then(() => (answered = true), () => undefined);
      for (let i = 0; i < 100 && !victim.c.closed; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(victim.c.closed, true, 'the server closed the connection');
      assert.equal(answered, false, 'nothing answered the altered message');
      const said = srv.logs.slice(logsBefore).filter((l) => /failed decryption|unknown session/.test(l));
      assert.equal(said.length, 1, `one log line says why: ${srv.logs.slice(logsBefore).join(' | ')}`);
      // The other connection, and the same message unaltered on it, still work.
      const e = await other.c.sealedCall(other.s, Command.ECHO, encodeEchoRequest());
      assert.equal(e.hdr.status, 0);
      assert.equal(e.sealed, true);
    } finally {
      victim.c.destroy();
      other.c.destroy();
    }
  });
}

test('the start-up line names the AES-GCM the server seals with (the addon\'s VAES-512 code, OpenSSL, or node:crypto)', () => {
  const line = srv.logs.find((l) => l.includes('listening on'));
  assert.ok(line, 'a listening line');
  const want = !native ? 'node:crypto' : (native.gcmFast as () => number)() ? 'vaes-512' : 'openssl';
  assert.match(line, new RegExp(`aes-gcm ${want}\\)`));
  if (process.env.RINGSMB_AES === 'openssl' && native) assert.match(line, /aes-gcm openssl/);
});
