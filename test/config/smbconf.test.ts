import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, defaultConfig, loadConfigFile, mergeConfig, parseSmbConf, validateConfig } from '../../src/server/config.js';

const CONF = `
# a comment
; another comment
[global]
   netbios name = FILES
   Server Signing = mandatory
   server smb encrypt = required
   map to guest = Bad User
   log level = 3 auth:5
   max connections = 50
   max open files = 5000
   ringsmb max held bytes = 268435456
   ringsmb users file = users.txt
   listen = 127.0.0.1:4450 [::1]:4450
   read only = yes

[data]
   path = /srv/data
   comment = Team \\
     data
   writeable = yes
   browsable = no
   guest_ok = yes
   smb encrypt = desired

[rel]
   path = sub/dir
`;

test('parseSmbConf reads global keys, shares, comments and continuations', () => {
  const c = parseSmbConf(CONF, '/etc/ringsmb');
  assert.deepEqual(c.warnings, []);
  assert.equal(c.serverName, 'FILES');
  assert.equal(c.signing, 'required');
  assert.equal(c.encrypt, true);
  assert.equal(c.guest, true);
  assert.equal(c.logLevel, 'info');
  assert.equal(c.maxConnections, 50);
  assert.equal(c.maxOpenFiles, 5000);
  assert.equal(c.maxHeldBytes, 256 * 1024 * 1024);
  assert.equal(c.usersFile, '/etc/ringsmb/users.txt');
  assert.deepEqual(c.listen, [{ host: '127.0.0.1', port: 4450 }, { host: '::1', port: 4450 }]);
  assert.deepEqual(c.shares, [
    { name: 'data', path: '/srv/data', readOnly: false, comment: 'Team data', encrypt: false, browseable: false, guestOk: true },
    { name: 'rel', path: '/etc/ringsmb/sub/dir', readOnly: true, comment: '', encrypt: false, browseable: true, guestOk: false },
  ]);
});

test('unknown keys, bad values and odd sections warn with file:line, never throw', () => {
  const text = [
    'stray = 1', // 1
    '[global]', // 2
    'workgroup = WG', // 3
    'server signing = sometimes', // 4
    'log level = eleven', // 5
    'listen = nohost', // 6
    'this line has no equals', // 7
    '[homes]', // 8
    'path = /home', // 9
    '[bad/name]', // 10
    '[ok]', // 11
    'path = /x', // 12
    'veto files = /a/', // 13
    'read only = maybe', // 14
    '[OK]', // 15
    'comment = again', // 16
  ].join('\n');
  const c = parseSmbConf(text, '/b', 'test.conf');
  const expected = [
    /^test\.conf:1: "stray" before any section/,
    /^test\.conf:3: unknown or unsupported parameter "workgroup" in \[global\]/,
    /^test\.conf:4: Server signing|^test\.conf:4: server signing: "sometimes"/,
    /^test\.conf:5: log level: "eleven"/,
    /^test\.conf:6: listen: listen address "nohost" has no port/,
    /^test\.conf:7: "this line has no equals" is neither/,
    /^test\.conf:8: section \[homes\] is not supported/,
    /^test\.conf:10: share name "bad\/name" contains "\/"/,
    /^test\.conf:13: unknown or unsupported parameter "veto files" in \[ok\]/,
    /^test\.conf:14: read only: "maybe" is not a boolean/,
    /^test\.conf:15: section \[OK\] appears again/,
  ];
  assert.equal(c.warnings.length, expected.length, c.warnings.join('\n'));
  c.warnings.forEach((w, i) => assert.match(w, expected[i]!));
  assert.equal(c.signing, undefined);
  assert.deepEqual(c.shares!.map((s) => [s.name, s.path, s.comment]), [['ok', '/x', 'again']]);
});

test('share-level keys in [global] are defaults; a share may override them under any alias', () => {
  const c = parseSmbConf('[a]\npath=/a\n[global]\nwritable = no\nguest ok = yes\n[b]\npath=/b\nread only = no\npublic = no\n', '/');
  assert.deepEqual(c.shares!.map((s) => [s.name, s.readOnly, s.guestOk]), [['a', true, true], ['b', false, false]]);
});

test('ringsmb streams: named streams per share, on unless a share (or [global]) says no', () => {
  const c = parseSmbConf('[global]\nringsmb streams = no\n[a]\npath=/a\n[b]\npath=/b\nringsmb streams = yes\n', '/');
  assert.deepEqual(c.shares!.map((s) => [s.name, s.streams]), [['a', false], ['b', true]]);
  assert.deepEqual(c.warnings, []);
  assert.equal(parseSmbConf('[c]\npath=/c\n', '/').shares![0]!.streams ?? true, true);
});

test('encryption, signing and log level value tables', () => {
  const enc = (v: string) => parseSmbConf(`[global]\nsmb encrypt = ${v}`, '/').encrypt;
  for (const v of ['required', 'mandatory', 'Force']) assert.equal(enc(v), true, v);
  for (const v of ['desired', 'off', 'no', 'yes', 'auto', 'default', 'if_required']) assert.equal(enc(v), false, v);
  const sign = (v: string) => parseSmbConf(`[global]\nserver signing = ${v}`, '/').signing;
  for (const v of ['mandatory', 'required']) assert.equal(sign(v), 'required');
  for (const v of ['auto', 'default', 'disabled']) assert.equal(sign(v), 'enabled');
  const lvl = (v: string) => parseSmbConf(`[global]\nlog level = ${v}`, '/').logLevel;
  assert.deepEqual(['0', '1', '2', '3', '4', '10', 'debug'].map(lvl), ['error', 'warn', 'info', 'info', 'debug', 'debug', 'debug']);
  assert.equal(lvl('11'), undefined);
  assert.equal(parseSmbConf('[global]\nmap to guest = never', '/').guest, false);
});

test('interfaces + bind interfaces only + smb ports become listen addresses', () => {
  let c = parseSmbConf('[global]\ninterfaces = 127.0.0.1/8 ::1 lo nosuchnic0\nbind interfaces only = yes\nsmb ports = 445 4450\n', '/');
  const hosts = new Set(c.listen!.map((l) => l.host));
  assert.ok(hosts.has('127.0.0.1') && hosts.has('::1'));
  assert.ok(c.listen!.some((l) => l.port === 4450) && c.listen!.every((l) => l.port === 445 || l.port === 4450));
  assert.equal(c.warnings.length, 1);
  assert.match(c.warnings[0]!, /nosuchnic0/);
  c = parseSmbConf('[global]\ninterfaces = 127.0.0.1\n', '/');
  assert.equal(c.listen, undefined, 'without bind interfaces only every address is served');
  c = parseSmbConf('[global]\ninterfaces = 10.0.0.1\nbind interfaces only = yes\nlisten = 1.2.3.4:5\n', '/');
  assert.deepEqual(c.listen, [{ host: '1.2.3.4', port: 5 }], 'listen = wins');
});

test('loadConfigFile resolves paths against the file folder; validateConfig finds the problems', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ringsmb-conf-'));
  try {
    mkdirSync(join(dir, 'share'));
    writeFileSync(join(dir, 'afile'), 'x');
    writeFileSync(join(dir, 'smb.conf'), '[global]\nlisten = 127.0.0.1:0\n[s]\npath = share\n[f]\npath = afile\n[m]\npath = missing\n[n]\ncomment = no path\n');
    const file = loadConfigFile(join(dir, 'smb.conf'));
    assert.equal(file.shares![0]!.path, join(dir, 'share'));
    const cfg = mergeConfig(defaultConfig(), file);
    assert.deepEqual(cfg.listen, [{ host: '127.0.0.1', port: 0 }]);
    cfg.shares.push({ ...cfg.shares[0]!, name: 'S' });
    const problems = validateConfig(cfg);
    assert.deepEqual(problems, [
      `share "f": path ${join(dir, 'afile')} is not a directory`,
      `share "m": path ${join(dir, 'missing')} does not exist`,
      'share "n" has no path',
      'share name "S" is used more than once',
      'no users are configured and guest access is off: nobody could connect',
    ]);
    assert.throws(() => loadConfigFile(join(dir, 'nope.conf')), (e: unknown) => e instanceof ConfigError && /cannot read config file .*nope\.conf: ENOENT/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('validateConfig accepts a sound config and checks limits, users and names', () => {
  const good = { ...defaultConfig(), users: [{ name: 'alice', password: 'pw' }] };
  assert.deepEqual(validateConfig(good), []);
  assert.deepEqual(validateConfig({ ...defaultConfig(), guest: true }), []);
  const bad = {
    ...defaultConfig(),
    listen: [{ host: '', port: 70000 }],
    users: [{ name: 'a', ntHash: Buffer.alloc(8) }, { name: 'A' }],
    serverName: 'bad name',
    maxReadWrite: 1024,
    authTimeoutSec: 0,
    maxOpensPerSession: 1.5,
  };
  const problems = validateConfig(bad);
  for (const re of [/empty host/, /port 70000 out of range/, /server name "bad name"/, /NT hash must be 16 bytes, not 8/, /user "A" is defined more than once/, /user "A" has neither password nor NT hash/, /maxReadWrite 1024/, /authTimeoutSec 0/, /maxOpensPerSession 1.5/]) {
    assert.ok(problems.some((p) => re.test(p)), `${re} in ${problems.join(' | ')}`);
  }
  assert.deepEqual(validateConfig({ ...good, listen: [] }), ['no listen address']);
  assert.deepEqual(validateConfig({ ...good, usersFile: '/nonexistent/users' }), ['users file /nonexistent/users is not a readable file']);
});

test('case sensitive: names in any case unless a share says yes; auto, as Samba for SMB2 clients, is no', () => {
  const c = parseSmbConf('[a]\npath=/a\n[b]\npath=/b\ncase sensitive = yes\n[c]\npath=/c\ncase sensitive = auto\n[d]\npath=/d\ncase sensitive = maybe\n', '/');
  assert.deepEqual(c.shares!.map((s) => [s.name, s.caseSensitive ?? false]), [['a', false], ['b', true], ['c', false], ['d', false]]);
  assert.equal(c.warnings.length, 1);
  assert.match(c.warnings[0]!, /maybe/);
});
