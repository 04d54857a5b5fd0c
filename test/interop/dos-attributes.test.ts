/**
 * DOS attributes through smbclient (setmode, ls, allinfo): HIDDEN, SYSTEM,
 * ARCHIVE are kept in the file's user.ringsmb.DOSATTRIB attribute and come
 * back in listings, in QUERY_INFO and after a restart; READONLY is the mode.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { smbclient, smbclientPath, startServer, type Running } from './harness.js';

const skip = smbclientPath() ? false : 'smbclient is not installed (apt-get install smbclient)';

/** The attribute letters smbclient's ls shows for `name` (e.g. 'AH', 'N', 'D'). */
async function lsAttrs(port: number, name: string, dir = ''): Promise<string> {
  const r = await smbclient(port, `ls ${dir}${name}`);
  assert.equal(r.code, 0, r.out);
  const line = r.stdout.split('\n').find((l) => l.trim().startsWith(name + ' '));
  assert.ok(line, `no line for ${name} in:\n${r.stdout}`);
  const m = /^\s*\S+\s+([A-Z]*)\s+\d+/.exec(line);
  assert.ok(m, `cannot parse: ${line}`);
  return sorted(m[1]!);
}

/** Attribute letters in one order (ls and allinfo print them differently). */
function sorted(letters: string): string {
  return [...letters].sort().join('');
}

/** The "attributes:" line of smbclient's allinfo (a CREATE, QUERY_INFO ALL, CLOSE). */
async function allinfoAttrs(port: number, name: string): Promise<string> {
  const r = await smbclient(port, `allinfo ${name}`);
  assert.equal(r.code, 0, r.out);
  const m = /attributes: ([A-Z]*) \((0x)?[0-9a-f]+\)/.exec(r.stdout);
  assert.ok(m, `no attributes line in:\n${r.stdout}`);
  return sorted(m[1]!);
}

describe('DOS attributes (smbclient)', { skip }, () => {
  let srv: Running;

  before(async () => {
    srv = await startServer();
    writeFileSync(join(srv.dir, 'f.txt'), 'data');
    mkdirSync(join(srv.dir, 'd'));
  });
  after(async () => {
    await srv.stop();
  });

  test('a new file is ARCHIVE only and nothing is stored for it', async () => {
    assert.equal(await lsAttrs(srv.port, 'f.txt'), 'A');
    assert.equal(await lsAttrs(srv.port, 'd'), 'D');
  });

  test('HIDDEN and SYSTEM set by setmode come back in listings and QUERY_INFO; clearing them and ARCHIVE sticks too', async () => {
    let r = await smbclient(srv.port, 'setmode f.txt +hs');
    assert.equal(r.code, 0, r.out);
    assert.equal(await lsAttrs(srv.port, 'f.txt'), 'AHS');
    assert.equal(await allinfoAttrs(srv.port, 'f.txt'), 'AHS');
    r = await smbclient(srv.port, 'setmode f.txt -sa');
    assert.equal(r.code, 0, r.out);
    assert.equal(await lsAttrs(srv.port, 'f.txt'), 'H');
    r = await smbclient(srv.port, 'setmode d +h');
    assert.equal(r.code, 0, r.out);
    assert.equal(await lsAttrs(srv.port, 'd'), 'DH');
  });

  test('READONLY is the mode: no write bits while set, the owner writes again once cleared', async () => {
    const path = join(srv.dir, 'f.txt');
    let r = await smbclient(srv.port, 'setmode f.txt +r');
    assert.equal(r.code, 0, r.out);
    assert.equal(statSync(path).mode & 0o222, 0);
    assert.match(await lsAttrs(srv.port, 'f.txt'), /R/);
    r = await smbclient(srv.port, 'setmode f.txt -r');
    assert.equal(r.code, 0, r.out);
    assert.equal(statSync(path).mode & 0o200, 0o200);
    assert.doesNotMatch(await lsAttrs(srv.port, 'f.txt'), /R/);
  });

  test('the attributes survive a restart of the server (they live with the file)', async () => {
    const again = await startServer({
      shares: [{ name: 'share', path: srv.dir, readOnly: false, comment: '', encrypt: false, browseable: true, guestOk: false }],
    });
    try {
      assert.equal(await lsAttrs(again.port, 'f.txt'), 'H');
      assert.equal(await lsAttrs(again.port, 'd'), 'DH');
    } finally {
      await again.server.close();
    }
  });

  test('put over a HIDDEN file is ACCESS_DENIED and changes nothing (MS-FSA 2.1.5.1.2); over a plain one it takes the new attributes (ARCHIVE)', async () => {
    const local = join(srv.dir, 'd', 'src.bin');
    writeFileSync(local, 'new content');
    const before = readFileSync(join(srv.dir, 'f.txt'), 'utf8');
    let r = await smbclient(srv.port, `put ${local} f.txt`);
    assert.notEqual(r.code, 0);
    assert.match(r.out, /NT_STATUS_ACCESS_DENIED/);
    assert.equal(readFileSync(join(srv.dir, 'f.txt'), 'utf8'), before);
    assert.equal(await lsAttrs(srv.port, 'f.txt'), 'H');
    r = await smbclient(srv.port, 'setmode f.txt +a-h');
    assert.equal(r.code, 0, r.out);
    r = await smbclient(srv.port, `put ${local} f.txt`);
    assert.equal(r.code, 0, r.out);
    assert.equal(readFileSync(join(srv.dir, 'f.txt'), 'utf8'), 'new content');
    assert.equal(await lsAttrs(srv.port, 'f.txt'), 'A');
  });
});
