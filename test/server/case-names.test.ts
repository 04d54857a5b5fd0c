/**
 * Case-insensitive names (server/case-names.ts): a name is found in any case,
 * as on Windows and macOS, keeps the case it was made with, and is one file
 * to share modes and renames whatever case a client spells it in; names
 * made or removed beside the server are seen. "case sensitive = yes" keeps
 * Linux's byte comparison. The listing cache itself is tested on a share
 * root with a clock the test moves.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Command, CreateAction, CreateDisposition, FileInfoClass } from '../../src/smb2/constants.js';
import { NtStatus } from '../../src/smb2/status.js';
import { decodeReadResponse, encodeReadRequest } from '../../src/smb2/commands/read.js';
import { encodeSetInfoRequest } from '../../src/smb2/commands/set-info.js';
import { encodeFileRenameInformation } from '../../src/smb2/fscc/index.js';
import type { FileId } from '../../src/smb2/wire.js';
import { createVfs, type ShareRoot } from '../../src/vfs/index.js';
import { CaseNames, foldName } from '../../src/server/case-names.js';
import { serverAndClient } from './fixtures/server-and-client.js';

const READ_DATA = 0x1, DELETE = 0x00010000, ALL = 0x001f01ff;
const SHARE_ALL = 7;
const DIRECTORY_FILE = 0x1, DELETE_ON_CLOSE = 0x1000;

const env = serverAndClient();

function disk(rel = ''): string[] {
  return readdirSync(join(env.srv.dir, rel)).sort();
}

async function create(name: string, o: { disposition?: number; access?: number; share?: number; options?: number } = {}, c = env.c): Promise<{ status: number; fid: FileId | null; action: number }> {
  const r = await c.create(name, { access: ALL, share: SHARE_ALL, ...o });
  return { status: r.status, fid: r.res?.fileId ?? null, action: r.res?.createAction ?? -1 };
}

async function status(name: string, o: { disposition?: number; access?: number; share?: number; options?: number } = {}, c = env.c): Promise<number> {
  const r = await create(name, o, c);
  if (r.fid) await c.close(r.fid);
  return r.status;
}

async function readAll(fid: FileId): Promise<string> {
  const r = await env.c.request(Command.READ, encodeReadRequest({ padding: 0x50, flags: 0, length: 65536, offset: 0n, fileId: fid, minimumCount: 0, channel: 0, remainingBytes: 0, readChannelInfo: Buffer.alloc(0) }));
  if (r.hdr.status === NtStatus.END_OF_FILE) return '';
  assert.equal(r.hdr.status, 0);
  return decodeReadResponse(r.msg).data.toString();
}

async function renameTo(fid: FileId, name: string, replace: boolean): Promise<number> {
  const buffer = encodeFileRenameInformation({ replaceIfExists: replace, rootDirectory: 0n, fileName: name });
  return (await env.c.request(Command.SET_INFO, encodeSetInfoRequest({ infoType: 1, fileInfoClass: FileInfoClass.FileRenameInformation, buffer, additionalInformation: 0, fileId: fid }))).hdr.status;
}

describe('case-insensitive names', () => {
  test('a file is opened in any case: OPEN, OPEN_IF and OVERWRITE_IF reach it and make no second file', async () => {
    mkdirSync(join(env.srv.dir, 'o'));
    writeFileSync(join(env.srv.dir, 'o', 'ReadMe.txt'), 'hello');
    const r = await create('o\\README.TXT', { disposition: CreateDisposition.OPEN });
    assert.equal(r.status, 0);
    assert.equal(await readAll(r.fid!), 'hello');
    await env.c.close(r.fid!);
    const r2 = await create('o\\readme.TXT', { disposition: CreateDisposition.OPEN_IF });
    assert.equal(r2.status, 0);
    assert.equal(r2.action, CreateAction.OPENED);
    assert.equal(await readAll(r2.fid!), 'hello');
    await env.c.close(r2.fid!);
    const r3 = await create('o\\readme.txt', { disposition: CreateDisposition.OVERWRITE_IF });
    assert.equal(r3.status, 0);
    assert.equal(r3.action, CreateAction.OVERWRITTEN);
    await env.c.close(r3.fid!);
    assert.deepEqual(disk('o'), ['ReadMe.txt']);
    assert.equal(readFileSync(join(env.srv.dir, 'o', 'ReadMe.txt'), 'utf8'), '');
  });

  test('a new name keeps the case it is made with; CREATE of a name there in another case is OBJECT_NAME_COLLISION', async () => {
    mkdirSync(join(env.srv.dir, 'n'));
    assert.equal(await status('n\\MixedCase.Doc', { disposition: CreateDisposition.CREATE }), 0);
    assert.equal(await status('n\\MIXEDCASE.DOC', { disposition: CreateDisposition.CREATE }), NtStatus.OBJECT_NAME_COLLISION);
    assert.equal(await status('n\\mixedcase.doc', { disposition: CreateDisposition.CREATE, options: DIRECTORY_FILE }), NtStatus.OBJECT_NAME_COLLISION);
    assert.deepEqual(disk('n'), ['MixedCase.Doc']);
  });

  test('directories in the path are found in any case, and a new file goes into the one that is there', async () => {
    mkdirSync(join(env.srv.dir, 'Top', 'Middle'), { recursive: true });
    writeFileSync(join(env.srv.dir, 'Top', 'Middle', 'Deep.txt'), 'deep');
    const r = await create('TOP\\middle\\DEEP.TXT', { disposition: CreateDisposition.OPEN, access: READ_DATA });
    assert.equal(r.status, 0);
    assert.equal(await readAll(r.fid!), 'deep');
    await env.c.close(r.fid!);
    assert.equal(await status('top\\MIDDLE\\New.txt', { disposition: CreateDisposition.CREATE }), 0);
    assert.deepEqual(disk(), disk().filter((n) => n.toLowerCase() !== 'top' || n === 'Top'));
    assert.deepEqual(disk('Top/Middle'), ['Deep.txt', 'New.txt']);
    // A directory that is not there in any case: the path, not the name, is missing.
    assert.equal(await status('TOP\\nowhere\\x.txt', { disposition: CreateDisposition.OPEN }), NtStatus.OBJECT_PATH_NOT_FOUND);
    assert.equal(await status('TOP\\MIDDLE\\nothing.txt', { disposition: CreateDisposition.OPEN }), NtStatus.OBJECT_NAME_NOT_FOUND);
  });

  test('one file whatever its spelling: share modes hold across cases', async () => {
    const a = await create('Locked.bin', { disposition: CreateDisposition.CREATE, share: 0 });
    assert.equal(a.status, 0);
    assert.equal(await status('LOCKED.BIN', { disposition: CreateDisposition.OPEN, access: READ_DATA }), NtStatus.SHARING_VIOLATION);
    await env.c.close(a.fid!);
    assert.equal(await status('LOCKED.BIN', { disposition: CreateDisposition.OPEN, access: READ_DATA }), 0);
  });

  test('rename: to its own name in another case renames it; onto another file in another case collides, or replaces it', async () => {
    mkdirSync(join(env.srv.dir, 'r'));
    const a = await create('r\\case.txt', { disposition: CreateDisposition.CREATE, access: ALL });
    assert.equal(await renameTo(a.fid!, 'r\\CASE.txt', false), 0);
    await env.c.close(a.fid!);
    assert.deepEqual(disk('r'), ['CASE.txt']);
    writeFileSync(join(env.srv.dir, 'r', 'other.txt'), 'other');
    const o = await create('r\\OTHER.TXT', { disposition: CreateDisposition.OPEN, access: ALL });
    assert.equal(o.status, 0);
    assert.equal(await renameTo(o.fid!, 'r\\case.TXT', false), NtStatus.OBJECT_NAME_COLLISION);
    assert.equal(await renameTo(o.fid!, 'r\\case.TXT', true), 0);
    await env.c.close(o.fid!);
    assert.deepEqual(disk('r'), ['CASE.txt']);
    assert.equal(readFileSync(join(env.srv.dir, 'r', 'CASE.txt'), 'utf8'), 'other');
    // Into a directory spelt in another case.
    mkdirSync(join(env.srv.dir, 'r', 'Sub'));
    const m = await create('r\\CASE.TXT', { disposition: CreateDisposition.OPEN, access: ALL });
    assert.equal(await renameTo(m.fid!, 'R\\SUB\\moved.txt', false), 0);
    await env.c.close(m.fid!);
    assert.deepEqual(disk('r/Sub'), ['moved.txt']);
  });

  test('a name deleted through the server can be made again in another case', async () => {
    mkdirSync(join(env.srv.dir, 'd'));
    assert.equal(await status('d\\Gone.txt', { disposition: CreateDisposition.CREATE }), 0);
    assert.equal(await status('d\\GONE.TXT', { disposition: CreateDisposition.OPEN, access: DELETE, options: DELETE_ON_CLOSE }), 0);
    assert.deepEqual(disk('d'), []);
    const r = await create('d\\GONE.TXT', { disposition: CreateDisposition.OPEN_IF });
    assert.equal(r.action, CreateAction.CREATED);
    await env.c.close(r.fid!);
    assert.deepEqual(disk('d'), ['GONE.TXT']);
  });

  test('names made and removed beside the server are seen, after the directory was listed', async () => {
    mkdirSync(join(env.srv.dir, 'ext'));
    writeFileSync(join(env.srv.dir, 'ext', 'bar'), 'b');
    assert.equal(await status('ext\\FOO', { disposition: CreateDisposition.OPEN }), NtStatus.OBJECT_NAME_NOT_FOUND);
    assert.equal(await status('ext\\BAR', { disposition: CreateDisposition.OPEN }), 0);
    writeFileSync(join(env.srv.dir, 'ext', 'foo'), 'f');
    unlinkSync(join(env.srv.dir, 'ext', 'bar'));
    assert.equal(await status('ext\\FOO', { disposition: CreateDisposition.OPEN }), 0);
    assert.equal(await status('ext\\BAR', { disposition: CreateDisposition.OPEN }), NtStatus.OBJECT_NAME_NOT_FOUND);
    const r = await create('ext\\BAR', { disposition: CreateDisposition.OPEN_IF });
    assert.equal(r.action, CreateAction.CREATED);
    await env.c.close(r.fid!);
    assert.deepEqual(disk('ext'), ['BAR', 'foo']);
  });

  test('letters beyond ASCII compare as NTFS does: one unit to one unit (Ä is ä, but ß is not SS)', async () => {
    writeFileSync(join(env.srv.dir, 'Ärger.txt'), 'ä');
    assert.equal(await status('äRGER.TXT', { disposition: CreateDisposition.OPEN }), 0);
    writeFileSync(join(env.srv.dir, 'straße'), 's');
    assert.equal(await status('STRAßE', { disposition: CreateDisposition.OPEN }), 0);
    assert.equal(await status('STRASSE', { disposition: CreateDisposition.OPEN }), NtStatus.OBJECT_NAME_NOT_FOUND);
    assert.equal(foldName('Ärger.txt'), 'ÄRGER.TXT');
    assert.equal(foldName('straße'), 'STRAßE');
  });

  test('where a tool outside made names that differ only in case, the one spelt exactly is opened', async () => {
    mkdirSync(join(env.srv.dir, 'dup'));
    writeFileSync(join(env.srv.dir, 'dup', 'x.txt'), 'lower');
    writeFileSync(join(env.srv.dir, 'dup', 'X.txt'), 'upper');
    for (const [name, want] of [['dup\\x.txt', 'lower'], ['dup\\X.txt', 'upper']] as const) {
      const r = await create(name, { disposition: CreateDisposition.OPEN, access: READ_DATA });
      assert.equal(await readAll(r.fid!), want);
      await env.c.close(r.fid!);
    }
    assert.equal(await status('dup\\X.TXT', { disposition: CreateDisposition.OPEN, access: READ_DATA }), 0);
  });
});

describe('case sensitive = yes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ringsmb-case-'));
  writeFileSync(join(dir, 'readme.txt'), 'x');
  const cs = serverAndClient({
    shares: [{ name: 'share', path: dir, readOnly: false, comment: '', encrypt: false, browseable: true, guestOk: false, caseSensitive: true }],
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('names compare as bytes: another case is another file', async () => {
    assert.equal(await status('README.TXT', { disposition: CreateDisposition.OPEN }, cs.c), NtStatus.OBJECT_NAME_NOT_FOUND);
    assert.equal(await status('README.TXT', { disposition: CreateDisposition.CREATE }, cs.c), 0);
    assert.deepEqual(readdirSync(dir).sort(), ['README.TXT', 'readme.txt']);
  });
});

describe('the listing cache', () => {
  let dir: string;
  let root: ShareRoot;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ringsmb-casenames-'));
    root = await createVfs('threadpool').openShare(dir);
  });
  after(async () => {
    await root.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The kernel's own count of the watches on the cache's inotify fd. */
  function kernelWatches(names: CaseNames): number {
    return readFileSync(`/proc/self/fdinfo/${names.watchFd}`, 'utf8').split('\n').filter((l) => l.startsWith('inotify wd:')).length;
  }

  test('a directory is listed once; names made and removed beside it afterwards are seen without listing it again', async () => {
    mkdirSync(join(dir, 'once'));
    writeFileSync(join(dir, 'once', 'A'), '');
    const names = new CaseNames(root);
    try {
      assert.equal(await names.resolve('once/a'), 'once/A');
      assert.equal(await names.resolve('ONCE/b'), 'once/b');
      for (let i = 0; i < 200; i++) {
        writeFileSync(join(dir, 'once', `File${i}`), '');
        assert.equal(await names.resolve(`once/FILE${i}`), `once/File${i}`);
      }
      unlinkSync(join(dir, 'once', 'A'));
      assert.equal(await names.resolve('once/a'), 'once/a');
      renameSync(join(dir, 'once', 'File0'), join(dir, 'once', 'Moved'));
      assert.equal(await names.resolve('once/file0'), 'once/file0');
      assert.equal(await names.resolve('once/MOVED'), 'once/Moved');
      // once/ and the share root (for ONCE), each listed one time.
      assert.equal(names.stats.listings, 2);
      assert.equal(kernelWatches(names), 2);
    } finally {
      names.close();
    }
  });

  test('a listing being taken answers nothing until its names are read', async () => {
    mkdirSync(join(dir, 'big'));
    for (let i = 0; i < 20000; i++) writeFileSync(join(dir, 'big', `n${i}`), '');
    writeFileSync(join(dir, 'big', 'Y'), '');
    const names = new CaseNames(root);
    try {
      await names.resolve('zz');
      let done = false;
      const resolving = names.resolve('big/x').then(() => (done = true));
      const answers = new Set<string>();
      while (!done) {
        const k = names.known('big/y');
        answers.add(k === null ? 'null' : typeof k === 'string' ? k : k.onDisk);
        await new Promise((r) => setImmediate(r));
      }
      await resolving;
      assert.ok(!answers.has('absent'), `answers while listing: ${[...answers].join(', ')}`);
      assert.deepEqual(names.known('big/y'), { onDisk: 'big/Y' });
    } finally {
      names.close();
    }
  });

  test('a directory replaced under its path, or moved with its parent, is listed again', async () => {
    mkdirSync(join(dir, 'p', 'c'), { recursive: true });
    writeFileSync(join(dir, 'p', 'c', 'Old'), '');
    const names = new CaseNames(root);
    try {
      assert.equal(await names.resolve('p/c/old'), 'p/c/Old');
      renameSync(join(dir, 'p', 'c'), join(dir, 'p', 'c-was'));
      mkdirSync(join(dir, 'p', 'c'));
      writeFileSync(join(dir, 'p', 'c', 'New'), '');
      assert.equal(await names.resolve('p/c/old'), 'p/c/old');
      assert.equal(await names.resolve('p/c/NEW'), 'p/c/New');
      renameSync(join(dir, 'p'), join(dir, 'q'));
      mkdirSync(join(dir, 'p', 'c'), { recursive: true });
      writeFileSync(join(dir, 'p', 'c', 'Third'), '');
      assert.equal(await names.resolve('p/c/new'), 'p/c/new');
      assert.equal(await names.resolve('p/c/third'), 'p/c/Third');
      // g/n/x kept while g/n was not; g/n moves away and another g/n/x comes, then g/n is listed:
      // g/n/x is checked again, not taken on the word of the listings above it.
      mkdirSync(join(dir, 'g', 'n', 'x'), { recursive: true });
      writeFileSync(join(dir, 'g', 'n', 'x', 'A'), '');
      assert.equal(await names.resolve('g/n/x/a'), 'g/n/x/A');
      assert.equal(await names.resolve('g/zz'), 'g/zz');
      assert.equal(await names.resolve('zz'), 'zz');
      renameSync(join(dir, 'g', 'n'), join(dir, 'g', 'n-was'));
      mkdirSync(join(dir, 'g', 'n', 'x'), { recursive: true });
      writeFileSync(join(dir, 'g', 'n', 'x', 'B'), '');
      assert.equal(await names.resolve('g/n/zz'), 'g/n/zz');
      assert.equal(await names.resolve('g/n/x/b'), 'g/n/x/B');
      assert.equal(await names.resolve('g/n/x/a'), 'g/n/x/a');
    } finally {
      names.close();
    }
  });

  test('at most 128 directories are kept, each with one watch; the rest are let go, and a closed cache holds no inotify fd', async () => {
    const inotifyFds = (): number => readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === 'anon_inode:inotify';
      } catch {
        return false;
      }
    }).length;
    const fdsBefore = inotifyFds();
    const names = new CaseNames(root);
    assert.equal(inotifyFds(), fdsBefore, 'no inotify instance before the first listing');
    await names.resolve('x');
    assert.equal(inotifyFds(), fdsBefore + 1);
    try {
      for (let i = 0; i < 140; i++) {
        mkdirSync(join(dir, 'many', `d${i}`), { recursive: true });
        writeFileSync(join(dir, 'many', `d${i}`, 'X'), '');
        assert.equal(await names.resolve(`many/d${i}/x`), `many/d${i}/X`);
      }
      assert.equal(names.cachedDirectories, 128);
      assert.equal(kernelWatches(names), 128);
      // The most recently used are kept.
      const before = names.stats.listings;
      await names.resolve('many/d139/x');
      assert.equal(names.stats.listings, before);
      await names.resolve('many/d0/x');
      assert.equal(names.stats.listings, before + 1);
    } finally {
      names.close();
    }
    assert.equal(inotifyFds(), fdsBefore);
  });
});
