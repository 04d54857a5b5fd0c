// Users file parsing, serialisation and `ringsmb user add`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addUser, loadUsers, parseUsers, removeUser, UserStore } from '../../src/auth/users.js';
import { ntHash } from '../../src/auth/ntlm.js';

test('parse: comments, blanks, case-insensitive lookup, errors carry the line', () => {
  const text = '# users\n\nAlice:A4F49C406510BDCAB6824EE7C30FD852\n  bob : 31d6cfe0d16ae931b73c59d7e0c089c0  \n';
  const s = UserStore.parse(text);
  assert.deepEqual(s.lookup('ALICE')!.ntHash, ntHash('Password'));
  assert.equal(s.lookup('alice')!.name, 'Alice');
  assert.deepEqual(s.lookup('bob')!.ntHash, ntHash(''));
  assert.equal(s.lookup('carol'), null);
  assert.throws(() => parseUsers('ok:31d6cfe0d16ae931b73c59d7e0c089c0\nplain:password\n'), /line 2/);
  assert.throws(() => parseUsers(':31d6cfe0d16ae931b73c59d7e0c089c0'));
  assert.deepEqual(UserStore.parse(s.serialize()).list(), s.list());
});

test('addUser writes a 0600 file with hashes only, replaces entries, removeUser deletes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ringsmb-users-'));
  try {
    const file = join(dir, 'users');
    await addUser(file, 'alice', 'first');
    await addUser(file, 'bob', 'b-pass');
    await addUser(file, 'ALICE', 'second');
    const text = await readFile(file, 'utf8');
    assert.ok(!text.includes('second') && !text.includes('b-pass'));
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const s = await loadUsers(file);
    assert.equal(s.list().length, 2);
    assert.deepEqual(s.lookup('alice')!.ntHash, ntHash('second'));
    assert.equal(await removeUser(file, 'bob'), true);
    assert.equal((await loadUsers(file)).lookup('bob'), null);
    assert.equal((await loadUsers(join(dir, 'missing'))).list().length, 0);
    await assert.rejects(addUser(file, 'bad:name', 'x'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
