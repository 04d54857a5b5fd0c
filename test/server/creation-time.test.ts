/**
 * A creation time set by a client (SET_INFO FileBasicInformation,
 * MS-FSA 2.1.5.14.2). Linux cannot set a birth time, so the server keeps it
 * beside the DOS attributes (dos-attributes.ts, version 2 of
 * user.ringsmb.DOSATTRIB) and answers it in QUERY_INFO, directory listings
 * and CREATE; an overwrite keeps it, as on NTFS; a named stream's handle sets
 * its file's (smbtorture smb2.streams.attributes2).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Command, CreateDisposition, FileInfoClass } from '../../src/smb2/constants.js';
import { decodeQueryInfoResponse, encodeQueryInfoRequest } from '../../src/smb2/commands/query-info.js';
import { decodeQueryDirectoryResponse, encodeQueryDirectoryRequest } from '../../src/smb2/commands/query-directory.js';
import { encodeSetInfoRequest } from '../../src/smb2/commands/set-info.js';
import { decodeDirectoryEntries, decodeFileBasicInformation, encodeFileBasicInformation } from '../../src/smb2/fscc/index.js';
import type { FileId } from '../../src/smb2/wire.js';
import { serverAndClient } from './fixtures/server-and-client.js';

const ALL = 0x001f01ff, DIRECTORY_FILE = 0x1;
/** 2001-02-03 04:05:06.7 UTC as a FILETIME (100 ns since 1601). */
const T = 126261183067000000n;

const env = serverAndClient();

async function open(name: string, o: { disposition?: number; options?: number; attributes?: number } = {}): Promise<{ fid: FileId; creationTime: bigint }> {
  const r = await env.c.create(name, { access: ALL, share: 7, ...o });
  assert.equal(r.status, 0, `open ${name}: 0x${r.status.toString(16)}`);
  return { fid: r.res!.fileId, creationTime: r.res!.creationTime };
}

async function basic(fid: FileId) {
  const r = await env.c.request(Command.QUERY_INFO, encodeQueryInfoRequest({ infoType: 1, fileInfoClass: FileInfoClass.FileBasicInformation, outputBufferLength: 40, input: Buffer.alloc(0), additionalInformation: 0, flags: 0, fileId: fid }));
  assert.equal(r.hdr.status, 0);
  return decodeFileBasicInformation(decodeQueryInfoResponse(r.msg).output);
}

async function setBasic(fid: FileId, creationTime: bigint, fileAttributes = 0): Promise<number> {
  const buffer = encodeFileBasicInformation({ creationTime, lastAccessTime: 0n, lastWriteTime: 0n, changeTime: 0n, fileAttributes });
  return (await env.c.request(Command.SET_INFO, encodeSetInfoRequest({ infoType: 1, fileInfoClass: FileInfoClass.FileBasicInformation, buffer, additionalInformation: 0, fileId: fid }))).hdr.status;
}

async function listed(dir: FileId, name: string): Promise<bigint> {
  const cls = FileInfoClass.FileIdBothDirectoryInformation;
  const r = await env.c.request(Command.QUERY_DIRECTORY, encodeQueryDirectoryRequest({ fileInformationClass: cls, flags: 1, fileIndex: 0, fileId: dir, fileName: name, outputBufferLength: 65536 }));
  assert.equal(r.hdr.status, 0);
  const entries = decodeDirectoryEntries(cls, decodeQueryDirectoryResponse(r.msg).output);
  const e = entries.find((x) => x.fileName === name);
  assert.ok(e, `${name} not listed`);
  return e.creationTime;
}

describe('a creation time set by a client', () => {
  test('is answered by QUERY_INFO, CREATE and the listing, keeps the attributes and the write time, and survives an overwrite', async () => {
    const d = await open('ct', { disposition: CreateDisposition.CREATE, options: DIRECTORY_FILE });
    const f = await open('ct\\f.txt', { disposition: CreateDisposition.CREATE });
    assert.equal(await setBasic(f.fid, 0n, 0x2), 0, 'HIDDEN first');
    const before = await basic(f.fid);
    assert.notEqual(before.creationTime, T);
    assert.equal(await setBasic(f.fid, T), 0);
    const after = await basic(f.fid);
    assert.equal(after.creationTime, T);
    assert.equal(after.lastWriteTime, before.lastWriteTime);
    assert.equal(after.fileAttributes, 0x2, 'the HIDDEN set before is kept');
    assert.equal(await env.c.close(f.fid), 0);
    assert.equal(await listed(d.fid, 'f.txt'), T);
    assert.equal((await open('ct\\f.txt')).creationTime, T);
    const o = await open('ct\\f.txt', { disposition: CreateDisposition.OVERWRITE_IF, attributes: 0x2 });
    assert.equal(o.creationTime, T, 'an overwrite keeps the file and its creation time');
    assert.equal(await env.c.close(o.fid), 0);
    // Setting the attributes later keeps the creation time.
    const g = await open('ct\\f.txt');
    assert.equal(await setBasic(g.fid, 0n, 0x80), 0);
    assert.equal((await basic(g.fid)).creationTime, T);
    assert.equal(await env.c.close(g.fid), 0);
    assert.equal(await env.c.close(d.fid), 0);
  });

  test('write and creation times before 1970 are kept (Node takes a negative time for "now"), and a path may use / for \\', async () => {
    const T1968 = 115813152000000000n; // 1968-01-01, as smbtorture smb2.timestamps sets it
    await open('old', { disposition: CreateDisposition.CREATE, options: DIRECTORY_FILE });
    const f = await open('old/f1968.txt', { disposition: CreateDisposition.CREATE });
    const buffer = encodeFileBasicInformation({ creationTime: T1968, lastAccessTime: 0n, lastWriteTime: T1968, changeTime: 0n, fileAttributes: 0 });
    const r = await env.c.request(Command.SET_INFO, encodeSetInfoRequest({ infoType: 1, fileInfoClass: FileInfoClass.FileBasicInformation, buffer, additionalInformation: 0, fileId: f.fid }));
    assert.equal(r.hdr.status, 0);
    const b = await basic(f.fid);
    assert.equal(b.lastWriteTime, T1968);
    assert.equal(b.creationTime, T1968);
    assert.equal(await env.c.close(f.fid), 0);
    assert.equal((await open('old\\f1968.txt')).creationTime, T1968);
  });

  test("a named stream's handle sets its file's creation time", async () => {
    const s = await open('cs.txt:meta', { disposition: CreateDisposition.CREATE });
    assert.equal(await setBasic(s.fid, T + 10_000_000n), 0);
    assert.equal(await env.c.close(s.fid), 0);
    const f = await open('cs.txt');
    assert.equal((await basic(f.fid)).creationTime, T + 10_000_000n);
    assert.equal(await env.c.close(f.fid), 0);
  });
});
