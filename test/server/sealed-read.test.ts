/**
 * A large READ whose response is sealed with AES-GCM, or signed, is
 * protected piece by piece as the file is read (Connection.readSealer,
 * datapath/read.ts): the client gets the file byte for byte and accepts the
 * signatures; CCM still seals the whole; a file that
 * shrinks under the read gives zeros in its place (the length stays what
 * was announced); a read that fails leaves nothing under way and nothing
 * out of the pool.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cryptoIdle, startServer, smbclient, smbclientPath, USER, PASSWORD, type Running } from '../interop/harness.js';
import { SignedConnection, readRequest } from './signed-client.js';
import { Command } from '../../src/smb2/constants.js';
import { NtStatus } from '../../src/smb2/status.js';
import { SigningAlgorithm } from '../../src/crypto/signing.js';
import { decodeReadResponse } from '../../src/smb2/commands/read.js';
import { readFileData } from '../../src/server/datapath/read.js';
import type { ReadSeal } from '../../src/server/context.js';
import type { VfsFile, VfsStat } from '../../src/vfs/types.js';
import { native } from '../../src/native.js';

let srv: Running;
// Two 8 MiB READs for smbclient, then a tail; not a multiple of the block size, nor of 4 KiB.
const DATA = randomBytes((16 << 20) + 4097);

before(async () => {
  srv = await startServer({ signing: 'enabled' });
  writeFileSync(join(srv.dir, 'big.bin'), DATA);
});
after(async () => {
  await srv.stop();
});

async function settled(): Promise<void> {
  await cryptoIdle(srv.server);
  assert.equal(srv.server.cryptoBusy, 0, 'no connection counted busy');
  assert.equal(srv.server.dataPool.stats.out, 0, 'every pooled buffer back');
}

const needs = !native ? 'native addon not built' : !smbclientPath() && 'smbclient not installed';

test('smbclient sealed get (AES-128-GCM): sealed in pieces as read, byte for byte', { skip: needs }, async () => {
  const before = srv.server.readsSealedInPieces;
  const out = join(srv.dir, 'copy-gcm.bin');
  const r = await smbclient(srv.port, `get big.bin ${out}`, ['--client-protection=encrypt', '-m', 'SMB3_11']);
  assert.equal(r.code, 0, r.out);
  assert.ok(readFileSync(out).equals(DATA), 'byte for byte');
  rmSync(out);
  // smbclient reads 8 MiB at a time here: those two READs went the new way (the 4097-byte tail is sealed whole).
  assert.ok(srv.server.readsSealedInPieces >= before + 2, `sealed in pieces: ${srv.server.readsSealedInPieces - before}`);
  await settled();
});

test('smbclient signed get (AES-GMAC, AES-CMAC, then HMAC-SHA256 on SMB 2.1): signed in pieces as read, signatures checked by smbclient, byte for byte', { skip: needs }, async () => {
  for (const extra of [['-m', 'SMB3_11'], ['-m', 'SMB3_11', '--option=clientsmb3signingalgorithms=aes-128-cmac'], ['-m', 'SMB2_10']]) {
    const before = srv.server.readsSealedInPieces;
    const out = join(srv.dir, 'copy-signed.bin');
    const r = await smbclient(srv.port, `get big.bin ${out}`, ['--client-protection=sign', ...extra]);
    assert.equal(r.code, 0, r.out);
    assert.ok(readFileSync(out).equals(DATA), `byte for byte ${extra.join(' ')}`);
    rmSync(out);
    assert.ok(srv.server.readsSealedInPieces >= before + 2, `signed in pieces: ${srv.server.readsSealedInPieces - before}`);
    await settled();
  }
});

test('smbclient sealed get and put with AES-128-CCM and AES-256-CCM: sealed in pieces as read, opened where it lies, byte for byte', { skip: needs }, async () => {
  for (const cipher of ['aes-128-ccm', 'aes-256-ccm']) {
    const before = srv.server.readsSealedInPieces;
    const out = join(srv.dir, 'copy-ccm.bin');
    const opts = ['--client-protection=encrypt', '-m', 'SMB3_11', `--option=clientsmb3encryptionalgorithms=${cipher}`];
    const r = await smbclient(srv.port, `get big.bin ${out}`, opts);
    assert.equal(r.code, 0, r.out);
    assert.ok(readFileSync(out).equals(DATA), `${cipher}: byte for byte`);
    assert.ok(srv.server.readsSealedInPieces >= before + 2, `${cipher}: sealed in pieces: ${srv.server.readsSealedInPieces - before}`);
    const w = await smbclient(srv.port, `put ${out} put-ccm.bin`, opts);
    assert.equal(w.code, 0, w.out);
    assert.ok(readFileSync(join(srv.dir, 'put-ccm.bin')).equals(DATA), `${cipher}: put byte for byte`);
    rmSync(out);
    rmSync(join(srv.dir, 'put-ccm.bin'));
    await settled();
  }
});

test('a signed READ whose file fails after its header was fixed: a signed error response with the credits that header granted, and the connection goes on', { skip: native ? false : 'native addon not built' }, async () => {
  const c = await SignedConnection.open(srv.port, { signing: [SigningAlgorithm.AES_GMAC] });
  try {
    const { reply, session } = await c.authenticate(USER, PASSWORD);
    assert.equal(reply.hdr.status, 0);
    const tree = await c.treeConnect(session!, 'share');
    const fileId = await c.openFile(session!, tree, 'big.bin');
    const read = (length: number, offset: bigint): Buffer => readRequest(fileId, length, offset);
    // The second piece of the next 8 MiB READ fails in the file system.
    const open = srv.server.state.opens.get(fileId.volatile)!;
    const file = open.file!;
    const realRead = file.read.bind(file);
    file.read = async (buf, off, len, pos) => {
      if (Number(pos) >= 4 << 20) throw Object.assign(new Error('EIO (injected)'), { code: 'EIO', errno: 5 });
      return realRead(buf, off, len, pos);
    };
    const before = srv.server.readsSealedInPieces;
    // The server side of this connection: its credit window (MS-SMB2 3.3.1.1).
    const conn = [...srv.server.connections.values()].at(-1)!;
    const window = (conn as unknown as { credits: { outstanding: number } }).credits;
    const held = window.outstanding;
    // call() verifies the signature of a signed response.
    const bad = await c.call(session!, Command.READ, read(8 << 20, 0n), tree);
    assert.equal(window.outstanding, held - 1 + bad.hdr.credits, 'granted once: what its header says, no more');
    assert.equal(srv.server.readsSealedInPieces, before + 1, 'its header was fixed before the data was read');
    assert.equal(bad.hdr.status, NtStatus.UNEXPECTED_IO_ERROR);
    assert.ok(bad.signed, 'the error response is signed (and verified)');
    file.read = realRead;
    const good = await c.call(session!, Command.READ, read(8 << 20, 4096n), tree);
    assert.equal(good.hdr.status, 0);
    assert.ok(good.signed);
    assert.equal(bad.hdr.credits, good.hdr.credits, 'as many as for a READ that went through');
    assert.ok(Buffer.from(decodeReadResponse(good.msg).data).equals(DATA.subarray(4096, 4096 + (8 << 20))), 'byte for byte');
    await settled();
  } finally {
    c.destroy();
  }
});

/** A file whose size says `size` but whose reads give only what `have` holds (it shrank), and fail at `failAt`. */
function fakeFile(size: number, have: Buffer, failAt = -1): VfsFile & { reads: number } {
  const f = {
    fd: -1,
    isDirectory: false,
    created: false,
    reads: 0,
    async stat(): Promise<VfsStat> {
      return { size: BigInt(size) } as VfsStat;
    },
    async read(buf: Buffer, bufOff: number, len: number, pos: number | bigint): Promise<number> {
      f.reads++;
      await new Promise((r) => setImmediate(r));
      const p = Number(pos);
      if (failAt >= 0 && p <= failAt && failAt < p + len) throw Object.assign(new Error('EIO'), { code: 'EIO' });
      if (p >= have.length) return 0;
      return have.copy(buf, bufOff, p, Math.min(have.length, p + len));
    },
  };
  return f as unknown as VfsFile & { reads: number };
}

/** A ReadSeal that records what went through it, in order. */
function recorder(): { seal: (n: number) => ReadSeal; seen: Buffer[]; asked: number[] } {
  const seen: Buffer[] = [];
  const asked: number[] = [];
  return {
    seen,
    asked,
    seal: (n) => {
      asked.push(n);
      return { update: (p) => void seen.push(Buffer.from(p)) };
    },
  };
}

test('a file that shrinks under a sealed read: zeros in place of what it lost, the announced length kept, in order', async () => {
  const full = randomBytes(3 << 20);
  const have = full.subarray(0, (1 << 20) + 123); // the size said 3 MiB; the reads find 1 MiB + 123
  const rec = recorder();
  const got = await readFileData(fakeFile(full.length, have), 4 << 20, 0n, false, null, { seal: rec.seal, minimumCount: 0 });
  assert.equal(got.kind, 'buffer');
  if (got.kind !== 'buffer') return;
  assert.deepEqual(rec.asked, [full.length], 'DataLength from the size, asked once');
  assert.equal(got.sealed !== undefined, true);
  assert.equal(got.data.length, full.length);
  assert.ok(got.data.subarray(0, have.length).equals(have), 'what the file had');
  assert.ok(got.data.subarray(have.length).equals(Buffer.alloc(full.length - have.length)), 'zeros after');
  assert.ok(Buffer.concat(rec.seen).equals(got.data), 'every byte through the seal once, in order');
  assert.ok(rec.seen.length >= 2, 'in pieces');
});

test('a sealed read that fails: rejected once every piece has settled; nothing sealed past the failure; no read declined as too small', async () => {
  const data = randomBytes(4 << 20);
  const rec = recorder();
  const f = fakeFile(data.length, data, 3 << 20);
  await assert.rejects(readFileData(f, data.length, 0n, false, null, { seal: rec.seal, minimumCount: 0 }), /EIO/);
  assert.equal(Buffer.concat(rec.seen).length, 2 << 20, 'the first piece only');
  // Below MinimumCount, or at the end of file: the connection is not asked (END_OF_FILE comes from the usual path).
  const none = recorder();
  const r1 = await readFileData(fakeFile(100, data.subarray(0, 100)), 8 << 20, 0n, false, null, { seal: none.seal, minimumCount: 101 });
  const r2 = await readFileData(fakeFile(100, data.subarray(0, 100)), 8 << 20, 100n, false, null, { seal: none.seal, minimumCount: 0 });
  // A small read is not offered at all.
  const r3 = await readFileData(fakeFile(data.length, data), 1 << 20, 0n, false, null, { seal: none.seal, minimumCount: 0 });
  assert.deepEqual(none.asked, []);
  assert.equal(r1.kind === 'buffer' && r1.data.length, 100);
  assert.ok(r3.kind === 'buffer' && r3.data.equals(data.subarray(0, 1 << 20)) && r3.sealed === undefined);
  assert.equal(r2.kind === 'buffer' && r2.data.length, 0);
});

test('a sealed read whose later piece fails while an earlier one is still being read: no unhandled rejection, rejected once all settled', async () => {
  const data = randomBytes(4 << 20);
  const f = fakeFile(data.length, data, 3 << 20);
  const plain = f.read.bind(f);
  // The first piece comes back late; the second fails at once.
  f.read = async (buf, off, len, pos) => {
    if (Number(pos) === 0) await new Promise((r) => setTimeout(r, 30));
    return plain(buf, off, len, pos);
  };
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const rec = recorder();
    await assert.rejects(readFileData(f, data.length, 0n, false, null, { seal: rec.seal, minimumCount: 0 }), /EIO/);
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(unhandled, [], 'no rejection left unhandled meanwhile');
    assert.equal(Buffer.concat(rec.seen).length, 2 << 20, 'the first piece sealed, nothing after the failure');
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
