/**
 * The server-wide budget of response bytes (src/server/held.ts): several
 * clients that ask for 8 MiB READs and never read the answers. Each was
 * bounded on its own (64 MiB queued, plus one message's READs), so 1024 of
 * them could make the server hold some 70 GiB. Past the budget a
 * connection that holds answers gets no more READs in hand: the server
 * holds about the budget plus one READ per connection, and a client that
 * reads its answers is still served. Runs on whichever transport the
 * machine gives (CI's fallback run repeats it on Node's net).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { startServer, USER, PASSWORD } from '../interop/harness.js';
import { TestClient, framed, requestHeader } from './smb-client.js';
import { openFds, fdsLeftSince } from '../util/fds.js';
import { Command } from '../../src/smb2/constants.js';
import { decodeReadResponse } from '../../src/smb2/commands/read.js';
import type { FileId } from '../../src/smb2/wire.js';
import { readRequest } from './signed-client.js';
import { encodeEchoRequest } from '../../src/smb2/commands/echo.js';
import { defaultHeldBudget, HELD_SHARE } from '../../src/server/held.js';

const MiB = 1 << 20;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

type Waiters = Map<bigint, { resolve: (r: { hdr: { status: number; credits: number }; msg: Buffer }) => void; interim: unknown[] }>;
interface Raw { sock: Socket; nextId: bigint; waiters: Waiters }

/** A client with the whole credit window (8192), and the file open. */
async function reader(port: number): Promise<{ c: TestClient; raw: Raw; fileId: FileId }> {
  const c = await TestClient.connect(port, USER, PASSWORD, 'share');
  const raw = c as unknown as Raw;
  const f = await c.create('big.bin');
  assert.equal(f.status, 0);
  const eid = raw.nextId++;
  const echo = new Promise<{ hdr: { credits: number } }>((resolve) => raw.waiters.set(eid, { resolve, interim: [] }));
  raw.sock.write(framed([requestHeader({ command: Command.ECHO, messageId: eid, sessionId: c.sessionId, treeId: c.treeId, charge: 1, credits: 8191 }), encodeEchoRequest()]));
  assert.ok((await echo).hdr.credits > 10 * 128, 'credits for 10 READs of 8 MiB');
  return { c, raw, fileId: f.res!.fileId };
}

function read(c: TestClient, raw: Raw, fileId: FileId, offset: number): Promise<{ hdr: { status: number }; msg: Buffer }> {
  const id = raw.nextId;
  raw.nextId += 128n;
  const answer = new Promise<{ hdr: { status: number }; msg: Buffer }>((resolve) => raw.waiters.set(id, { resolve, interim: [] }));
  raw.sock.write(framed([requestHeader({ command: Command.READ, messageId: id, sessionId: c.sessionId, treeId: c.treeId, charge: 128, credits: 128 }), readRequest(fileId, 8 * MiB, BigInt(offset))]));
  return answer;
}

test('the default budget: 1 GiB, an eighth of the memory where that is less, never under 64 MiB', () => {
  assert.equal(defaultHeldBudget(24 * 1024 * MiB), 1024 * MiB);
  assert.equal(defaultHeldBudget(4 * 1024 * MiB), 512 * MiB);
  assert.equal(defaultHeldBudget(256 * MiB), 64 * MiB);
});

test('clients that do not read their 8 MiB READ answers: past the server-wide budget each holds one READ more, a client that reads is served meanwhile, and every answer arrives once they read', { timeout: 90_000 }, async () => {
  const fdsBefore = openFds();
  const budget = 24 * MiB;
  const srv = await startServer({ signing: 'enabled', maxHeldBytes: budget });
  try {
    const content = randomBytes(64 * MiB);
    writeFileSync(join(srv.dir, 'big.bin'), content);
    const bad = 4;
    const perBad = 8; // 64 MiB asked for by each: alone, each would be within its own 64 MiB backlog
    const clients = [];
    for (let i = 0; i < bad; i++) clients.push(await reader(srv.port));
    const answers: { p: Promise<{ hdr: { status: number }; msg: Buffer }>; offset: number }[][] = clients.map(() => []);
    for (const [i, k] of clients.entries()) {
      k.raw.sock.pause();
      for (let j = 0; j < perBad; j++) {
        const offset = ((i * 3 + j * 5) % 56) * MiB;
        answers[i]!.push({ p: read(k.c, k.raw, k.fileId, offset), offset });
      }
    }
    // Until what the server holds stops moving (for 4 samples in a row: a loaded CI machine reads
    // the file slowly) and some READ has had to wait, or 20 s.
    let held = -1;
    let still = 0;
    for (let i = 0; i < 400 && (still < 4 || srv.server.held.waited === 0); i++) {
      await new Promise((r) => setTimeout(r, 50));
      const now = srv.server.held.total();
      still = now === held ? still + 1 : 0;
      held = now;
    }
    // Without the budget: 4 x 64 MiB. With it: the budget, plus one READ (and less than a share) per connection.
    assert.ok(held > budget / 2, `the first answers were held (${held} bytes)`);
    assert.ok(held <= budget + bad * (8 * MiB + HELD_SHARE), `the server holds ${held} bytes, no more than the budget and one READ per client`);
    // The budget acts in one of two places, whichever the requests reach first: a READ taken off
    // the socket waits for room (held.wait), or a connection past its share stops taking requests.
    const heldBack = srv.logs.some((l) => /its requests wait \(the server is over its budget of held bytes\)/.test(l));
    assert.ok(srv.server.held.waited > 0 || heldBack, `READs waited for room, or connections were held back by the budget (held ${held} bytes)`);
    assert.ok(srv.logs.some((l) => /MiB of responses held for clients \(budget 24 MiB/.test(l)), 'a log line says why');

    // Another client that reads its answers is served, byte for byte, while the others hold theirs.
    const good = await reader(srv.port);
    for (let off = 0; off < 64 * MiB; off += 8 * MiB) {
      const r = await read(good.c, good.raw, good.fileId, off);
      assert.equal(r.hdr.status, 0, `good READ at ${off}`);
      assert.equal(sha(decodeReadResponse(r.msg).data), sha(content.subarray(off, off + 8 * MiB)), `good READ at ${off}: the file's bytes`);
    }
    assert.equal(await good.c.close(good.fileId), 0);
    good.c.destroy();

    // The others read again: every answer they asked for arrives, right.
    for (const k of clients) k.raw.sock.resume();
    for (const [i, list] of answers.entries()) {
      for (const [j, a] of list.entries()) {
        const r = await a.p;
        assert.equal(r.hdr.status, 0, `client ${i} READ ${j}`);
        const data = decodeReadResponse(r.msg).data;
        assert.equal(data.length, 8 * MiB);
        if (j % 3 === 0) assert.equal(sha(data), sha(content.subarray(a.offset, a.offset + 8 * MiB)), `client ${i} READ ${j}: the file's bytes`);
      }
    }
    for (const k of clients) {
      assert.equal(await k.c.close(k.fileId), 0);
      k.c.destroy();
    }
    for (let i = 0; i < 100 && (srv.server.connections.size > 0 || srv.server.dataPool.stats.out > 0); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(srv.server.held.total(), 0, 'nothing held after');
    assert.equal(srv.server.dataPool.stats.out, 0, 'every pooled buffer back');
  } finally {
    await srv.stop();
  }
  assert.deepEqual(await fdsLeftSince(fdsBefore), [], 'every fd the server had is closed');
});
