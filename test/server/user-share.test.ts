/**
 * Opens and byte-range locks are counted across the server (limits.ts: one
 * fd table and one lock table for every client). One user alone may use all
 * of them, but while another user has a session, one user cannot take the
 * last quarter: before, a user opening files (or locking ranges) in a loop
 * left every other user's CREATE failing with STATUS_TOO_MANY_OPENED_FILES
 * (LOCK with STATUS_INSUFFICIENT_RESOURCES) until it let some go.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer } from '../interop/harness.js';
import { TestClient } from './smb-client.js';
import { NtStatus } from '../../src/smb2/status.js';
import { Command, LockFlags } from '../../src/smb2/constants.js';
import { encodeLockRequest } from '../../src/smb2/commands/lock.js';
import { LOCKS_IN_PROCESS } from '../../src/server/handlers/lock.js';
import type { FileId } from '../../src/smb2/wire.js';

test('one user among others cannot take the last quarter of the server\'s opens; alone, it may take them all', { timeout: 60_000 }, async () => {
  const limit = 40;
  const srv = await startServer({
    users: [{ name: 'alice', password: 'alice-pw' }, { name: 'bob', password: 'bob-pw' }],
    maxOpenFiles: limit,
    signing: 'enabled', // the test client does not sign
  });
  try {
    assert.equal(srv.server.openLimit.limit, limit);
    for (let i = 0; i < 2 * limit; i++) writeFileSync(join(srv.dir, `f${i}`), 'x');
    const alice = await TestClient.connect(srv.port, 'alice', 'alice-pw', 'share');
    const held: FileId[] = [];
    /** Opens files until one is refused: how many went, and the refusal. */
    const openAll = async (c: TestClient, into: FileId[], from: number): Promise<{ n: number; status: number }> => {
      for (let i = 0; ; i++) {
        const r = await c.create(`f${from + i}`);
        if (r.status !== 0) return { n: i, status: r.status };
        into.push(r.res!.fileId);
      }
    };

    // Alone: every open the server allows.
    const a1 = await openAll(alice, held, 0);
    assert.deepEqual(a1, { n: limit, status: NtStatus.TOO_MANY_OPENED_FILES });
    for (const f of held.splice(0, 15)) assert.equal(await alice.close(f), 0);

    // Bob logs on: alice may go up to three quarters, no further.
    const bob = await TestClient.connect(srv.port, 'bob', 'bob-pw', 'share');
    const a2 = await openAll(alice, held, limit);
    assert.deepEqual(a2, { n: (limit * 3) / 4 - 25, status: NtStatus.TOO_MANY_OPENED_FILES });
    assert.ok(srv.logs.some((l) => /\(alice\): open refused, the last quarter of 40 opens is kept for other users/.test(l)), 'a log line says why');

    // Bob gets the quarter kept for others, then the server-wide limit.
    const bobs: FileId[] = [];
    const b = await openAll(bob, bobs, 0);
    assert.deepEqual(b, { n: limit / 4, status: NtStatus.TOO_MANY_OPENED_FILES });

    // Bob leaves: alice alone again may use what he had.
    for (const f of bobs) assert.equal(await bob.close(f), 0);
    bob.destroy();
    for (let i = 0; i < 100 && srv.server.state.sessions.size > 1; i++) await new Promise((r) => setTimeout(r, 20));
    const a3 = await openAll(alice, held, 2 * limit - 10);
    assert.deepEqual(a3, { n: limit / 4, status: NtStatus.TOO_MANY_OPENED_FILES });
    for (const f of held) assert.equal(await alice.close(f), 0);
    assert.equal(srv.server.state.opens.size, 0);
    alice.destroy();
  } finally {
    await srv.stop();
  }
});

test('one user among others cannot take the last quarter of the server\'s byte-range locks; alone, it may', { timeout: 60_000 }, async () => {
  const srv = await startServer({
    users: [{ name: 'alice', password: 'alice-pw' }, { name: 'bob', password: 'bob-pw' }],
    signing: 'enabled', // the test client does not sign
  });
  try {
    const alice = await TestClient.connect(srv.port, 'alice', 'alice-pw', 'share');
    const files: FileId[] = [];
    for (let i = 0; i < 4; i++) {
      writeFileSync(join(srv.dir, `l${i}`), Buffer.alloc(4 * 65535));
      const r = await alice.create(`l${i}`, { access: 0x0012019f, share: 7 });
      assert.equal(r.status, 0);
      files.push(r.res!.fileId);
    }
    const ranges = (first: number, n: number, flags: number) =>
      Array.from({ length: n }, (_, i) => ({ offset: BigInt((first + i) * 4), length: 2n, flags }));
    const lock = async (c: TestClient, fileId: FileId, locks: { offset: bigint; length: bigint; flags: number }[]) =>
      (await c.request(Command.LOCK, encodeLockRequest({ lockSequenceNumber: 0, lockSequenceIndex: 0, fileId, locks }))).hdr.status;
    const EXCL_NOW = LockFlags.EXCLUSIVE_LOCK | LockFlags.FAIL_IMMEDIATELY;
    const quarters = (LOCKS_IN_PROCESS * 3) / 4;

    // Alone: past three quarters of the server's locks.
    for (let i = 0; i < 3; i++) assert.equal(await lock(alice, files[i]!, ranges(0, 65535, EXCL_NOW)), 0);
    const under = quarters - 3 * 65535; // 3
    assert.equal(await lock(alice, files[3]!, ranges(0, under + 1, EXCL_NOW)), 0, 'alone, past three quarters');
    assert.equal(await lock(alice, files[3]!, ranges(0, under + 1, LockFlags.UNLOCK)), 0);

    // Bob logs on: alice up to three quarters, no further.
    const bob = await TestClient.connect(srv.port, 'bob', 'bob-pw', 'share');
    assert.equal(await lock(alice, files[3]!, ranges(0, under + 1, EXCL_NOW)), NtStatus.INSUFFICIENT_RESOURCES);
    assert.ok(srv.logs.some((l) => /\(alice\): LOCK of 4 ranges refused: the last quarter of 262144 locks in the server is kept for other users/.test(l)), 'a log line says why');
    assert.equal(await lock(alice, files[3]!, ranges(0, under, EXCL_NOW)), 0, 'up to three quarters');
    assert.equal(await lock(alice, files[3]!, ranges(under, 1, EXCL_NOW)), NtStatus.INSUFFICIENT_RESOURCES);
    // Bob gets the quarter kept for others.
    const b = await bob.create('l3', { access: 0x0012019f, share: 7 });
    assert.equal(b.status, 0);
    assert.equal(await lock(bob, b.res!.fileId, ranges(1000, 60000, EXCL_NOW)), 0);
    assert.equal(await bob.close(b.res!.fileId), 0);
    for (const f of files) assert.equal(await alice.close(f), 0);
    bob.destroy();
    alice.destroy();
  } finally {
    await srv.stop();
  }
});
