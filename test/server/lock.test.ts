/**
 * Byte-range locks over the wire (MS-SMB2 3.3.5.14, MS-FSA 2.1.5.7): enforced
 * on READ and WRITE, blocking requests that wait (async) until an unlock or a
 * close lets them through or a CANCEL ends them, stacking, zero-length ranges.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serverWithClient } from './smb-client.js';
import { Command, LockFlags } from '../../src/smb2/constants.js';
import { NtStatus } from '../../src/smb2/status.js';
import { encodeLockRequest } from '../../src/smb2/commands/lock.js';
import { encodeReadRequest } from '../../src/smb2/commands/read.js';
import { encodeWriteRequestHead } from '../../src/smb2/commands/write.js';
import type { FileId } from '../../src/smb2/wire.js';

const SHARED = LockFlags.SHARED_LOCK;
const EXCL = LockFlags.EXCLUSIVE_LOCK;
const NOW = LockFlags.FAIL_IMMEDIATELY;
const UNLOCK = LockFlags.UNLOCK;

const env = serverWithClient();


function lockMsg(fileId: FileId, offset: number, length: number, flags: number) {
  return env.c.send(Command.LOCK, encodeLockRequest({
    lockSequenceNumber: 0, lockSequenceIndex: 0, fileId, locks: [{ offset: BigInt(offset), length: BigInt(length), flags }],
  }));
}
async function lock(fileId: FileId, offset: number, length: number, flags: number): Promise<number> {
  return (await lockMsg(fileId, offset, length, flags).response).hdr.status;
}
async function read(fileId: FileId, offset: number, length: number): Promise<number> {
  const body = encodeReadRequest({ padding: 0x50, flags: 0, length, offset: BigInt(offset), fileId, minimumCount: 0, channel: 0, remainingBytes: 0, readChannelInfo: Buffer.alloc(0) });
  return (await env.c.request(Command.READ, body)).hdr.status;
}
async function write(fileId: FileId, offset: number, data: Buffer): Promise<number> {
  const head = encodeWriteRequestHead({ offset: BigInt(offset), fileId, channel: 0, remainingBytes: 0, flags: 0 }, data.length);
  return (await env.c.request(Command.WRITE, Buffer.concat([head, data]))).hdr.status;
}
async function open(name: string): Promise<FileId> {
  const r = await env.c.create(name, { access: 0x0012019f, share: 7 });
  assert.equal(r.status, 0);
  return r.res!.fileId;
}

describe('byte-range locks', () => {
  test('READ and WRITE honour them: shared stops writes (the holder too), exclusive stops the other handle', async () => {
    writeFileSync(join(env.srv.dir, 'rw.bin'), Buffer.alloc(200));
    const h1 = await open('rw.bin');
    const h2 = await open('rw.bin');
    assert.equal(await lock(h1, 0, 100, SHARED | NOW), 0);
    assert.equal(await write(h1, 10, Buffer.from('x')), NtStatus.FILE_LOCK_CONFLICT);
    assert.equal(await write(h2, 10, Buffer.from('x')), NtStatus.FILE_LOCK_CONFLICT);
    assert.equal(await read(h2, 10, 10), 0);
    assert.equal(await write(h2, 150, Buffer.from('x')), 0, 'outside the range');
    assert.equal(await lock(h1, 0, 100, UNLOCK), 0);
    assert.equal(await lock(h1, 0, 100, EXCL | NOW), 0);
    assert.equal(await write(h1, 10, Buffer.from('x')), 0);
    assert.equal(await read(h2, 10, 10), NtStatus.FILE_LOCK_CONFLICT);
    assert.equal(await read(h2, 10, 0), 0, 'zero bytes of I/O touch no lock');
    assert.equal(await write(h2, 10, Buffer.from('x')), NtStatus.FILE_LOCK_CONFLICT);
    await env.c.close(h1);
    assert.equal(await read(h2, 10, 10), 0, 'the close released the lock');
    await env.c.close(h2);
  });

  test('stacking, zero-length ranges, and LOCK_NOT_GRANTED for a failed lock', async () => {
    writeFileSync(join(env.srv.dir, 'stack.bin'), Buffer.alloc(200));
    const h1 = await open('stack.bin');
    const h2 = await open('stack.bin');
    assert.equal(await lock(h1, 100, 10, EXCL | NOW), 0);
    assert.equal(await lock(h1, 100, 10, EXCL | NOW), NtStatus.LOCK_NOT_GRANTED, 'exclusive conflicts with its own lock');
    assert.equal(await lock(h1, 100, 10, SHARED | NOW), 0, 'a shared lock stacks on its own exclusive one');
    assert.equal(await lock(h2, 100, 10, SHARED | NOW), NtStatus.LOCK_NOT_GRANTED);
    assert.equal(await lock(h2, 102, 0, EXCL | NOW), NtStatus.LOCK_NOT_GRANTED, 'zero length strictly inside a range');
    assert.equal(await lock(h2, 100, 0, EXCL | NOW), 0, 'zero length at the start of a range');
    assert.equal(await lock(h2, 100, 0, UNLOCK), 0);
    // Two locks held: two unlocks, then none left.
    assert.equal(await lock(h1, 100, 10, UNLOCK), 0);
    assert.equal(await lock(h1, 100, 10, UNLOCK), 0);
    assert.equal(await lock(h1, 100, 10, UNLOCK), NtStatus.RANGE_NOT_LOCKED);
    await env.c.close(h1);
    await env.c.close(h2);
  });

  test('a blocking lock goes async and is granted when the holder unlocks; a CANCEL ends another', async () => {
    writeFileSync(join(env.srv.dir, 'wait.bin'), Buffer.alloc(200));
    const h1 = await open('wait.bin');
    const h2 = await open('wait.bin');
    assert.equal(await lock(h1, 0, 10, EXCL | NOW), 0);
    const waiting = lockMsg(h2, 0, 10, EXCL);
    await env.c.waitInterim(waiting.messageId);
    assert.equal(await lock(h1, 0, 10, UNLOCK), 0);
    const r = await waiting.response;
    assert.equal(r.interim[0]?.status, NtStatus.PENDING);
    assert.equal(r.hdr.status, 0, 'granted once unlocked');
    assert.equal(await read(h1, 0, 5), NtStatus.FILE_LOCK_CONFLICT, 'h2 holds it now');
    const cancelled = lockMsg(h1, 0, 10, SHARED);
    const { asyncId } = await env.c.waitInterim(cancelled.messageId);
    env.c.cancel({ asyncId });
    assert.equal((await cancelled.response).hdr.status, NtStatus.CANCELLED);
    // Closing the handle whose lock is waiting: RANGE_NOT_LOCKED, as Windows answers.
    const h3 = await open('wait.bin');
    const orphan = lockMsg(h3, 5, 1, EXCL);
    await env.c.waitInterim(orphan.messageId);
    await env.c.close(h3);
    assert.equal((await orphan.response).hdr.status, NtStatus.RANGE_NOT_LOCKED);
    await env.c.close(h1);
    await env.c.close(h2);
  });

  test('65535 ranges in one LOCK: granted together, each enforced, taken back whole when the last conflicts, unlocked in one request; past the per-file cap INSUFFICIENT_RESOURCES with a log line', async () => {
    writeFileSync(join(env.srv.dir, 'many.bin'), Buffer.alloc(4 * 65535));
    const h1 = await open('many.bin');
    const h2 = await open('many.bin');
    const ranges = (first: number, n: number, flags: number) =>
      Array.from({ length: n }, (_, i) => ({ offset: BigInt((first + i) * 4), length: 2n, flags }));
    const many = async (fileId: FileId, locks: { offset: bigint; length: bigint; flags: number }[]) =>
      (await env.c.request(Command.LOCK, encodeLockRequest({ lockSequenceNumber: 0, lockSequenceIndex: 0, fileId, locks }))).hdr.status;
    // Each range [4i, 4i+2) exclusive: a conflict in the last one gives back the 65534 before it.
    assert.equal(await lock(h2, 4 * 65534, 1, SHARED | NOW), 0);
    assert.equal(await many(h1, ranges(0, 65535, EXCL | NOW)), NtStatus.LOCK_NOT_GRANTED);
    assert.equal(await read(h2, 0, 2), 0, 'nothing of the failed request stayed');
    assert.equal(await read(h2, 4 * 30000, 2), 0);
    assert.equal(await lock(h2, 4 * 65534, 1, UNLOCK), 0);
    assert.equal(await many(h1, ranges(0, 65535, EXCL | NOW)), 0);
    for (const i of [0, 1, 32767, 65534]) {
      assert.equal(await read(h2, 4 * i, 2), NtStatus.FILE_LOCK_CONFLICT, `range ${i} is locked`);
      assert.equal(await read(h2, 4 * i + 2, 2), 0, `the gap after range ${i} is not`);
    }
    assert.equal(await read(h1, 0, 4 * 65535), 0, 'the holder reads across all of them');
    // 65535 + 2 locks on one file is past its cap (65536): refused whole, and said so.
    assert.equal(await many(h2, ranges(0, 2, SHARED | NOW).map((r) => ({ ...r, offset: r.offset + 2n }))), NtStatus.INSUFFICIENT_RESOURCES);
    assert.ok(env.srv.logs.some((l) => /LOCK of 2 ranges refused: 65535 locks on "many.bin" \(at most 65536\)/.test(l)), 'a log line says why');
    assert.equal(await many(h1, ranges(0, 65535, UNLOCK)), 0, 'all unlocked in one request');
    assert.equal(await read(h2, 0, 4 * 65535), 0);
    assert.equal(await many(h1, ranges(0, 1, UNLOCK)), NtStatus.RANGE_NOT_LOCKED, 'none left');
    // Closing a handle drops its locks.
    assert.equal(await many(h1, ranges(0, 65535, SHARED | NOW)), 0);
    assert.equal(await write(h2, 8, Buffer.from('x')), NtStatus.FILE_LOCK_CONFLICT);
    await env.c.close(h1);
    assert.equal(await write(h2, 8, Buffer.from('x')), 0);
    await env.c.close(h2);
  });
});
