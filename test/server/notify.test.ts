/**
 * CHANGE_NOTIFY over real SMB2: the interim STATUS_PENDING, the changes
 * (ADDED / REMOVED / MODIFIED), changes kept between two requests, tree
 * watches, overflow as NOTIFY_ENUM_DIR, CANCEL, close (NOTIFY_CLEANUP),
 * and refusal on a file.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeEchoRequest } from '../../src/smb2/commands/echo.js';
import { MAX_TREE_DIRS } from '../../src/server/notify.js';
import { serverWithClient, TestClient } from './smb-client.js';
import { USER, PASSWORD } from '../interop/harness.js';
import { encodeLogoffRequest } from '../../src/smb2/commands/logoff.js';
import { Command } from '../../src/smb2/constants.js';
import { NtStatus } from '../../src/smb2/status.js';
import { decodeChangeNotifyResponse, decodeFileNotifyInformation, encodeChangeNotifyRequest } from '../../src/smb2/commands/change-notify.js';
import type { FileId } from '../../src/smb2/wire.js';
import { encodeWriteRequest } from '../../src/smb2/commands/write.js';
import { encodeSetInfoRequest } from '../../src/smb2/commands/set-info.js';
import { encodeFileRenameInformation } from '../../src/smb2/fscc/index.js';

const FILE_DIRECTORY_FILE = 0x1;
const FILE_NON_DIRECTORY_FILE = 0x40;
const FILE_NAME = 0x1, DIR_NAME = 0x2, ATTRIBUTES = 0x4, SIZE = 0x8, LAST_WRITE = 0x10, CREATION = 0x40;
const FILE_CREATE = 2, FILE_DELETE_ON_CLOSE = 0x1000, DELETE = 0x10000;
const WATCH_TREE = 0x1;

const env = serverWithClient();

async function openDir(name: string): Promise<FileId> {
  mkdirSync(join(env.srv.dir, name), { recursive: true });
  const r = await env.c.create(name, { options: FILE_DIRECTORY_FILE, access: 0x001200a9 });
  assert.equal(r.status, 0);
  return r.res!.fileId;
}

function notify(fileId: FileId, filter: number, flags = 0, outputBufferLength = 4096) {
  return env.c.send(Command.CHANGE_NOTIFY, encodeChangeNotifyRequest({ flags, outputBufferLength, fileId, completionFilter: filter }));
}

function changes(msg: Buffer) {
  return decodeFileNotifyInformation(decodeChangeNotifyResponse(msg).output);
}

function renameBody(fileId: FileId, fileName: string): Buffer {
  const buffer = encodeFileRenameInformation({ replaceIfExists: false, rootDirectory: 0n, fileName });
  return encodeSetInfoRequest({ infoType: 1, fileInfoClass: 10, buffer, additionalInformation: 0, fileId });
}

const tick = (ms = 50) => new Promise((r) => setTimeout(r, ms));

describe('change notify', () => {
  test('goes pending, then reports a new and a removed file', async () => {
    const d = await openDir('n1');
    const req = notify(d, FILE_NAME);
    await tick();
    writeFileSync(join(env.srv.dir, 'n1', 'new.txt'), 'x');
    const r = await req.response;
    assert.equal(r.interim.length, 1, 'an interim STATUS_PENDING came first');
    assert.equal(r.interim[0]!.status, NtStatus.PENDING);
    assert.equal(r.hdr.status, NtStatus.SUCCESS);
    assert.deepEqual(changes(r.msg).map((e) => [e.action, e.fileName]), [[1, 'new.txt']]);
    // A change made while no request waits is kept for the next one.
    unlinkSync(join(env.srv.dir, 'n1', 'new.txt'));
    await tick();
    const r2 = await notify(d, FILE_NAME).response;
    assert.deepEqual(changes(r2.msg).map((e) => [e.action, e.fileName]), [[2, 'new.txt']]);
    assert.equal(await env.c.close(d), 0);
  });

  test('content changes need SIZE or LAST_WRITE in the filter; the first request fixes the filter until the handle closes', async () => {
    const d = await openDir('n2');
    writeFileSync(join(env.srv.dir, 'n2', 'f'), 'a');
    const nameOnly = notify(d, DIR_NAME);
    await tick();
    appendFileSync(join(env.srv.dir, 'n2', 'f'), 'more');
    await tick(250);
    mkdirSync(join(env.srv.dir, 'n2', 'sub'));
    const r = await nameOnly.response;
    assert.deepEqual(changes(r.msg).map((e) => [e.action, e.fileName]), [[1, 'sub']], 'the write was filtered out');
    // A later request on the same handle asks for more, and still gets only names (as Windows: smbtorture smb2.notify.mask-change).
    const asksMore = notify(d, DIR_NAME | SIZE | LAST_WRITE);
    await tick();
    appendFileSync(join(env.srv.dir, 'n2', 'f'), 'again');
    await tick(250);
    mkdirSync(join(env.srv.dir, 'n2', 'sub2'));
    assert.deepEqual(changes((await asksMore.response).msg).map((e) => [e.action, e.fileName]), [[1, 'sub2']]);
    const d2 = await openDir('n2');
    const sized = notify(d2, SIZE | LAST_WRITE);
    await tick();
    appendFileSync(join(env.srv.dir, 'n2', 'f'), 'again');
    const r2 = await sized.response;
    assert.ok(changes(r2.msg).some((e) => e.action === 3 && e.fileName === 'f'), 'MODIFIED f');
    await env.c.close(d);
    await env.c.close(d2);
  });

  test("the server's own changes are reported once each, with the action MS-FSA gives them", async () => {
    const d = await openDir('n9');
    const all = FILE_NAME | DIR_NAME | ATTRIBUTES | SIZE | LAST_WRITE | CREATION;
    // The first request sets the watch up; cancelled, the watch stays and keeps changes for the next.
    const first = notify(d, all);
    env.c.cancel({ asyncId: (await env.c.waitInterim(first.messageId)).asyncId });
    assert.equal((await first.response).hdr.status, NtStatus.CANCELLED);

    const f = await env.c.create('n9\\a.txt', { disposition: FILE_CREATE, options: FILE_NON_DIRECTORY_FILE, access: 0x0012019f | DELETE });
    assert.equal(f.status, 0);
    assert.equal((await env.c.request(Command.WRITE, encodeWriteRequest({ offset: 0n, fileId: f.res!.fileId, channel: 0, remainingBytes: 0, flags: 0, data: Buffer.from('hello') }))).hdr.status, 0);
    assert.equal((await env.c.request(Command.SET_INFO, renameBody(f.res!.fileId, 'n9\\b.txt'))).hdr.status, 0);
    assert.equal(await env.c.close(f.res!.fileId), 0);
    const sub = await env.c.create('n9\\sub', { disposition: FILE_CREATE, options: FILE_DIRECTORY_FILE });
    assert.equal(sub.status, 0);
    await env.c.close(sub.res!.fileId);
    const del = await env.c.create('n9\\b.txt', { options: FILE_NON_DIRECTORY_FILE | FILE_DELETE_ON_CLOSE, access: DELETE });
    assert.equal(del.status, 0);
    await env.c.close(del.res!.fileId);
    await tick(400); // past the kernel's echo of each of those
    const r = await notify(d, all).response;
    assert.equal(r.hdr.status, NtStatus.SUCCESS);
    assert.deepEqual(changes(r.msg).map((e) => [e.action, e.fileName]), [
      [1, 'a.txt'], // CREATE
      [4, 'a.txt'], [5, 'b.txt'], [3, 'b.txt'], // rename: old name, new name, and the file's attributes as Windows shows them
      // the close after the write: its MODIFIED is the same as the one before, and said once
      [1, 'sub'],
      [2, 'b.txt'], // delete on close
    ]);
    await env.c.close(d);
  });

  test('two requests on one handle are answered in the order they came, one change each', async () => {
    const d = await openDir('n10');
    const r1 = notify(d, DIR_NAME);
    const r2 = notify(d, DIR_NAME);
    await env.c.waitInterim(r2.messageId);
    const a = await env.c.create('n10\\one', { disposition: FILE_CREATE, options: FILE_DIRECTORY_FILE });
    await env.c.close(a.res!.fileId);
    assert.deepEqual(changes((await r1.response).msg).map((e) => [e.action, e.fileName]), [[1, 'one']]);
    const b = await env.c.create('n10\\two', { disposition: FILE_CREATE, options: FILE_DIRECTORY_FILE });
    await env.c.close(b.res!.fileId);
    assert.deepEqual(changes((await r2.response).msg).map((e) => [e.action, e.fileName]), [[1, 'two']]);
    await env.c.close(d);
  });

  test('WATCH_TREE reports changes below, with backslash paths', async () => {
    const d = await openDir('n3');
    mkdirSync(join(env.srv.dir, 'n3', 'a', 'b'), { recursive: true });
    await tick();
    const req = notify(d, FILE_NAME, WATCH_TREE);
    await tick(100);
    writeFileSync(join(env.srv.dir, 'n3', 'a', 'b', 'deep.txt'), 'x');
    const r = await req.response;
    assert.ok(changes(r.msg).some((e) => e.fileName === 'a\\b\\deep.txt' && e.action === 1), JSON.stringify(changes(r.msg)));
    await env.c.close(d);
  });

  test('more than fits the buffer is answered with NOTIFY_ENUM_DIR', async () => {
    const d = await openDir('n4');
    const req = notify(d, FILE_NAME, 0, 16);
    await tick();
    writeFileSync(join(env.srv.dir, 'n4', 'a-rather-long-file-name.txt'), 'x');
    const r = await req.response;
    assert.equal(r.hdr.status, NtStatus.NOTIFY_ENUM_DIR);
    await env.c.close(d);
  });

  test('CANCEL ends it with STATUS_CANCELLED; closing the handle with NOTIFY_CLEANUP', async () => {
    const d = await openDir('n5');
    const req = notify(d, FILE_NAME);
    await tick();
    const asyncId = (await env.c.waitInterim(req.messageId)).asyncId;
    env.c.cancel({ asyncId });
    assert.equal((await req.response).hdr.status, NtStatus.CANCELLED);
    const req2 = notify(d, FILE_NAME);
    await tick();
    assert.equal(await env.c.close(d), 0);
    assert.equal((await req2.response).hdr.status, NtStatus.NOTIFY_CLEANUP);
  });

  test('WATCH_TREE over 150 directories of 40 files: walked beside other requests, every directory watched, one made later watched too, one removed reported by its names only, a symlink out of the share not followed', { timeout: 60_000 }, async () => {
    const top = join(env.srv.dir, 'n6');
    for (let i = 0; i < 150; i++) {
      mkdirSync(join(top, `d${i}`), { recursive: true });
      for (let j = 0; j < 40; j++) writeFileSync(join(top, `d${i}`, `f${j}`), '');
    }
    const outside = mkdtempSync(join(tmpdir(), 'ringsmb-notify-out-'));
    symlinkSync(outside, join(top, 'out'));
    const d = await openDir('n6');
    const watch = () => env.srv.server.state.opens.get(d.volatile)!.notify as unknown as { walking: boolean; watchers: Map<string, unknown> };
    const first = notify(d, FILE_NAME | DIR_NAME, WATCH_TREE);
    await env.c.waitInterim(first.messageId);
    // Another request is answered while the tree is still being walked (Node's recursive
    // fs.watch walked every file synchronously, holding the loop for all of it).
    const echoed = await env.c.request(Command.ECHO, encodeEchoRequest()).then((r) => ({ status: r.hdr.status, walking: watch().walking }));
    assert.deepEqual(echoed, { status: 0, walking: true });
    for (let i = 0; i < 500 && watch().walking; i++) await tick(10);
    assert.equal(watch().walking, false);
    assert.deepEqual([...watch().watchers.keys()].sort(), ['', ...Array.from({ length: 150 }, (_, i) => `d${i}`)].sort(), 'the top and each directory below, not the symlink');

    writeFileSync(join(top, 'd77', 'new.txt'), 'x');
    writeFileSync(join(outside, 'o.txt'), 'x');
    const r1 = await first.response;
    assert.deepEqual(changes(r1.msg).map((e) => [e.action, e.fileName]), [[1, 'd77\\new.txt']], 'a change deep down; none beyond the symlink');

    mkdirSync(join(top, 'later'));
    const r2 = await notify(d, FILE_NAME | DIR_NAME, WATCH_TREE).response;
    assert.deepEqual(changes(r2.msg).map((e) => [e.action, e.fileName]), [[1, 'later']]);
    for (let i = 0; i < 100 && !watch().watchers.has('later'); i++) await tick(10);
    writeFileSync(join(top, 'later', 'x.txt'), 'x');
    const r3 = await notify(d, FILE_NAME | DIR_NAME, WATCH_TREE).response;
    assert.deepEqual(changes(r3.msg).map((e) => [e.action, e.fileName]), [[1, 'later\\x.txt']], 'a directory made after the walk is watched');

    rmSync(join(top, 'd5'), { recursive: true });
    await tick(100);
    const r4 = await notify(d, FILE_NAME | DIR_NAME, WATCH_TREE).response;
    const names = changes(r4.msg).map((e) => `${e.action} ${e.fileName}`).sort();
    assert.deepEqual(names, [...Array.from({ length: 40 }, (_, j) => `2 d5\\f${j}`), '2 d5'].sort(), 'the files and the directory, nothing named after an fd');
    assert.equal(watch().watchers.has('d5'), false, 'the watch of a removed directory is let go');
    await env.c.close(d);
    rmSync(outside, { recursive: true, force: true });
  });

  test('WATCH_TREE on a directory opened through a symlink inside the share: the tree below is watched', async () => {
    mkdirSync(join(env.srv.dir, 'n8real', 'sub', 'deeper'), { recursive: true });
    symlinkSync('n8real', join(env.srv.dir, 'n8link'));
    const r = await env.c.create('n8link', { options: FILE_DIRECTORY_FILE, access: 0x001200a9 });
    assert.equal(r.status, 0);
    const d = r.res!.fileId;
    const watch = () => env.srv.server.state.opens.get(d.volatile)!.notify as unknown as { walking: boolean; watchers: Map<string, unknown> };
    const req = notify(d, FILE_NAME, WATCH_TREE);
    await env.c.waitInterim(req.messageId);
    for (let i = 0; i < 200 && watch().walking; i++) await tick(10);
    assert.deepEqual([...watch().watchers.keys()].sort(), ['', 'sub', 'sub/deeper'], 'the directories below the target of the symlink');
    writeFileSync(join(env.srv.dir, 'n8real', 'sub', 'deeper', 'x.txt'), 'x');
    assert.deepEqual(changes((await req.response).msg).map((e) => [e.action, e.fileName]), [[1, 'sub\\deeper\\x.txt']]);
    await env.c.close(d);
  });

  test(`WATCH_TREE over more than ${MAX_TREE_DIRS} directories: watches that many, says so in the log, and still reports changes at the top`, { timeout: 60_000 }, async () => {
    const top = join(env.srv.dir, 'n7');
    for (let i = 0; i <= MAX_TREE_DIRS + 10; i++) mkdirSync(join(top, `d${i}`), { recursive: true });
    const d = await openDir('n7');
    const watch = () => env.srv.server.state.opens.get(d.volatile)!.notify as unknown as { walking: boolean; watchers: Map<string, unknown> };
    const req = notify(d, FILE_NAME, WATCH_TREE);
    await env.c.waitInterim(req.messageId);
    for (let i = 0; i < 1000 && watch().walking; i++) await tick(10);
    assert.ok(watch().watchers.size <= MAX_TREE_DIRS + 2, `${watch().watchers.size} watches`);
    assert.ok(env.srv.logs.some((l) => /more than 4096 directories below; changes deeper than those watched are not reported/.test(l)));
    writeFileSync(join(top, 'top.txt'), 'x');
    assert.deepEqual(changes((await req.response).msg).map((e) => [e.action, e.fileName]), [[1, 'top.txt']]);
    const w = watch();
    await env.c.close(d);
    assert.equal(w.watchers.size, 0, 'closing the handle lets every watch go');
  });

  test('a directory made delete-pending by another handle ends the wait with DELETE_PENDING; LOGOFF ends it with NOTIFY_CLEANUP', async () => {
    const d = await env.c.create('n11', { disposition: FILE_CREATE, options: FILE_DIRECTORY_FILE, access: 0x001200a9, share: 7 });
    assert.equal(d.status, 0);
    const req = notify(d.res!.fileId, FILE_NAME);
    await env.c.waitInterim(req.messageId);
    const rm = await env.c.create('n11', { options: FILE_DIRECTORY_FILE | FILE_DELETE_ON_CLOSE, access: DELETE, share: 7 });
    assert.equal(rm.status, 0);
    assert.equal(await env.c.close(rm.res!.fileId), 0);
    assert.equal((await req.response).hdr.status, NtStatus.DELETE_PENDING);
    assert.equal(await env.c.close(d.res!.fileId), 0);

    // The session going closes its handles: a waiting request ends as a close would end it.
    const c2 = await TestClient.connect(env.srv.port, USER, PASSWORD, 'share');
    try {
      mkdirSync(join(env.srv.dir, 'n12'));
      const d2 = await c2.create('n12', { options: FILE_DIRECTORY_FILE, access: 0x001200a9 });
      const w = c2.send(Command.CHANGE_NOTIFY, encodeChangeNotifyRequest({ flags: 0, outputBufferLength: 4096, fileId: d2.res!.fileId, completionFilter: FILE_NAME }));
      await c2.waitInterim(w.messageId);
      assert.equal((await c2.request(Command.LOGOFF, encodeLogoffRequest())).hdr.status, 0);
      assert.equal((await w.response).hdr.status, NtStatus.NOTIFY_CLEANUP);
    } finally {
      c2.destroy();
    }
  });

  test("the server's inotify watches are bounded: past the budget a tree is watched no deeper, says so in the log, and the server's own changes there are still reported", async () => {
    const hub = env.srv.server.notify;
    const before = hub.kernelWatchesInUse;
    const budget = hub.kernelWatchBudget;
    hub.kernelWatchBudget = before + 3;
    try {
      for (let i = 0; i < 10; i++) mkdirSync(join(env.srv.dir, 'n13', `d${i}`), { recursive: true });
      const d = await openDir('n13');
      const watch = () => env.srv.server.state.opens.get(d.volatile)!.notify as unknown as { walking: boolean; watchers: Map<string, unknown> };
      const req = notify(d, FILE_NAME, WATCH_TREE);
      await env.c.waitInterim(req.messageId);
      for (let i = 0; i < 200 && watch().walking; i++) await tick(10);
      assert.equal(watch().watchers.size, 3, 'the top and two directories below');
      assert.equal(hub.kernelWatchesInUse, before + 3);
      assert.ok(env.srv.logs.some((l) => /all \d+ inotify watches of the server are in use/.test(l)), 'a log line says why');
      const unwatched = [...Array(10).keys()].map((i) => `d${i}`).find((n) => !watch().watchers.has(n))!;
      const f = await env.c.create(`n13\\${unwatched}\\made.txt`, { disposition: FILE_CREATE, options: FILE_NON_DIRECTORY_FILE });
      assert.equal(f.status, 0);
      await env.c.close(f.res!.fileId);
      assert.deepEqual(changes((await req.response).msg).map((e) => [e.action, e.fileName]), [[1, `${unwatched}\\made.txt`]]);
      await env.c.close(d);
      assert.equal(hub.kernelWatchesInUse, before, 'closing gives the watches back');
    } finally {
      hub.kernelWatchBudget = budget;
    }
  });

  test('a file handle is refused with INVALID_PARAMETER', async () => {
    writeFileSync(join(env.srv.dir, 'plain.txt'), 'x');
    const r = await env.c.create('plain.txt', { options: FILE_NON_DIRECTORY_FILE });
    assert.equal(r.status, 0);
    assert.equal((await notify(r.res!.fileId, FILE_NAME).response).hdr.status, NtStatus.INVALID_PARAMETER);
    await env.c.close(r.res!.fileId);
  });
});

/** The interim response's header, once it has arrived. */
