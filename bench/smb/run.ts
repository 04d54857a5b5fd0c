/**
 * SMB throughput and server CPU: ringsmb next to Samba smbd (default VFS and
 * the io_uring VFS), on loopback, with smbclient as the client, the same file
 * on tmpfs, transfers alternating across servers round by round.
 *
 *   npm run bench:smb -- [--servers ringsmb,smbd,smbd-uring] [--cells get-1-off,put-*-sign,...]
 *                        [--size 2G] [--rounds 5] [--quick] [--raw FILE]
 *                        [--ringsmb-args '--vfs uring'] [--ports 4501,4510,4511] [--timeout SECONDS]
 *
 * Cells: {get,put} x {1,4} parallel smbclient processes x protection
 * {off,sign,encrypt} (smbclient --client-protection). Per transfer: wall
 * MiB/s (bytes of all processes / time from the first start to the last
 * exit) and server CPU seconds per GiB (utime+stime+cutime+cstime over the
 * server's process tree, before/after; see procfs.ts). Output: medians per
 * cell and server, and the ratios ringsmb/Samba. See bench/smb/README.md.
 *
 * Metadata cells open-{1,4}-off: smbtorture's smb2.bench.path-contention-shared
 * (CREATE + CLOSE of one path, shared access, from 1 or 4 connections, for
 * --open-seconds): opens per second and server CPU ms per 1000 opens.
 *
 * Needs root (smbd, a unix user for Samba), smbclient and /usr/sbin/smbd;
 * installs nothing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync, chownSync, closeSync, createReadStream, existsSync, mkdirSync, mkdtempSync, openSync, rmSync,
  statSync, statfsSync, writeFileSync, writeSync, readFileSync,
} from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { clockTicksPerSecond, sysTicks, terminateSync } from './procfs.js';
import { GiB, MiB, holdFreedMemory, median, parseSize, touchMemory, writeRandomFile } from '../common.js';
import {
  RingsmbServer, SmbdServer, SMBD, SERVER_NAMES, portInUse, quote,
  type BenchServer, type Protection, type ServerName,
} from './servers.js';

const USER = 'bench';
const SHARE = 'bench';
const FILE = 'bigfile';

// ------------------------------------------------------------------ options

interface Cell {
  name: string;
  op: 'get' | 'put' | 'open';
  conns: number;
  prot: Protection;
}

const ALL_CELLS: Cell[] = [];
for (const op of ['get', 'put'] as const) {
  for (const conns of [1, 4]) {
    for (const prot of ['off', 'sign', 'encrypt'] as const) ALL_CELLS.push({ name: `${op}-${conns}-${prot}`, op, conns, prot });
  }
}
for (const op of ['get', 'put'] as const) ALL_CELLS.push({ name: `${op}-1-cmac`, op, conns: 1, prot: 'cmac' });
for (const [op, conns] of [['get', 1], ['get', 4], ['put', 1]] as const) ALL_CELLS.push({ name: `${op}-${conns}-hmac`, op, conns, prot: 'hmac' });
for (const conns of [1, 4]) ALL_CELLS.push({ name: `open-${conns}-off`, op: 'open', conns, prot: 'off' });
const SMBTORTURE = 'smbtorture';

interface Options {
  servers: ServerName[];
  cells: Cell[];
  size: number;
  rounds: number;
  raw: string | null;
  ringsmbArgs: string[];
  ports: Record<ServerName, number>;
  timeoutS: number | null;
  openSeconds: number;
  keep: boolean;
  /** leave the guest's free page reporting as it is (see holdFreedMemory) */
  reportFreed: boolean;
}

const HELP = `usage: npm run bench:smb -- [options]      (= node dist/bench/smb/run.js [options], as root)

  --servers LIST     comma list of ringsmb, smbd, smbd-uring (default: all three)
  --cells LIST       comma list of cell patterns OP-CONNS-PROTECTION with * wildcards;
                     missing parts match anything: "get", "put-4", "*-*-sign", "get-1-off"
                     cells: {get,put}-{1,4}-{off,sign,encrypt}, {get,put}-1-cmac, get-{1,4}-hmac, put-1-hmac,
                     open-{1,4}-off (default: all 19)
  --size SIZE        file size: 2G, 512M, 1536 (MiB) (default 2G)
  --rounds N         rounds; every round runs every cell once on every server (default 5)
  --quick            smoke run: --size 256M --rounds 1 (explicit --size/--rounds win)
  --raw FILE         also write one TSV row per transfer to FILE
  --ringsmb-args S   extra arguments for "ringsmb serve", e.g. '--vfs uring --transport uring'
  --ports R,S,U      ports of ringsmb, smbd, smbd-uring on 127.0.0.1 (default 4501,4510,4511)
  --timeout SECONDS  per transfer (default 60 + 1 s per 20 MiB moved)
  --open-seconds N   length of one open cell run (default 5)
  --keep             keep the temp dirs (configs, server logs, the test file) for inspection
  --report-freed     leave the VM's free page reporting on during the run (default: held off
                     for the run where the guest has it, and restored after; see bench/smb/README.md)
`;

function cellFilter(list: string): Cell[] {
  const pats = list.split(',').map((s) => s.trim()).filter(Boolean);
  const out = ALL_CELLS.filter((c) =>
    pats.some((p) => {
      const parts = p.split('-');
      while (parts.length < 3) parts.push('*');
      const re = new RegExp(`^${parts.map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^-]*')).join('-')}$`);
      return re.test(c.name);
    }),
  );
  if (out.length === 0) throw new Error(`--cells ${list} matches no cell (cells: ${ALL_CELLS.map((c) => c.name).join(' ')})`);
  return out;
}

function parseArgs(argv: string[]): Options | null {
  const o: Options = {
    servers: [...SERVER_NAMES],
    cells: ALL_CELLS,
    size: 2 * GiB,
    rounds: 5,
    raw: null,
    ringsmbArgs: [],
    ports: { ringsmb: 4501, smbd: 4510, 'smbd-uring': 4511 },
    timeoutS: null,
    openSeconds: 5,
    keep: false,
    reportFreed: false,
  };
  let quick = false;
  let size: number | null = null;
  let rounds: number | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '-h': case '--help': process.stdout.write(HELP); return null;
      case '--quick': quick = true; break;
      case '--keep': o.keep = true; break;
      case '--report-freed': o.reportFreed = true; break;
      case '--servers': {
        const s = val().split(',').map((x) => x.trim()).filter(Boolean);
        for (const x of s) if (!(SERVER_NAMES as readonly string[]).includes(x)) throw new Error(`unknown server ${x} (ringsmb, smbd, smbd-uring)`);
        if (!s.length) throw new Error('--servers is empty');
        o.servers = SERVER_NAMES.filter((n) => s.includes(n));
        break;
      }
      case '--cells': o.cells = cellFilter(val()); break;
      case '--size': size = parseSize(val()); break;
      case '--rounds': {
        rounds = Number(val());
        if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be an integer >= 1');
        break;
      }
      case '--raw': o.raw = resolve(val()); break;
      case '--ringsmb-args': o.ringsmbArgs = val().split(/\s+/).filter(Boolean); break;
      case '--ports': {
        const p = val().split(',').map(Number);
        if (p.length !== 3 || p.some((x) => !Number.isInteger(x) || x < 1 || x > 65535)) throw new Error('--ports needs three ports R,S,U');
        o.ports = { ringsmb: p[0]!, smbd: p[1]!, 'smbd-uring': p[2]! };
        break;
      }
      case '--open-seconds': {
        o.openSeconds = Number(val());
        if (!Number.isInteger(o.openSeconds) || o.openSeconds < 2) throw new Error('--open-seconds must be an integer >= 2');
        break;
      }
      case '--timeout': {
        o.timeoutS = Number(val());
        if (!(o.timeoutS > 0)) throw new Error('--timeout must be > 0');
        break;
      }
      default: throw new Error(`unknown option ${a}\n${HELP}`);
    }
  }
  o.size = size ?? (quick ? 256 * MiB : o.size);
  o.rounds = rounds ?? (quick ? 1 : o.rounds);
  return o;
}

// ------------------------------------------------------------------ prerequisites

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function checkPrerequisites(o: Options, root: string): void {
  const problems: string[] = [];
  const pkgs = new Set<string>();
  const needSmbd = o.servers.some((s) => s !== 'ringsmb');
  if (process.platform !== 'linux') problems.push('Linux only (/proc is read for CPU accounting)');
  if (!onPath('smbclient')) {
    problems.push('smbclient not found');
    pkgs.add('smbclient');
  }
  if (o.cells.some((c) => c.op === 'open') && !onPath(SMBTORTURE)) {
    problems.push(`${SMBTORTURE} not found (the open cells run it; leave them out with --cells get,put)`);
    pkgs.add('samba-testsuite');
  }
  if (needSmbd) {
    if (!existsSync(SMBD)) {
      problems.push(`${SMBD} not found`);
      pkgs.add('samba');
    }
    for (const c of ['smbpasswd', 'testparm']) {
      if (!onPath(c)) {
        problems.push(`${c} not found`);
        pkgs.add('samba-common-bin');
      }
    }
    for (const c of ['id', 'useradd']) if (!onPath(c)) problems.push(`${c} not found (package passwd)`);
    if (process.getuid?.() !== 0) problems.push('smbd runs as root and the bench adds a unix user for it: run as root (sudo npm run bench:smb)');
  }
  if (o.servers.includes('ringsmb') && !existsSync(join(root, 'dist', 'src', 'cli', 'main.js'))) {
    problems.push(`ringsmb is not built (${join(root, 'dist/src/cli/main.js')} missing): run npx tsc -p . (npm run bench:smb does)`);
  }
  if (problems.length) {
    let msg = `cannot run the SMB bench:\n  ${problems.join('\n  ')}`;
    if (pkgs.size) msg += `\ninstall with:\n  apt-get install -y ${[...pkgs].join(' ')}`;
    throw new Error(msg);
  }
}

// ------------------------------------------------------------------ clean-up

const cleanups: Array<() => void> = [];
const activeClients = new Set<ChildProcess>();
let cleaned = false;

/** Synchronous, idempotent: runs on normal end, errors, Ctrl-C and process exit. */
function cleanupSync(): void {
  if (cleaned) return;
  cleaned = true;
  const clientPids = [...activeClients].map((c) => c.pid).filter((p): p is number => typeof p === 'number');
  if (clientPids.length) terminateSync(clientPids, 1000);
  for (const f of cleanups.reverse()) {
    try {
      f();
    } catch (e) {
      process.stderr.write(`clean-up: ${(e as Error).message}\n`);
    }
  }
}

function onSignal(sig: NodeJS.Signals): void {
  process.stderr.write(`\n${sig}: stopping servers and removing temp dirs\n`);
  cleanupSync();
  process.exit(sig === 'SIGINT' ? 130 : 143);
}

// ------------------------------------------------------------------ helpers

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return (r.stdout ?? '').trim();
}

function ensureUnixUser(): { uid: number; gid: number } {
  const uid = sh('id', ['-u', USER]);
  if (!uid) {
    const args = ['-M', '-d', '/nonexistent', '-s', '/usr/sbin/nologin', USER];
    const r = spawnSync('useradd', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`useradd ${args.join(' ')} failed: ${r.stderr}`);
    process.stdout.write(`created unix user ${USER} for smbd (useradd ${args.join(' ')}); it is removed at the end\n`);
    cleanups.push(() => {
      const d = spawnSync('userdel', [USER], { encoding: 'utf8' });
      if (d.status === 0) process.stdout.write(`removed unix user ${USER}\n`);
      else process.stderr.write(`userdel ${USER} failed: ${d.stderr}\n`);
    });
  } else {
    process.stdout.write(`unix user ${USER} exists (uid ${uid}); using it for smbd\n`);
  }
  return { uid: Number(sh('id', ['-u', USER])), gid: Number(sh('id', ['-g', USER])) };
}

/** Write `size` random bytes to path; returns the sha256. */
async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: 4 * MiB })) h.update(c as Buffer);
  return h.digest('hex');
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ transfers

interface Ctx {
  o: Options;
  shareDir: string;
  srcPath: string;
  clientConf: string;
  authFile: string;
  srcSha: string;
  putHashed: Set<ServerName>;
}

function smbclientArgs(ctx: Ctx, port: number, prot: Protection, command: string): string[] {
  return [
    `//127.0.0.1/${SHARE}`, '-p', String(port), '-s', ctx.clientConf, '-A', ctx.authFile,
    '-m', prot === 'hmac' ? 'SMB2_10' : 'SMB3_11', `--client-protection=${prot === 'cmac' || prot === 'hmac' ? 'sign' : prot}`,
    ...(prot === 'cmac' ? ['--option=client smb3 signing algorithms=AES-128-CMAC'] : []), '-c', command,
  ];
}

interface ClientResult {
  code: number | null;
  signal: string | null;
  output: string;
  exitedAt: number;
  timedOut: boolean;
}

function runClient(args: string[], timeoutMs: number, cmd = 'smbclient'): Promise<ClientResult> {
  return new Promise((resolveP) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    activeClients.add(child);
    let output = '';
    let exitedAt = 0;
    let timedOut = false;
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('exit', () => (exitedAt = performance.now()));
    child.once('error', (e) => (output += `\nspawn error: ${e.message}`));
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      activeClients.delete(child);
      resolveP({ code, signal, output, exitedAt: exitedAt || performance.now(), timedOut });
    });
  });
}

interface Row {
  round: number;
  cell: Cell;
  server: ServerName;
  bytes: number;
  wallS: number;
  mibps: number;
  clientMiBps: number;
  cpuS: number;
  cpuPerGiB: number;
  busyPct: number;
  ok: boolean;
  note: string;
}

/** The server's CPU seconds and the machine's busy share while `run` ran its clients. */
interface Measured<T> {
  results: T;
  t0: number;
  cpuS: number;
  busyPct: number;
  /** the server still had connection processes 5 s after the clients */
  lingering: boolean;
}

async function measured<T>(server: BenchServer, run: () => Promise<T>): Promise<Measured<T>> {
  const procsBefore = server.processCount();
  server.beforeTransfer();
  const cpu0 = server.cpuTicks();
  const sys0 = sysTicks();
  const t0 = performance.now();
  const results = await run();
  // smbd: the per-connection child exits after the client; wait until it has
  // been reaped so that its CPU time is in the parent's cutime/cstime.
  const settleUntil = Date.now() + 5000;
  while (server.processCount() > procsBefore && Date.now() < settleUntil) await delay(20);
  const lingering = server.processCount() > procsBefore;
  const cpu1 = server.cpuTicks();
  const sys1 = sysTicks();
  const dt = sys1.total - sys0.total;
  return {
    results, t0, lingering,
    cpuS: (cpu1 - cpu0) / clockTicksPerSecond(),
    busyPct: dt > 0 ? (100 * (sys1.busy - sys0.busy)) / dt : 0,
  };
}

async function transfer(ctx: Ctx, server: BenchServer, cell: Cell, round: number): Promise<Row> {
  if (cell.op === 'open') return openCell(ctx, server, cell, round);
  const { o } = ctx;
  const bytes = o.size * cell.conns;
  const timeoutMs = (o.timeoutS ?? 60 + bytes / (20 * MiB)) * 1000;
  const m = await measured(server, () => {
    const runs: Promise<ClientResult>[] = [];
    for (let i = 0; i < cell.conns; i++) {
      const cmd = cell.op === 'get' ? `get ${FILE} /dev/null` : `put ${ctx.srcPath} put${i}`;
      runs.push(runClient(smbclientArgs(ctx, server.port, cell.prot, cmd), timeoutMs));
    }
    return Promise.all(runs);
  });
  const results = m.results;
  const t1 = Math.max(...results.map((r) => r.exitedAt));
  const notes: string[] = [];
  if (m.lingering) notes.push('server connection processes still alive 5 s after the clients');

  let clientKiB = 0;
  results.forEach((r, i) => {
    const what = `${cell.op} #${i}`;
    if (r.timedOut) notes.push(`${what}: timed out after ${timeoutMs / 1000} s`);
    else if (r.code !== 0) notes.push(`${what}: smbclient exit ${r.code ?? r.signal}: ${r.output.trim().split('\n').slice(-2).join(' | ')}`);
    if (/NT_STATUS_/.test(r.output)) notes.push(`${what}: ${/\S*NT_STATUS_\S+/.exec(r.output)![0]}`);
    if (cell.op === 'get') {
      const m = /getting file \\\S+ of size (\d+) as \S+ \(([\d.]+) Kilo[Bb]ytes\/sec\)/.exec(r.output);
      if (!m) notes.push(`${what}: no "getting file" line`);
      else {
        if (Number(m[1]) !== o.size) notes.push(`${what}: size ${m[1]} != ${o.size}`);
        clientKiB += Number(m[2]);
      }
    } else {
      const m = /putting file \S+ as \\put\d+ \(([\d.]+) kb\/s\)/.exec(r.output);
      if (!m) notes.push(`${what}: no "putting file" line`);
      else clientKiB += Number(m[1]);
      let got = -1;
      try {
        got = statSync(join(ctx.shareDir, `put${i}`)).size;
      } catch {
        /* missing */
      }
      if (got !== o.size) notes.push(`${what}: put${i} has ${got < 0 ? 'no file' : `${got} bytes`}, expected ${o.size}`);
    }
  });
  const prot = server.checkProtection(cell.prot, cell.conns);
  if (prot) notes.push(prot);
  if (cell.op === 'put') {
    // sha256 of the written file, once per server (outside the timed part).
    if (notes.length === 0 && !ctx.putHashed.has(server.name)) {
      const got = await sha256File(join(ctx.shareDir, 'put0'));
      ctx.putHashed.add(server.name);
      if (got !== ctx.srcSha) notes.push(`put0 sha256 ${got} != source ${ctx.srcSha}`);
      else process.stdout.write(`  ${server.name}: sha256 of put0 matches the source\n`);
    }
    for (let i = 0; i < cell.conns; i++) rmSync(join(ctx.shareDir, `put${i}`), { force: true });
  }
  const wallS = (t1 - m.t0) / 1000;
  return {
    round, cell, server: server.name, bytes, wallS,
    mibps: bytes / MiB / wallS,
    clientMiBps: clientKiB / 1024,
    cpuS: m.cpuS,
    cpuPerGiB: m.cpuS / (bytes / GiB),
    busyPct: m.busyPct,
    ok: notes.length === 0,
    note: notes.join('; '),
  };
}

/**
 * An open cell: smbtorture smb2.bench.path-contention-shared from cell.conns
 * connections for --open-seconds. It prints, every second, the opens of
 * that second ("open[num/s=N,avslat=..."); the rate is the median of those
 * seconds but the first (connection set-up), the CPU is the server's over
 * the whole run per 1000 opens counted.
 */
async function openCell(ctx: Ctx, server: BenchServer, cell: Cell, round: number): Promise<Row> {
  const secs = ctx.o.openSeconds;
  const m = await measured(server, () => runClient([
    `//127.0.0.1/${SHARE}`, '-p', String(server.port), '-s', ctx.clientConf, '-A', ctx.authFile,
    `--option=torture:timelimit=${secs}`, `--option=torture:nprocs=${cell.conns}`,
    `--option=torture:bench_path=${FILE}`, 'smb2.bench.path-contention-shared',
  ], (60 + secs * 2) * 1000, SMBTORTURE));
  const r = m.results;
  const notes: string[] = [];
  if (m.lingering) notes.push('server connection processes still alive 5 s after smbtorture');
  if (r.timedOut) notes.push('smbtorture timed out');
  else if (r.code !== 0 || !/success: path-contention-shared/.test(r.output)) {
    notes.push(`smbtorture exit ${r.code ?? r.signal}: ${r.output.trim().split('\n').slice(-2).join(' | ')}`);
  }
  const perSecond = [...r.output.matchAll(/open\[num\/s=(\d+),/g)].map((m) => Number(m[1]));
  if (perSecond.length < 2) notes.push(`${perSecond.length} per-second counts in the output`);
  const opens = perSecond.reduce((a, b) => a + b, 0);
  const rate = perSecond.length >= 2 ? median(perSecond.slice(1)) : 0;
  return {
    round, cell, server: server.name, bytes: opens, wallS: (r.exitedAt - m.t0) / 1000,
    mibps: rate,
    clientMiBps: 0,
    cpuS: m.cpuS,
    cpuPerGiB: opens > 0 ? (m.cpuS * 1e6) / opens : NaN, // CPU ms per 1000 opens
    busyPct: m.busyPct,
    ok: notes.length === 0,
    note: notes.join('; '),
  };
}

/** Untimed check per server: a full get into a file, compared by sha256. */
async function verifyGet(ctx: Ctx, server: BenchServer): Promise<void> {
  const out = join(dirname(ctx.shareDir), `verify-${server.name}`);
  const r = await runClient(smbclientArgs(ctx, server.port, 'sign', `get ${FILE} ${out}`), (60 + ctx.o.size / (20 * MiB)) * 1000);
  try {
    if (r.code !== 0) throw new Error(`${server.name}: verification get failed (exit ${r.code ?? r.signal}):\n${r.output}`);
    const got = await sha256File(out);
    if (got !== ctx.srcSha) throw new Error(`${server.name}: sha256 of a full get is ${got}, source is ${ctx.srcSha}`);
    process.stdout.write(`  ${server.name}: sha256 of a full get matches the source\n`);
  } finally {
    rmSync(out, { force: true });
  }
}

// ------------------------------------------------------------------ report

function fmt(v: number | undefined, digits: number): string {
  return v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits);
}

function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || !(b > 0) ? '-' : `${(a / b).toFixed(2)}x`;
}

/** Transfer cells in MiB/s and CPU s/GiB; open cells in opens/s and CPU ms per 1000 opens. */
function table(o: Options, rows: Row[], cells: Cell[], open: boolean): string {
  const samba = o.servers.filter((s) => s !== 'ringsmb');
  const hasR = o.servers.includes('ringsmb');
  const [rate, cost, digits] = open ? ['opens/s', 'CPU ms/1k opens', 0] : ['MiB/s', 'CPU s/GiB', 3];
  const head = ['cell', 'n'];
  for (const s of o.servers) head.push(`${s} ${rate}`);
  if (hasR) for (const s of samba) head.push(`${rate} ringsmb/${s}`);
  for (const s of o.servers) head.push(`${s} ${cost}`);
  if (hasR) for (const s of samba) head.push(`CPU ringsmb/${s}`);
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const c of cells) {
    const mib: Partial<Record<ServerName, number>> = {};
    const cpu: Partial<Record<ServerName, number>> = {};
    const ns: number[] = [];
    for (const s of o.servers) {
      const rs = rows.filter((r) => r.ok && r.server === s && r.cell === c);
      ns.push(rs.length);
      if (rs.length) {
        mib[s] = median(rs.map((r) => r.mibps));
        cpu[s] = median(rs.map((r) => r.cpuPerGiB));
      }
    }
    const cells = [c.name, Math.min(...ns) === Math.max(...ns) ? String(ns[0]) : ns.join('/')];
    for (const s of o.servers) cells.push(fmt(mib[s], 0));
    if (hasR) for (const s of samba) cells.push(ratio(mib.ringsmb, mib[s]));
    for (const s of o.servers) cells.push(fmt(cpu[s], digits));
    if (hasR) for (const s of samba) cells.push(ratio(cpu.ringsmb, cpu[s]));
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

function rawHeader(): string {
  return 'round\tcell\tserver\top\tconns\tprotection\tbytes\twall_s\twall_mibps\tsmbclient_mibps_sum\tserver_cpu_s\tserver_cpu_s_per_gib\tmachine_busy_pct\tok\tnote\n';
}

function rawLine(r: Row): string {
  return [
    r.round, r.cell.name, r.server, r.cell.op, r.cell.conns, r.cell.prot, r.bytes, r.wallS.toFixed(4), r.mibps.toFixed(1),
    r.clientMiBps.toFixed(1), r.cpuS.toFixed(2), r.cpuPerGiB.toFixed(4), r.busyPct.toFixed(1), r.ok ? 1 : 0, r.note,
  ].join('\t') + '\n';
}

// ------------------------------------------------------------------ main

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const o = parseArgs(argv);
  if (!o) return 0;
  const here = dirname(fileURLToPath(import.meta.url)); // dist/bench/smb
  const root = resolve(here, '..', '..', '..');
  checkPrerequisites(o, root);

  const script = relative(process.cwd(), process.argv[1] ?? '') || process.argv[1] || 'dist/bench/smb/run.js';
  const invocation = ['node', script, ...argv].map(quote).join(' ');
  const needSmbd = o.servers.some((s) => s !== 'ringsmb');
  const maxPut = Math.max(0, ...o.cells.filter((c) => c.op === 'put').map((c) => c.conns));

  for (const s of o.servers) {
    if (await portInUse(o.ports[s])) throw new Error(`something already listens on 127.0.0.1:${o.ports[s]} (${s}); choose others with --ports`);
  }
  const need = o.size * (1 + Math.max(1, maxPut)) + 64 * MiB;
  const fs = statfsSync('/dev/shm');
  const avail = fs.bavail * fs.bsize;
  if (avail < need) {
    throw new Error(`/dev/shm has ${(avail / GiB).toFixed(1)} GiB free, the bench needs ${(need / GiB).toFixed(1)} GiB (file + ${Math.max(1, maxPut)} put copies); use a smaller --size`);
  }

  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal);
  process.on('exit', cleanupSync);

  // Temp dirs: state (configs, tdbs, logs) and data (the share, on tmpfs).
  const stateDir = mkdtempSync(join(tmpdir(), 'ringsmb-bench-smb-'));
  const dataDir = mkdtempSync('/dev/shm/ringsmb-bench-smb-');
  // smbd's lock and state directories live below stateDir, and a connection
  // process that has switched to the share user must still reach them: with
  // mkdtemp's 0700, Samba 4.17 fails share-mode updates under parallel opens
  // ("Could not delete share entry", smbclient: NT_STATUS_INVALID_PARAMETER
  // closing remote file). The secrets stay in the 0700 private dir and the
  // 0600 auth file.
  chmodSync(stateDir, 0o755);
  for (const d of [stateDir, dataDir]) {
    cleanups.push(() => {
      if (o.keep) process.stdout.write(`kept ${d}\n`);
      else rmSync(d, { recursive: true, force: true });
    });
  }
  chmodSync(dataDir, 0o755); // smbd serves the share as the unix user
  const shareDir = join(dataDir, 'share');
  mkdirSync(shareDir);
  chmodSync(shareDir, 0o775);
  if (needSmbd) {
    const { uid, gid } = ensureUnixUser();
    chownSync(shareDir, uid, gid);
  }
  const password = randomBytes(12).toString('base64url');
  const clientConf = join(stateDir, 'client.conf');
  writeFileSync(clientConf, '[global]\n'); // smbclient ignores /etc/samba/smb.conf
  const authFile = join(stateDir, 'auth');
  writeFileSync(authFile, `username = ${USER}\npassword = ${password}\n`, { mode: 0o600 });

  const srcPath = join(shareDir, FILE);
  process.stdout.write(`writing ${(o.size / MiB).toFixed(0)} MiB of random data to ${srcPath} ... `);
  const srcSha = writeRandomFile(srcPath, o.size);
  process.stdout.write(`sha256 ${srcSha.slice(0, 16)}...\n`);
  const ctx: Ctx = { o, shareDir, srcPath, clientConf, authFile, srcSha, putHashed: new Set() };
  const memoryNote = o.reportFreed ? 'free page reporting: left as it is (--report-freed)' : holdFreedMemory((restore) => cleanups.push(restore));
  if (memoryNote) process.stdout.write(`${memoryNote}\n`);
  if (maxPut > 0) touchMemory(dataDir, o.size * maxPut);

  // Servers.
  const servers: BenchServer[] = [];
  for (const name of o.servers) {
    const s: BenchServer =
      name === 'ringsmb'
        ? new RingsmbServer({ root, port: o.ports.ringsmb, shareDir, user: USER, password, stateDir, extraArgs: o.ringsmbArgs })
        : new SmbdServer({
            name, vfs: name === 'smbd' ? 'default' : 'io_uring', port: o.ports[name], shareDir, user: USER, password,
            base: join(stateDir, name),
          });
    cleanups.push(() => s.stopSync());
    await s.start();
    servers.push(s);
    process.stdout.write(`started ${name} (pid ${s.pid()}) on 127.0.0.1:${s.port}: ${s.commandLine}\n  ${s.describe()}\n`);
  }

  // Header.
  const cpu = cpus()[0]?.model ?? '?';
  const machine = `${sh('uname', ['-sr'])}, ${cpus().length} CPUs (${cpu}), node ${process.version}`;
  const versions = `smbclient ${sh('smbclient', ['--version']).replace(/^Version /, '')}${needSmbd ? `, smbd ${sh(SMBD, ['--version']).replace(/^Version /, '')}` : ''}`;
  let commit = '';
  try {
    commit = readFileSync(join(root, '.git', 'HEAD'), 'utf8').trim();
    if (commit.startsWith('ref: ')) commit = readFileSync(join(root, '.git', commit.slice(5)), 'utf8').trim();
  } catch {
    commit = '';
  }
  const clientTemplate = `smbclient //127.0.0.1/${SHARE} -p PORT -s ${clientConf} -A AUTHFILE -m SMB3_11 --client-protection=off|sign|encrypt -c 'get ${FILE} /dev/null' | -c 'put ${srcPath} putK'`;
  process.stdout.write(
    `\ncommand: ${invocation}\nmachine: ${machine}\n${versions}${commit ? `\nringsmb commit ${commit.slice(0, 12)}` : ''}\n` +
      `file: ${(o.size / MiB).toFixed(0)} MiB on tmpfs; rounds: ${o.rounds}; cells: ${o.cells.map((c) => c.name).join(' ')}\n` +
      `client: ${clientTemplate}\n\n`,
  );

  for (const s of servers) await verifyGet(ctx, s);

  // Warm-up: one connection per server (not recorded).
  for (const s of servers) await runClient(smbclientArgs(ctx, s.port, 'off', `ls ${FILE}`), 30000);
  // And the open path, where open cells run: V8 compiles ringsmb's CREATE and CLOSE during its first
  // seconds of opens, which showed as 116-149 ms of CPU per 1000 opens in its first round against
  // 98-114 in the later ones (2026-12-07, night; smbd has nothing to compile). One unrecorded 2 s run per server.
  const firstOpen = o.cells.find((c) => c.op === 'open');
  if (firstOpen) for (const s of servers) await openCell({ ...ctx, o: { ...o, openSeconds: 2 } }, s, firstOpen, 0);

  const rows: Row[] = [];
  const rawFd = o.raw ? openSync(o.raw, 'w') : null;
  if (rawFd !== null) {
    writeSync(rawFd, `# ${invocation}\n# ${machine}; ${versions}\n`);
    writeSync(rawFd, rawHeader());
  }
  const t0 = Date.now();
  for (let round = 1; round <= o.rounds; round++) {
    for (const [ci, cell] of o.cells.entries()) {
      // Rotate the server order so no server always goes first.
      const k = (round - 1 + ci) % servers.length;
      const order = [...servers.slice(k), ...servers.slice(0, k)];
      for (const s of order) {
        const r = await transfer(ctx, s, cell, round);
        rows.push(r);
        if (rawFd !== null) writeSync(rawFd, rawLine(r));
        const [rate, cost, digits] = cell.op === 'open' ? ['opens/s', 'CPU ms/1k opens', 0] : ['MiB/s', 'CPU s/GiB', 3];
        process.stdout.write(
          `r${round} ${cell.name.padEnd(15)} ${s.name.padEnd(10)} ${fmt(r.mibps, 0).padStart(6)} ${rate}  ` +
            `${fmt(r.cpuPerGiB, digits)} ${cost}  (${r.cpuS.toFixed(2)} s, wall ${r.wallS.toFixed(2)} s, busy ${r.busyPct.toFixed(0)}%)  ${r.ok ? 'ok' : `FAILED: ${r.note}`}\n`,
        );
      }
    }
  }
  if (rawFd !== null) closeSync(rawFd);
  const failed = rows.filter((r) => !r.ok);
  const xfer = o.cells.filter((c) => c.op !== 'open');
  const opens = o.cells.filter((c) => c.op === 'open');

  process.stdout.write(
    `\n## SMB bench: medians over ${o.rounds} round(s), ${(o.size / MiB).toFixed(0)} MiB file per connection\n\n` +
      `command: \`${invocation}\`  (${((Date.now() - t0) / 1000).toFixed(0)} s of transfers)\n\n` +
      `${machine}; ${versions}${commit ? `; ringsmb ${commit.slice(0, 12)}` : ''}\n\n` +
      servers.map((s) => `- ${s.name}: \`${s.commandLine}\`\n  (${s.describe()})`).join('\n') + '\n\n' +
      (xfer.length ? table(o, rows, xfer, false) + '\n\n' +
        'MiB/s: wall (all bytes of the cell / first client start to last client exit), higher is better. ' +
        'CPU s/GiB: server process tree utime+stime(+reaped children), lower is better. ' +
        'Ratios: ringsmb / Samba of the medians.\n' : '') +
      (opens.length ? `${xfer.length ? '\n' : ''}${table(o, rows, opens, true)}\n\n` +
        `opens/s: smbtorture smb2.bench.path-contention-shared (CREATE + CLOSE of the test file, 1 or 4 connections, ${o.openSeconds} s), ` +
        'median of its per-second counts after the first second, higher is better. ' +
        'CPU ms/1k opens: server process tree CPU over the run per 1000 opens, lower is better.\n' : ''),
  );
  if (failed.length) {
    process.stdout.write(`\n${failed.length} transfer(s) FAILED and are excluded:\n`);
    for (const r of failed) process.stdout.write(`  r${r.round} ${r.cell.name} ${r.server}: ${r.note}\n`);
  }
  if (o.raw) process.stdout.write(`\nraw rows: ${o.raw}\n`);
  return failed.length ? 1 : 0;
}

main()
  .then((code) => {
    cleanupSync();
    process.exitCode = code;
  })
  .catch((e: unknown) => {
    process.stderr.write(`bench:smb: ${e instanceof Error ? e.message : String(e)}\n`);
    cleanupSync();
    process.exitCode = 2;
  });
