/**
 * A client that asks for 8 MiB READs and does not read the answers. Before
 * this was bounded, the server kept every answer queued (on Node's net
 * transport 8 MiB of memory each, on io_uring a pipe pair and its file
 * pages each): 360 such READs took a server to 3 GB of memory, or 720 pipe
 * fds. Now, past 64 MiB of responses the client has not taken, the server
 * reads no further request from that connection until the queue is down to
 * 16 MiB; the requests it had read still get their answers. Runs on
 * whichever transport the machine gives (CI's fallback run repeats it on
 * Node's net).
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
import { readRequest } from './signed-client.js';
import { encodeEchoRequest } from '../../src/smb2/commands/echo.js';

const MiB = 1 << 20;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

test('a client that does not read its 8 MiB READ answers: the server stops reading its requests past 64 MiB queued, answers every request it read once the client reads again, and holds nothing after', { timeout: 60_000 }, async () => {
  const fdsBefore = openFds();
  const srv = await startServer({ signing: 'enabled' });
  try {
    const content = randomBytes(64 * MiB);
    writeFileSync(join(srv.dir, 'big.bin'), content);
    const c = await TestClient.connect(srv.port, USER, PASSWORD, 'share');
    const raw = c as unknown as { sock: Socket; nextId: bigint; waiters: Map<bigint, { resolve: (r: { hdr: { status: number; credits: number }; msg: Buffer }) => void; interim: unknown[] }> };
    const f = await c.create('big.bin');
    assert.equal(f.status, 0);
    const fileId = f.res!.fileId;
    // Every credit the server will give (the window is 8192), so that 40 READs of charge 128 fit.
    const eid = raw.nextId++;
    const echo = new Promise<{ hdr: { credits: number } }>((resolve) => raw.waiters.set(eid, { resolve, interim: [] }));
    raw.sock.write(framed([requestHeader({ command: Command.ECHO, messageId: eid, sessionId: c.sessionId, treeId: c.treeId, charge: 1, credits: 8191 }), encodeEchoRequest()]));
    assert.ok((await echo).hdr.credits > 40 * 128, 'credits for 40 READs of 8 MiB');

    const conn = [...srv.server.connections.values()][0]!;
    const answers: Promise<{ hdr: { status: number }; msg: Buffer }>[] = [];
    const offsets: number[] = [];
    const reads = (n: number): void => {
      for (let i = 0; i < n; i++) {
        const id = raw.nextId;
        raw.nextId += 128n;
        const offset = ((answers.length * 7) % 56) * MiB;
        offsets.push(offset);
        answers.push(new Promise((resolve) => raw.waiters.set(id, { resolve, interim: [] })));
        raw.sock.write(framed([requestHeader({ command: Command.READ, messageId: id, sessionId: c.sessionId, treeId: c.treeId, charge: 128, credits: 128 }), readRequest(fileId, 8 * MiB, BigInt(offset))]));
      }
    };
    const settle = async (): Promise<number> => {
      // Until what is queued for the client stops moving.
      let last = -1;
      for (let i = 0; i < 100; i++) {
        await new Promise((r) => setTimeout(r, 50));
        const now = conn.transport.pendingBytes;
        if (now === last) return now;
        last = now;
      }
      return last;
    };

    raw.sock.pause();
    const fdsQuiet = openFds().length;
    reads(20); // 160 MiB asked for, none of it read by the client
    const first = await settle();
    assert.ok(first > 64 * MiB, `the first READs were answered into the queue (${first} bytes)`);
    // Only up to the backlog: the READs the server had already received (all 20 come in one
    // burst) wait behind it too, instead of each being answered into the queue.
    // (Each answer also carries 84 bytes of frame, header and READ response: nine answers are
    // 72 MiB + 756 bytes, as Node's net transport queued them once in CI.)
    assert.ok(first <= 64 * MiB + 8 * MiB + 9 * 84, `no more than the backlog and one READ queued (${first} bytes)`);
    // On io_uring a queued answer holds the open's own fd (no dup), and only the first few
    // hold a filled pipe (two fds): not three fds for each, nor one.
    const grown = openFds().length - fdsQuiet;
    assert.ok(grown <= 12, `${grown} fds more for 20 queued 8 MiB answers`);
    assert.ok(srv.logs.some((l) => /not taken by the client, \d+ being read for it; its requests wait/.test(l)), 'a log line says why');
    reads(20); // 160 MiB more: the server must not read these while the client does not read
    const second = await settle();
    assert.equal(second, first, 'no request was read while the client left its answers queued');

    raw.sock.resume();
    const got = await Promise.all(answers);
    for (let i = 0; i < got.length; i++) {
      assert.equal(got[i]!.hdr.status, 0, `READ ${i}`);
      const r = decodeReadResponse(got[i]!.msg);
      assert.equal(r.data.length, 8 * MiB, `READ ${i}: 8 MiB`);
      if (i % 9 === 0) assert.equal(sha(r.data), sha(content.subarray(offsets[i]!, offsets[i]! + 8 * MiB)), `READ ${i}: the file's bytes`);
    }
    // The connection is fine afterwards.
    assert.equal(await c.close(fileId), 0);
    assert.equal(conn.transport.pendingBytes, 0, 'nothing left queued');
    c.destroy();
    for (let i = 0; i < 100 && (srv.server.connections.size > 0 || srv.server.dataPool.stats.out > 0); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(srv.server.dataPool.stats.out, 0, 'every pooled buffer back');
  } finally {
    await srv.stop();
  }
  assert.deepEqual(await fdsLeftSince(fdsBefore), [], 'every fd the server had is closed');
});
