/**
 * NT ACLs passed down and DELETE through the directory, over real SMB2: a
 * file or directory created without an SD_BUFFER takes what its directory's
 * descriptor passes down (MS-DTYP 2.5.3.4.2); DELETE a file's own DACL does
 * not grant comes from FILE_DELETE_CHILD on its directory; and a CREATE that
 * fails after making the file leaves nothing behind (smbtorture
 * smb2.delete-on-close-perms).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateContextName, CreateDisposition } from '../../src/smb2/constants.js';
import { NtStatus } from '../../src/smb2/status.js';
import { AceFlags, AceType, encodeSecurityDescriptor } from '../../src/smb2/security.js';
import { tokenOf } from '../../src/server/ntacl.js';
import { Command } from '../../src/smb2/constants.js';
import { encodeSetInfoRequest } from '../../src/smb2/commands/set-info.js';
import { encodeFileRenameInformation } from '../../src/smb2/fscc/index.js';
import { serverAndClient } from './fixtures/server-and-client.js';

const me = tokenOf(null)[0]!;
const DELETE = 0x00010000, DELETE_CHILD = 0x40, READ = 0x00120089, ALL = 0x001f01ff;
const DIRECTORY_FILE = 0x1, NON_DIRECTORY_FILE = 0x40, DELETE_ON_CLOSE = 0x1000;
const READONLY = 0x1;

const env = serverAndClient();

/** A directory whose DACL is one ACE for this server's user. */
async function dirWith(name: string, mask: number, aceFlags: number): Promise<void> {
  const sd = encodeSecurityDescriptor({ owner: me, dacl: [{ aceType: AceType.ACCESS_ALLOWED, aceFlags, mask, sid: me }] });
  const r = await env.c.create(name, { disposition: CreateDisposition.CREATE, options: DIRECTORY_FILE, contexts: [{ name: CreateContextName.SD_BUFFER, data: sd }] });
  assert.equal(r.status, 0);
  assert.equal(await env.c.close(r.res!.fileId), 0);
}

async function openStatus(name: string, access: number, options = 0): Promise<number> {
  const r = await env.c.create(name, { disposition: CreateDisposition.OPEN, access, options });
  if (r.status === 0) await env.c.close(r.res!.fileId);
  return r.status;
}

describe('maximal access (MxAc, MS-SMB2 3.3.5.9.5)', () => {
  test("answers the file's own descriptor for this user, not the share's", async () => {
    const WRITE_DATA = 0x2, WRITE_DAC = 0x00040000;
    const mxac = { name: CreateContextName.QUERY_MAXIMAL_ACCESS_REQUEST, data: Buffer.alloc(0) };
    const maximal = async (name: string): Promise<number> => {
      const r = await env.c.create(name, { disposition: CreateDisposition.OPEN_IF, access: 0x00020000, contexts: [mxac] });
      assert.equal(r.status, 0);
      assert.equal(await env.c.close(r.res!.fileId), 0);
      const c = r.res!.createContexts.find((x) => x.name === CreateContextName.QUERY_MAXIMAL_ACCESS_REQUEST);
      assert.ok(c, 'MxAc answered');
      assert.equal(c.data.readUInt32LE(0), 0, 'QueryStatus');
      return c.data.readUInt32LE(4);
    };
    assert.equal((await maximal('mxac-plain.txt')) & ALL, ALL, 'no descriptor stored: what the share allows');
    const sd = encodeSecurityDescriptor({ owner: me, dacl: [{ aceType: AceType.ACCESS_ALLOWED, aceFlags: 0, mask: READ | WRITE_DATA, sid: me }, { aceType: AceType.ACCESS_DENIED, aceFlags: 0, mask: WRITE_DATA, sid: me }] });
    const f = await env.c.create('mxac-acl.txt', { disposition: CreateDisposition.CREATE, contexts: [{ name: CreateContextName.SD_BUFFER, data: sd }] });
    assert.equal(f.status, 0);
    assert.equal(await env.c.close(f.res!.fileId), 0);
    // The trailing DENY takes nothing granted; the owner keeps WRITE_DAC; DELETE only by the directory's DELETE_CHILD.
    assert.equal((await maximal('mxac-acl.txt')) & ~DELETE, READ | WRITE_DATA | WRITE_DAC);
  });
});

describe('overwrite under an NT ACL', () => {
  test('SUPERSEDE, OVERWRITE and OVERWRITE_IF need FILE_WRITE_DATA, whatever the open asks; refused, the data stays', async () => {
    const sd = encodeSecurityDescriptor({ owner: me, dacl: [{ aceType: AceType.ACCESS_ALLOWED, aceFlags: 0, mask: READ, sid: me }] });
    const f = await env.c.create('ro-acl.txt', { disposition: CreateDisposition.CREATE, contexts: [{ name: CreateContextName.SD_BUFFER, data: sd }] });
    assert.equal(f.status, 0);
    assert.equal(await env.c.close(f.res!.fileId), 0);
    writeFileSync(join(env.srv.dir, 'ro-acl.txt'), 'keep me');
    for (const disposition of [CreateDisposition.SUPERSEDE, CreateDisposition.OVERWRITE, CreateDisposition.OVERWRITE_IF]) {
      const r = await env.c.create('ro-acl.txt', { disposition, access: READ });
      assert.equal(r.status, NtStatus.ACCESS_DENIED, `disposition ${disposition}`);
    }
    assert.equal(readFileSync(join(env.srv.dir, 'ro-acl.txt'), 'utf8'), 'keep me');
    assert.equal(await openStatus('ro-acl.txt', READ), 0, 'an OPEN for reading is fine');
  });
});

describe('NT ACL inheritance and DELETE', () => {
  test("a new file takes its directory's OBJECT_INHERIT ACE: its creator got DELETE, later opens do not, the directory granting no DELETE_CHILD", async () => {
    await dirWith('inh1', ALL & ~(DELETE | DELETE_CHILD), AceFlags.OBJECT_INHERIT);
    const f = await env.c.create('inh1\\f.txt', { disposition: CreateDisposition.CREATE, access: READ | DELETE, options: NON_DIRECTORY_FILE });
    assert.equal(f.status, 0, 'the creator gets what it asked');
    assert.equal(await env.c.close(f.res!.fileId), 0);
    assert.equal(await openStatus('inh1\\f.txt', READ), 0);
    assert.equal(await openStatus('inh1\\f.txt', READ | DELETE), NtStatus.ACCESS_DENIED, 'the inherited ACE has no DELETE');
    assert.equal(await openStatus('inh1\\f.txt', READ, DELETE_ON_CLOSE), NtStatus.ACCESS_DENIED);
  });

  test('DELETE that a file does not grant comes from DELETE_CHILD on its directory', async () => {
    await dirWith('inh2', ALL & ~DELETE, AceFlags.OBJECT_INHERIT); // DELETE_CHILD kept
    const f = await env.c.create('inh2\\f.txt', { disposition: CreateDisposition.CREATE, options: NON_DIRECTORY_FILE });
    assert.equal(f.status, 0);
    assert.equal(await env.c.close(f.res!.fileId), 0);
    assert.equal(await openStatus('inh2\\f.txt', READ | DELETE), 0);
    // The directory itself: no DELETE in its own DACL, but the share root grants DELETE_CHILD.
    assert.equal(await openStatus('inh1', READ | DELETE, DIRECTORY_FILE), 0);
  });

  test('a directory passes CONTAINER_INHERIT ACEs on to directories below, and they to their files', async () => {
    await dirWith('inh3', ALL & ~(DELETE | DELETE_CHILD), AceFlags.OBJECT_INHERIT | AceFlags.CONTAINER_INHERIT);
    const sub = await env.c.create('inh3\\sub', { disposition: CreateDisposition.CREATE, options: DIRECTORY_FILE });
    assert.equal(sub.status, 0);
    assert.equal(await env.c.close(sub.res!.fileId), 0);
    const f = await env.c.create('inh3\\sub\\f.txt', { disposition: CreateDisposition.CREATE, options: NON_DIRECTORY_FILE });
    assert.equal(f.status, 0);
    assert.equal(await env.c.close(f.res!.fileId), 0);
    assert.equal(await openStatus('inh3\\sub\\f.txt', READ | DELETE), NtStatus.ACCESS_DENIED, 'two levels down, still no DELETE');
    assert.equal(await openStatus('inh3\\sub\\f.txt', READ), 0);
  });

  test('a directory once seen without a descriptor passes down the one set on it later, or the one of a directory renamed to its name', async () => {
    const restrictive = encodeSecurityDescriptor({ owner: me, dacl: [{ aceType: AceType.ACCESS_ALLOWED, aceFlags: AceFlags.OBJECT_INHERIT, mask: ALL & ~(DELETE | DELETE_CHILD), sid: me }] });
    const newFile = async (name: string) => {
      const f = await env.c.create(name, { disposition: CreateDisposition.CREATE, options: NON_DIRECTORY_FILE });
      assert.equal(f.status, 0);
      assert.equal(await env.c.close(f.res!.fileId), 0);
    };
    const bare = await env.c.create('bare1', { disposition: CreateDisposition.CREATE, options: DIRECTORY_FILE, access: ALL });
    assert.equal(bare.status, 0);
    await newFile('bare1\\a.txt'); // bare1 has no descriptor: remembered
    const set = await env.c.request(Command.SET_INFO, encodeSetInfoRequest({ infoType: 3, fileInfoClass: 0, buffer: restrictive, additionalInformation: 0x5, fileId: bare.res!.fileId }));
    assert.equal(set.hdr.status, 0);
    await newFile('bare1\\b.txt');
    assert.equal(await openStatus('bare1\\b.txt', READ | DELETE), NtStatus.ACCESS_DENIED, 'the descriptor set a moment after is passed down');
    assert.equal(await env.c.close(bare.res!.fileId), 0);

    const plain = await env.c.create('bare2', { disposition: CreateDisposition.CREATE, options: DIRECTORY_FILE, access: ALL });
    assert.equal(plain.status, 0);
    await newFile('bare2\\a.txt');
    await dirWith('acl2', ALL & ~(DELETE | DELETE_CHILD), AceFlags.OBJECT_INHERIT);
    const rename = async (id: typeof plain.res, to: string) => {
      const buffer = encodeFileRenameInformation({ replaceIfExists: false, rootDirectory: 0n, fileName: to });
      return (await env.c.request(Command.SET_INFO, encodeSetInfoRequest({ infoType: 1, fileInfoClass: 10, buffer, additionalInformation: 0, fileId: id!.fileId }))).hdr.status;
    };
    assert.equal(await rename(plain.res, 'bare2-old'), 0);
    const acl = await env.c.create('acl2', { options: DIRECTORY_FILE, access: READ | DELETE });
    assert.equal(acl.status, 0);
    assert.equal(await rename(acl.res, 'bare2'), 0);
    await newFile('bare2\\b.txt');
    assert.equal(await openStatus('bare2\\b.txt', READ | DELETE), NtStatus.ACCESS_DENIED, "the renamed directory's descriptor is passed down");
    assert.equal(await env.c.close(plain.res!.fileId), 0);
    assert.equal(await env.c.close(acl.res!.fileId), 0);
  });

  test('a CREATE refused after it made the file leaves nothing: a new READONLY file with DELETE_ON_CLOSE', async () => {
    const r = await env.c.create('doc-ro.txt', { disposition: CreateDisposition.CREATE, attributes: READONLY, options: NON_DIRECTORY_FILE | DELETE_ON_CLOSE, access: ALL });
    assert.equal(r.status, NtStatus.CANNOT_DELETE);
    assert.equal(existsSync(join(env.srv.dir, 'doc-ro.txt')), false);
    const again = await env.c.create('doc-ro.txt', { disposition: CreateDisposition.CREATE, attributes: READONLY, options: NON_DIRECTORY_FILE });
    assert.equal(again.status, 0, 'the name is free');
    assert.equal(await env.c.close(again.res!.fileId), 0);
  });
});
