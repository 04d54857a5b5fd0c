/**
 * Oplocks, leases, durable handles and async CREATE over real SMB2 sockets:
 * grant, break notification + acknowledgment, STATUS_PENDING + CANCEL,
 * break timeout, durable reconnect after a TCP drop, and that nothing is left
 * behind in the server's file and lease tables.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestClient } from './smb-client.js';
import { startServer } from '../interop/harness.js';
import { serverAndClients } from './fixtures/server-and-clients.js';
import { Command, CreateContextName, OplockLevel } from '../../src/smb2/constants.js';
import { NtStatus } from '../../src/smb2/status.js';
import { decodeLease, encodeDH2QRequest, encodeLease, findContext } from '../../src/smb2/commands/create-contexts.js';
import type { LeaseBreakNotification, OplockBreak } from '../../src/smb2/commands/oplock-break.js';
import { encodeWriteRequestHead } from '../../src/smb2/commands/write.js';
import { encodeLockRequest } from '../../src/smb2/commands/lock.js';
import { LockFlags } from '../../src/smb2/constants.js';
import type { FileId } from '../../src/smb2/wire.js';
import { encodeSetInfoRequest } from '../../src/smb2/commands/set-info.js';
import { encodeFileRenameInformation } from '../../src/smb2/fscc/index.js';

const R = 1, H = 2, W = 4;
const NO_SHARE = 0;

const env = serverAndClients(400);
const client = (clientGuid?: Buffer): Promise<TestClient> => env.client(clientGuid);

function leaseCtx(key: Buffer, state: number, v2 = false) {
  return { name: CreateContextName.REQUEST_LEASE, data: encodeLease({ version: v2 ? 2 : 1, leaseKey: key, leaseState: state, leaseFlags: 0, leaseDuration: 0n, parentLeaseKey: Buffer.alloc(16), epoch: 0 }) };
}

function leaseOf(res: { createContexts: { name: string; data: Buffer }[] }) {
  const c = findContext(res.createContexts, CreateContextName.REQUEST_LEASE);
  assert.ok(c, 'lease response context');
  return decodeLease(c.data);
}

async function settle(): Promise<void> {
  for (let i = 0; i < 50 && env.srv.server.state.opens.size > 0; i++) await new Promise((r) => setTimeout(r, 20));
}

describe('oplocks', () => {
  test('batch granted alone; a second open breaks it to LEVEL_II after the ack, pending meanwhile', async () => {
    const a = await client();
    const b = await client();
    const r1 = await a.create('ob1.txt', { oplock: OplockLevel.BATCH });
    assert.equal(r1.status, 0);
    assert.equal(r1.res!.oplockLevel, OplockLevel.BATCH);
    const second = b.create('ob1.txt', { oplock: OplockLevel.BATCH });
    const [brk] = (await a.waitBreaks(1)) as OplockBreak[];
    assert.equal(brk!.kind, 'oplock');
    assert.equal(brk!.oplockLevel, OplockLevel.II);
    assert.equal(brk!.fileId.volatile, r1.res!.fileId.volatile);
    const ack = await a.ack({ kind: 'oplock', oplockLevel: OplockLevel.II, fileId: r1.res!.fileId });
    assert.equal(ack.hdr.status, 0);
    const r2 = await second;
    assert.equal(r2.status, 0);
    assert.equal(r2.interim, 1, 'an interim STATUS_PENDING came first');
    assert.equal(r2.res!.oplockLevel, OplockLevel.II);
    // An acknowledgment with no break in progress.
    const again = await a.ack({ kind: 'oplock', oplockLevel: OplockLevel.NONE, fileId: r1.res!.fileId });
    assert.equal(again.hdr.status, NtStatus.INVALID_OPLOCK_PROTOCOL);
    assert.equal(await a.close(r1.res!.fileId), 0);
    assert.equal(await b.close(r2.res!.fileId), 0);
  });

  test('a WRITE breaks every LEVEL_II oplock to none, the writer\'s own too, at once; so does a LOCK; a stat open\'s LEVEL_II keeps a later open from BATCH', async () => {
    const a = await client();
    const b = await client();
    const c = await client();
    const share = 7;
    // A stat open (attributes only) with BATCH, broken to LEVEL_II by a normal open.
    const r1 = await a.create('ob5.txt', { oplock: OplockLevel.BATCH, access: 0x00100180, share });
    assert.equal(r1.res!.oplockLevel, OplockLevel.BATCH);
    const second = b.create('ob5.txt', { share });
    const [brk] = (await a.waitBreaks(1)) as OplockBreak[];
    assert.equal(brk!.oplockLevel, OplockLevel.II);
    assert.equal((await a.ack({ kind: 'oplock', oplockLevel: OplockLevel.II, fileId: r1.res!.fileId })).hdr.status, 0);
    const r2 = await second;
    assert.equal(r2.status, 0);
    // Beside that LEVEL_II, a BATCH request gets LEVEL_II (it got BATCH before).
    const r3 = await c.create('ob5.txt', { oplock: OplockLevel.BATCH, share });
    assert.equal(r3.res!.oplockLevel, OplockLevel.II);
    const write = (cl: TestClient, fileId: FileId) =>
      cl.request(Command.WRITE, Buffer.concat([encodeWriteRequestHead({ offset: 0n, fileId, channel: 0, remainingBytes: 0, flags: 0 }, 1), Buffer.from('x')]));
    // c writes: a's LEVEL_II and c's own break to none; the WRITE does not wait for anyone.
    const t0 = Date.now();
    assert.equal((await write(c, r3.res!.fileId)).hdr.status, 0);
    assert.ok(Date.now() - t0 < 300, 'the WRITE went on at once');
    const [toNone] = (await a.waitBreaks(2)).slice(1) as OplockBreak[];
    assert.equal(toNone!.oplockLevel, OplockLevel.NONE);
    assert.equal(toNone!.fileId.volatile, r1.res!.fileId.volatile);
    const [self] = (await c.waitBreaks(1)) as OplockBreak[];
    assert.equal(self!.oplockLevel, OplockLevel.NONE);
    assert.equal(self!.fileId.volatile, r3.res!.fileId.volatile);
    // An acknowledgment of a break to none is a protocol error (smb2.oplock levelii500).
    assert.equal((await c.ack({ kind: 'oplock', oplockLevel: OplockLevel.NONE, fileId: r3.res!.fileId })).hdr.status, NtStatus.INVALID_OPLOCK_PROTOCOL);
    // A LOCK breaks LEVEL_II likewise.
    const r4 = await c.create('ob5.txt', { oplock: OplockLevel.II, share });
    assert.equal(r4.res!.oplockLevel, OplockLevel.II);
    const lock = await b.request(Command.LOCK, encodeLockRequest({
      lockSequenceNumber: 0, lockSequenceIndex: 0, fileId: r2.res!.fileId,
      locks: [{ offset: 0n, length: 1n, flags: LockFlags.EXCLUSIVE_LOCK | LockFlags.FAIL_IMMEDIATELY }],
    }));
    assert.equal(lock.hdr.status, 0);
    const [byLock] = (await c.waitBreaks(2)).slice(1) as OplockBreak[];
    assert.equal(byLock!.oplockLevel, OplockLevel.NONE);
    assert.equal(byLock!.fileId.volatile, r4.res!.fileId.volatile);
    for (const [cl, r] of [[a, r1], [b, r2], [c, r3], [c, r4]] as const) assert.equal(await cl.close(r.res!.fileId), 0);
  });

  test('an unacknowledged break times out and the CREATE goes on', async () => {
    const a = await client();
    const b = await client();
    const r1 = await a.create('ob2.txt', { oplock: OplockLevel.EXCLUSIVE });
    assert.equal(r1.res!.oplockLevel, OplockLevel.EXCLUSIVE);
    const t0 = Date.now();
    const r2 = await b.create('ob2.txt', {});
    assert.equal(r2.status, 0);
    assert.ok(Date.now() - t0 >= 350, 'waited for the break timeout');
    assert.equal(a.breaks.length, 1);
    await a.close(r1.res!.fileId);
    await b.close(r2.res!.fileId);
  });

  test('CANCEL by AsyncId ends a CREATE waiting for a break with STATUS_CANCELLED', async () => {
    const a = await client();
    const b = await client();
    const r1 = await a.create('ob3.txt', { oplock: OplockLevel.BATCH });
    const sent = b.send(Command.CREATE, b.createBody('ob3.txt', {}));
    await a.waitBreaks(1);
    // Wait for the interim response to learn the AsyncId.
    let asyncId = 0n;
    for (let i = 0; i < 100 && !asyncId; i++) {
      await new Promise((r) => setTimeout(r, 5));
      asyncId = (b as unknown as { waiters: Map<bigint, { interim: { asyncId: bigint }[] }> }).waiters.get(sent.messageId)?.interim[0]?.asyncId ?? 0n;
    }
    assert.ok(asyncId > 0n, 'interim response carried an AsyncId');
    b.cancel({ asyncId });
    const res = await sent.response;
    assert.equal(res.hdr.status, NtStatus.CANCELLED);
    assert.equal(res.hdr.asyncId, asyncId, 'the final response is async too');
    await a.close(r1.res!.fileId);
  });

  test('CANCEL by MessageId works as well', async () => {
    const a = await client();
    const b = await client();
    const r1 = await a.create('ob4.txt', { oplock: OplockLevel.BATCH });
    const sent = b.send(Command.CREATE, b.createBody('ob4.txt', {}));
    await a.waitBreaks(1);
    b.cancel({ messageId: sent.messageId });
    assert.equal((await sent.response).hdr.status, NtStatus.CANCELLED);
    await a.close(r1.res!.fileId);
  });
});

describe('leases', () => {
  test('RWH granted; a second client breaks it to RH; ack lets the CREATE finish with RH', async () => {
    const a = await client();
    const b = await client();
    const k1 = Buffer.alloc(16, 1);
    const k2 = Buffer.alloc(16, 2);
    const r1 = await a.create('ls1.txt', { oplock: OplockLevel.LEASE, contexts: [leaseCtx(k1, R | W | H, true)] });
    assert.equal(r1.res!.oplockLevel, OplockLevel.LEASE);
    const l1 = leaseOf(r1.res!);
    assert.equal(l1.leaseState, R | W | H);
    assert.equal(l1.version, 2);
    assert.equal(l1.epoch, 1);
    const second = b.create('ls1.txt', { oplock: OplockLevel.LEASE, contexts: [leaseCtx(k2, R | W | H, true)] });
    const [n] = (await a.waitBreaks(1)) as LeaseBreakNotification[];
    assert.equal(n!.kind, 'leaseNotification');
    assert.ok(n!.leaseKey.equals(k1));
    assert.equal(n!.currentLeaseState, R | W | H);
    assert.equal(n!.newLeaseState, R | H);
    assert.equal(n!.flags & 1, 1, 'ACK_REQUIRED');
    assert.equal(n!.newEpoch, 2);
    // Keeping more than offered is refused.
    const bad = await a.ack({ kind: 'leaseAck', flags: 0, leaseKey: k1, leaseState: R | W | H, leaseDuration: 0n });
    assert.equal(bad.hdr.status, NtStatus.REQUEST_NOT_ACCEPTED);
    const ok = await a.ack({ kind: 'leaseAck', flags: 0, leaseKey: k1, leaseState: R | H, leaseDuration: 0n });
    assert.equal(ok.hdr.status, 0);
    const r2 = await second;
    assert.equal(r2.status, 0);
    assert.equal(leaseOf(r2.res!).leaseState, R | H);
    const unknown = await a.ack({ kind: 'leaseAck', flags: 0, leaseKey: Buffer.alloc(16, 9), leaseState: 0, leaseDuration: 0n });
    assert.equal(unknown.hdr.status, NtStatus.OBJECT_NAME_NOT_FOUND);
    await a.close(r1.res!.fileId);
    await b.close(r2.res!.fileId);
  });

  test('a WRITE breaks the other leases to none (RH too, acknowledged while the WRITE goes on), not the writer\'s own', async () => {
    const a = await client();
    const b = await client();
    const k1 = Buffer.alloc(16, 5);
    const k2 = Buffer.alloc(16, 6);
    const r1 = await a.create('ls5.txt', { oplock: OplockLevel.LEASE, contexts: [leaseCtx(k1, R | H, true)], share: 7 });
    assert.equal(leaseOf(r1.res!).leaseState, R | H);
    const r2 = await b.create('ls5.txt', { oplock: OplockLevel.LEASE, contexts: [leaseCtx(k2, R | H, true)], share: 7 });
    assert.equal(leaseOf(r2.res!).leaseState, R | H);
    const t0 = Date.now();
    const w = await b.request(Command.WRITE, Buffer.concat([encodeWriteRequestHead({ offset: 0n, fileId: r2.res!.fileId, channel: 0, remainingBytes: 0, flags: 0 }, 1), Buffer.from('x')]));
    assert.equal(w.hdr.status, 0);
    assert.ok(Date.now() - t0 < 300, 'the WRITE did not wait for the acknowledgment');
    const [n] = (await a.waitBreaks(1)) as LeaseBreakNotification[];
    assert.ok(n!.leaseKey.equals(k1));
    assert.equal(n!.currentLeaseState, R | H);
    assert.equal(n!.newLeaseState, 0);
    assert.equal(n!.flags & 1, 1, 'ACK_REQUIRED');
    assert.equal((await a.ack({ kind: 'leaseAck', flags: 0, leaseKey: k1, leaseState: 0, leaseDuration: 0n })).hdr.status, 0);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(b.breaks.length, 0, 'the writer\'s own lease is not broken');
    await a.close(r1.res!.fileId);
    await b.close(r2.res!.fileId);
  });

  test('an upgrade the other leases do not allow whole changes nothing; leases and oplocks side by side as on Windows', async () => {
    const a = await client();
    const k1 = Buffer.alloc(16, 7);
    const k2 = Buffer.alloc(16, 8);
    const open = (name: string, key: Buffer, state: number) => a.create(name, { oplock: OplockLevel.LEASE, contexts: [leaseCtx(key, state)], share: 7 });
    const h1 = await open('ls6.txt', k1, R);
    const h2 = await open('ls6.txt', k2, R);
    assert.equal(leaseOf(h2.res!).leaseState, R);
    // R beside another R asking RHW: W cannot be had, so nothing changes (not RH).
    const up1 = await open('ls6.txt', k1, R | H | W);
    assert.equal(leaseOf(up1.res!).leaseState, R);
    const up2 = await open('ls6.txt', k1, R | H);
    assert.equal(leaseOf(up2.res!).leaseState, R | H);
    // An oplock beside a lease that caches handles gets none; a lease beside an oplock gets no H.
    const op = await a.create('ls6.txt', { oplock: OplockLevel.II, share: 7 });
    assert.equal(op.res!.oplockLevel, OplockLevel.NONE);
    const o2 = await a.create('ls7.txt', { oplock: OplockLevel.II, share: 7 });
    assert.equal(o2.res!.oplockLevel, OplockLevel.II);
    const l7 = await open('ls7.txt', Buffer.alloc(16, 9), R | H);
    assert.equal(leaseOf(l7.res!).leaseState, R);
    for (const r of [h1, h2, up1, up2, op, o2, l7]) assert.equal(await a.close(r.res!.fileId), 0);
  });

  test('a lease answers in its own version: a v1 request on a v2 lease gets v2 with the epoch, a v2 request on a v1 lease gets v1', async () => {
    const a = await client();
    const kv2 = Buffer.alloc(16, 10);
    const kv1 = Buffer.alloc(16, 11);
    const first = await a.create('ls8.txt', { oplock: OplockLevel.LEASE, contexts: [leaseCtx(kv2, R, true)], share: 7 });
    const l1 = leaseOf(first.res!);
    assert.deepEqual([l1.version, l1.leaseState], [2, R]);
    const viaV1 = await a.create('ls8.txt', { oplock: OplockLevel.LEASE, contexts: [leaseCtx(kv2, R | H, false)], share: 7 });
    const l2 = leaseOf(viaV1.res!);
    assert.deepEqual([l2.version, l2.leaseState, l2.epoch], [2, R | H, (l1.epoch ?? 0) + 1], 'upgraded, answered as v2 with the next epoch');
    const v1 = await a.create('ls9.txt', { oplock: OplockLevel.LEASE, contexts: [leaseCtx(kv1, R, false)], share: 7 });
    assert.equal(leaseOf(v1.res!).version, 1);
    const viaV2 = await a.create('ls9.txt', { oplock: OplockLevel.LEASE, contexts: [leaseCtx(kv1, R | H, true)], share: 7 });
    assert.deepEqual([leaseOf(viaV2.res!).version, leaseOf(viaV2.res!).leaseState], [1, R | H]);
    for (const r of [first, viaV1, v1, viaV2]) assert.equal(await a.close(r.res!.fileId), 0);
  });

  test('same lease key on two opens shares the lease; invalid states grant none; a key on another file is refused', async () => {
    const a = await client();
    const k = Buffer.alloc(16, 3);
    const r1 = await a.create('ls2.txt', { oplock: OplockLevel.LEASE, contexts: [leaseCtx(k, R | H)] });
    assert.equal(leaseOf(r1.res!).leaseState, R | H);
    const r2 = await a.create('ls2.txt', { oplock: OplockLevel.LEASE, contexts: [leaseCtx(k, R | W | H)] });
    assert.equal(leaseOf(r2.res!).leaseState, R | W | H, 'upgraded: no other holder');
    assert.equal(a.breaks.length, 0, 'no break for its own key');
    const r3 = await a.create('ls2-other.txt', { oplock: OplockLevel.LEASE, contexts: [leaseCtx(k, R)] });
    assert.equal(r3.status, NtStatus.INVALID_PARAMETER);
    const r4 = await a.create('ls2-h.txt', { oplock: OplockLevel.LEASE, contexts: [leaseCtx(Buffer.alloc(16, 4), H)] });
    assert.equal(leaseOf(r4.res!).leaseState, 0);
    for (const r of [r1, r2, r4]) await a.close(r.res!.fileId);
  });
});

describe('durable handles and cleanup', () => {
  test('a durable batch open survives a TCP drop and is reconnected with DHnC', async () => {
    const a = await client();
    // Created HIDDEN (0x2): the reconnect answers with the attributes the file has, as the first CREATE did.
    const r1 = await a.create('dh1.txt', { oplock: OplockLevel.BATCH, attributes: 0x2, contexts: [{ name: CreateContextName.DURABLE_HANDLE_REQUEST, data: Buffer.alloc(16) }] });
    assert.equal(r1.res!.oplockLevel, OplockLevel.BATCH);
    assert.equal(r1.res!.fileAttributes, 0x22, 'HIDDEN | ARCHIVE');
    assert.ok(findContext(r1.res!.createContexts, CreateContextName.DURABLE_HANDLE_REQUEST), 'DHnQ granted');
    a.destroy();
    for (let i = 0; i < 50; i++) {
      const o = env.srv.server.state.opens.get(r1.res!.fileId.volatile);
      if (o?.durable?.disconnected) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const b = await client();
    const dhnc = Buffer.alloc(16);
    dhnc.writeBigUInt64LE(r1.res!.fileId.persistent, 0);
    dhnc.writeBigUInt64LE(r1.res!.fileId.volatile, 8);
    const r2 = await b.create('ignored-name', { contexts: [{ name: CreateContextName.DURABLE_HANDLE_RECONNECT, data: dhnc }] });
    assert.equal(r2.status, 0);
    assert.equal(r2.res!.oplockLevel, OplockLevel.BATCH);
    assert.equal(r2.res!.fileId.persistent, r1.res!.fileId.persistent);
    assert.equal(r2.res!.fileAttributes, r1.res!.fileAttributes, 'the stored DOS attributes');
    // A second reconnect of the now connected open fails.
    const r3 = await b.create('dh1.txt', { contexts: [{ name: CreateContextName.DURABLE_HANDLE_RECONNECT, data: dhnc }] });
    assert.equal(r3.status, NtStatus.OBJECT_NAME_NOT_FOUND);
    assert.equal(await b.close(r2.res!.fileId), 0);
  });

  test('durable v1 and v2 contexts together, or a DH2Q beside a DH2C, are INVALID_PARAMETER (3.3.5.9.10) and reconnect nothing', async () => {
    const a = await client();
    const guid = Buffer.alloc(16, 0x5a);
    const dh2q = { name: CreateContextName.DURABLE_HANDLE_REQUEST_V2, data: encodeDH2QRequest({ timeout: 60_000, flags: 0, createGuid: guid }) };
    const r1 = await a.create('dh2mix.txt', { oplock: OplockLevel.BATCH, contexts: [dh2q] });
    assert.equal(r1.status, 0);
    assert.ok(findContext(r1.res!.createContexts, CreateContextName.DURABLE_HANDLE_REQUEST_V2), 'DH2Q granted');
    a.destroy();
    for (let i = 0; i < 50; i++) {
      if (env.srv.server.state.opens.get(r1.res!.fileId.volatile)?.durable?.disconnected) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const b = await client();
    const id = Buffer.alloc(16);
    id.writeBigUInt64LE(r1.res!.fileId.persistent, 0);
    id.writeBigUInt64LE(r1.res!.fileId.volatile, 8);
    const dh2c = { name: CreateContextName.DURABLE_HANDLE_RECONNECT_V2, data: Buffer.concat([id, guid, Buffer.alloc(4)]) };
    const dhnq = { name: CreateContextName.DURABLE_HANDLE_REQUEST, data: Buffer.alloc(16) };
    const dhnc = { name: CreateContextName.DURABLE_HANDLE_RECONNECT, data: id };
    for (const contexts of [[dh2c, dhnq], [dhnc, dh2q], [dhnc, dh2c], [dh2c, dh2q]]) {
      const r = await b.create('dh2mix.txt', { contexts });
      assert.equal(r.status, NtStatus.INVALID_PARAMETER, contexts.map((c) => c.name.toString()).join(' + '));
    }
    const r2 = await b.create('dh2mix.txt', { contexts: [dh2c] });
    assert.equal(r2.status, 0, 'the open is still there to reconnect');
    assert.equal(r2.res!.fileId.persistent, r1.res!.fileId.persistent);
    assert.equal(await b.close(r2.res!.fileId), 0);
  });

  test("a durable leased open of a named stream reconnects by the stream's name, in any case, and not by the file's", async () => {
    const a = await client();
    const key = Buffer.alloc(16, 0x5a);
    const durable = { name: CreateContextName.DURABLE_HANDLE_REQUEST, data: Buffer.alloc(16) };
    const r1 = await a.create('dhs.txt:meta', { oplock: OplockLevel.LEASE, contexts: [leaseCtx(key, R | W | H), durable] });
    assert.equal(r1.status, 0);
    assert.equal(leaseOf(r1.res!).leaseState, R | W | H);
    assert.ok(findContext(r1.res!.createContexts, CreateContextName.DURABLE_HANDLE_REQUEST), 'DHnQ granted');
    a.destroy();
    for (let i = 0; i < 50; i++) {
      if (env.srv.server.state.opens.get(r1.res!.fileId.volatile)?.durable?.disconnected) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const b = await client(a.clientGuid);
    const dhnc = Buffer.alloc(16);
    dhnc.writeBigUInt64LE(r1.res!.fileId.persistent, 0);
    dhnc.writeBigUInt64LE(r1.res!.fileId.volatile, 8);
    const reconnect = (name: string) => b.create(name, { oplock: OplockLevel.LEASE, contexts: [leaseCtx(key, R | W | H), { name: CreateContextName.DURABLE_HANDLE_RECONNECT, data: dhnc }] });
    assert.equal((await reconnect('dhs.txt')).status, NtStatus.INVALID_PARAMETER, "the file's own name is another file to a lease");
    const r2 = await reconnect('dhs.txt:META:$DATA');
    assert.equal(r2.status, 0);
    assert.equal(r2.res!.fileId.volatile, r1.res!.fileId.volatile);
    assert.equal(await b.close(r2.res!.fileId), 0);
  });

  test('a non-durable open is closed on TCP drop; nothing is left in the tables', async () => {
    const a = await client();
    const r1 = await a.create('cl1.txt', { oplock: OplockLevel.LEASE, contexts: [leaseCtx(Buffer.alloc(16, 7), R | W | H)] });
    assert.equal(leaseOf(r1.res!).leaseState, R | W | H);
    a.destroy();
    for (const c of env.clients) if (c !== a) await c.end();
    await settle();
    assert.equal(env.srv.server.state.opens.size, 0);
    assert.equal(env.srv.server.state.files.files.size, 0);
    assert.equal(env.srv.server.state.files.leases.size, 0);
  });
});

describe('lease breaks: where they go, renames, overwrites, breaks asked for during a break', () => {
  const ACK_REQUIRED = 1;
  const OVERWRITE = 4;
  const leaseKey = (n: number) => Buffer.alloc(16, n);
  const ackLease = (c: TestClient, key: Buffer, state: number) => c.ack({ kind: 'leaseAck', flags: 0, leaseKey: key, leaseState: state, leaseDuration: 0n });
  const noBreakFor = async (c: TestClient, ms = 150) => {
    await new Promise((r) => setTimeout(r, ms));
    return c.breaks.length;
  };

  /** `holder` takes an RWH lease on `name` and `other` opens it: the break must come to `receiver`, none to `bystander`. */
  async function breakGoesTo(c: { holder: TestClient; receiver: TestClient; bystander: TestClient; other: TestClient }, name: string, k: Buffer): Promise<void> {
    const r1 = await c.holder.create(name, { oplock: OplockLevel.LEASE, contexts: [leaseCtx(k, R | W | H, true)] });
    assert.equal(leaseOf(r1.res!).leaseState, R | W | H);
    const second = c.other.create(name);
    const [n] = (await c.receiver.waitBreaks(1)) as LeaseBreakNotification[];
    assert.ok(n!.leaseKey.equals(k));
    assert.equal(n!.newLeaseState, R | H);
    assert.equal(c.bystander.breaks.length, 0, 'no break on the bystanding connection');
    assert.equal((await ackLease(c.receiver, k, R | H)).hdr.status, 0);
    const r2 = await second;
    assert.equal(r2.status, 0);
    await c.holder.close(r1.res!.fileId);
    await c.other.close(r2.res!.fileId);
  }

  test("a lease break goes to the client's oldest connection, whichever connection the lease's open came through", async () => {
    const a = await client();
    const b = await client(a.clientGuid); // the same client, a second connection
    await breakGoesTo({ holder: b, receiver: a, bystander: b, other: await client() }, 'lc1.txt', leaseKey(0x31));
  });

  test("another user's connection claiming the same ClientGuid does not take the client's lease breaks", async () => {
    const s2 = await startServer({ users: [{ name: 'alice', password: 'alice-pw' }, { name: 'bob', password: 'bob-pw' }], signing: 'enabled' });
    const guid = Buffer.alloc(16, 0x77);
    const conns: TestClient[] = [];
    try {
      const bob = await TestClient.connect(s2.port, 'bob', 'bob-pw', 'share', guid); // first, so the oldest
      conns.push(bob);
      const alice = await TestClient.connect(s2.port, 'alice', 'alice-pw', 'share', guid);
      conns.push(alice);
      const other = await TestClient.connect(s2.port, 'alice', 'alice-pw', 'share');
      conns.push(other);
      await breakGoesTo({ holder: alice, receiver: alice, bystander: bob, other }, 'lm1.txt', leaseKey(0x61));
    } finally {
      for (const c of conns) c.destroy();
      await s2.stop();
    }
  });

  test("a rename takes the file's other leases' handle caching first, waiting for the acknowledgment", async () => {
    const a = await client();
    const b = await client();
    const ka = leaseKey(0x41), kb = leaseKey(0x42);
    const ra = await a.create('lr1.txt', { access: 0x0013019f, oplock: OplockLevel.LEASE, contexts: [leaseCtx(ka, R | H)] });
    const rb = await b.create('lr1.txt', { oplock: OplockLevel.LEASE, contexts: [leaseCtx(kb, R | H)] });
    assert.equal(leaseOf(ra.res!).leaseState, R | H);
    assert.equal(leaseOf(rb.res!).leaseState, R | H);
    const buffer = encodeFileRenameInformation({ replaceIfExists: false, rootDirectory: 0n, fileName: 'lr1-renamed.txt' });
    let renamed = false;
    const rename = a.request(Command.SET_INFO, encodeSetInfoRequest({ infoType: 1, fileInfoClass: 10, buffer, additionalInformation: 0, fileId: ra.res!.fileId })).then((r) => {
      renamed = true;
      return r;
    });
    const [n] = (await b.waitBreaks(1)) as LeaseBreakNotification[];
    assert.ok(n!.leaseKey.equals(kb));
    assert.equal(n!.currentLeaseState, R | H);
    assert.equal(n!.newLeaseState, R);
    assert.equal(n!.flags & ACK_REQUIRED, ACK_REQUIRED);
    assert.equal(await noBreakFor(a), 0, "the renaming open's own lease is not broken");
    assert.equal(renamed, false, 'the rename waits for the acknowledgment');
    assert.equal((await ackLease(b, kb, R)).hdr.status, 0);
    const r = await rename;
    assert.equal(r.hdr.status, 0);
    assert.equal(r.interim.length, 1, 'it went async meanwhile');
    await a.close(ra.res!.fileId);
    await b.close(rb.res!.fileId);
  });

  test('an overwrite takes an RH lease to none and goes on at once; an overwrite during a W break waits, and is asked for after the acknowledgment: RH -> R -> none, in the epoch of the first break', async () => {
    const a = await client();
    const b = await client();
    const c = await client();
    const k1 = leaseKey(0x51);
    const r1 = await a.create('lo1.txt', { oplock: OplockLevel.LEASE, contexts: [leaseCtx(k1, R | H)] });
    assert.equal(leaseOf(r1.res!).leaseState, R | H);
    const over = await b.create('lo1.txt', { disposition: OVERWRITE });
    assert.equal(over.status, 0, 'not held back by the unacknowledged break');
    assert.equal(over.interim, 0);
    const [n1] = (await a.waitBreaks(1)) as LeaseBreakNotification[];
    assert.equal(n1!.currentLeaseState, R | H);
    assert.equal(n1!.newLeaseState, 0);
    assert.equal(n1!.flags & ACK_REQUIRED, ACK_REQUIRED);
    assert.equal((await ackLease(a, k1, 0)).hdr.status, 0);
    await b.close(over.res!.fileId);
    await a.close(r1.res!.fileId);

    const k2 = leaseKey(0x52);
    const r2 = await a.create('lo2.txt', { oplock: OplockLevel.LEASE, contexts: [leaseCtx(k2, R | W | H, true)] });
    const epoch = leaseOf(r2.res!).epoch ?? 0;
    a.breaks.length = 0;
    const plain = b.create('lo2.txt');
    const [w] = (await a.waitBreaks(1)) as LeaseBreakNotification[];
    assert.equal(w!.newLeaseState, R | H);
    assert.equal(w!.newEpoch, epoch + 1);
    const overwrite = c.create('lo2.txt', { disposition: OVERWRITE });
    assert.equal(await noBreakFor(a), 1, 'no second break while the first is unanswered');
    a.breaks.length = 0;
    assert.equal((await ackLease(a, k2, R | H)).hdr.status, 0);
    const [h] = (await a.waitBreaks(1)) as LeaseBreakNotification[];
    assert.deepEqual([h!.currentLeaseState, h!.newLeaseState, h!.flags & ACK_REQUIRED, h!.newEpoch], [R | H, R, ACK_REQUIRED, epoch + 1]);
    let done = 0;
    void plain.then(() => done++);
    void overwrite.then(() => done++);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(done, 0, 'both opens still wait');
    a.breaks.length = 0;
    assert.equal((await ackLease(a, k2, R)).hdr.status, 0);
    const [last] = (await a.waitBreaks(1)) as LeaseBreakNotification[];
    assert.deepEqual([last!.currentLeaseState, last!.newLeaseState, last!.flags & ACK_REQUIRED, last!.newEpoch], [R, 0, 0, epoch + 1]);
    const [p, o] = await Promise.all([plain, overwrite]);
    assert.equal(p.status, 0);
    assert.equal(o.status, 0);
    await b.close(p.res!.fileId);
    await c.close(o.res!.fileId);
    await a.close(r2.res!.fileId);
  });
});
