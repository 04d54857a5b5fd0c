/**
 * Starts a ringsmb server in this process on a free loopback port and runs
 * Samba's smbclient against it (asynchronously: the server shares this
 * process's event loop).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type SmbServer, type ServerOptions } from '../../src/server/server.js';
import { createLogger } from '../../src/util/log.js';

export const USER = 'tester';
export const PASSWORD = 'S3cret-pass';

export function smbclientPath(): string | null {
  for (const p of ['/usr/bin/smbclient', '/usr/local/bin/smbclient']) if (existsSync(p)) return p;
  return null;
}

export interface Running {
  server: SmbServer;
  port: number;
  dir: string;
  logs: string[];
  stop(): Promise<void>;
}

export async function startServer(opts: ServerOptions = {}): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'ringsmb-share-'));
  const logs: string[] = [];
  const server = createServer({
    listen: [{ host: '127.0.0.1', port: 0 }],
    shares: [{ name: 'share', path: dir, readOnly: false, comment: 'test share', encrypt: false, browseable: true, guestOk: false }],
    users: [{ name: USER, password: PASSWORD }],
    logger: createLogger('debug', (l) => logs.push(l)),
    ...opts,
  });
  const addrs = await server.listen();
  return {
    server,
    port: addrs[0]!.port,
    dir,
    logs,
    async stop() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface SmbResult {
  code: number;
  stdout: string;
  stderr: string;
  out: string;
}

/** Runs `smbclient //127.0.0.1/SHARE -p PORT -U USER%PASS [extra] -c CMDS`. */
export function smbclient(port: number, cmds: string, extra: string[] = [], share = 'share', cred = `${USER}%${PASSWORD}`): Promise<SmbResult> {
  const args = [`//127.0.0.1/${share}`, '-p', String(port), '-U', cred, ...extra, '-c', cmds];
  return new Promise((resolve) => {
    execFile(smbclientPath()!, args, { timeout: 30000 }, (err, stdout, stderr) => {
      const code = err ? ((err as NodeJS.ErrnoException & { code?: number }).code as unknown as number) ?? 1 : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr, out: stdout + stderr });
    });
  });
}

export function smbclientList(port: number, cred = `${USER}%${PASSWORD}`): Promise<SmbResult> {
  return new Promise((resolve) => {
    execFile(smbclientPath()!, ['-L', '//127.0.0.1', '-p', String(port), '-U', cred], { timeout: 30000 }, (err, stdout, stderr) => {
      resolve({ code: err ? 1 : 0, stdout, stderr, out: stdout + stderr });
    });
  });
}

/** Polls cond every 10 ms; fails with `what` (or what it returns) after ms. */
export async function until(cond: () => boolean, ms: number, what: string | (() => string)): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(typeof what === 'string' ? what : what());
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Waits (up to a second) until no connection is counted busy with large signed or sealed traffic and every pooled buffer is back. */
export async function cryptoIdle(server: SmbServer): Promise<void> {
  for (let i = 0; i < 100 && (server.cryptoBusy > 0 || server.dataPool.stats.out > 0); i++) await new Promise((r) => setTimeout(r, 10));
}
