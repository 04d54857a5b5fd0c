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

describe('ringsmb serve DIR (the embedded default)', { skip: smbclientPath() ? false : 'smbclient is not installed (apt-get install smbclient)' }, () => {
  test('prints a password and a connect command that works; SIGTERM stops it cleanly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringsmb-cli-'));
    writeFileSync(join(dir, 'readme.txt'), 'from the cli test\n');
    const child = spawn(process.execPath, [bin, 'serve', dir, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const connectLine = () => /connect: smbclient .*\n/.test(out);
      await until(() => connectLine() || child.exitCode !== null, 15000, () => `no connect line; stdout: ${out} stderr: ${err}`);
      assert.ok(connectLine(), `exited before the connect line; stdout: ${out} stderr: ${err}`);
      assert.match(out, new RegExp(`serving share -> ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      const m = /connect: smbclient \/\/127\.0\.0\.1\/(\S+) -p (\d+) -U '([^']+)'/.exec(out);
      assert.ok(m, `connect line: ${out}`);
      const [, share, port, cred] = m;
      assert.notEqual(Number(port), 0, 'the real port is printed');
      assert.match(out, /user: ringsmb {2}password: \S{8,}/);
      const ls = await smbclient(Number(port), 'ls', [], share!, cred!);
      assert.equal(ls.code, 0, ls.out);
      assert.match(ls.stdout, /readme\.txt/);
      const put = await smbclient(Number(port), `put ${join(dir, 'readme.txt')} copy.txt`, [], share!, cred!);
      assert.equal(put.code, 0, put.out);
      assert.equal(readFileSync(join(dir, 'copy.txt'), 'utf8'), 'from the cli test\n');
      const wrong = await smbclient(Number(port), 'ls', [], share!, 'ringsmb%not-the-password');
      assert.notEqual(wrong.code, 0);
      assert.match(wrong.out, /NT_STATUS_LOGON_FAILURE/);
      child.kill('SIGTERM');
      assert.equal(await exited, 0, `exit status after SIGTERM; stderr: ${err}`);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('Ctrl-C (SIGINT) with a client still connected and idle: the server exits 0 within seconds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringsmb-cli-'));
    const child = spawn(process.execPath, [bin, 'serve', dir, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let client: SignedConnection | null = null;
    try {
      await until(() => /connect: smbclient .*\n/.test(out) || child.exitCode !== null, 15000, () => `no connect line; stdout: ${out} stderr: ${err}`);
      const m = /connect: smbclient \/\/127\.0\.0\.1\/(\S+) -p (\d+) -U '([^%']+)%([^']+)'/.exec(out);
      assert.ok(m, `connect line: ${out}`);
      // Authenticated (signed: the default requires it), tree connected, then idle with the connection open.
      client = await SignedConnection.open(Number(m[2]));
      const { session } = await client.authenticate(m[3]!, m[4]!);
      assert.ok(session, 'the printed credentials log on');
      await client.treeConnect(session, m[1]!);
      const t0 = Date.now();
      child.kill('SIGINT');
      const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running'), 10_000).unref())]);
      assert.equal(code, 0, `exit status after SIGINT with a client connected; stderr: ${err}`);
      assert.ok(Date.now() - t0 < 8000, `exited after ${Date.now() - t0} ms`);
    } finally {
      client?.destroy();
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
