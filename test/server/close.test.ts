/**
 * Server.close() while clients are still connected, as `ringsmb serve`
 * does on SIGINT/SIGTERM: one client idle after its tree connect, one that
 * stopped reading with 8 MiB READ responses queued for it. close() must
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
import { TestClient } from './smb-client.js';
import { SignedConnection, readRequest } from './signed-client.js';
import { Command } from '../../src/smb2/constants.js';

test('close() with a client idle and one not reading its 8 MiB READ responses: it returns, both connections end, no fd or pooled buffer is left', { timeout: 30_000 }, async () => {
  const fdsBefore = openFds();
  const srv = await startServer({ signing: 'enabled' });
  writeFileSync(join(srv.dir, 'big.bin'), randomBytes(16 << 20));
  const idle = await TestClient.connect(srv.port, USER, PASSWORD, 'share');
  const stuck = await SignedConnection.open(srv.port);
  const { session } = await stuck.authenticate(USER, PASSWORD);
  assert.ok(session);
  const tree = await stuck.treeConnect(session, 'share');
  const file = await stuck.openFile(session, tree, 'big.bin');
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
    await closing;
  }
  assert.ok(done, `close() came back (waited ${Date.now() - t0} ms)`);
  assert.ok(Date.now() - t0 < 8000, `close() took ${Date.now() - t0} ms`);

  // Both clients see the end (the paused one once it reads again).
  stuck.resume();
  await Promise.race([Promise.all([stuck.gone, new Promise<void>((r) => (idle.closed ? r() : (idle as unknown as { sock: { once(e: string, f: () => void): void } }).sock.once('close', () => r())))]), limit]);
  assert.ok(stuck.closed, 'the client that did not read was disconnected');
  assert.ok(idle.closed, 'the idle client was disconnected');
  assert.equal(srv.server.connections.size, 0, 'no connection left');
  assert.equal(srv.server.dataPool.stats.out, 0, `every pooled buffer back (${JSON.stringify(srv.server.dataPool.stats)})`);
  assert.deepEqual(await fdsLeftSince(fdsBefore, 0), [], 'every fd the server had is closed');
});
