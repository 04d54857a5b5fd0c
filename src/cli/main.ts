/**
 * ringsmb command line: serve | features | user add.
 *
 * `ringsmb serve [DIR]` with no options is the embedded default: DIR (or
 * ./share, created) as share "share" on 127.0.0.1:4445, one user with a
 * random password printed at start, and the smbclient command to connect.
 */
import { mkdirSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createServer } from '../server/server.js';
import {
  defaultConfig, loadConfigFile, mergeConfig, parseListen, parseShareSpec, parseUserSpec, validateConfig,
  type ServerConfig, type UserConfig,
} from '../server/config.js';
import { uringAvailability } from '../uring/features.js';
import { addUser, loadUsers } from '../auth/users.js';

const USAGE = `usage:
  ringsmb serve [DIR] [--listen HOST:PORT]... [--share NAME=PATH[:ro]]... [--user NAME:PASSWORD]...
                [--users FILE] [--config FILE] [--guest] [--encrypt] [--signing required|enabled]
                [--vfs auto|threadpool|uring] [--transport auto|node|uring] [--log-level error|warn|info|debug]
  ringsmb features [--json]       what this kernel's io_uring offers
  ringsmb user add FILE NAME      add a user (asks for the password on stdin) to a users file
`;

export async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  if (cmd === 'serve') return serve(rest);
  if (cmd === 'features') {
    const modPath = './features.js';
    const m = (await import(modPath)) as { featuresCommand(a: string[]): Promise<number> };
    process.exitCode = await m.featuresCommand(rest);
    return;
  }
  if (cmd === 'user' && rest[0] === 'add') return userAdd(rest.slice(1));
  process.stdout.write(USAGE);
  process.exitCode = cmd === undefined || cmd === '--help' || cmd === '-h' ? 0 : 2;
}

function takeValue(args: string[], i: number, flag: string): string {
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value`);
  return v;
}

async function serve(args: string[]): Promise<void> {
  let cfg: ServerConfig = defaultConfig();
  const listens: ServerConfig['listen'] = [];
  const shares: ServerConfig['shares'] = [];
  const users: UserConfig[] = [];
  let dir: string | undefined;
  let vfs: 'auto' | 'threadpool' | 'uring' = 'auto';
  let transport: 'auto' | 'node' | 'uring' = 'auto';
  let listenFromConfig = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    switch (a) {
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return;
      case '--listen': listens.push(parseListen(takeValue(args, i++, a))); break;
      case '--share': shares.push(parseShareSpec(takeValue(args, i++, a))); break;
      case '--user': users.push(parseUserSpec(takeValue(args, i++, a))); break;
      case '--users': cfg.usersFile = takeValue(args, i++, a); break;
      case '--config': {
        const loaded = loadConfigFile(takeValue(args, i++, a));
        for (const w of loaded.warnings) process.stderr.write(`ringsmb: warning: ${w}\n`);
        cfg = mergeConfig(cfg, loaded);
        if (loaded.listen) listenFromConfig = true;
        break;
      }
      case '--guest': cfg.guest = true; break;
      case '--encrypt': cfg.encrypt = true; break;
      case '--vfs': vfs = takeValue(args, i++, a) as typeof vfs; break;
      case '--transport': transport = takeValue(args, i++, a) as typeof transport; break;
      case '--signing': {
        // "enabled": sign when the client asks (unsigned traffic may take the zero-copy read path).
        const v = takeValue(args, i++, a);
        if (v !== 'required' && v !== 'enabled') throw new Error('--signing must be required or enabled');
        cfg.signing = v;
        break;
      }
      case '--log-level': cfg.logLevel = takeValue(args, i++, a) as ServerConfig['logLevel']; break;
      default:
        if (a.startsWith('--')) throw new Error(`unknown option ${a}\n${USAGE}`);
        if (dir !== undefined) throw new Error(`more than one directory given (${dir}, ${a})`);
        dir = a;
    }
  }
  if (!['auto', 'threadpool', 'uring'].includes(vfs)) throw new Error(`--vfs must be auto, threadpool or uring`);
  if (!['auto', 'node', 'uring'].includes(transport)) throw new Error(`--transport must be auto, node or uring`);
  // Embedded default: loopback only, unless --listen or the config file says where.
  if (listens.length) cfg.listen = listens;
  else if (!listenFromConfig) cfg.listen = [{ host: '127.0.0.1', port: 4445 }];
  if (shares.length) cfg.shares = [...cfg.shares, ...shares];
  if (dir !== undefined || cfg.shares.length === 0) {
    const path = resolve(dir ?? 'share');
    if (!existsSync(path)) mkdirSync(path, { recursive: true });
    cfg.shares = [...cfg.shares, { name: 'share', path, readOnly: false, comment: 'ringsmb share', encrypt: false, browseable: true, guestOk: false }];
  }
  // One place loads the users file, whether --users or the config named it.
  if (cfg.usersFile) {
    const store = await loadUsers(cfg.usersFile);
    for (const u of store.list()) users.push({ name: u.name, ntHash: u.ntHash });
  }
  let generated: { name: string; password: string } | null = null;
  cfg.users = [...cfg.users, ...users];
  if (cfg.users.length === 0 && !cfg.guest) {
    generated = { name: 'ringsmb', password: randomBytes(9).toString('base64url') };
    cfg.users = [{ name: generated.name, password: generated.password }];
  }
  const problems = validateConfig(cfg);
  if (problems.length) throw new Error(`configuration problems:\n  ${problems.join('\n  ')}`);
  const avail = uringAvailability();
  const server = createServer({ ...cfg, vfs, transport });
  if (!avail.available) server.log.warn(`io_uring unavailable: ${avail.reason}; using the fallbacks (threadpool VFS, net transport)`);
  const addrs = await server.listen();
  const a = addrs[0]!;
  const host = a.host.includes(':') ? `[${a.host}]` : a.host;
  const share = cfg.shares[0]!;
  process.stdout.write(`ringsmb serving ${cfg.shares.map((s) => `${s.name} -> ${s.path}${s.readOnly ? ' (read-only)' : ''}`).join(', ')}\n`);
  if (generated) process.stdout.write(`user: ${generated.name}  password: ${generated.password}\n`);
  const cred = generated ? `${generated.name}%${generated.password}` : `${cfg.users[0]?.name ?? 'guest'}%PASSWORD`;
  process.stdout.write(`connect: smbclient //${host}/${share.name} -p ${a.port} -U '${cred}'\n`);
  const stop = () => {
    server.log.info('shutting down');
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        server.log.error(`shutting down: ${(err as Error)?.stack ?? err}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

async function userAdd(args: string[]): Promise<void> {
  const [file, name] = args;
  if (!file || !name) throw new Error('usage: ringsmb user add FILE NAME  (password on stdin)');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (!password) throw new Error('empty password');
  await addUser(file, name, password);
  process.stdout.write(`user ${name} written to ${file} (NT hash only)\n`);
}
