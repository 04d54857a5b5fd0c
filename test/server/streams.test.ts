/**
 * Named streams over real SMB2 (server/streams.ts): `file:name:$DATA` kept in
 * the file's extended attributes in Samba's vfs_streams_xattr format, with
 * the rules of MS-FSA for names, share modes, delete and rename, the limit of
 * what an attribute holds, and smbclient as a real client.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { smbclient, startServer, USER, PASSWORD, type Running } from '../interop/harness.js';
import { TestClient } from './smb-client.js';
import { Command, CreateDisposition, FileInfoClass, FsAttributes, FsInfoClass } from '../../src/smb2/constants.js';
import { NtStatus } from '../../src/smb2/status.js';
import { decodeReadResponse, encodeReadRequest } from '../../src/smb2/commands/read.js';
import { encodeWriteRequest } from '../../src/smb2/commands/write.js';
import { decodeQueryInfoResponse, encodeQueryInfoRequest } from '../../src/smb2/commands/query-info.js';
import { encodeSetInfoRequest } from '../../src/smb2/commands/set-info.js';
import { decodeFileStreamInformation, decodeFileFsAttributeInformation, encodeFileRenameInformation } from '../../src/smb2/fscc/index.js';
import type { FileId } from '../../src/smb2/wire.js';
import { serverAndClient } from './fixtures/server-and-client.js';

const READ_DATA = 0x1, WRITE_DATA = 0x2, DELETE = 0x00010000, READ_ATTR = 0x80, ALL = 0x001f01ff;
const SHARE_ALL = 7;
const DIRECTORY_FILE = 0x1, NON_DIRECTORY_FILE = 0x40, DELETE_ON_CLOSE = 0x1000;

const env = serverAndClient();

async function open(name: string, o: { disposition?: number; access?: number; share?: number; options?: number } = {}): Promise<FileId> {
  const r = await env.c.create(name, { access: ALL, share: SHARE_ALL, ...o });
  assert.equal(r.status, 0, `open ${JSON.stringify(name)}: 0x${r.status.toString(16)}`);
  return r.res!.fileId;
}

async function status(name: string, o: { disposition?: number; access?: number; share?: number; options?: number } = {}): Promise<number> {
  const r = await env.c.create(name, { access: ALL, share: SHARE_ALL, ...o });
  if (r.status === 0) await env.c.close(r.res!.fileId);
  return r.status;
}

async function write(fid: FileId, data: Buffer, offset = 0n): Promise<number> {
  return (await env.c.request(Command.WRITE, encodeWriteRequest({ offset, fileId: fid, channel: 0, remainingBytes: 0, flags: 0, data }))).hdr.status;
}

async function read(fid: FileId, length = 1 << 16, offset = 0n): Promise<Buffer> {
  const r = await env.c.request(Command.READ, encodeReadRequest({ padding: 0x50, flags: 0, length, offset, fileId: fid, minimumCount: 0, channel: 0, remainingBytes: 0, readChannelInfo: Buffer.alloc(0) }));
  if (r.hdr.status === NtStatus.END_OF_FILE) return Buffer.alloc(0);
  assert.equal(r.hdr.status, 0);
  return decodeReadResponse(r.msg).data;
}

async function query(fid: FileId, infoType: number, cls: number): Promise<Buffer> {
  const r = await env.c.request(Command.QUERY_INFO, encodeQueryInfoRequest({ infoType, fileInfoClass: cls, outputBufferLength: 65536, input: Buffer.alloc(0), additionalInformation: 0, flags: 0, fileId: fid }));
  assert.equal(r.hdr.status, 0);
  return decodeQueryInfoResponse(r.msg).output;
}

async function streams(fid: FileId): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const e of decodeFileStreamInformation(await query(fid, 1, FileInfoClass.FileStreamInformation))) out[e.streamName] = Number(e.streamSize);
  return out;
}

async function renameTo(fid: FileId, name: string, replace: boolean): Promise<number> {
  const buffer = encodeFileRenameInformation({ replaceIfExists: replace, rootDirectory: 0n, fileName: name });
  return (await env.c.request(Command.SET_INFO, encodeSetInfoRequest({ infoType: 1, fileInfoClass: FileInfoClass.FileRenameInformation, buffer, additionalInformation: 0, fileId: fid }))).hdr.status;
}

/** The file's extended attributes as Python reads them (Node has no xattr API). */
function xattrs(rel: string): Record<string, string> {
  const r = spawnSync('python3', ['-c', 'import os,sys,json; p=sys.argv[1]; print(json.dumps({n: os.getxattr(p, n).hex() for n in os.listxattr(p)}))', join(env.srv.dir, rel)], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, string>;
}

describe('named streams', () => {
  test('a stream of a new file: the file is made, the data lands in user.DosStream.<name>:$DATA with a trailing NUL, the file stays empty', async () => {
    const s = await open('s1.txt:Zone.Identifier', { disposition: CreateDisposition.CREATE });
    assert.equal(await write(s, Buffer.from('[ZoneTransfer]\r\nZoneId=3\r\n')), 0);
    assert.deepEqual(await read(s), Buffer.from('[ZoneTransfer]\r\nZoneId=3\r\n'));
    assert.equal(await env.c.close(s), 0);
    assert.equal(readFileSync(join(env.srv.dir, 's1.txt')).length, 0);
    assert.equal(xattrs('s1.txt')['user.DosStream.Zone.Identifier:$DATA'], Buffer.from('[ZoneTransfer]\r\nZoneId=3\r\n\0').toString('hex'));
    const f = await open('s1.txt');
    assert.deepEqual(await streams(f), { '::$DATA': 0, ':Zone.Identifier:$DATA': 26 });
    await env.c.close(f);
    // Case-insensitive, with or without the type, in any case.
    const again = await open('s1.txt:ZONE.IDENTIFIER:$data', { disposition: CreateDisposition.OPEN });
    assert.equal((await read(again)).toString(), '[ZoneTransfer]\r\nZoneId=3\r\n');
    assert.equal(await env.c.close(again), 0);
  });

  test('a stream written by Samba (or anything else) in the same format is read back, and the listing follows the attributes', async () => {
    writeFileSync(join(env.srv.dir, 's2.txt'), 'base');
    const r = spawnSync('python3', ['-c', 'import os,sys; os.setxattr(sys.argv[1], "user.DosStream.from samba:$DATA", b"hello\\0")', join(env.srv.dir, 's2.txt')]);
    assert.equal(r.status, 0, String(r.stderr));
    const s = await open('s2.txt:from samba', { disposition: CreateDisposition.OPEN });
    assert.equal((await read(s)).toString(), 'hello');
    assert.deepEqual(await streams(s), { '::$DATA': 4, ':from samba:$DATA': 5 });
    await env.c.close(s);
  });

  test('names: any character but / \\ : names a stream; an empty or unknown type, or a wildcard in the file part, is invalid', async () => {
    await env.c.close(await open('n.txt', { disposition: CreateDisposition.CREATE }));
    assert.equal(await status('n.txt:a*b?\x05c', { disposition: CreateDisposition.CREATE }), 0);
    assert.equal(await status('n.txt:a*b?\x05c', { disposition: CreateDisposition.OPEN }), 0);
    assert.equal(await status('n.txt:missing', { disposition: CreateDisposition.OPEN }), NtStatus.OBJECT_NAME_NOT_FOUND);
    assert.equal(await status('n.txt:s:', { disposition: CreateDisposition.OPEN_IF }), NtStatus.OBJECT_NAME_INVALID);
    assert.equal(await status('n.txt:s:$FOO', { disposition: CreateDisposition.OPEN_IF }), NtStatus.OBJECT_NAME_INVALID);
    assert.equal(await status('n.txt:a/b', { disposition: CreateDisposition.OPEN_IF }), NtStatus.OBJECT_NAME_INVALID);
    assert.equal(await status('n*.txt:s', { disposition: CreateDisposition.OPEN_IF }), NtStatus.OBJECT_NAME_INVALID);
    assert.equal(await status('n.txt:' + 'x'.repeat(240), { disposition: CreateDisposition.OPEN_IF }), NtStatus.OBJECT_NAME_INVALID);
    assert.equal(await status('n.txt:s', { disposition: CreateDisposition.OPEN_IF, options: DIRECTORY_FILE }), NtStatus.NOT_A_DIRECTORY);
    assert.equal(await status('n.txt:A*B?\x05C', { disposition: CreateDisposition.CREATE }), NtStatus.OBJECT_NAME_COLLISION);
  });

  test('share modes are per stream; a stream open without FILE_SHARE_DELETE keeps the file from DELETE', async () => {
    const a = await open('sm.txt:one', { disposition: CreateDisposition.CREATE, access: WRITE_DATA, share: 0 });
    assert.equal(await status('sm.txt:two', { disposition: CreateDisposition.CREATE, access: WRITE_DATA, share: 0 }), 0);
    assert.equal(await status('sm.txt:one', { access: WRITE_DATA, share: 0 }), NtStatus.SHARING_VIOLATION);
    assert.equal(await status('sm.txt', { access: READ_DATA | WRITE_DATA, share: SHARE_ALL }), 0, "the file's data is another stream");
    assert.equal(await status('sm.txt', { access: DELETE, share: SHARE_ALL }), NtStatus.SHARING_VIOLATION);
    await env.c.close(a);
    assert.equal(await status('sm.txt', { access: DELETE, share: SHARE_ALL }), 0);
  });

  test("deleting the file while a stream is open (sharing delete): names answer DELETE_PENDING, the stream's handle still reads, the file goes at its close", async () => {
    const s = await open('d.txt:s', { disposition: CreateDisposition.CREATE, access: READ_DATA | WRITE_DATA, share: SHARE_ALL });
    assert.equal(await write(s, Buffer.from('kept')), 0);
    assert.equal(await status('d.txt', { access: DELETE, options: DELETE_ON_CLOSE }), 0);
    assert.ok(existsSync(join(env.srv.dir, 'd.txt')), 'not before the stream closes');
    assert.equal(await status('d.txt'), NtStatus.DELETE_PENDING);
    assert.equal(await status('d.txt:s'), NtStatus.DELETE_PENDING);
    assert.equal(await status('d.txt:other', { disposition: CreateDisposition.OPEN_IF }), NtStatus.DELETE_PENDING);
    assert.equal((await read(s)).toString(), 'kept');
    assert.equal(await env.c.close(s), 0);
    assert.ok(!existsSync(join(env.srv.dir, 'd.txt')));
  });

  test('delete-on-close of a stream takes that stream only; overwriting the file takes them all, overwriting a stream only itself', async () => {
    for (const n of ['a', 'b', 'c']) {
      const s = await open(`o.txt:${n}`, { disposition: CreateDisposition.OPEN_IF });
      assert.equal(await write(s, Buffer.from(n)), 0);
      await env.c.close(s);
    }
    assert.equal(await status('o.txt:a', { access: DELETE, options: DELETE_ON_CLOSE }), 0);
    let f = await open('o.txt');
    assert.deepEqual(await streams(f), { '::$DATA': 0, ':b:$DATA': 1, ':c:$DATA': 1 });
    await env.c.close(f);
    assert.equal(await status('o.txt:b', { disposition: CreateDisposition.OVERWRITE_IF }), 0);
    f = await open('o.txt');
    assert.deepEqual(await streams(f), { '::$DATA': 0, ':b:$DATA': 0, ':c:$DATA': 1 });
    await env.c.close(f);
    // Not while one of them is open: the overwrite would take it from under its handle.
    const held = await open('o.txt:c', { access: READ_DATA, share: SHARE_ALL });
    assert.equal(await status('o.txt', { disposition: CreateDisposition.OVERWRITE }), NtStatus.SHARING_VIOLATION);
    assert.equal((await read(held)).toString(), 'c');
    await env.c.close(held);
    f = await open('o.txt', { disposition: CreateDisposition.OVERWRITE });
    assert.deepEqual(await streams(f), { '::$DATA': 0 });
    await env.c.close(f);
    assert.deepEqual(Object.keys(xattrs('o.txt')).filter((k) => k.startsWith('user.DosStream.')), []);
  });

  test('rename of a stream: to a new name; onto an existing one only with replace and while it is empty; the file cannot be renamed while a stream is open', async () => {
    for (const [n, data] of [['src', 'data'], ['empty', ''], ['full', 'x']] as const) {
      const s = await open(`r.txt:${n}`, { disposition: CreateDisposition.CREATE });
      if (data) assert.equal(await write(s, Buffer.from(data)), 0);
      await env.c.close(s);
    }
    const s = await open('r.txt:src', { access: ALL, share: SHARE_ALL });
    assert.equal(await renameTo(s, ':full:$DATA', false), NtStatus.OBJECT_NAME_COLLISION);
    assert.equal(await renameTo(s, ':full', true), NtStatus.INVALID_PARAMETER);
    assert.equal(await renameTo(s, ':bad:$FOO', true), NtStatus.OBJECT_TYPE_MISMATCH);
    const f = await open('r.txt', { access: ALL, share: SHARE_ALL });
    assert.equal(await renameTo(f, 'r2.txt', false), NtStatus.ACCESS_DENIED, 'a stream of it is open');
    await env.c.close(f);
    assert.equal(await renameTo(s, ':empty', true), 0);
    assert.equal((await read(s)).toString(), 'data', 'the handle follows the stream');
    assert.equal(await renameTo(s, ':moved:$DATA', false), 0);
    assert.deepEqual(await streams(s), { '::$DATA': 0, ':full:$DATA': 1, ':moved:$DATA': 4 });
    await env.c.close(s);
    assert.equal(await status('r.txt:src', { disposition: CreateDisposition.OPEN }), NtStatus.OBJECT_NAME_NOT_FOUND);
    // With the stream closed, the file renames and its streams go with it.
    const g = await open('r.txt', { access: ALL, share: SHARE_ALL });
    assert.equal(await renameTo(g, 'r2.txt', false), 0);
    assert.deepEqual(await streams(g), { '::$DATA': 0, ':full:$DATA': 1, ':moved:$DATA': 4 });
    await env.c.close(g);
  });

  test('two WRITEs to one stream in flight at once both land (each is a read-modify-write of the attribute)', async () => {
    const s = await open('w.txt:s', { disposition: CreateDisposition.CREATE });
    const parts = Array.from({ length: 8 }, (_, i) => Buffer.alloc(100, 0x41 + i));
    const sts = await Promise.all(parts.map((p, i) => write(s, p, BigInt(i * 100))));
    assert.deepEqual(sts, parts.map(() => 0));
    assert.deepEqual(await read(s), Buffer.concat(parts));
    await env.c.close(s);
  });

  test('a stream past what an extended attribute holds: DISK_FULL and a log line, and the stream keeps what it had', async () => {
    const s = await open('big.txt:s', { disposition: CreateDisposition.CREATE });
    assert.equal(await write(s, Buffer.from('small')), 0);
    const logsBefore = env.srv.logs.length;
    assert.equal(await write(s, Buffer.alloc(100), 65500n), NtStatus.DISK_FULL);
    assert.ok(env.srv.logs.slice(logsBefore).some((l) => /stream "s".*65535/.test(l)), env.srv.logs.slice(logsBefore).join('\n'));
    assert.equal((await read(s)).toString(), 'small');
    await env.c.close(s);
  });

  test('a stream on a directory, and none listed for it by default', async () => {
    const d = await open('sd', { disposition: CreateDisposition.CREATE, options: DIRECTORY_FILE });
    assert.deepEqual(await streams(d), {});
    const s = await open('sd:meta', { disposition: CreateDisposition.CREATE });
    assert.equal(await write(s, Buffer.from('m')), 0);
    await env.c.close(s);
    assert.deepEqual(await streams(d), { ':meta:$DATA': 1 });
    // The stream is a file: NON_DIRECTORY_FILE and an overwrite are its own business.
    const o = await open('sd:meta', { disposition: CreateDisposition.OVERWRITE_IF, options: NON_DIRECTORY_FILE });
    assert.deepEqual(await read(o), Buffer.alloc(0));
    await env.c.close(o);
    await env.c.close(d);
    assert.equal(await status('sd::$DATA'), NtStatus.FILE_IS_A_DIRECTORY);
    assert.equal(await status('sd::$DATA', { options: DIRECTORY_FILE }), NtStatus.NOT_A_DIRECTORY);
  });

  test('the share says FILE_NAMED_STREAMS', async () => {
    const root = await open('', { access: READ_ATTR });
    const fs = decodeFileFsAttributeInformation(await query(root, 2, FsInfoClass.FileFsAttributeInformation));
    assert.ok(fs.fileSystemAttributes & FsAttributes.NAMED_STREAMS);
    await env.c.close(root);
  });

  test('smbclient puts, lists (allinfo) and gets a stream', async () => {
    const local = mkdtempSync(join(tmpdir(), 'ringsmb-streams-'));
    try {
      writeFileSync(join(local, 'in'), 'from smbclient');
      const put = await smbclient(env.srv.port, `put ${join(local, 'in')} sc.txt:note; allinfo sc.txt; get sc.txt:note ${join(local, 'out')}`);
      assert.equal(put.code, 0, put.stdout + put.stderr);
      assert.match(put.stdout, /stream: \[:note:\$DATA\], 14 bytes/);
      assert.equal(readFileSync(join(local, 'out'), 'utf8'), 'from smbclient');
    } finally {
      rmSync(local, { recursive: true, force: true });
    }
  });
});

describe('a share without streams (ringsmb streams = no), and a read-only share', () => {
  let off: Running;
  let oc: TestClient;
  let roDir: string;
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringsmb-nostreams-'));
    roDir = mkdtempSync(join(tmpdir(), 'ringsmb-ro-'));
    writeFileSync(join(roDir, 'f.txt'), 'x');
    off = await startServer({
      signing: 'enabled',
      shares: [
        { name: 'share', path: dir, readOnly: false, comment: '', encrypt: false, browseable: true, guestOk: false, streams: false },
        { name: 'ro', path: roDir, readOnly: true, comment: '', encrypt: false, browseable: true, guestOk: false },
      ],
    });
    oc = await TestClient.connect(off.port, USER, PASSWORD, 'share');
  });
  after(async () => {
    oc.destroy();
    await off.stop();
    rmSync(roDir, { recursive: true, force: true });
  });

  test('a read-only share makes no stream: OPEN_IF of a missing one is ACCESS_DENIED and the file keeps no attribute', async () => {
    const ro = await TestClient.connect(off.port, USER, PASSWORD, 'ro');
    try {
      assert.equal((await ro.create('f.txt:new', { access: READ_DATA, disposition: CreateDisposition.OPEN_IF })).status, NtStatus.ACCESS_DENIED);
      assert.equal((await ro.create('f.txt:new', { access: READ_DATA, disposition: CreateDisposition.OPEN })).status, NtStatus.OBJECT_NAME_NOT_FOUND);
    } finally {
      ro.destroy();
    }
    const r = spawnSync('python3', ['-c', 'import os,sys; print(len(os.listxattr(sys.argv[1])))', join(roDir, 'f.txt')], { encoding: 'utf8' });
    assert.equal(r.stdout.trim(), '0');
  });

  test('refuses stream names, opens file::$DATA as the file, and does not say FILE_NAMED_STREAMS', async () => {
    assert.equal((await oc.create('x.txt:s', { disposition: CreateDisposition.OPEN_IF })).status, NtStatus.OBJECT_NAME_INVALID);
    const f = await oc.create('x.txt::$DATA', { disposition: CreateDisposition.OPEN_IF });
    assert.equal(f.status, 0);
    await oc.close(f.res!.fileId);
    const root = await oc.create('', { access: READ_ATTR });
    const r = await oc.request(Command.QUERY_INFO, encodeQueryInfoRequest({ infoType: 2, fileInfoClass: FsInfoClass.FileFsAttributeInformation, outputBufferLength: 4096, input: Buffer.alloc(0), additionalInformation: 0, flags: 0, fileId: root.res!.fileId }));
    const fs = decodeFileFsAttributeInformation(decodeQueryInfoResponse(r.msg).output);
    assert.equal(fs.fileSystemAttributes & FsAttributes.NAMED_STREAMS, 0);
    await oc.close(root.res!.fileId);
  });
});
