/**
 * Large signed or sealed messages, either way, leave the event loop for the
 * libuv pool while another connection has large protected traffic too: the
 * signatures are still right (and a wrong one refused), the data byte for
 * byte, PDUs behind a held one keep their order, and the count of busy
 * connections and every pooled buffer come back.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignedConnection, readRequest, type ClientSession } from './signed-client.js';
import { cryptoIdle, startServer, smbclient, smbclientPath, USER, PASSWORD, type Running } from '../interop/harness.js';
import { Command, Dialect } from '../../src/smb2/constants.js';
import { SigningAlgorithm } from '../../src/crypto/signing.js';
import { decodeReadResponse } from '../../src/smb2/commands/read.js';
import { encodeWriteRequest } from '../../src/smb2/commands/write.js';
import { encodeCloseRequest } from '../../src/smb2/commands/close.js';
import { NtStatus } from '../../src/smb2/status.js';
import type { FileId } from '../../src/smb2/wire.js';
import { native } from '../../src/native.js';

let srv: Running;
const conns: SignedConnection[] = [];
const DATA = randomBytes(6 << 20);

before(async () => {
  srv = await startServer({ signing: 'enabled' });
  writeFileSync(join(srv.dir, 'big.bin'), DATA);
});
after(async () => {
  for (const c of conns) c.destroy();
  await srv.stop();
});

const GMAC = SigningAlgorithm.AES_GMAC;
const CMAC = SigningAlgorithm.AES_CMAC;
const HMAC = SigningAlgorithm.HMAC_SHA256;
const algName = (alg: SigningAlgorithm): string => (alg === GMAC ? 'AES-GMAC' : alg === CMAC ? 'AES-CMAC' : 'HMAC-SHA256, SMB 2.1');

async function client(name = 'big.bin', disposition = 1, alg: SigningAlgorithm = GMAC): Promise<{ c: SignedConnection; s: ClientSession; tree: number; fid: FileId }> {
  // HMAC-SHA256 is what SMB 2.x signs with (MS-SMB2 3.1.4.1); 3.1.1 negotiates the others.
  const c = await SignedConnection.open(srv.port, alg === HMAC ? { dialects: [Dialect.SMB210] } : { signing: [alg] });
  conns.push(c);
  assert.equal(c.signingAlgorithm, alg);
  const { reply, session } = await c.authenticate(USER, PASSWORD);
  assert.equal(reply.hdr.status, 0);
  const tree = await c.treeConnect(session!, 'share');
  return { c, s: session!, tree, fid: await c.openFile(session!, tree, name, disposition) };
}

for (const alg of [GMAC, CMAC, HMAC]) test(`a large signed READ (${algName(alg)}) while another connection has one on its way is signed off the loop: verified, byte for byte, nothing left counted or out`, { skip: native ? false : 'native addon not built' }, async () => {
  const a = await client('big.bin', 1, alg);
  const b = await client('big.bin', 1, alg);
  const server = srv.server;
  const handed0 = server.cryptoHandedOff;
  // A stops reading: its 6 MiB signed response stays on its way in the server's send queue.
  a.c.pause();
  const ra = a.c.call(a.s, Command.READ, readRequest(a.fid, DATA.length, 0n), a.tree);
  for (let i = 0; i < 100 && server.cryptoBusy < 1; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(server.cryptoBusy, 1, 'A is counted while its response waits');
  assert.equal(server.cryptoHandedOff, handed0, 'A alone was signed in line');
  // B's READ now goes to the pool; call() verifies the signature.
  const rb = await b.c.call(b.s, Command.READ, readRequest(b.fid, 1 << 20, 4096n), b.tree);
  assert.equal(rb.hdr.status, 0);
  assert.ok(rb.signed, 'signed');
  assert.ok(Buffer.from(decodeReadResponse(rb.msg).data).equals(DATA.subarray(4096, 4096 + (1 << 20))), 'B: byte for byte');
  assert.equal(server.cryptoHandedOff, handed0 + 1, 'B was signed off the loop');
  a.c.resume();
  const reply = await ra;
  assert.equal(reply.hdr.status, 0);
  assert.ok(reply.signed);
  assert.ok(Buffer.from(decodeReadResponse(reply.msg).data).equals(DATA), 'A: byte for byte');
  await cryptoIdle(server);
  assert.equal(server.cryptoBusy, 0, 'no connection left counted');
  assert.equal(server.dataPool.stats.out, 0, 'every pooled buffer is back');
});

/** A holds a large signed READ response on its way (its client reads nothing): the server counts one busy connection. */
async function busyA(): Promise<{ a: Awaited<ReturnType<typeof client>>; reply: Promise<unknown> }> {
  const a = await client();
  a.c.pause();
  const reply = a.c.call(a.s, Command.READ, readRequest(a.fid, DATA.length, 0n), a.tree);
  for (let i = 0; i < 100 && srv.server.cryptoBusy < 1; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(srv.server.cryptoBusy, 1);
  return { a, reply };
}

for (const alg of [GMAC, CMAC, HMAC]) test(`large signed WRITEs (${algName(alg)}) while another connection is busy: checked off the loop, a CLOSE sent right behind waits its turn, a wrong signature is refused`, { skip: native ? false : 'native addon not built' }, async () => {
  const { a, reply } = await busyA();
  const b = await client('w.bin', 5 /* OVERWRITE_IF */, alg);
  const handed0 = srv.server.cryptoHandedOff;
  const data = randomBytes(1 << 20);
  // WRITE and CLOSE go out together: the CLOSE arrives while the WRITE's signature is being checked.
  const w = b.c.call(b.s, Command.WRITE, encodeWriteRequest({ offset: 0n, fileId: b.fid, channel: 0, remainingBytes: 0, flags: 0, data }), b.tree);
  const cl = b.c.call(b.s, Command.CLOSE, encodeCloseRequest({ flags: 0, fileId: b.fid }), b.tree);
  const [wr, cr] = await Promise.all([w, cl]);
  assert.equal(wr.hdr.status, 0, 'the WRITE went through');
  assert.equal(cr.hdr.status, 0, 'then the CLOSE');
  assert.ok(srv.server.cryptoHandedOff > handed0, 'the signature was checked off the loop');
  assert.ok(readFileSync(join(srv.dir, 'w.bin')).equals(data), 'byte for byte');
  // The same WRITE signed with another key: refused, and nothing written.
  const b2 = await client('w.bin', 1, alg);
  const handed1 = srv.server.cryptoHandedOff;
  const bad = await b2.c.request(Command.WRITE, encodeWriteRequest({ offset: 0n, fileId: b2.fid, channel: 0, remainingBytes: 0, flags: 0, data: randomBytes(1 << 20) }), {
    sessionId: b2.s.id, treeId: b2.tree, key: Buffer.alloc(16, 7),
  });
  assert.equal(bad.hdr.status, NtStatus.ACCESS_DENIED, 'a wrong signature is refused');
  assert.ok(srv.server.cryptoHandedOff > handed1, 'that check ran off the loop too');
  assert.ok(readFileSync(join(srv.dir, 'w.bin')).equals(data), 'the file is as it was');
  a.c.resume();
  await reply;
  await cryptoIdle(srv.server);
  assert.equal(srv.server.cryptoBusy, 0);
  assert.equal(srv.server.dataPool.stats.out, 0);
});

test('sealed WRITEs from smbclient while another connection is busy: opened off the loop, byte for byte', { skip: !native ? 'native addon not built' : !smbclientPath() && 'smbclient not installed' }, async () => {
  const { a, reply } = await busyA();
  const handed0 = srv.server.cryptoHandedOff;
  const data = randomBytes(3 << 20);
  const src = join(srv.dir, 'src.bin');
  writeFileSync(src, data);
  const r = await smbclient(srv.port, `put ${src} sealed.bin`, ['--client-protection=encrypt', '-m', 'SMB3_11']);
  assert.equal(r.code, 0, r.out);
  assert.ok(readFileSync(join(srv.dir, 'sealed.bin')).equals(data), 'byte for byte');
  assert.ok(srv.server.cryptoHandedOff > handed0, 'its large WRITEs were opened off the loop');
  a.c.resume();
  await reply;
  await cryptoIdle(srv.server);
  assert.equal(srv.server.cryptoBusy, 0);
  assert.equal(srv.server.dataPool.stats.out, 0);
});
