/**
 * FILE_ATTRIBUTE_READONLY as Windows keeps it (MS-FSA 2.1.5.1.2.1,
 * 2.1.5.14.2): a file's is its mode without write bits, and a READONLY file
 * is neither overwritten nor opened to write its data, whoever the server
 * runs as (as root the kernel would allow both); an overwrite that asks for
 * READONLY sets it; a directory's is kept as a mark in the stored DOS
 * attributes and does not stop new names in it (smbtorture smb2.openattr,
 * smb2.winattr). And a security descriptor asked for nothing needs no READ_CONTROL.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CreateDisposition, FileInfoClass } from '../../src/smb2/constants.js';
import { NtStatus } from '../../src/smb2/status.js';
import { decodeQueryInfoResponse, encodeQueryInfoRequest } from '../../src/smb2/commands/query-info.js';
import { encodeSetInfoRequest } from '../../src/smb2/commands/set-info.js';
import { encodeWriteRequest } from '../../src/smb2/commands/write.js';
import { decodeFileBasicInformation, encodeFileBasicInformation } from '../../src/smb2/fscc/index.js';
import type { FileId } from '../../src/smb2/wire.js';
import { decodeSecurityDescriptor } from '../../src/smb2/security.js';
import { serverAndClient } from './fixtures/server-and-client.js';

const READ_DATA = 0x1, WRITE_DATA = 0x2, READ_ATTR = 0x80, WRITE_ATTR = 0x100, ALL = 0x001f01ff, MAXIMUM_ALLOWED = 0x02000000;
const READONLY = 0x1, DIRECTORY = 0x10, ARCHIVE = 0x20, DIRECTORY_FILE = 0x1;

const env = serverAndClient();

async function attributes(fid: FileId): Promise<number> {
  const r = await env.c.request(Command.QUERY_INFO, encodeQueryInfoRequest({ infoType: 1, fileInfoClass: FileInfoClass.FileBasicInformation, outputBufferLength: 40, input: Buffer.alloc(0), additionalInformation: 0, flags: 0, fileId: fid }));
  assert.equal(r.hdr.status, 0);
  return decodeFileBasicInformation(decodeQueryInfoResponse(r.msg).output).fileAttributes;
}

async function setAttributes(fid: FileId, fileAttributes: number): Promise<number> {
  const buffer = encodeFileBasicInformation({ creationTime: 0n, lastAccessTime: 0n, lastWriteTime: 0n, changeTime: 0n, fileAttributes });
  return (await env.c.request(Command.SET_INFO, encodeSetInfoRequest({ infoType: 1, fileInfoClass: FileInfoClass.FileBasicInformation, buffer, additionalInformation: 0, fileId: fid }))).hdr.status;
}

describe('READONLY', () => {
  test('a READONLY file is not overwritten nor opened to write its data; MAXIMUM_ALLOWED gets no write; its attributes can still be changed', async () => {
    const path = join(env.srv.dir, 'ro.txt');
    writeFileSync(path, 'keep');
    chmodSync(path, 0o444);
    for (const disposition of [CreateDisposition.OVERWRITE, CreateDisposition.OVERWRITE_IF, CreateDisposition.SUPERSEDE]) {
      assert.equal((await env.c.create('ro.txt', { access: ALL, disposition })).status, NtStatus.ACCESS_DENIED, `disposition ${disposition}`);
    }
    assert.equal((await env.c.create('ro.txt', { access: READ_DATA | WRITE_DATA, disposition: CreateDisposition.OPEN })).status, NtStatus.ACCESS_DENIED);
    const m = await env.c.create('ro.txt', { access: MAXIMUM_ALLOWED, disposition: CreateDisposition.OPEN });
    assert.equal(m.status, 0);
    const w = await env.c.request(Command.WRITE, encodeWriteRequest({ offset: 0n, fileId: m.res!.fileId, channel: 0, remainingBytes: 0, flags: 0, data: Buffer.from('lost') }));
    assert.equal(w.hdr.status, NtStatus.ACCESS_DENIED);
    await env.c.close(m.res!.fileId);
    const a = await env.c.create('ro.txt', { access: READ_ATTR | WRITE_ATTR, disposition: CreateDisposition.OPEN });
    assert.equal(a.status, 0);
    assert.equal(await setAttributes(a.res!.fileId, ARCHIVE), 0, 'READONLY cleared');
    await env.c.close(a.res!.fileId);
    const rw = await env.c.create('ro.txt', { access: READ_DATA | WRITE_DATA, disposition: CreateDisposition.OPEN });
    assert.equal(rw.status, 0, 'writable again');
    await env.c.close(rw.res!.fileId);
    assert.equal(readFileSync(path, 'utf8'), 'keep');
  });

  test('an overwrite that asks for READONLY makes the file READONLY', async () => {
    const f = await env.c.create('ow.txt', { access: ALL, disposition: CreateDisposition.CREATE, attributes: 0x80 });
    await env.c.close(f.res!.fileId);
    const o = await env.c.create('ow.txt', { access: ALL, disposition: CreateDisposition.OVERWRITE_IF, attributes: READONLY });
    assert.equal(o.status, 0);
    assert.equal(o.res!.fileAttributes, READONLY | ARCHIVE);
    await env.c.close(o.res!.fileId);
    assert.equal(statSync(join(env.srv.dir, 'ow.txt')).mode & 0o222, 0);
  });

  test("a directory's READONLY is kept and answered, and new names can still be made in it", async () => {
    const d = await env.c.create('rodir', { access: ALL, disposition: CreateDisposition.CREATE, options: DIRECTORY_FILE });
    assert.equal(d.status, 0);
    assert.equal(await setAttributes(d.res!.fileId, READONLY | DIRECTORY), 0);
    assert.equal(await attributes(d.res!.fileId), READONLY | DIRECTORY);
    await env.c.close(d.res!.fileId);
    const again = await env.c.create('rodir', { access: READ_ATTR, disposition: CreateDisposition.OPEN });
    assert.equal(again.res!.fileAttributes, READONLY | DIRECTORY);
    await env.c.close(again.res!.fileId);
    const inside = await env.c.create('rodir\\new.txt', { access: ALL, disposition: CreateDisposition.CREATE });
    assert.equal(inside.status, 0);
    await env.c.close(inside.res!.fileId);
    assert.ok(statSync(join(env.srv.dir, 'rodir')).mode & 0o200, 'the mode keeps its write bit');
    const clear = await env.c.create('rodir', { access: WRITE_ATTR | READ_ATTR, disposition: CreateDisposition.OPEN });
    assert.equal(await setAttributes(clear.res!.fileId, DIRECTORY), 0);
    assert.equal(await attributes(clear.res!.fileId), DIRECTORY);
    await env.c.close(clear.res!.fileId);
  });
});

describe('QUERY_INFO security without READ_CONTROL', () => {
  test('asked for owner, group or DACL: ACCESS_DENIED; asked for nothing: an empty descriptor (MS-FSA 2.1.5.13, smbtorture smb2.sdread)', async () => {
    const f = await env.c.create('sd.txt', { access: ALL, disposition: CreateDisposition.CREATE });
    await env.c.close(f.res!.fileId);
    const o = await env.c.create('sd.txt', { access: READ_ATTR, disposition: CreateDisposition.OPEN });
    assert.equal(o.status, 0);
    const q = (additionalInformation: number) => env.c.request(Command.QUERY_INFO, encodeQueryInfoRequest({ infoType: 3, fileInfoClass: 0, outputBufferLength: 4096, input: Buffer.alloc(0), additionalInformation, flags: 0, fileId: o.res!.fileId }));
    for (const bit of [0x1, 0x2, 0x4]) assert.equal((await q(bit)).hdr.status, NtStatus.ACCESS_DENIED, `SecurityInformation 0x${bit.toString(16)}`);
    const none = await q(0);
    assert.equal(none.hdr.status, 0);
    const sd = decodeSecurityDescriptor(decodeQueryInfoResponse(none.msg).output);
    assert.equal(sd.owner, undefined);
    assert.equal(sd.group, undefined);
    assert.ok(!sd.dacl, 'no DACL');
    await env.c.close(o.res!.fileId);
  });
});

describe('FILE_CREATE of a file that is open without sharing', () => {
  test('is OBJECT_NAME_COLLISION, not SHARING_VIOLATION: existence is checked before share modes (MS-FSA 2.1.5.1.2)', async () => {
    const a = await env.c.create('held.txt', { access: ALL, share: 0, disposition: CreateDisposition.CREATE });
    assert.equal(a.status, 0);
    assert.equal((await env.c.create('held.txt', { access: ALL, share: 0, disposition: CreateDisposition.CREATE })).status, NtStatus.OBJECT_NAME_COLLISION);
    assert.equal((await env.c.create('held.txt', { access: READ_DATA, share: 7, disposition: CreateDisposition.OPEN })).status, NtStatus.SHARING_VIOLATION);
    await env.c.close(a.res!.fileId);
  });
});
