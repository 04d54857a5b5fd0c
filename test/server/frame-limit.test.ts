/**
 * The 24-bit direct-TCP length (MS-SMB2 2.1) bounds every response frame.
 * A compound whose responses together exceed it (two 8 MiB READs) must not
 * go out with a wrapped length, which would desynchronise the stream: the
 * connection ends with a log line as soon as the responses pass it (the
 * rest of the compound is not read), and the server goes on serving.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, until, USER, PASSWORD, type Running } from '../interop/harness.js';
import type { Socket } from 'node:net';
import { TestClient, framed, requestHeader } from './smb-client.js';
import { encodeEchoRequest } from '../../src/smb2/commands/echo.js';
import { Command } from '../../src/smb2/constants.js';
import { encodeReadRequest } from '../../src/smb2/commands/read.js';
import { encodeWriteRequestHead } from '../../src/smb2/commands/write.js';
import { PRE_LOGON_MAX_PDU } from '../../src/server/server.js';

const MiB = 1024 * 1024;
let srv: Running;

before(async () => {
  srv = await startServer({ signing: 'enabled' }); // the test client does not sign
});
after(async () => {
  await srv.stop();
});

test('a compound of 8 MiB READs (a 16 MiB+ response) ends the connection at the second READ with a log line; the server goes on', async () => {
  writeFileSync(join(srv.dir, 'big.bin'), Buffer.alloc(16 * MiB, 0x5a));
  const c = await TestClient.connect(srv.port, USER, PASSWORD, 'share');
  try {
    // Credits for twenty 128-credit READs (the window is 8192).
    const raw = c as unknown as { sock: Socket; nextId: bigint; waiters: Map<bigint, { resolve: (r: { hdr: { credits: number } }) => void; interim: unknown[] }> };
    const eid = raw.nextId++;
    const echo = new Promise<{ hdr: { credits: number } }>((resolve) => raw.waiters.set(eid, { resolve, interim: [] }));
    raw.sock.write(framed([requestHeader({ command: Command.ECHO, messageId: eid, sessionId: c.sessionId, treeId: c.treeId, charge: 1, credits: 8191 }), encodeEchoRequest()]));
    assert.ok((await echo).hdr.credits > 20 * 128, 'credits for 20 READs of 8 MiB');
    const open = await c.create('big.bin', { access: 0x00120089, disposition: 1 });
    assert.equal(open.status, 0);
    const fileId = open.res!.fileId;
    const read = (offset: number) => encodeReadRequest({
      padding: 0x50, flags: 0, length: 8 * MiB, offset: BigInt(offset), fileId, minimumCount: 0, channel: 0, remainingBytes: 0, readChannelInfo: Buffer.alloc(0),
    });
    // Twenty of them (all the credits allow): the server stops at the second, past which the
    // frame cannot carry the responses, instead of reading the other eighteen first.
    c.sendCompound(Array.from({ length: 20 }, (_, i) => ({ command: Command.READ, body: read((i % 2) * 8 * MiB), charge: 128 })));
    await until(() => c.closed, 10_000, 'the server ended the connection');
    assert.ok(srv.logs.some((l) => /the responses of a compound \(\d+ bytes after 2 of 20\) do not fit a direct-TCP frame/.test(l)), srv.logs.slice(-5).join('\n'));
  } finally {
    c.destroy();
  }
  // The server still serves.
  const c2 = await TestClient.connect(srv.port, USER, PASSWORD, 'share');
  const r = await c2.create('big.bin', { access: 0x00120089, disposition: 1 });
  assert.equal(r.status, 0);
  assert.equal(await c2.close(r.res!.fileId), 0);
  c2.destroy();
});

test('before logon a frame longer than 256 KiB ends the connection at its length, before any of it is read; after logon an 8 MiB WRITE goes through', async () => {
  const { connect } = await import('node:net');
  const frame = (len: number) => Buffer.from([0, (len >> 16) & 0xff, (len >> 8) & 0xff, len & 0xff]);
  for (const len of [PRE_LOGON_MAX_PDU + 1, 8 * MiB]) {
    const sock = connect(srv.port, '127.0.0.1');
    sock.on('error', () => {});
    await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
    let closed = false;
    sock.on('close', () => (closed = true));
    sock.write(frame(len)); // the length alone: nothing of the body follows
    await until(() => closed, 5000, `a ${len}-byte frame announced before logon closes the connection`);
    assert.ok(srv.logs.some((l) => new RegExp(`bad frame \\(type 0, length ${len}, max ${PRE_LOGON_MAX_PDU} before logon\\); disconnecting`).test(l)), srv.logs.slice(-3).join('\n'));
  }
  const c = await TestClient.connect(srv.port, USER, PASSWORD, 'share');
  try {
    for (let i = 0; i < 4; i++) await c.request(Command.ECHO, Buffer.from([4, 0, 0, 0]));
    const open = await c.create('w.bin', { access: 0x0012019f, disposition: 5 });
    assert.equal(open.status, 0);
    const data = Buffer.alloc(8 * MiB, 0x77);
    const head = encodeWriteRequestHead({ offset: 0n, fileId: open.res!.fileId, channel: 0, remainingBytes: 0, flags: 0 }, data.length);
    const w = await c.send(Command.WRITE, Buffer.concat([head, data]), { charge: 128 }).response;
    assert.equal(w.hdr.status, 0, 'an 8 MiB WRITE after logon');
    assert.equal(statSync(join(srv.dir, 'w.bin')).size, 8 * MiB);
    assert.equal(await c.close(open.res!.fileId), 0);
  } finally {
    c.destroy();
  }
});
