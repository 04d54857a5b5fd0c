/**
 * Big unsigned WRITEs over the io_uring transport, where the data may be
 * spliced socket -> pipe -> file (datapath/write.ts): the right count and
 * bytes when it is, and the right NTSTATUS with nothing written when the
 * request must not reach the file (bad DataOffset, a read-only handle, a
 * byte-range lock), the connection going on each time.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { framed, requestHeader, serverWithClient, TestClient } from './smb-client.js';
import { USER, PASSWORD } from '../interop/harness.js';
import type { Socket } from 'node:net';
import { Command, LockFlags } from '../../src/smb2/constants.js';
import { NtStatus } from '../../src/smb2/status.js';
import { decodeWriteResponse, encodeWriteRequestHead } from '../../src/smb2/commands/write.js';
import { encodeLockRequest } from '../../src/smb2/commands/lock.js';
import type { FileId } from '../../src/smb2/wire.js';
import type { UringTransport } from '../../src/transport/uring.js';
import { uringAvailability } from '../../src/uring/features.js';
import { HEADER_SIZE } from '../../src/smb2/header.js';

const avail = uringAvailability();
const skip = avail.available ? false : `io_uring unavailable: ${avail.reason}`;

const SIZE = 3 * 1024 * 1024 + 77; // well past the transport's 64 KiB staging

describe('big unsigned WRITEs on the io_uring transport', { skip }, () => {
  const env = serverWithClient({ transport: 'uring' });
  const t = (): UringTransport => env.srv.server.transport as UringTransport;

  async function open(name: string, access: number): Promise<FileId> {
    const r = await env.c.create(name, { access, share: 7, disposition: 3 /* OPEN_IF */ });
    assert.equal(r.status, 0);
    return r.res!.fileId;
  }
  function writeBody(fileId: FileId, offset: number, data: Buffer, dataOffset?: number): Buffer {
    const head = encodeWriteRequestHead({ offset: BigInt(offset), fileId, channel: 0, remainingBytes: 0, flags: 0 }, data.length);
    if (dataOffset !== undefined) head.writeUInt16LE(dataOffset, 2);
    return Buffer.concat([head, data]);
  }

  test('the data lands byte for byte at its offset, mostly by splice, and the count is the whole', async () => {
    const f = await open('big.bin', 0x0012019f);
    const data = randomBytes(SIZE);
    const before = t().stats.spliceInBytes;
    const r = await env.c.request(Command.WRITE, writeBody(f, 4096, data));
    assert.equal(r.hdr.status, 0);
    assert.equal(decodeWriteResponse(r.msg).count, SIZE);
    assert.ok(t().stats.spliceInBytes - before > SIZE / 2, 'spliced');
    const got = readFileSync(join(env.srv.dir, 'big.bin'));
    assert.equal(got.length, 4096 + SIZE);
    assert.ok(got.subarray(4096).equals(data));
    assert.equal(await env.c.close(f), 0);
  });

  test('bad DataOffset, a read-only handle, a locked range: the right status, nothing written, the connection goes on', async () => {
    writeFileSync(join(env.srv.dir, 'guard.bin'), '');
    const rw = await open('guard.bin', 0x0012019f);
    const ro = await open('guard.bin', 0x00120089);
    const data = randomBytes(SIZE);
    const before = t().stats.spliceInBytes;
    // DataOffset inside the fixed part: malformed.
    let r = await env.c.request(Command.WRITE, writeBody(rw, 0, data, HEADER_SIZE + 16));
    assert.equal(r.hdr.status, NtStatus.INVALID_PARAMETER);
    // A handle without write access.
    r = await env.c.request(Command.WRITE, writeBody(ro, 0, data));
    assert.equal(r.hdr.status, NtStatus.ACCESS_DENIED);
    // Another handle's exclusive lock over the range.
    const lk = await env.c.request(Command.LOCK, encodeLockRequest({
      lockSequenceNumber: 0, lockSequenceIndex: 0, fileId: ro, locks: [{ offset: 100n, length: 10n, flags: LockFlags.EXCLUSIVE_LOCK | LockFlags.FAIL_IMMEDIATELY }],
    }));
    assert.equal(lk.hdr.status, 0);
    r = await env.c.request(Command.WRITE, writeBody(rw, 0, data));
    assert.equal(r.hdr.status, NtStatus.FILE_LOCK_CONFLICT);
    assert.equal(t().stats.spliceInBytes, before, 'none of them was spliced');
    assert.equal(statSync(join(env.srv.dir, 'guard.bin')).size, 0, 'nothing reached the file');
    // The connection is fine: a small write after the lock's range works.
    r = await env.c.request(Command.WRITE, writeBody(rw, 200, Buffer.from('ok')));
    assert.equal(r.hdr.status, 0);
    assert.equal(await env.c.close(ro), 0);
    assert.equal(await env.c.close(rw), 0);
  });

  test('a big WRITE on a channel sequence the open has moved past: FILE_NOT_AVAILABLE, not spliced, nothing written (3.3.5.2.10)', async () => {
    writeFileSync(join(env.srv.dir, 'stale.bin'), '');
    const f = await open('stale.bin', 0x0012019f);
    const data = randomBytes(SIZE);
    const before = t().stats.spliceInBytes;
    env.c.channelSequence = 0x8000;
    try {
      const r = await env.c.request(Command.WRITE, writeBody(f, 0, data));
      assert.equal(r.hdr.status, NtStatus.FILE_NOT_AVAILABLE);
    } finally {
      env.c.channelSequence = 0;
    }
    assert.equal(t().stats.spliceInBytes, before, 'not spliced');
    assert.equal(statSync(join(env.srv.dir, 'stale.bin')).size, 0, 'nothing reached the file');
    const ok = await env.c.request(Command.WRITE, writeBody(f, 0, data));
    assert.equal(ok.hdr.status, 0, 'the current sequence writes');
    assert.ok(readFileSync(join(env.srv.dir, 'stale.bin')).equals(data));
    assert.equal(await env.c.close(f), 0);
  });

  // Last: it ends the suite's connection.
  test('a big WRITE whose header is malformed (StructureSize 127): a clean disconnect with a log line, nothing written, no handler throws, the server goes on', async () => {
    writeFileSync(join(env.srv.dir, 'bad.bin'), '');
    const f = await open('bad.bin', 0x0012019f);
    const body = writeBody(f, 0, randomBytes(SIZE));
    const head = requestHeader({ command: Command.WRITE, messageId: 1000n, sessionId: env.c.sessionId, treeId: env.c.treeId, charge: Math.ceil(body.length / 65536), credits: 1 });
    head.writeUInt16LE(127, 4);
    const sock = (env.c as unknown as { sock: Socket }).sock;
    const gone = new Promise<void>((r) => sock.once('close', () => r()));
    sock.write(framed([head, body]));
    await gone;
    assert.ok(env.srv.logs.some((l) => /malformed SMB2 header/.test(l)), 'a log line says why');
    assert.deepEqual(env.srv.logs.filter((l) => /threw|internal error/.test(l)), [], 'no handler threw');
    assert.equal(statSync(join(env.srv.dir, 'bad.bin')).size, 0, 'nothing reached the file');
    const c2 = await TestClient.connect(env.srv.port, USER, PASSWORD, 'share');
    const r = await c2.create('bad.bin');
    assert.equal(r.status, 0, 'a new client is served');
    c2.destroy();
  });
});

