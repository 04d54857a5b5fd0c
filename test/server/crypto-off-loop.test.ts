/**
 * Large signed responses leave the event loop for the libuv pool when another
 * connection has one on its way too (Connection.cryptoOffLoop): the
 * signature is still right, the data byte for byte, and the count of such
 * senders and every pooled buffer come back.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignedConnection, type ClientSession } from './signed-client.js';
import { startServer, USER, PASSWORD, type Running } from '../interop/harness.js';
import { Command } from '../../src/smb2/constants.js';
import { SigningAlgorithm } from '../../src/crypto/signing.js';
import { encodeCreateRequest, decodeCreateResponse } from '../../src/smb2/commands/create.js';
import { encodeReadRequest, decodeReadResponse } from '../../src/smb2/commands/read.js';
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

async function client(): Promise<{ c: SignedConnection; s: ClientSession; tree: number; fid: FileId }> {
  const c = await SignedConnection.open(srv.port, { signing: [SigningAlgorithm.AES_GMAC] });
  conns.push(c);
  assert.equal(c.signingAlgorithm, SigningAlgorithm.AES_GMAC);
  const { reply, session } = await c.authenticate(USER, PASSWORD);
  assert.equal(reply.hdr.status, 0);
  const tree = await c.treeConnect(session!, 'share');
  const r = await c.call(session!, Command.CREATE, encodeCreateRequest({
    securityFlags: 0, requestedOplockLevel: 0, impersonationLevel: 2, smbCreateFlags: 0n, desiredAccess: 0x0012019f,
    fileAttributes: 0x80, shareAccess: 7, createDisposition: 1, createOptions: 0, name: 'big.bin', createContexts: [],
  }), tree);
  assert.equal(r.hdr.status, 0);
  return { c, s: session!, tree, fid: decodeCreateResponse(r.msg).fileId };
}

function readBody(fileId: FileId, length: number, offset: bigint): Buffer {
  return encodeReadRequest({ padding: 0x50, flags: 0, length, offset, fileId, minimumCount: 0, channel: 0, remainingBytes: 0, readChannelInfo: Buffer.alloc(0) });
}

test('a large signed READ while another connection has one on its way is signed off the loop: verified, byte for byte, nothing left counted or out', { skip: native ? false : 'native addon not built' }, async () => {
  const a = await client();
  const b = await client();
  const server = srv.server;
  const handed0 = server.cryptoHandedOff;
  // A stops reading: its 6 MiB signed response stays on its way in the server's send queue.
  a.c.pause();
  const ra = a.c.call(a.s, Command.READ, readBody(a.fid, DATA.length, 0n), a.tree);
  for (let i = 0; i < 100 && server.cryptoSenders < 1; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(server.cryptoSenders, 1, 'A is counted while its response waits');
  assert.equal(server.cryptoHandedOff, handed0, 'A alone was signed in line');
  // B's READ now goes to the pool; call() verifies the GMAC signature.
  const rb = await b.c.call(b.s, Command.READ, readBody(b.fid, 1 << 20, 4096n), b.tree);
  assert.equal(rb.hdr.status, 0);
  assert.ok(rb.signed, 'signed');
  assert.ok(Buffer.from(decodeReadResponse(rb.msg).data).equals(DATA.subarray(4096, 4096 + (1 << 20))), 'B: byte for byte');
  assert.equal(server.cryptoHandedOff, handed0 + 1, 'B was signed off the loop');
  a.c.resume();
  const reply = await ra;
  assert.equal(reply.hdr.status, 0);
  assert.ok(reply.signed);
  assert.ok(Buffer.from(decodeReadResponse(reply.msg).data).equals(DATA), 'A: byte for byte');
  for (let i = 0; i < 100 && (server.cryptoSenders > 0 || server.dataPool.stats.out > 0); i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(server.cryptoSenders, 0, 'no connection left counted');
  assert.equal(server.dataPool.stats.out, 0, 'every pooled buffer is back');
});
