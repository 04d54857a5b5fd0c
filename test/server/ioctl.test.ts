/**
 * FSCTLs over a temp-dir share, driven through the IOCTL handler: server-side
 * copy (resume keys, copy-chunk limits, access, locks), sparse files, zero
 * data and allocated ranges. Results are checked on disk.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type SmbServer } from '../../src/server/server.js';
import { Session, TreeConnect } from '../../src/server/state.js';
import type { Reply, RequestContext } from '../../src/server/context.js';
import { createLogger } from '../../src/util/log.js';
import { MaskFull } from '../../src/server/access.js';
import { NtStatus } from '../../src/smb2/status.js';
import { Access, CreateDisposition, CreateOptions, FileAttributes, FileInfoClass, FsInfoClass, FsAttributes, Fsctl, InfoType, LockFlags } from '../../src/smb2/constants.js';
import { type FileId } from '../../src/smb2/wire.js';
import { encodeCreateRequest, decodeCreateResponse } from '../../src/smb2/commands/create.js';
import { encodeCloseRequest } from '../../src/smb2/commands/close.js';
import { encodeLockRequest } from '../../src/smb2/commands/lock.js';
import { encodeQueryInfoRequest, decodeQueryInfoResponse } from '../../src/smb2/commands/query-info.js';
import { encodeIoctlRequest, decodeIoctlResponse } from '../../src/smb2/commands/ioctl.js';
import {
  decodeAllocatedRanges, decodeCopyChunkResponse, decodeResumeKeyResponse, encodeAllocatedRanges, encodeCopyChunkCopy,
  encodeZeroDataInformation, type CopyChunk,
} from '../../src/smb2/commands/fsctl.js';
import { decodeFileBasicInformation } from '../../src/smb2/fscc/index.js';
import { handleCreate } from '../../src/server/handlers/create.js';
import { handleClose } from '../../src/server/handlers/close.js';
import { handleLock } from '../../src/server/handlers/lock.js';
import { handleQueryInfo } from '../../src/server/handlers/query-info.js';
import { handleIoctl } from '../../src/server/handlers/ioctl.js';
import { smbclient, smbclientPath, startServer, type Running } from '../interop/harness.js';
import { COPYCHUNK_MAX_CHUNKS, COPYCHUNK_MAX_CHUNK_SIZE, COPYCHUNK_MAX_DATA_SIZE } from '../../src/server/fsctl/copychunk.js';

const HDR = Buffer.alloc(64);
const msg = (body: Buffer | Buffer[]) => Buffer.concat([HDR, ...(Array.isArray(body) ? body : [body])]);
const ALL = 0x001f01ff;
const KiB = 1024;

/** Bytes whose every 8-byte word is its own offset (smbtorture's pattern), so misplaced copies show. */
function pattern(len: number, base = 0): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i + 8 <= len; i += 8) b.writeBigUInt64LE(BigInt(base + i), i);
  return b;
}

describe('IOCTL FSCTLs', () => {
  let dir: string;
  let server: SmbServer;
  let tree: TreeConnect;
  let tree2: TreeConnect;
  let session: Session;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ringsmb-ioctl-'));
    server = createServer({
      shares: [
        { name: 'share', path: dir, readOnly: false, comment: '', encrypt: false, browseable: true, guestOk: false },
        { name: 'other', path: dir, readOnly: false, comment: '', encrypt: false, browseable: true, guestOk: false },
      ],
      users: [{ name: 'u', password: 'p' }],
      vfs: 'threadpool',
      logger: createLogger('error', () => undefined),
    });
    for (const name of ['share', 'other']) server.findShare(name)!.root = await server.vfs.openShare(dir);
    session = new Session(1n, 0x311, 1);
    session.state = 'valid';
    tree = new TreeConnect(1, session, server.findShare('share')!, MaskFull);
    tree2 = new TreeConnect(2, session, server.findShare('other')!, MaskFull);
    session.trees.set(1, tree);
    session.trees.set(2, tree2);
  });
  after(async () => {
    for (const o of [...server.state.opens.values()]) await server.closeOpen(o);
    for (const name of ['share', 'other']) await server.findShare(name)!.root!.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function ctx(body: Buffer, t: TreeConnect = tree): RequestContext {
    const conn = {
      id: 1,
      negotiated: { dialect: 0x311, maxRead: 1 << 20, maxWrite: 1 << 20, maxTransact: 1 << 20, clientGuid: Buffer.alloc(16), clientCapabilities: 0, clientSecurityMode: 1, serverCapabilities: 0 },
      transport: { localAddress: '127.0.0.1' },
      drop() {},
      canSendFile: () => false,
    };
    return { server, conn: conn as never, hdr: {} as never, msg: msg(body), session, tree: t, encrypted: false, compound: false, related: { open: null } };
  }

  async function open(name: string, access = ALL, o: { t?: TreeConnect; dir?: boolean } = {}): Promise<FileId> {
    const body = encodeCreateRequest({
      securityFlags: 0, requestedOplockLevel: 0, impersonationLevel: 2, smbCreateFlags: 0n,
      desiredAccess: access, fileAttributes: 0, shareAccess: 7,
      createDisposition: CreateDisposition.OPEN_IF, createOptions: o.dir ? CreateOptions.DIRECTORY_FILE : 0, name, createContexts: [],
    });
    const reply = await handleCreate(ctx(body, o.t));
    assert.equal(reply.status, 0, `create ${name}`);
    return decodeCreateResponse(msg(reply.body as Buffer)).fileId;
  }
  const close = (id: FileId, t = tree) => handleClose(ctx(encodeCloseRequest({ flags: 0, fileId: id }), t));
  const ioctl = (ctlCode: number, fileId: FileId, input: Buffer, maxOutputResponse = 65536, t = tree): Promise<Reply> =>
    Promise.resolve(handleIoctl(ctx(encodeIoctlRequest({ ctlCode, fileId, input, maxInputResponse: 0, output: Buffer.alloc(0), maxOutputResponse, flags: 1 }), t)));
  const output = (r: Reply) => decodeIoctlResponse(msg(r.body)).output;
  const lock = (id: FileId, flags: number, offset: bigint, length: bigint) =>
    handleLock(ctx(encodeLockRequest({ lockSequenceNumber: 0, lockSequenceIndex: 0, fileId: id, locks: [{ offset, length, flags }] })));

  async function resumeKey(id: FileId, t = tree): Promise<Buffer> {
    const r = await ioctl(Fsctl.SRV_REQUEST_RESUME_KEY, id, Buffer.alloc(0), 32, t);
    assert.equal(r.status, 0);
    assert.equal(output(r).length, 32);
    return decodeResumeKeyResponse(output(r));
  }
  const copy = (dest: FileId, key: Buffer, chunks: CopyChunk[], o: { code?: number; max?: number; t?: TreeConnect } = {}) =>
    ioctl(o.code ?? Fsctl.SRV_COPYCHUNK, dest, encodeCopyChunkCopy(key, chunks), o.max ?? 12, o.t);
  const chunk = (sourceOffset: number, targetOffset: number, length: number): CopyChunk => ({ sourceOffset: BigInt(sourceOffset), targetOffset: BigInt(targetOffset), length });

  test('resume key: 32 bytes, stable per open, different per open; not for directories', async () => {
    writeFileSync(join(dir, 'k.dat'), 'x');
    const a = await open('k.dat');
    const b = await open('k.dat');
    const ka = await resumeKey(a);
    assert.ok(ka.equals(await resumeKey(a)));
    assert.ok(!ka.equals(await resumeKey(b)));
    const d = await open('kdir', ALL, { dir: true });
    assert.equal((await ioctl(Fsctl.SRV_REQUEST_RESUME_KEY, d, Buffer.alloc(0), 32)).status, NtStatus.INVALID_PARAMETER);
    for (const id of [a, b, d]) await close(id);
  });

  test('copy-chunk: chunks land on disk, overlap within one file, across trees, closed source', async () => {
    const src = pattern(64 * KiB);
    writeFileSync(join(dir, 'src.dat'), src);
    writeFileSync(join(dir, 'dst.dat'), '');
    const s = await open('src.dat');
    const d = await open('dst.dat');
    const key = await resumeKey(s);
    const r = await copy(d, key, [chunk(0, 0, 4 * KiB), chunk(8 * KiB, 4 * KiB, 4 * KiB), chunk(0, 16 * KiB, 100)]);
    assert.equal(r.status, 0);
    assert.deepEqual(decodeCopyChunkResponse(output(r)), { chunksWritten: 3, chunkBytesWritten: 0, totalBytesWritten: 8 * KiB + 100 });
    const disk = readFileSync(join(dir, 'dst.dat'));
    assert.equal(disk.length, 16 * KiB + 100);
    assert.ok(disk.subarray(0, 4 * KiB).equals(src.subarray(0, 4 * KiB)));
    assert.ok(disk.subarray(4 * KiB, 8 * KiB).equals(src.subarray(8 * KiB, 12 * KiB)));
    assert.ok(disk.subarray(8 * KiB, 16 * KiB).equals(Buffer.alloc(8 * KiB)));
    assert.ok(disk.subarray(16 * KiB).equals(src.subarray(0, 100)));

    // Source and target ranges overlap in one file: the source bytes as they were before the copy.
    const ov = await copy(s, key, [chunk(0, 2040, 2048)]);
    assert.equal(ov.status, 0);
    const after = readFileSync(join(dir, 'src.dat'));
    assert.ok(after.subarray(2040, 4088).equals(src.subarray(0, 2048)));
    assert.ok(after.subarray(0, 2040).equals(src.subarray(0, 2040)));

    // The key names the open in any tree of the session.
    const d2 = await open('dst2.dat', ALL, { t: tree2 });
    assert.equal((await copy(d2, key, [chunk(0, 0, 512)], { t: tree2 })).status, 0);
    assert.ok(readFileSync(join(dir, 'dst2.dat')).equals(after.subarray(0, 512)));
    await close(s);
    assert.equal((await copy(d2, key, [chunk(0, 0, 512)], { t: tree2 })).status, NtStatus.OBJECT_NAME_NOT_FOUND);
    await close(d);
    await close(d2, tree2);
  });

  test('copy-chunk limits: INVALID_PARAMETER carrying the server limits', async () => {
    writeFileSync(join(dir, 'lim.dat'), pattern(4 * KiB));
    const s = await open('lim.dat');
    const d = await open('limd.dat');
    const key = await resumeKey(s);
    const limits = { chunksWritten: COPYCHUNK_MAX_CHUNKS, chunkBytesWritten: COPYCHUNK_MAX_CHUNK_SIZE, totalBytesWritten: COPYCHUNK_MAX_DATA_SIZE };
    const cases: CopyChunk[][] = [
      Array.from({ length: COPYCHUNK_MAX_CHUNKS + 1 }, () => chunk(0, 0, 1)),
      [chunk(0, 0, COPYCHUNK_MAX_CHUNK_SIZE + 1)],
      [chunk(0, 0, 0xffffffff)],
      Array.from({ length: COPYCHUNK_MAX_DATA_SIZE / COPYCHUNK_MAX_CHUNK_SIZE + 1 }, () => chunk(0, 0, COPYCHUNK_MAX_CHUNK_SIZE)),
      [chunk(0, 0, 0)],
    ];
    for (const c of cases) {
      const r = await copy(d, key, c);
      assert.equal(r.status, NtStatus.INVALID_PARAMETER);
      assert.deepEqual(decodeCopyChunkResponse(output(r)), limits);
    }
    assert.equal(statSync(join(dir, 'limd.dat')).size, 0, 'nothing written');
    // Room for less than SRV_COPYCHUNK_RESPONSE; a truncated request.
    assert.equal((await copy(d, key, [chunk(0, 0, 10)], { max: 11 })).status, NtStatus.INVALID_PARAMETER);
    assert.equal((await ioctl(Fsctl.SRV_COPYCHUNK, d, encodeCopyChunkCopy(key, [chunk(0, 0, 1)]).subarray(0, 40), 12)).status, NtStatus.INVALID_PARAMETER);
    // A bogus key, and a source range past end of file after a good chunk.
    assert.equal((await copy(d, Buffer.alloc(24, 0xde), [chunk(0, 0, 10)])).status, NtStatus.OBJECT_NAME_NOT_FOUND);
    const ex = await copy(d, key, [chunk(0, 0, 1024), chunk(1024, 1024, 4 * KiB)]);
    assert.equal(ex.status, NtStatus.INVALID_VIEW_SIZE);
    assert.deepEqual(decodeCopyChunkResponse(output(ex)), { chunksWritten: 1, chunkBytesWritten: 0, totalBytesWritten: 1024 });
    assert.equal(statSync(join(dir, 'limd.dat')).size, 1024);
    await close(s);
    await close(d);
  });

  test('copy-chunk access: source READ_DATA or EXECUTE; target WRITE_DATA, and READ_DATA unless COPYCHUNK_WRITE', async () => {
    writeFileSync(join(dir, 'acc.dat'), pattern(4 * KiB));
    const full = await open('acc.dat');
    const fullKey = await resumeKey(full);
    const run = async (srcAccess: number, dstAccess: number, code: number = Fsctl.SRV_COPYCHUNK) => {
      const s = await open('acc.dat', srcAccess);
      const d = await open('accd.dat', dstAccess);
      const r = await copy(d, srcAccess === ALL ? fullKey : await resumeKey(s), [chunk(0, 0, 4 * KiB)], { code });
      await close(s);
      await close(d);
      return r.status;
    };
    const RA = Access.FILE_READ_ATTRIBUTES;
    assert.equal(await run(Access.FILE_READ_DATA | RA, ALL), 0);
    assert.equal(await run(Access.FILE_EXECUTE | RA, ALL), 0);
    assert.equal(await run(RA, ALL), NtStatus.ACCESS_DENIED);
    assert.equal(await run(ALL, ALL & ~(Access.FILE_WRITE_DATA | Access.FILE_APPEND_DATA)), NtStatus.ACCESS_DENIED);
    assert.equal(await run(ALL, ALL & ~Access.FILE_READ_DATA), NtStatus.ACCESS_DENIED);
    assert.equal(await run(ALL, ALL & ~Access.FILE_READ_DATA, Fsctl.SRV_COPYCHUNK_WRITE), 0);
    await close(full);
  });

  test('copy-chunk honours byte-range locks held by other opens on source and target', async () => {
    writeFileSync(join(dir, 'lk.dat'), pattern(8 * KiB));
    writeFileSync(join(dir, 'lkd.dat'), Buffer.alloc(8 * KiB, 1));
    const s = await open('lk.dat');
    const s2 = await open('lk.dat');
    const d = await open('lkd.dat');
    const d2 = await open('lkd.dat');
    const key = await resumeKey(s);
    const X = LockFlags.EXCLUSIVE_LOCK | LockFlags.FAIL_IMMEDIATELY;
    assert.equal((await lock(s2, X, 0n, 4096n)).status, 0);
    const r = await copy(d, key, [chunk(0, 0, 4 * KiB)]);
    assert.equal(r.status, NtStatus.FILE_LOCK_CONFLICT);
    assert.deepEqual(decodeCopyChunkResponse(output(r)), { chunksWritten: 0, chunkBytesWritten: 0, totalBytesWritten: 0 });
    // A shared lock on the source does not stop reading it.
    assert.equal((await lock(s2, LockFlags.UNLOCK, 0n, 4096n)).status, 0);
    assert.equal((await lock(s2, LockFlags.SHARED_LOCK | LockFlags.FAIL_IMMEDIATELY, 0n, 4096n)).status, 0);
    assert.equal((await copy(d, key, [chunk(0, 0, 4 * KiB)])).status, 0);
    assert.equal((await lock(d2, X, 4096n, 10n)).status, 0);
    assert.equal((await copy(d, key, [chunk(0, 4096, 4 * KiB)])).status, NtStatus.FILE_LOCK_CONFLICT);
    const disk = readFileSync(join(dir, 'lkd.dat'));
    assert.ok(disk.subarray(0, 4 * KiB).equals(pattern(4 * KiB)));
    assert.ok(disk.subarray(4 * KiB).equals(Buffer.alloc(4 * KiB, 1)), 'locked target range untouched');
    for (const id of [s, s2, d, d2]) await close(id);
  });

  async function attributes(id: FileId): Promise<number> {
    const r = await handleQueryInfo(ctx(encodeQueryInfoRequest({ infoType: InfoType.FILE, fileInfoClass: FileInfoClass.FileBasicInformation, outputBufferLength: 40, input: Buffer.alloc(0), additionalInformation: 0, flags: 0, fileId: id })));
    assert.equal(r.status, 0);
    return decodeFileBasicInformation(decodeQueryInfoResponse(msg(r.body as Buffer)).output).fileAttributes;
  }
  const qar = async (id: FileId, offset: bigint, length: bigint, max = 1024) => {
    const r = await ioctl(Fsctl.QUERY_ALLOCATED_RANGES, id, encodeAllocatedRanges([{ offset, length }]), max);
    return r.status === 0 ? decodeAllocatedRanges(output(r)) : r.status;
  };
  const zero = async (id: FileId, from: bigint, to: bigint) => (await ioctl(Fsctl.SET_ZERO_DATA, id, encodeZeroDataInformation(from, to), 0)).status;

  test('SET_SPARSE: the attribute follows the flag; the volume says it supports sparse files', async () => {
    writeFileSync(join(dir, 'sp.dat'), 'abc');
    const f = await open('sp.dat');
    const fs = await handleQueryInfo(ctx(encodeQueryInfoRequest({ infoType: InfoType.FILESYSTEM, fileInfoClass: FsInfoClass.FileFsAttributeInformation, outputBufferLength: 64, input: Buffer.alloc(0), additionalInformation: 0, flags: 0, fileId: f })));
    assert.equal(fs.status, 0);
    assert.ok(decodeQueryInfoResponse(msg(fs.body as Buffer)).output.readUInt32LE(0) & FsAttributes.SUPPORTS_SPARSE_FILES);
    assert.equal((await attributes(f)) & FileAttributes.SPARSE_FILE, 0);
    assert.equal((await ioctl(Fsctl.SET_SPARSE, f, Buffer.alloc(0), 0)).status, 0); // no buffer: set
    assert.ok((await attributes(f)) & FileAttributes.SPARSE_FILE);
    assert.equal((await ioctl(Fsctl.SET_SPARSE, f, Buffer.alloc(100), 0)).status, 0); // oversize, first byte 0: clear
    assert.equal((await attributes(f)) & FileAttributes.SPARSE_FILE, 0);
    const we = await open('sp.dat', Access.FILE_WRITE_EA);
    assert.equal((await ioctl(Fsctl.SET_SPARSE, we, Buffer.from([1]), 0)).status, NtStatus.ACCESS_DENIED);
    const wa = await open('sp.dat', Access.FILE_WRITE_ATTRIBUTES);
    assert.equal((await ioctl(Fsctl.SET_SPARSE, wa, Buffer.from([1]), 0)).status, 0);
    assert.ok((await attributes(f)) & FileAttributes.SPARSE_FILE, 'seen through every open of the file');
    assert.equal((await ioctl(Fsctl.SET_SPARSE, f, Buffer.from([0]), 0)).status, 0);
    // A new file under the old name (maybe the old inode number) starts out not sparse.
    assert.equal((await ioctl(Fsctl.SET_SPARSE, f, Buffer.from([1]), 0)).status, 0);
    await close(f);
    rmSync(join(dir, 'sp.dat'));
    writeFileSync(join(dir, 'sp.dat'), 'new');
    const again = await open('sp.dat');
    if (statSync(join(dir, 'sp.dat'), { bigint: true }).birthtimeNs !== 0n) assert.equal((await attributes(again)) & FileAttributes.SPARSE_FILE, 0);
    await close(again);
    const d = await open('spdir', ALL, { dir: true });
    assert.equal((await ioctl(Fsctl.SET_SPARSE, d, Buffer.from([1]), 0)).status, NtStatus.INVALID_PARAMETER);
    for (const id of [we, wa, d]) await close(id);
  });

  test('SET_ZERO_DATA punches holes without moving end of file; QUERY_ALLOCATED_RANGES finds the data', async () => {
    const size = 192 * KiB + 100;
    const data = Buffer.alloc(size, 0x5a);
    writeFileSync(join(dir, 'z.dat'), data);
    const f = await open('z.dat');
    // Not sparse: the whole requested range below end of file is allocated.
    assert.deepEqual(await qar(f, 1n, 1n << 40n), [{ offset: 1n, length: BigInt(size - 1) }]);
    assert.equal((await ioctl(Fsctl.SET_SPARSE, f, Buffer.from([1]), 0)).status, 0);
    const blocksBefore = statSync(join(dir, 'z.dat')).blocks;
    assert.equal(await zero(f, 64n * 1024n, 128n * 1024n), 0);
    assert.equal(await zero(f, BigInt(size) - 10n, BigInt(size) + 4096n), 0); // tail past EOF: clipped
    const disk = readFileSync(join(dir, 'z.dat'));
    assert.equal(disk.length, size, 'end of file unchanged');
    assert.ok(disk.subarray(0, 64 * KiB).equals(data.subarray(0, 64 * KiB)));
    assert.ok(disk.subarray(64 * KiB, 128 * KiB).equals(Buffer.alloc(64 * KiB)));
    assert.ok(disk.subarray(128 * KiB, size - 10).equals(data.subarray(128 * KiB, size - 10)));
    assert.ok(disk.subarray(size - 10).equals(Buffer.alloc(10)));
    assert.ok(statSync(join(dir, 'z.dat')).blocks < blocksBefore, 'the 64 KiB hole was deallocated');
    assert.deepEqual(await qar(f, 0n, BigInt(size)), [
      { offset: 0n, length: 64n * 1024n },
      { offset: 128n * 1024n, length: BigInt(size - 128 * KiB) },
    ]);
    // Clipped to the request; past end of file nothing; an empty request nothing.
    assert.deepEqual(await qar(f, 60n * 1024n, 8n * 1024n), [{ offset: 60n * 1024n, length: 4n * 1024n }]);
    assert.deepEqual(await qar(f, BigInt(size), 100n), []);
    assert.deepEqual(await qar(f, 0n, 0n), []);
    assert.equal(await qar(f, 0n, BigInt(size), 15), NtStatus.BUFFER_TOO_SMALL);
    const part = await ioctl(Fsctl.QUERY_ALLOCATED_RANGES, f, encodeAllocatedRanges([{ offset: 0n, length: BigInt(size) }]), 16);
    assert.equal(part.status, NtStatus.BUFFER_OVERFLOW);
    assert.deepEqual(decodeAllocatedRanges(output(part)), [{ offset: 0n, length: 64n * 1024n }]);
    assert.equal(await qar(f, 512n, -1n), NtStatus.INVALID_PARAMETER);
    assert.equal((await ioctl(Fsctl.QUERY_ALLOCATED_RANGES, f, Buffer.alloc(8))).status, NtStatus.INVALID_PARAMETER);
    assert.equal(await zero(f, 10n, 9n), NtStatus.INVALID_PARAMETER);
    assert.equal(await zero(f, 5n, 5n), 0);
    // Cleared sparse flag: allocated again from the reader's point of view.
    assert.equal((await ioctl(Fsctl.SET_SPARSE, f, Buffer.from([0]), 0)).status, 0);
    assert.deepEqual(await qar(f, 0n, BigInt(size)), [{ offset: 0n, length: BigInt(size) }]);
    await close(f);
  });

  test('zero data and allocated ranges: access checks and locks', async () => {
    writeFileSync(join(dir, 'za.dat'), pattern(16 * KiB));
    const f = await open('za.dat');
    const ro = await open('za.dat', Access.FILE_READ_DATA | Access.FILE_READ_ATTRIBUTES);
    const ra = await open('za.dat', Access.FILE_READ_ATTRIBUTES | Access.FILE_WRITE_ATTRIBUTES | Access.FILE_APPEND_DATA);
    assert.equal(await zero(ro, 0n, 10n), NtStatus.ACCESS_DENIED);
    assert.equal(await zero(ra, 0n, 10n), NtStatus.ACCESS_DENIED);
    assert.equal(await qar(ra, 0n, 10n), NtStatus.ACCESS_DENIED);
    assert.deepEqual(await qar(ro, 0n, 10n), [{ offset: 0n, length: 10n }]);
    const other = await open('za.dat');
    assert.equal((await lock(other, LockFlags.EXCLUSIVE_LOCK | LockFlags.FAIL_IMMEDIATELY, 0n, 4096n)).status, 0);
    assert.equal(await zero(f, 0n, 4096n), NtStatus.FILE_LOCK_CONFLICT);
    assert.equal(await zero(f, 4096n, 8192n), 0);
    assert.deepEqual(await qar(f, 0n, 4096n), [{ offset: 0n, length: 4096n }], 'QAR ignores locks');
    const disk = readFileSync(join(dir, 'za.dat'));
    assert.ok(disk.subarray(0, 4096).equals(pattern(4096)));
    assert.ok(disk.subarray(4096, 8192).equals(Buffer.alloc(4096)));
    for (const id of [f, ro, ra, other]) await close(id);
  });

  test('GET/SET_COMPRESSION answer like a filesystem without compression', async () => {
    writeFileSync(join(dir, 'c.dat'), 'c');
    const f = await open('c.dat');
    const g = await ioctl(Fsctl.GET_COMPRESSION, f, Buffer.alloc(0), 2);
    assert.equal(g.status, 0);
    assert.deepEqual([...output(g)], [0, 0]);
    assert.equal((await ioctl(Fsctl.GET_COMPRESSION, f, Buffer.alloc(0), 0)).status, NtStatus.INVALID_PARAMETER);
    assert.equal((await ioctl(Fsctl.SET_COMPRESSION, f, Buffer.from([0, 0]), 0)).status, 0);
    assert.equal((await ioctl(Fsctl.SET_COMPRESSION, f, Buffer.from([1, 0]), 0)).status, NtStatus.NOT_SUPPORTED);
    assert.equal((await ioctl(Fsctl.SET_COMPRESSION, f, Buffer.from([0x42, 0]), 0)).status, NtStatus.INVALID_PARAMETER);
    const ro = await open('c.dat', Access.FILE_READ_DATA);
    assert.equal((await ioctl(Fsctl.SET_COMPRESSION, ro, Buffer.from([0, 0]), 0)).status, NtStatus.ACCESS_DENIED);
    await close(f);
    await close(ro);
  });
});

describe('server-side copy with a real client (smbclient scopy)', { skip: smbclientPath() ? false : 'smbclient is not installed' }, () => {
  let srv: Running;
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv.stop();
  });

  test('a file larger than one copy-chunk request (16 MiB) is copied byte for byte', async () => {
    const data = randomBytes(COPYCHUNK_MAX_DATA_SIZE + 3 * COPYCHUNK_MAX_CHUNK_SIZE + 4321);
    writeFileSync(join(srv.dir, 'from.bin'), data);
    const r = await smbclient(srv.port, 'scopy from.bin to.bin');
    assert.equal(r.code, 0, r.out);
    assert.ok(readFileSync(join(srv.dir, 'to.bin')).equals(data));
    assert.ok(srv.logs.every((l) => !/copychunk/.test(l)), 'no copy-chunk request failed');
  });
});
