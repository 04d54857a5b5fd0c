/**
 * The command line as the README gives it: `ringsmb serve DIR` prints a
 * password and the smbclient command to connect, and that command works;
 * --help answers; bad options fail with a message and a non-zero status.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { smbclient, smbclientPath, until } from './harness.js';
import { SignedConnection } from '../server/signed-client.js';

const root = join(import.meta.dirname, '..', '..', '..');
const bin = join(root, 'bin', 'ringsmb.js');

function cli(args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 20000 });
}

test('ringsmb --help and ringsmb serve --help print the usage and exit 0', () => {
  for (const args of [['--help'], ['serve', '--help'], ['serve', '-h']]) {
    const r = cli(args);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /ringsmb serve \[DIR\]/);
    assert.match(r.stdout, /--signing required\|enabled/);
  }
});

test('ringsmb serve with a bad option or value fails with a message, not a trace', () => {
  const bad = cli(['serve', '--no-such-option']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^ringsmb: unknown option --no-such-option/);
  const val = cli(['serve', '--listen', '127.0.0.1:99999']);
  assert.equal(val.status, 1);
  assert.match(val.stderr, /port 99999 out of range/);
  assert.doesNotMatch(val.stderr, /\n\s+at /, 'no stack trace');
  const cmd = cli(['frobnicate']);
  assert.equal(cmd.status, 2);
  assert.match(cmd.stdout, /usage:/);
});

/**
 * `ringsmb serve DIR` on a free loopback port, up to its connect line: the
 * child, what it printed so far, its exit, and the share, port and
 * credentials of that line. The caller kills the child.
 */
async function serveDir(dir: string) {
  const child = spawn(process.execPath, [bin, 'serve', dir, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const io = { out: '', err: '' };
  child.stdout.setEncoding('utf8').on('data', (d: string) => (io.out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (io.err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const connectLine = () => /connect: smbclient .*\n/.test(io.out);
    await until(() => connectLine() || child.exitCode !== null, 15000, () => `no connect line; stdout: ${io.out} stderr: ${io.err}`);
    assert.ok(connectLine(), `exited before the connect line; stdout: ${io.out} stderr: ${io.err}`);
    const m = /connect: smbclient \/\/127\.0\.0\.1\/(\S+) -p (\d+) -U '([^%']+)%([^']+)'/.exec(io.out);
    assert.ok(m, `connect line: ${io.out}`);
    return { child, io, exited, share: m[1]!, port: Number(m[2]), user: m[3]!, password: m[4]! };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

describe('ringsmb serve DIR (the embedded default)', { skip: smbclientPath() ? false : 'smbclient is not installed (apt-get install smbclient)' }, () => {
  test('prints a password and a connect command that works; SIGTERM stops it cleanly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringsmb-cli-'));
    writeFileSync(join(dir, 'readme.txt'), 'from the cli test\n');
    const srv = await serveDir(dir);
    try {
      const { io, share, port, user, password } = srv;
      assert.match(io.out, new RegExp(`serving share -> ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      const cred = `${user}%${password}`;
      assert.notEqual(port, 0, 'the real port is printed');
      assert.match(io.out, /user: ringsmb {2}password: \S{8,}/);
      const ls = await smbclient(port, 'ls', [], share, cred);
      assert.equal(ls.code, 0, ls.out);
      assert.match(ls.stdout, /readme\.txt/);
      const put = await smbclient(port, `put ${join(dir, 'readme.txt')} copy.txt`, [], share, cred);
      assert.equal(put.code, 0, put.out);
      assert.equal(readFileSync(join(dir, 'copy.txt'), 'utf8'), 'from the cli test\n');
      const wrong = await smbclient(port, 'ls', [], share, 'ringsmb%not-the-password');
      assert.notEqual(wrong.code, 0);
      assert.match(wrong.out, /NT_STATUS_LOGON_FAILURE/);
      srv.child.kill('SIGTERM');
      assert.equal(await srv.exited, 0, `exit status after SIGTERM; stderr: ${io.err}`);
    } finally {
      if (srv.child.exitCode === null) srv.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('Ctrl-C (SIGINT) with a client still connected and idle: the server exits 0 within seconds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringsmb-cli-'));
    const srv = await serveDir(dir);
    let client: SignedConnection | null = null;
    try {
      // Authenticated (signed: the default requires it), tree connected, then idle with the connection open.
      client = await SignedConnection.open(srv.port);
      const { session } = await client.authenticate(srv.user, srv.password);
      assert.ok(session, 'the printed credentials log on');
      await client.treeConnect(session, srv.share);
      const t0 = Date.now();
      srv.child.kill('SIGINT');
      const code = await Promise.race([srv.exited, new Promise<string>((r) => setTimeout(() => r('still running'), 10_000).unref())]);
      assert.equal(code, 0, `exit status after SIGINT with a client connected; stderr: ${srv.io.err}`);
      assert.ok(Date.now() - t0 < 8000, `exited after ${Date.now() - t0} ms`);
    } finally {
      client?.destroy();
      if (srv.child.exitCode === null) srv.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
