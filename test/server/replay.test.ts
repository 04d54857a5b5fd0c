/**
 * Replayed CREATEs and channel sequences (src/server/replay.ts, MS-SMB2
 * 3.3.5.9.10 and 3.3.5.2.10) over real SMB2 sockets: a CREATE with a DH2Q
 * sent again with SMB2_FLAGS_REPLAY_OPERATION gets the open the first one
 * made, not a second open; while the first one waits for a break the replay
 * is FILE_NOT_AVAILABLE; the same CreateGuid without the flag is
 * DUPLICATE_OBJECTID; a WRITE, SET_INFO or IOCTL on a channel sequence the
 * client has moved past is refused with nothing written; an application
 * instance coming back from another client closes what its earlier instance
 * left open (3.3.5.9.13).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestClient } from './smb-client.js';
import { serverAndClients } from './fixtures/server-and-clients.js';
import { Command, CreateAction, CreateContextName, OplockLevel } from '../../src/smb2/constants.js';
import { NtStatus } from '../../src/smb2/status.js';
import { decodeLease, encodeDH2QRequest, encodeLease, findContext } from '../../src/smb2/commands/create-contexts.js';
import { encodeWriteRequestHead } from '../../src/smb2/commands/write.js';
import { encodeReadRequest, decodeReadResponse } from '../../src/smb2/commands/read.js';
import type { FileId } from '../../src/smb2/wire.js';
import { PendingTable } from '../../src/server/async.js';

const R = 1, H = 2, W = 4;

const env = serverAndClients(5000);
const client = (clientGuid?: Buffer): Promise<TestClient> => env.client(clientGuid);

function dh2q(guid: Buffer) {
  return { name: CreateContextName.DURABLE_HANDLE_REQUEST_V2, data: encodeDH2QRequest({ timeout: 60_000, flags: 0, createGuid: guid }) };
}
function leaseCtx(key: Buffer, state: number) {
  return { name: CreateContextName.REQUEST_LEASE, data: encodeLease({ version: 1, leaseKey: key, leaseState: state, leaseFlags: 0, leaseDuration: 0n, parentLeaseKey: Buffer.alloc(16), epoch: 0 }) };
}
async function replayed<T>(c: TestClient, fn: () => Promise<T>): Promise<T> {
  c.replay = true;
  try {
    return await fn();
  } finally {
    c.replay = false;
  }
}
function writeBody(fileId: FileId, offset: number, data: Buffer): Buffer {
  return Buffer.concat([encodeWriteRequestHead({ offset: BigInt(offset), fileId, channel: 0, remainingBytes: 0, flags: 0 }, data.length), data]);
}
async function read(c: TestClient, fileId: FileId, length: number): Promise<Buffer> {
  const r = await c.request(Command.READ, encodeReadRequest({ padding: 0x50, flags: 0, length, offset: 0n, fileId, minimumCount: 0, channel: 0, remainingBytes: 0, readChannelInfo: Buffer.alloc(0) }));
  assert.equal(r.hdr.status, 0);
  return decodeReadResponse(r.msg).data;
}

describe('replayed CREATE (3.3.5.9.10)', () => {
  test('the replay gets the first open and its answer, breaks nothing, and the open keeps its oplock and share mode', async () => {
    const a = await client();
    const guid = randomBytes(16);
    const r1 = await a.create('r1.txt', { oplock: OplockLevel.BATCH, share: 0, disposition: 2 /* CREATE */, contexts: [dh2q(guid)] });
    assert.equal(r1.status, 0);
    assert.equal(r1.res!.createAction, CreateAction.CREATED);
    const opens = env.srv.server.state.opens.size;
    // Sent again as a replay, even with another share mode and disposition: the same open, no second one.
    const r2 = await replayed(a, () => a.create('r1.txt', { oplock: OplockLevel.BATCH, share: 7, disposition: 2, contexts: [dh2q(guid)] }));
    assert.equal(r2.status, 0);
    assert.deepEqual(r2.res!.fileId, r1.res!.fileId);
    assert.equal(r2.res!.createAction, CreateAction.CREATED);
    assert.equal(r2.res!.oplockLevel, OplockLevel.BATCH);
    assert.equal(r2.res!.creationTime, r1.res!.creationTime);
    assert.ok(findContext(r2.res!.createContexts, CreateContextName.DURABLE_HANDLE_REQUEST_V2), 'DH2Q answered');
    assert.equal(env.srv.server.state.opens.size, opens, 'no second open');
    assert.equal(a.breaks.length, 0);
    // Asking no oplock: answered with none, and no durable context; the open keeps its batch oplock.
    const r3 = await replayed(a, () => a.create('r1.txt', { share: 7, contexts: [dh2q(guid)] }));
    assert.equal(r3.status, 0);
    assert.deepEqual(r3.res!.fileId, r1.res!.fileId);
    assert.equal(r3.res!.oplockLevel, OplockLevel.NONE);
    assert.equal(findContext(r3.res!.createContexts, CreateContextName.DURABLE_HANDLE_REQUEST_V2), undefined);
    const b = await client();
    const r4 = b.create('r1.txt', { oplock: OplockLevel.BATCH, share: 7 });
    const [brk] = await a.waitBreaks(1);
    assert.equal(a.breaks.length, 1, 'the first open still had its batch oplock');
    await a.ack(brk!);
    assert.equal((await r4).status, NtStatus.SHARING_VIOLATION, 'the replay left the share mode as it was');
    assert.equal(await a.close(r1.res!.fileId), 0);
  });

  test('without the replay flag the same CreateGuid is DUPLICATE_OBJECTID; after the handle is used a replay is a new CREATE; after CLOSE the CreateGuid is free', async () => {
    const a = await client();
    const guid = randomBytes(16);
    const r1 = await a.create('r2.txt', { contexts: [dh2q(guid)] });
    assert.equal(r1.status, 0);
    assert.equal((await a.create('r2.txt', { contexts: [dh2q(guid)] })).status, NtStatus.DUPLICATE_OBJECTID);
    // Another client's CreateGuid of the same value is its own.
    const b = await client();
    const rb = await b.create('r2.txt', { contexts: [dh2q(guid)] });
    assert.equal(rb.status, 0);
    assert.notDeepEqual(rb.res!.fileId, r1.res!.fileId);
    // The client names the handle: it had the answer, and a replay now opens anew.
    const w = await a.request(Command.WRITE, writeBody(r1.res!.fileId, 0, Buffer.from('x')));
    assert.equal(w.hdr.status, 0);
    const r2 = await replayed(a, () => a.create('r2.txt', { contexts: [dh2q(guid)] }));
    assert.equal(r2.status, 0);
    assert.notDeepEqual(r2.res!.fileId, r1.res!.fileId);
    assert.equal(r2.res!.createAction, CreateAction.OPENED);
    for (const id of [r1.res!.fileId, r2.res!.fileId]) assert.equal(await a.close(id), 0);
    assert.equal(await b.close(rb.res!.fileId), 0);
    const r3 = await a.create('r2.txt', { contexts: [dh2q(guid)] });
    assert.equal(r3.status, 0, 'a closed open is replayed no more and its CreateGuid is free');
    assert.equal(await a.close(r3.res!.fileId), 0);
    assert.equal(env.srv.server.state.replays.size, 0, 'nothing kept after the opens closed');
  });

  test('a lease open is replayed with its lease key only, and answers the lease as it is now', async () => {
    const a = await client();
    const guid = randomBytes(16);
    const key = randomBytes(16);
    const r1 = await a.create('r3.txt', { oplock: OplockLevel.LEASE, contexts: [leaseCtx(key, R | H), dh2q(guid)] });
    assert.equal(r1.status, 0);
    // Upgraded to RWH by a second open with the same key.
    const up = await a.create('r3.txt', { oplock: OplockLevel.LEASE, contexts: [leaseCtx(key, R | W | H)] });
    assert.equal(up.status, 0);
    const again = await replayed(a, () => a.create('r3.txt', { oplock: OplockLevel.LEASE, contexts: [leaseCtx(key, R), dh2q(guid)] }));
    assert.equal(again.status, 0);
    assert.deepEqual(again.res!.fileId, r1.res!.fileId);
    assert.equal(decodeLease(findContext(again.res!.createContexts, CreateContextName.REQUEST_LEASE)!.data).leaseState, R | W | H);
    const other = await replayed(a, () => a.create('r3.txt', { oplock: OplockLevel.LEASE, contexts: [leaseCtx(randomBytes(16), R | H), dh2q(guid)] }));
    assert.equal(other.status, NtStatus.ACCESS_DENIED, 'another lease key');
    const oplock = await replayed(a, () => a.create('r3.txt', { oplock: OplockLevel.BATCH, contexts: [dh2q(guid)] }));
    assert.equal(oplock.status, NtStatus.ACCESS_DENIED, 'no lease');
    for (const id of [r1.res!.fileId, up.res!.fileId]) assert.equal(await a.close(id), 0);
  });

  test('while the first CREATE waits for a break its replay is FILE_NOT_AVAILABLE; once it is done the replay gets its open', async () => {
    const holder = await client();
    const h = await holder.create('r4.txt', { oplock: OplockLevel.BATCH, share: 7 });
    assert.equal(h.status, 0);
    const b = await client();
    const guid = randomBytes(16);
    const first = b.send(Command.CREATE, b.createBody('r4.txt', { share: 7, contexts: [dh2q(guid)] }));
    const [brk] = await holder.waitBreaks(1);
    await b.waitInterim(first.messageId);
    const early = await replayed(b, () => b.create('r4.txt', { share: 7, contexts: [dh2q(guid)] }));
    assert.equal(early.status, NtStatus.FILE_NOT_AVAILABLE);
    await holder.ack(brk!);
    const done = await first.response;
    assert.equal(done.hdr.status, 0);
    const late = await replayed(b, () => b.create('r4.txt', { share: 7, contexts: [dh2q(guid)] }));
    assert.equal(late.status, 0);
    assert.equal(late.res!.createAction, CreateAction.OPENED);
    const id = late.res!.fileId;
    assert.equal(await b.close(id), 0);
    assert.equal(await holder.close(h.res!.fileId), 0);
  });

  test('a CREATE that fails leaves its CreateGuid free', async () => {
    const a = await client();
    const guid = randomBytes(16);
    const r1 = await a.create('missing/x.txt', { contexts: [dh2q(guid)] });
    assert.equal(r1.status, NtStatus.OBJECT_PATH_NOT_FOUND);
    const r2 = await replayed(a, () => a.create('r5.txt', { contexts: [dh2q(guid)] }));
    assert.equal(r2.status, 0, 'the failed one is not replayed');
    assert.equal(r2.res!.createAction, CreateAction.CREATED);
    assert.equal(await a.close(r2.res!.fileId), 0);
  });
});

describe('channel sequence (3.3.5.2.10)', () => {
  test('a WRITE more than 0x7FFF behind the open is FILE_NOT_AVAILABLE and writes nothing; one ahead moves the open on', async () => {
    const a = await client();
    a.channelSequence = 0;
    const r = await a.create('csn.bin', { disposition: 5 /* OVERWRITE_IF */ });
    assert.equal(r.status, 0);
    const f = r.res!.fileId;
    const write = async (csn: number, byte: number): Promise<number> => {
      a.channelSequence = csn;
      return (await a.request(Command.WRITE, writeBody(f, 0, Buffer.alloc(4, byte)))).hdr.status;
    };
    assert.equal(await write(0x8000, 1), NtStatus.FILE_NOT_AVAILABLE, '0x8000 ahead is behind');
    assert.equal(await write(0xffff, 2), NtStatus.FILE_NOT_AVAILABLE);
    assert.equal(readFileSync(join(env.srv.dir, 'csn.bin')).length, 0, 'nothing written');
    assert.equal(await write(0x7fff, 3), 0);
    assert.equal(await write(0, 4), NtStatus.FILE_NOT_AVAILABLE, 'the client moved on to 0x7fff');
    assert.equal(await write(0x7ffe, 5), NtStatus.FILE_NOT_AVAILABLE);
    assert.ok(readFileSync(join(env.srv.dir, 'csn.bin')).equals(Buffer.alloc(4, 3)));
    // READ is never refused for its sequence.
    a.channelSequence = 0;
    assert.ok((await read(a, f, 4)).equals(Buffer.alloc(4, 3)));
    assert.equal(await write(0x8000, 6), 0, 'wraps around');
    a.channelSequence = 0x8000;
    assert.equal(await a.close(f), 0);
    a.channelSequence = 0;
  });

  test('a replayed WRITE is refused while a request of an older sequence is still running on the open', async () => {
    const a = await client();
    a.channelSequence = 10;
    const r = await a.create('csn-dir', { options: 1 /* DIRECTORY_FILE */, access: 0x001f01ff, disposition: 3 });
    assert.equal(r.status, 0);
    const dir = r.res!.fileId;
    // A CHANGE_NOTIFY stays outstanding under sequence 10.
    const notifyBody = Buffer.alloc(32);
    notifyBody.writeUInt16LE(32, 0);
    notifyBody.writeUInt32LE(0x10000, 4);
    notifyBody.writeBigUInt64LE(dir.persistent, 8);
    notifyBody.writeBigUInt64LE(dir.volatile, 16);
    notifyBody.writeUInt32LE(1 /* FILE_NAME */, 24);
    const pending = a.send(Command.CHANGE_NOTIFY, notifyBody);
    await a.waitInterim(pending.messageId);
    const open = env.srv.server.state.opens.get(dir.volatile)!;
    assert.equal(open.outstanding, 1);
    // A newer sequence: the notify becomes an older ("pre") request.
    a.channelSequence = 11;
    const q = await a.request(Command.FLUSH, flushBody(dir));
    assert.notEqual(q.hdr.status, NtStatus.FILE_NOT_AVAILABLE);
    assert.equal(open.outstandingPre, 1);
    // Until it ends, a replay on this handle may be overtaking its original.
    a.replay = true;
    const setinfo = await a.request(Command.SET_INFO, basicInfoBody(dir));
    a.replay = false;
    assert.equal(setinfo.hdr.status, NtStatus.FILE_NOT_AVAILABLE);
    a.cancel({ asyncId: (await a.waitInterim(pending.messageId)).asyncId });
    assert.equal((await pending.response).hdr.status, NtStatus.CANCELLED);
    assert.equal(open.outstandingPre, 0, 'the notify ended under its old sequence');
    a.replay = true;
    const again = await a.request(Command.SET_INFO, basicInfoBody(dir));
    a.replay = false;
    assert.equal(again.hdr.status, 0);
    assert.equal(await a.close(dir), 0);
    a.channelSequence = 0;
  });
});

describe('application instances (3.3.5.9.13)', () => {
  function appInstance(id: Buffer) {
    const data = Buffer.alloc(20);
    data.writeUInt16LE(20, 0);
    id.copy(data, 4);
    return { name: CreateContextName.APP_INSTANCE_ID, data };
  }

  test('the same AppInstanceId from another client closes the earlier open, durable and batch-oplocked, without a break', async () => {
    const id = randomBytes(16);
    const a = await client();
    const r1 = await a.create('app.txt', { oplock: OplockLevel.BATCH, share: 0, contexts: [dh2q(randomBytes(16)), appInstance(id)] });
    assert.equal(r1.status, 0);
    assert.ok(findContext(r1.res!.createContexts, CreateContextName.DURABLE_HANDLE_REQUEST_V2), 'durable');
    const b = await client();
    const r2 = await b.create('app.txt', { share: 0, contexts: [appInstance(id)] });
    assert.equal(r2.status, 0, 'no sharing violation: the earlier instance is gone');
    assert.equal(a.breaks.length, 0, 'no break was sent');
    assert.equal(env.srv.server.state.opens.get(r1.res!.fileId.volatile), undefined, 'the first open is closed');
    const w = await a.request(Command.WRITE, writeBody(r1.res!.fileId, 0, Buffer.from('x')));
    assert.equal(w.hdr.status, NtStatus.FILE_CLOSED);
    assert.ok(env.srv.logs.some((l) => /earlier instance of the application/.test(l)), 'a log line says why');
    // Another AppInstanceId, or the same client, closes nothing.
    const c = await client();
    assert.equal((await c.create('app.txt', { share: 0, contexts: [appInstance(randomBytes(16))] })).status, NtStatus.SHARING_VIOLATION);
    const b2 = await b.create('app.txt', { share: 0, contexts: [appInstance(id)] });
    assert.equal(b2.status, NtStatus.SHARING_VIOLATION, 'the same client keeps its open');
    assert.equal(await b.close(r2.res!.fileId), 0);
  });
});

describe('requests outliving their connection (async.ts connectionGone)', () => {
  test('a replayable request stays when its session lives on; every other one is cancelled', () => {
    const t = new PendingTable();
    const cancelled: string[] = [];
    const keep = t.register(1n, 7n);
    keep.outlivesChannel = true;
    keep.onCancel = () => cancelled.push('keep');
    const orphan = t.register(2n, 8n);
    orphan.outlivesChannel = true;
    orphan.onCancel = () => cancelled.push('orphan');
    const plain = t.register(3n, 7n);
    plain.onCancel = () => cancelled.push('plain');
    t.connectionGone((sid) => sid === 7n);
    assert.deepEqual(cancelled.sort(), ['orphan', 'plain']);
    assert.equal(keep.cancelled, false);
    assert.equal(t.get(1n), undefined, 'the one that goes on is forgotten: no CANCEL or LOGOFF can reach it here');
    assert.ok(t.get(2n)?.cancelled && t.get(3n)?.cancelled, 'the others end as cancelled');
  });
});

function flushBody(f: FileId): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt16LE(24, 0);
  b.writeBigUInt64LE(f.persistent, 8);
  b.writeBigUInt64LE(f.volatile, 16);
  return b;
}

/** SET_INFO FileBasicInformation with nothing changed (all times 0, attributes 0). */
function basicInfoBody(f: FileId): Buffer {
  const info = Buffer.alloc(40);
  const b = Buffer.alloc(32 + info.length);
  b.writeUInt16LE(33, 0);
  b.writeUInt8(1, 2); // SMB2_0_INFO_FILE
  b.writeUInt8(4, 3); // FileBasicInformation
  b.writeUInt32LE(info.length, 4);
  b.writeUInt16LE(32 + 64, 8);
  b.writeBigUInt64LE(f.persistent, 16);
  b.writeBigUInt64LE(f.volatile, 24);
  info.copy(b, 32);
  return b;
}
