/**
 * Malformed requests against a live server, many of them: valid requests of
 * every command (with real session, tree and file ids) mutated by a seeded
 * generator (flipped bytes, boundary values over length and offset fields,
 * truncation, trailing garbage, header fields, compounds, paths that climb
 * out of the share), sent by three clients at once on authenticated
 * connections; then mutated handshakes (NEGOTIATE and both SESSION_SETUP
 * legs) before authentication; and a compound dropped part-way.
 *
 * Each must get a response or a clean disconnect. Afterwards: no handler
 * threw (an "internal error" in the log), nothing was rejected unhandled or
 * thrown uncaught in this process (which is the server's), nothing was made
 * outside the share, a new client still works, and once the server is
 * closed every fd it had is closed and every pooled buffer is back.
 *
 * RINGSMB_FUZZ_SEED picks the seed (default 1, so that CI is repeatable;
 * "random" for a new one, printed in the test name); RINGSMB_FUZZ_COUNT the
 * number of requests (default 5000); RINGSMB_FUZZ_DEBUG=1 prints why
 * connections were dropped and which requests were left pending.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Socket } from 'node:net';
import { TestClient, dialFramed, framed, requestHeader } from './smb-client.js';
import { startServer, USER, PASSWORD } from '../interop/harness.js';
import { HEADER_SIZE } from '../../src/smb2/header.js';
import { Command } from '../../src/smb2/constants.js';
import { encodeReadRequest } from '../../src/smb2/commands/read.js';
import { encodeEchoRequest } from '../../src/smb2/commands/echo.js';
import { encodeLogoffRequest } from '../../src/smb2/commands/logoff.js';
import { encodeNegotiateRequest } from '../../src/smb2/commands/negotiate.js';
import { decodeSessionSetupResponse, encodeSessionSetupRequest } from '../../src/smb2/commands/session-setup.js';
import { createClientAuth } from '../../src/auth/authenticator.js';
import { NtStatus } from '../../src/smb2/status.js';
import type { FileId } from '../../src/smb2/wire.js';
import { fuzzSeed, generator } from '../util/fuzz.js';
import { batchMaker, fuzzServer } from './fuzz-requests.js';

const SEED = fuzzSeed();
const COUNT = Number(process.env.RINGSMB_FUZZ_COUNT ?? 5000);
const WORKERS = Number(process.env.RINGSMB_FUZZ_WORKERS ?? 3);

test(`fuzz: ${COUNT} mutated requests of every command from ${WORKERS} clients at once (seed ${SEED}): responses or clean disconnects, no handler throws, nothing leaks or escapes`, { timeout: 180_000 }, (t) => fuzzServer(t, 'enabled', async (srv) => {
  // The share sits in its own temp dir; an escape would land beside it or one above.
  const above = [dirname(srv.dir), dirname(dirname(srv.dir))];
  const escaped = (): string[] => above.flatMap((d) => readdirSync(d).filter((n) => n.includes('fuzzescape')).map((n) => join(d, n)));
  const escapedBefore = escaped();

  let sent = 0;
  let answered = 0;
  let dropped = 0;
  let pending = 0;
  const pendingKinds = new Map<string, number>();
  let connections = 0;
  // Several clients at once, on the same files: breaks, sharing conflicts and closes race as they would.
  const worker = async (w: number): Promise<void> => {
    const { rnd, pick, int, bytes, mutate } = generator(SEED + w * 7919);
    while (sent < COUNT) {
      const c = await TestClient.connect(srv.port, USER, PASSWORD, 'share');
      connections++;
      const raw = c as unknown as { sock: Socket; nextId: bigint; waiters: Map<bigint, { resolve: (r: unknown) => void; interim: unknown[] }> };
      const gone = new Promise<string>((r) => raw.sock.once('close', () => r('dropped')));
      const open = async (name: string, dir = false): Promise<FileId | null> => {
        const r = await c.create(name, { disposition: dir ? 1 : 3, options: dir ? 1 : 0 });
        return r.res?.fileId ?? null;
      };
      const file = (await open('f.bin')) ?? { persistent: 0n, volatile: 0n };
      const dir = (await open('', true)) ?? { persistent: 0n, volatile: 0n };
      const batch = batchMaker({ rnd, pick, int, bytes, mutate }, { sessionId: c.sessionId, treeId: c.treeId, clientGuid: c.clientGuid, file, dir }, (charge) => {
        const id = raw.nextId;
        raw.nextId += BigInt(charge);
        return id;
      });

      // Until this connection is dropped, or 600 requests on it: one request (or a compound) at a time, its response awaited.
      for (let onThis = 0; onThis < 600 && sent < COUNT && !c.closed; ) {
        const { parts: msgs, ids, cmds } = batch();
        const n = ids.length;
        const waits = ids.map((id) => new Promise<boolean>((resolve) => {
          raw.waiters.set(id, { resolve: () => resolve(true), interim: [] });
        }));
        raw.sock.write(framed(msgs));
        sent += n;
        onThis += n;
        // A response (the client reads the first message of a compound response only, so any of the batch's ids),
        // a disconnect, or (a request left pending: CANCEL, CHANGE_NOTIFY, a blocking LOCK) a short wait.
        const outcome = await Promise.race([
          Promise.race(waits).then(() => 'answered'),
          gone,
          new Promise<string>((r) => setTimeout(() => r('pending'), 60)),
        ]);
        for (const id of ids) raw.waiters.delete(id);
        if (outcome === 'answered') answered++;
        if (outcome === 'dropped') dropped++;
        if (outcome === 'pending') {
          pending++;
          if (process.env.RINGSMB_FUZZ_DEBUG) pendingKinds.set(`${n}:${cmds.join(',')}`, (pendingKinds.get(`${n}:${cmds.join(',')}`) ?? 0) + 1);
        }
      }
      c.destroy();
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));

  if (process.env.RINGSMB_FUZZ_DEBUG) {
    const reasons = new Map<string, number>();
    for (const l of srv.logs) {
      const m = /\): (.*?)(; disconnecting|$)/.exec(l.split('\n')[0]!);
      if (m && / (warn|error) /.test(l)) reasons.set(m[1]!, (reasons.get(m[1]!) ?? 0) + 1);
    }
    t.diagnostic(JSON.stringify([...reasons].sort((a, b) => b[1] - a[1])));
  }
  if (pendingKinds.size) t.diagnostic(JSON.stringify([...pendingKinds].sort((a, b) => b[1] - a[1]).slice(0, 30)));
  t.diagnostic(`seed ${SEED}: ${sent} requests in ${connections} connections; batches answered ${answered}, dropped ${dropped}, left pending ${pending}`);
  // A client after all that: the server still serves.
  const after = await TestClient.connect(srv.port, USER, PASSWORD, 'share');
  // A name no fuzzed request touched: f.bin may be READONLY by now, or under a DACL a request set.
  const r = await after.create(`after-fuzz-${SEED}.txt`, { disposition: 2 /* CREATE */ });
  assert.equal(r.status, 0, `seed ${SEED}: a new client makes a file`);
  assert.equal(await after.close(r.res!.fileId), 0);
  after.destroy();
  assert.deepEqual(escaped(), escapedBefore, `seed ${SEED}: nothing made outside the share`);
  assert.ok(answered > COUNT / 10, `seed ${SEED}: most batches got an answer (${answered} answered, ${dropped} dropped, ${connections} connections)`);
  // Once every fuzzing connection is gone (fuzzServer waits for that): the server's tables hold
  // nothing of them but durable opens kept for a reconnect (MS-SMB2 3.3.7.1).
  return () => {
    const st = srv.server.state;
    const kept = new Set([...st.opens.values()].filter((o) => o.durable?.disconnected));
    assert.deepEqual([...st.opens.values()].filter((o) => !kept.has(o)).map((o) => o.path), [], `seed ${SEED}: only disconnected durable opens left`);
    for (const [key, f] of st.files.files) {
      assert.ok(f.opens.size > 0 && [...f.opens].every((o) => kept.has(o)), `seed ${SEED}: file state ${key} belongs to kept opens only (${f.opens.size} opens)`);
    }
    for (const [id, lease] of st.files.leases) {
      assert.ok(lease.opens.size > 0 && [...lease.opens].every((o) => kept.has(o)), `seed ${SEED}: lease ${id} belongs to kept opens only (${lease.opens.size} opens)`);
    }
    t.diagnostic(`seed ${SEED}: left ${kept.size} durable opens, ${st.files.files.size} file states, ${st.files.leases.size} leases (${[...st.files.leases.values()].filter((l) => l.opens.size === 0).length} without opens)`);
  };
}));

const HANDSHAKES = Number(process.env.RINGSMB_FUZZ_HANDSHAKES ?? 400);

test(`fuzz before authentication: ${HANDSHAKES} handshakes, NEGOTIATE (3.1.1 contexts) and both SESSION_SETUP legs (SPNEGO, NTLMSSP) each mutated half the time (seed ${SEED}): answers or clean disconnects, nothing throws, untouched ones succeed`, { timeout: 180_000 }, async (t) => {
  const { rnd, pick, int, bytes, mutate } = generator(SEED ^ 0x5eed);
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => void unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  const srv = await startServer({ signing: 'enabled' });
  const outcomes = new Map<string, number>();
  const count = (k: string): void => void outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
  try {
    for (let i = 0; i < HANDSHAKES; i++) {
      const inbox: Buffer[] = [];
      let wake: (() => void) | null = null;
      let closed = false;
      const sock = await dialFramed(srv.port, (m) => (inbox.push(m), wake?.()), () => ((closed = true), wake?.()));
      /** The next response (a STATUS_PENDING interim skipped), or null on a disconnect or after 500 ms. */
      const next = async (): Promise<Buffer | null> => {
        const until = Date.now() + 500;
        for (;;) {
          const m = inbox.shift();
          if (m && m.length >= HEADER_SIZE && m.readUInt32LE(8) === NtStatus.PENDING) continue;
          if (m) return m;
          if (closed || Date.now() >= until) return null;
          await new Promise<void>((r) => {
            wake = r;
            setTimeout(r, Math.max(1, until - Date.now()));
          });
        }
      };
      let mid = 0n;
      const send = (command: number, body: Buffer, sessionId: bigint): void => {
        sock.write(framed([requestHeader({ command, messageId: mid++, sessionId }), body]));
      };
      const touched: string[] = [];
      const maybe = (what: string, b: Buffer): Buffer => (rnd() < 0.5 ? (touched.push(what), mutate(b)) : b);
      try {
        const dialects = pick([[0x0311], [0x0202, 0x0210, 0x0300, 0x0302, 0x0311], [0x0300, 0x0302], [0x0202]]);
        const neg = encodeNegotiateRequest({
          securityMode: pick([1, 2]), capabilities: 0x7f, clientGuid: bytes(16), dialects,
          negotiateContexts: dialects.includes(0x0311) ? {
            preauthIntegrity: { hashAlgorithms: [1], salt: bytes(32) },
            ...(rnd() < 0.7 ? { encryption: { ciphers: [pick([1, 2, 3, 4]), 1] } } : {}),
            ...(rnd() < 0.5 ? { signing: { signingAlgorithms: [pick([0, 1, 2])] } } : {}),
            ...(rnd() < 0.3 ? { netName: '127.0.0.1' } : {}),
            ...(rnd() < 0.3 ? { transport: { flags: 1 } } : {}),
            ...(rnd() < 0.2 ? { unknown: [{ contextType: 0x99, data: bytes(int(20)) }] } : {}),
          } : undefined,
        });
        send(Command.NEGOTIATE, maybe('negotiate', neg), 0n);
        const n1 = await next();
        if (!n1 || n1.readUInt32LE(8) !== 0) {
          count(n1 ? 'negotiate refused' : 'negotiate dropped');
          continue;
        }
        const wrong = rnd() < 0.1;
        const auth = createClientAuth({ user: USER, password: wrong ? 'not-it' : PASSWORD, domain: '' });
        const setup = (token: Buffer, sessionId: bigint): void =>
          send(Command.SESSION_SETUP, encodeSessionSetupRequest({ flags: 0, securityMode: 1, capabilities: 0, channel: 0, previousSessionId: 0n, securityBuffer: token }), sessionId);
        setup(maybe('spnego negotiate', auth.step(null).token), 0n);
        const s1 = await next();
        if (!s1 || s1.readUInt32LE(8) !== NtStatus.MORE_PROCESSING_REQUIRED) {
          count(s1 ? 'first leg refused' : 'first leg dropped');
          assert.ok(touched.length > 0, `seed ${SEED}: handshake ${i}, nothing mutated, yet the first leg got ${s1 ? `0x${s1.readUInt32LE(8).toString(16)}` : 'no answer'}`);
          continue;
        }
        let second: Buffer;
        try {
          second = auth.step(decodeSessionSetupResponse(s1).securityBuffer).token;
        } catch {
          count('challenge unusable'); // a mutated first leg can make the server's answer one our client refuses
          continue;
        }
        setup(maybe('authenticate', second), s1.readBigUInt64LE(40));
        const s2 = await next();
        const st = s2 ? s2.readUInt32LE(8) : -1;
        count(!s2 ? 'second leg dropped' : st === 0 ? 'authenticated' : `second leg 0x${st.toString(16)}`);
        if (!touched.length && !wrong) assert.equal(st, 0, `seed ${SEED}: handshake ${i}, nothing mutated: authenticated`);
        if (wrong) assert.notEqual(st, 0, `seed ${SEED}: handshake ${i}: a wrong password never authenticates`);
      } finally {
        sock.destroy();
      }
    }
    t.diagnostic(`seed ${SEED}: ${JSON.stringify([...outcomes].sort((a, b) => b[1] - a[1]))}`);
    assert.ok((outcomes.get('authenticated') ?? 0) > HANDSHAKES / 10, 'a fair share of handshakes got through');
    const internal = srv.logs.filter((l) => /internal error|threw|^\S+ error /.test(l));
    assert.deepEqual(internal, [], `seed ${SEED}: no handler threw on bad input`);
    assert.deepEqual(unhandled, [], `seed ${SEED}: nothing unhandled or uncaught`);
    // Every handshake's connection went away; its half-made sessions with it.
    for (let i = 0; i < 100 && (srv.server.connections.size > 0 || srv.server.state.sessions.size > 0); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(srv.server.connections.size, 0, 'no connection left');
    assert.equal(srv.server.state.sessions.size, 0, 'no session left');
  } finally {
    await srv.stop();
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
  }
});

test('a compound dropped part-way (its second header malformed): the pooled buffer its first request (a READ) took comes back', async () => {
  const srv = await startServer({ signing: 'enabled' });
  try {
    writeFileSync(join(srv.dir, 'r.bin'), Buffer.alloc(100_000, 7));
    const c = await TestClient.connect(srv.port, USER, PASSWORD, 'share');
    const f = await c.create('r.bin');
    assert.equal(f.status, 0);
    const raw = c as unknown as { sock: Socket; nextId: bigint };
    const read = encodeReadRequest({ padding: 0x50, flags: 0, length: 65536, offset: 0n, fileId: f.res!.fileId, minimumCount: 0, channel: 0, remainingBytes: 0, readChannelInfo: Buffer.alloc(0) });
    const msg = (command: number, body: Buffer): Buffer =>
      Buffer.concat([requestHeader({ command, messageId: raw.nextId++, sessionId: c.sessionId, treeId: c.treeId }), body]);
    const first = msg(Command.READ, read);
    const padded = Buffer.concat([first, Buffer.alloc(((first.length + 7) & ~7) - first.length)]);
    padded.writeUInt32LE(padded.length, 20); // NextCommand
    const second = msg(Command.ECHO, encodeEchoRequest());
    second.writeUInt16LE(65, 4); // StructureSize
    const gone = new Promise<void>((r) => raw.sock.once('close', () => r()));
    const madeBefore = srv.server.dataPool.stats.made + srv.server.dataPool.stats.spares;
    raw.sock.write(framed([padded, second]));
    await gone;
    assert.ok(srv.logs.some((l) => /malformed SMB2 header/.test(l)), 'dropped, with a log line');
    assert.ok(srv.server.dataPool.stats.made + srv.server.dataPool.stats.spares > madeBefore, 'the READ took a pooled buffer (the first of this server)');
    for (let i = 0; i < 50 && srv.server.dataPool.stats.out > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(srv.server.dataPool.stats.out, 0, 'and gave it back');
  } finally {
    await srv.stop();
  }
});

for (const how of ['LOGOFF', 'a dropped connection'] as const) {
  test(`a CREATE still opening its file when ${how} tears its tree down: it fails, and no open is left behind (found by the fuzz test, seed 205 with io_uring off)`, async () => {
    const srv = await startServer({ signing: 'enabled' });
    try {
      writeFileSync(join(srv.dir, 'slow.bin'), 'x');
      const c = await TestClient.connect(srv.port, USER, PASSWORD, 'share');
      // The share's open waits for a gate: the CREATE is inside the file system when the tree goes.
      const root = (srv.server as unknown as { shares: Map<string, { root: { open: (...a: unknown[]) => Promise<unknown> } }> }).shares.get('share')!.root;
      const realOpen = root.open.bind(root);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let entered!: () => void;
      const inside = new Promise<void>((r) => (entered = r));
      root.open = async (...a: unknown[]) => {
        entered();
        await gate;
        return realOpen(...a);
      };
      const create = c.send(Command.CREATE, c.createBody('slow.bin')).response;
      await inside;
      if (how === 'LOGOFF') {
        const r = await c.request(Command.LOGOFF, encodeLogoffRequest());
        assert.equal(r.hdr.status, 0);
      } else {
        c.destroy();
        for (let i = 0; i < 100 && srv.server.connections.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
      }
      root.open = realOpen;
      release();
      if (how === 'LOGOFF') assert.equal((await create).hdr.status, NtStatus.NETWORK_NAME_DELETED);
      for (let i = 0; i < 100 && srv.server.state.opens.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(srv.server.state.opens.size, 0, 'no open left behind');
      assert.equal(srv.server.state.files.files.size, 0, 'no file state either');
      if (how === 'LOGOFF') c.destroy();
    } finally {
      await srv.stop();
    }
  });
}
