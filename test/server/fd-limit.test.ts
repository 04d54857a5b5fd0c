/**
 * Every client shares the server's one fd table (RLIMIT_NOFILE). Before,
 * one user opening files until EMFILE took the last fd: every accept then
 * failed (a warning every 100 ms) and nobody else could connect. Now opens
 * stop short of the limit (TOO_MANY_OPENED_FILES, one log line however many
 * are refused), so others still connect; and should the process run out of
 * fds all the same (something else in it took them), a client that connects
 * is disconnected at once instead of hanging in the listen backlog.
 *
 * The server runs in a child under `prlimit --nofile=256`
 * (fixtures/fd-limited-server.ts), on whichever transport the environment
 * picks (CI runs this file on io_uring and with RINGSMB_URING=off).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestClient } from './smb-client.js';
import { NtStatus } from '../../src/smb2/status.js';
import { until } from '../interop/harness.js';

const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'fd-limited-server.js');
const hasPrlimit = spawnSync('prlimit', ['--version']).status === 0;
const skip = hasPrlimit ? false : 'prlimit (util-linux) is not installed';

interface Child {
  proc: ChildProcessWithoutNullStreams;
  lines: string[];
  port: number;
  dir: string;
  /** the first line matching re (waiting up to ms for it) */
  line(re: RegExp, ms?: number): Promise<RegExpExecArray>;
  stop(): Promise<void>;
}

async function limitedServer(nofile: number, files: number): Promise<Child> {
  const dir = mkdtempSync(join(tmpdir(), 'ringsmb-fdlimit-'));
  for (let i = 0; i < files; i++) writeFileSync(join(dir, `f${i}`), `file ${i}`);
  const proc = spawn('prlimit', [`--nofile=${nofile}:${nofile}`, process.execPath, fixture, dir], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (d: string) => {
    const parts = (partial + d).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  });
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const line = async (re: RegExp, ms = 10_000): Promise<RegExpExecArray> => {
    let m: RegExpExecArray | null = null;
    await until(() => (m = lines.map((l) => re.exec(l)).find((x) => x) ?? null) !== null || proc.exitCode !== null, ms,
      () => `no line like ${re}; output:\n${lines.join('\n')}\nstderr: ${stderr}`);
    assert.ok(m, `exited (${proc.exitCode}) before a line like ${re}; output:\n${lines.join('\n')}\nstderr: ${stderr}`);
    return m;
  };
  const port = Number((await line(/^port (\d+)$/))[1]);
  return {
    proc, lines, port, dir, line,
    async stop() {
      const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
      proc.stdin.write('stop\n');
      const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running'), 10_000).unref())]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      assert.equal(code, 0, `the server stops cleanly; stderr: ${stderr}`);
    },
  };
}

test('one user opening files up to the fd limit: refused with TOO_MANY_OPENED_FILES short of it, one log line, and other clients still connect and open once files are closed', { skip, timeout: 60_000 }, async () => {
  const srv = await limitedServer(256, 120);
  const clients: TestClient[] = [];
  try {
    const limit = Number((await srv.line(/open files: at most (\d+) at once \(RLIMIT_NOFILE 256\b/))[1]);
    // 256 fds cannot keep four for each of 1024 connections: a quarter goes to opens, and the admin is told.
    assert.equal(limit, 64);
    await srv.line(/RLIMIT_NOFILE 256 is tight for 1024 connections/);

    const a = await TestClient.connect(srv.port, 'test', 'test', 'share');
    clients.push(a);
    const ids = [];
    for (let i = 0; i < limit; i++) {
      const r = await a.create(`f${i}`);
      assert.equal(r.status, NtStatus.SUCCESS, `open ${i} of ${limit}`);
      ids.push(r.res!.fileId);
    }
    for (let i = 0; i < 5; i++) assert.equal((await a.create(`f${limit + i}`)).status >>> 0, NtStatus.TOO_MANY_OPENED_FILES, 'past the limit');
    await srv.line(/open refused, 64 files open on the server \(max open files\)/);
    assert.equal(srv.lines.filter((l) => /open refused/.test(l)).length, 1, 'five refusals, one log line');

    // Another client still connects (the fds kept back), and opens once a file is closed.
    const b = await TestClient.connect(srv.port, 'test', 'test', 'share');
    clients.push(b);
    assert.equal((await b.create('f100')).status >>> 0, NtStatus.TOO_MANY_OPENED_FILES);
    assert.equal(await a.close(ids[0]!), NtStatus.SUCCESS);
    const got = await b.create('f100');
    assert.equal(got.status, NtStatus.SUCCESS, 'an open after one was closed');
    // The first client going away gives back all of its opens.
    a.destroy();
    for (let i = 0; i < 20; i++) {
      let r = await b.create(`f${101 + i}`);
      for (let t = 0; t < 100 && r.status !== NtStatus.SUCCESS; t++) {
        await new Promise((res) => setTimeout(res, 20));
        r = await b.create(`f${101 + i}`);
      }
      assert.equal(r.status, NtStatus.SUCCESS, `open ${i} after the first client left`);
    }
    assert.doesNotMatch(srv.lines.join('\n'), /accept: .*EMFILE|error /, 'no accept failed, nothing logged as an error');
  } finally {
    for (const c of clients) c.destroy();
    await srv.stop();
  }
});

test('when the process has no fd left, a client that connects is disconnected at once (not left in the backlog), those connected get TOO_MANY_OPENED_FILES, and clients are served again once fds are back', { skip, timeout: 60_000 }, async () => {
  const srv = await limitedServer(256, 4);
  const clients: TestClient[] = [];
  try {
    const a = await TestClient.connect(srv.port, 'test', 'test', 'share');
    clients.push(a);
    srv.proc.stdin.write('exhaust\n');
    await srv.line(/^exhausted \d+$/);

    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      const closed = await new Promise<string>((resolve) => {
        const s = connect(srv.port, '127.0.0.1');
        s.on('error', () => {});
        s.on('close', () => resolve('closed'));
        setTimeout(() => { resolve('still waiting'); s.destroy(); }, 5000).unref();
      });
      assert.equal(closed, 'closed', `connection ${i}: disconnected, not left waiting`);
      assert.ok(Date.now() - t0 < 3000, `connection ${i}: disconnected after ${Date.now() - t0} ms`);
    }
    // A client already connected gets an answer, not a hang or a drop.
    assert.equal((await a.create('f0')).status >>> 0, NtStatus.TOO_MANY_OPENED_FILES, 'EMFILE on open');
    if (srv.lines.some((l) => /transport uring/.test(l))) {
      await srv.line(/accept: .*EMFILE.*out of fds: clients that connect meanwhile are disconnected at once/);
      assert.ok(srv.lines.filter((l) => /accept:/.test(l)).length <= 2, 'the accept failures are logged once (and a count with the next line)');
    }

    srv.proc.stdin.write('release\n');
    await srv.line(/^released$/);
    const b = await TestClient.connect(srv.port, 'test', 'test', 'share');
    clients.push(b);
    const r = await b.create('f1');
    assert.equal(r.status, NtStatus.SUCCESS, 'a new client opens a file once fds are back');
    assert.equal(await b.close(r.res!.fileId), NtStatus.SUCCESS);
    assert.equal((await a.create('f2')).status, NtStatus.SUCCESS, 'and so does the one that stayed');
  } finally {
    for (const c of clients) c.destroy();
    await srv.stop();
  }
});
