/**
 * Server.close() while clients are still connected, as `ringsmb serve`
 * does on SIGINT/SIGTERM: one client idle after its tree connect, one that
 * stopped reading with 8 MiB READ responses queued for it, one that stopped
 * sending 1 MiB into an 8 MiB WRITE (on io_uring, a splice into the file
 * waiting on its socket). close() must
 * come back (the queued responses get a short linger, then the socket goes),
 * both clients must see their connections end, and nothing the server had
 * (fds, pooled buffers) may be left. Runs on whichever transport the
 * machine gives (the fallback CI run repeats it on Node's net).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { openFds, fdsLeftSince } from '../util/fds.js';
import { join } from 'node:path';
import { startServer, USER, PASSWORD } from '../interop/harness.js';
import { TestClient, requestHeader } from './smb-client.js';
import type { Socket } from 'node:net';
import { encodeWriteRequestHead } from '../../src/smb2/commands/write.js';
import { frameHeader } from '../../src/transport/types.js';
import { SignedConnection, readRequest } from './signed-client.js';
import { Command } from '../../src/smb2/constants.js';
import { encodeEchoRequest } from '../../src/smb2/commands/echo.js';

test('close() with a client idle, one not reading its 8 MiB READ responses and one stalled inside an 8 MiB WRITE: it returns, every connection ends, no fd or pooled buffer is left', { timeout: 30_000 }, async () => {
  const fdsBefore = openFds();
  const srv = await startServer({ signing: 'enabled' });
  writeFileSync(join(srv.dir, 'big.bin'), randomBytes(16 << 20));
  const idle = await TestClient.connect(srv.port, USER, PASSWORD, 'share');
  const stuck = await SignedConnection.open(srv.port);
  const { session } = await stuck.authenticate(USER, PASSWORD);
  assert.ok(session);
  const tree = await stuck.treeConnect(session, 'share');
  const file = await stuck.openFile(session, tree, 'big.bin');
  // 1 MiB of an 8 MiB WRITE, then nothing more.
  const stalled = await TestClient.connect(srv.port, USER, PASSWORD, 'share');
  const w = await stalled.create('w.bin', { access: 0x0012019f, share: 7, disposition: 3 });
  assert.equal(w.status, 0);
  const data = randomBytes(8 << 20);
  const head = encodeWriteRequestHead({ offset: 0n, fileId: w.res!.fileId, channel: 0, remainingBytes: 0, flags: 0 }, data.length);
  const hdr = requestHeader({ command: Command.WRITE, messageId: 100n, sessionId: stalled.sessionId, treeId: stalled.treeId, charge: 128, credits: 1 });
  const stalledSock = (stalled as unknown as { sock: Socket }).sock;
  stalledSock.write(Buffer.concat([frameHeader(hdr.length + head.length + data.length), hdr, head, data.subarray(0, 1 << 20)]));
  const stalledGone = new Promise<void>((r) => stalledSock.once('close', () => r()));
  stuck.pause();
  // Four 8 MiB READs the client will not read: far more than the socket buffers hold.
  for (let i = 0; i < 4; i++) void stuck.call(session, Command.READ, readRequest(file, 8 << 20, BigInt((i % 2) * (8 << 20))), tree).catch(() => {});
  for (let i = 0; i < 100 && srv.server.dataPool.stats.out === 0; i++) await new Promise((r) => setTimeout(r, 10));

  const t0 = Date.now();
  let done = false;
  const closing = srv.stop().then(() => (done = true));
  const limit = new Promise<void>((r) => setTimeout(r, 10_000).unref());
  await Promise.race([closing, limit]);
  if (!done) {
    // Let the process end: the clients go, and with them what close() waits on.
    idle.destroy();
    stuck.destroy();
    stalled.destroy();
    await closing;
  }
  assert.ok(done, `close() came back (waited ${Date.now() - t0} ms)`);
  assert.ok(Date.now() - t0 < 8000, `close() took ${Date.now() - t0} ms`);

  // Both clients see the end (the paused one once it reads again).
  stuck.resume();
  await Promise.race([Promise.all([stuck.gone, stalledGone, new Promise<void>((r) => (idle.closed ? r() : (idle as unknown as { sock: Socket }).sock.once('close', () => r())))]), limit]);
  assert.ok(stuck.closed, 'the client that did not read was disconnected');
  assert.ok(stalled.closed, 'the client stalled inside a WRITE was disconnected');
  assert.ok(idle.closed, 'the idle client was disconnected');
  assert.equal(srv.server.connections.size, 0, 'no connection left');
  assert.equal(srv.server.dataPool.stats.out, 0, `every pooled buffer back (${JSON.stringify(srv.server.dataPool.stats)})`);
  assert.deepEqual(await fdsLeftSince(fdsBefore, 0), [], 'every fd the server had is closed');
});

test('close() with a client not reading its unsigned 8 MiB READ answers (spliced on io_uring): it returns, and the files those answers held are closed', { timeout: 30_000 }, async () => {
  const fdsBefore = openFds();
  const srv = await startServer({ signing: 'enabled' });
  writeFileSync(join(srv.dir, 'big.bin'), randomBytes(16 << 20));
  const c = await TestClient.connect(srv.port, USER, PASSWORD, 'share');
  const f = await c.create('big.bin');
  assert.equal(f.status, 0);
  for (let i = 0; i < 16; i++) await c.request(Command.ECHO, encodeEchoRequest()); // credits for six 128-credit READs
  const sock = (c as unknown as { sock: Socket }).sock;
  sock.pause();
  for (let i = 0; i < 6; i++) {
    void c.send(Command.READ, readRequest(f.res!.fileId, 8 << 20, BigInt((i % 2) * (8 << 20))), { charge: 128 }).response;
  }
  const conn = [...srv.server.connections.values()][0]!;
  for (let i = 0; i < 200 && conn.transport.pendingBytes < 16 << 20; i++) await new Promise((r) => setTimeout(r, 10));
  const queued = conn.transport.pendingBytes;
  if (queued < 16 << 20) {
    c.destroy();
    await srv.stop();
    assert.fail(`answers queued (${queued} bytes)`);
  }

  // Before the fix the head answer's splice was started again after close() cancelled it, on a
  // socket nobody read: it never ended, and the file it held open kept close() waiting forever.
  const t0 = Date.now();
  let done = false;
  const closing = srv.stop().then(() => (done = true));
  await Promise.race([closing, new Promise<void>((r) => setTimeout(r, 10_000).unref())]);
  if (!done) {
    c.destroy();
    await closing;
  }
  assert.ok(done, `close() came back (waited ${Date.now() - t0} ms)`);
  assert.ok(Date.now() - t0 < 8000, `close() took ${Date.now() - t0} ms`);
  c.destroy();
  assert.deepEqual(await fdsLeftSince(fdsBefore, 0), [], 'every fd the server had is closed');
});
