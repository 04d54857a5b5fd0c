/**
 * max connections: before, a peer that opened that many connections and
 * sent nothing kept everyone else out until the auth timeout dropped them
 * (30 s), and could do it again at once. Now a new connection, when the
 * table is full, takes the place of the oldest one without an
 * authenticated session; connections with sessions are never dropped for
 * it, and once every connection has one, new ones are refused (logged).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { startServer, until, USER, PASSWORD } from '../interop/harness.js';
import { TestClient } from './smb-client.js';
import { Command } from '../../src/smb2/constants.js';
import { encodeEchoRequest } from '../../src/smb2/commands/echo.js';

/** A TCP connection that sends nothing, and whether the server closed it. */
async function silent(port: number): Promise<{ sock: Socket; closed: () => boolean }> {
  const sock = connect(port, '127.0.0.1');
  let closed = false;
  sock.on('close', () => (closed = true));
  sock.on('error', () => {});
  await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
  return { sock, closed: () => closed };
}

test('at max connections a new client takes the place of the oldest connection without a session; connections with sessions stay, and once all have one a new connection is refused', { timeout: 30_000 }, async () => {
  const srv = await startServer({ signing: 'enabled', maxConnections: 3 });
  const socks: { sock: Socket; closed: () => boolean }[] = [];
  const clients: TestClient[] = [];
  try {
    for (let i = 0; i < 3; i++) socks.push(await silent(srv.port));
    await until(() => srv.server.connections.size === 3, 5000, 'three connections counted');

    clients.push(await TestClient.connect(srv.port, USER, PASSWORD, 'share'));
    await until(() => socks[0]!.closed(), 5000, 'the oldest silent connection was dropped');
    assert.equal(socks[1]!.closed() || socks[2]!.closed(), false, 'only the oldest');
    assert.ok(srv.logs.some((l) => /dropped for a new connection: 3 connections \(max connections\) and this one has no session after \d+ ms/.test(l)));

    clients.push(await TestClient.connect(srv.port, USER, PASSWORD, 'share'));
    clients.push(await TestClient.connect(srv.port, USER, PASSWORD, 'share'));
    await until(() => socks[1]!.closed() && socks[2]!.closed(), 5000, 'the other silent connections made room');

    // Three connections with sessions: a fourth is refused, and none of the three is touched.
    const late = await silent(srv.port);
    await until(() => late.closed(), 5000, 'a connection past the limit is closed');
    assert.ok(srv.logs.some((l) => /refused: 3 connections with sessions \(max connections\)/.test(l)));
    for (const c of clients) assert.equal((await c.request(Command.ECHO, encodeEchoRequest())).hdr.status, 0, 'the clients with sessions still work');
    assert.equal(srv.server.connections.size, 3);
  } finally {
    for (const s of socks) s.sock.destroy();
    for (const c of clients) c.destroy();
    await srv.stop();
  }
});
