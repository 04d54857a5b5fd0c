import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { ConfigError, defaultConfig, parseListen, parseShareSpec, parseUserSpec, shareNameProblem } from '../../src/server/config.js';

test('defaultConfig: 445 on all IPv4, 8 MiB I/O, signing required (MS-SMB2 servers should require it; Windows 11 does), nothing shared', () => {
  const c = defaultConfig();
  assert.deepEqual(c.listen, [{ host: '0.0.0.0', port: 445 }]);
  assert.equal(c.maxReadWrite, 8 * 1024 * 1024);
  assert.ok(c.maxPdu > c.maxReadWrite);
  assert.equal(c.signing, 'required');
  assert.equal(c.guest, false);
  assert.deepEqual(c.shares, []);
  assert.ok(c.serverName.length >= 1 && c.serverName.length <= 15);
  assert.notEqual(defaultConfig().shares, c.shares, 'a fresh object each call');
});

test('parseListen accepts PORT, HOST:PORT and [v6]:PORT', () => {
  assert.deepEqual(parseListen('4450'), { host: '0.0.0.0', port: 4450 });
  assert.deepEqual(parseListen('127.0.0.1:445'), { host: '127.0.0.1', port: 445 });
  assert.deepEqual(parseListen('files.example.org:10445'), { host: 'files.example.org', port: 10445 });
  assert.deepEqual(parseListen('[::1]:445'), { host: '::1', port: 445 });
  assert.deepEqual(parseListen('[::]:0'), { host: '::', port: 0 });
  assert.deepEqual(parseListen(' 445 '), { host: '0.0.0.0', port: 445 });
});

test('parseListen rejects bad input with messages naming the problem', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /empty listen address/],
    ['70000', /out of range/],
    ['host:99999', /out of range/],
    ['localhost', /has no port/],
    ['::1:445', /needs brackets: \[::1\]:PORT/],
    ['[nothex]:445', /not an IPv6 address/],
    ['host:', /bad port ""/],
    ['host:12a', /bad port "12a"/],
    [':445', /bad host ""/],
    ['a b:445', /bad host "a b"/],
  ];
  for (const [spec, re] of cases) assert.throws(() => parseListen(spec), (e: unknown) => e instanceof ConfigError && e.code === 'ERR_CONFIG' && re.test(e.message), spec);
});

test('parseShareSpec: NAME=PATH with optional :ro / :rw, relative to baseDir', () => {
  const s = parseShareSpec('data=/srv/data');
  assert.deepEqual(s, { name: 'data', path: '/srv/data', readOnly: false, comment: '', encrypt: false, browseable: true, guestOk: false });
  assert.equal(parseShareSpec('pub=/srv/pub:ro').readOnly, true);
  assert.equal(parseShareSpec('pub=/srv/pub:RW').readOnly, false);
  assert.equal(parseShareSpec('rel=sub/dir', '/base').path, '/base/sub/dir');
  assert.equal(parseShareSpec('odd=/a:b/c').path, '/a:b/c', 'colons inside the path stay');
  assert.equal(parseShareSpec('x=/p=q').path, '/p=q', 'only the first = splits');
  assert.equal(parseShareSpec('cwd=.').path, resolve('.'));
  assert.equal(parseShareSpec('Ünï code=/u').name, 'Ünï code');
});

test('parseShareSpec rejects bad names and missing parts', () => {
  const cases: Array<[string, RegExp]> = [
    ['noequals', /not NAME=PATH/],
    ['=/srv', /share name is empty/],
    ['IPC$=/srv', /IPC\$ is reserved/],
    ['ipc$=/srv', /IPC\$ is reserved/],
    ['a/b=/srv', /contains "\/"/],
    ['a*b=/srv', /contains "\*"/],
    ['a:b=/srv', /contains ":"/],
    [`${'n'.repeat(81)}=/srv`, /longer than 80/],
    ['name=', /empty path/],
    ['name=:ro', /empty path/],
  ];
  for (const [spec, re] of cases) assert.throws(() => parseShareSpec(spec), (e: unknown) => e instanceof ConfigError && re.test(e.message), spec);
  assert.equal(shareNameProblem('n'.repeat(80)), null);
  for (const ch of ['\\', '/', ':', '*', '?', '"', '<', '>', '|']) assert.match(shareNameProblem(`a${ch}b`) ?? '', /contains/);
});

test('parseUserSpec: NAME:PASSWORD, password may contain colons or be empty', () => {
  assert.deepEqual(parseUserSpec('alice:s3cret'), { name: 'alice', password: 's3cret' });
  assert.deepEqual(parseUserSpec('bob:a:b:c'), { name: 'bob', password: 'a:b:c' });
  assert.deepEqual(parseUserSpec('carol:'), { name: 'carol', password: '' });
  assert.throws(() => parseUserSpec('alice'), /not NAME:PASSWORD/);
  assert.throws(() => parseUserSpec(':pw'), /user name is empty/);
  assert.throws(() => parseUserSpec('a/b:pw'), /contains "\/"/);
  assert.throws(() => parseUserSpec(`${'u'.repeat(105)}:pw`), /longer than 104/);
});
