/**
 * The servers the SMB bench compares, each started privately on loopback:
 *
 *   ringsmb     node bin/ringsmb.js serve (a child process of the bench)
 *   smbd        Samba smbd -F with a private smb.conf, default VFS
 *   smbd-uring  the same with "vfs objects = io_uring" on the share
 *
 * Every server exposes the CPU ticks of its whole process tree
 * (utime+stime+cutime+cstime, see procfs.ts) and a synchronous stop that
 * ends exactly the processes it started (by pid), usable from exit handlers.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { alive, exePath, pidsWithArg, processTree, terminateSync, treeTicks } from './procfs.js';

export type ServerName = 'ringsmb' | 'smbd' | 'smbd-uring';
export const SERVER_NAMES: readonly ServerName[] = ['ringsmb', 'smbd', 'smbd-uring'];
/**
 * smbclient --client-protection; 'cmac': sign, with AES-128-CMAC instead of the AES-GMAC that 3.1.1 negotiates
 * (Windows 10, macOS and Linux's cifs sign with CMAC); 'hmac': sign on SMB 2.1, which signs with HMAC-SHA256
 * (Windows 7, and older Linux and macOS clients).
 */
export type Protection = 'off' | 'sign' | 'encrypt' | 'cmac' | 'hmac';

export interface BenchServer {
  readonly name: ServerName;
  readonly port: number;
  /** The exact command line that started it (after start()). */
  readonly commandLine: string;
  /** A one-line description (config facts) for the report. */
  describe(): string;
  start(): Promise<void>;
  pid(): number;
  cpuTicks(): number;
  /** Number of processes in the server's tree (smbd forks one per connection). */
  processCount(): number;
  /** Called before a transfer (remember log offsets and the like). */
  beforeTransfer(): void;
  /** After a transfer of `conns` connections: a problem with the negotiated protection, or null. */
  checkProtection(prot: Protection, conns: number): string | null;
  stopSync(): void;
}

export function quote(a: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function tail(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return `(no ${path})`;
  }
}

/** Wait until 127.0.0.1:port accepts connections while `child` is alive. */
async function waitListening(what: string, child: ChildProcess, port: number, log: string, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited during start-up (${child.exitCode ?? child.signalCode}); last lines of ${log}:\n${tail(log)}`);
    }
    if (await portInUse(port)) return;
    await delay(100);
  }
  throw new Error(`${what} is not listening on 127.0.0.1:${port} after ${timeoutMs / 1000} s; see ${log}:\n${tail(log)}`);
}

// ---------------------------------------------------------------- ringsmb

export interface RingsmbOptions {
  root: string; // project root (bin/ringsmb.js)
  port: number;
  shareDir: string;
  user: string;
  password: string;
  stateDir: string;
  extraArgs: string[];
}

/** A server the bench runs as a child process: its pid and the CPU of its process tree. */
abstract class ChildServer {
  protected child: ChildProcess | null = null;

  pid(): number {
    return this.child?.pid ?? 0;
  }

  cpuTicks(): number {
    return treeTicks(this.pid());
  }

  processCount(): number {
    return processTree(this.pid()).length;
  }
}

export class RingsmbServer extends ChildServer implements BenchServer {
  readonly name = 'ringsmb' as const;
  readonly port: number;
  commandLine = '';
  private readonly log: string;
  private logOffset = 0;
  private signingNote = '';
  private listeningLine = '';
  private warnedNoSessionLines = false;

  constructor(private readonly o: RingsmbOptions) {
    super();
    this.port = o.port;
    this.log = join(o.stateDir, 'ringsmb.log');
  }

  /**
   * Arguments that let unsigned sessions in (the client's "protection off"):
   * `--signing enabled` when the CLI has it, else a config file with
   * `server signing = auto` (which ringsmb maps to "enabled").
   */
  private signingArgs(bin: string): string[] {
    const r = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
    if (/--signing\b/.test(r.stdout ?? '')) {
      this.signingNote = 'signing enabled (--signing enabled): sessions are signed only when the client asks';
      return ['--signing', 'enabled'];
    }
    const conf = join(this.o.stateDir, 'ringsmb-signing.conf');
    writeFileSync(conf, '[global]\n\tserver signing = auto\n');
    this.signingNote = `signing enabled (via --config ${conf}: server signing = auto; this CLI has no --signing)`;
    return ['--config', conf];
  }

  describe(): string {
    return `${this.listeningLine || 'ringsmb'}; ${this.signingNote}`;
  }

  async start(): Promise<void> {
    const bin = join(this.o.root, 'bin', 'ringsmb.js');
    const args = [
      bin, 'serve',
      '--share', `bench=${this.o.shareDir}`,
      '--user', `${this.o.user}:${this.o.password}`,
      '--listen', `127.0.0.1:${this.o.port}`,
      ...this.signingArgs(bin),
      '--log-level', 'info',
      ...this.o.extraArgs,
    ];
    this.commandLine = [process.execPath, ...args].map(quote).join(' ').replace(`:${this.o.password}`, ':PASSWORD');
    const fd = openSync(this.log, 'a');
    try {
      this.child = spawn(process.execPath, args, { stdio: ['ignore', fd, fd], cwd: this.o.root });
    } finally {
      closeSync(fd);
    }
    this.child.on('error', () => undefined);
    await waitListening('ringsmb', this.child, this.port, this.log);
    const m = /info\s+(listening on .*)$/m.exec(readFileSync(this.log, 'utf8'));
    this.listeningLine = m ? `ringsmb ${m[1]}` : '';
  }

  beforeTransfer(): void {
    try {
      this.logOffset = statSync(this.log).size;
    } catch {
      this.logOffset = 0;
    }
  }

  /**
   * ringsmb logs one line per session at info level, ending in ", signed"
   * when every message of the session is signed (", encrypted" when the
   * session requires encryption). Encryption that the client turns on per
   * request is not visible there, so "encrypt" is checked as "signed or
   * encrypted" (smbclient --client-protection=encrypt fails when it cannot
   * encrypt, so a finished transfer was encrypted).
   */
  checkProtection(prot: Protection, conns: number): string | null {
    let text = '';
    try {
      text = readFileSync(this.log, 'utf8').slice(this.logOffset);
    } catch {
      return null;
    }
    const lines = text.split('\n').filter((l) => /: session [0-9a-f]+ for /.test(l));
    if (lines.length === 0) {
      if (!this.warnedNoSessionLines) {
        this.warnedNoSessionLines = true;
        process.stderr.write('warning: no session lines in the ringsmb log: negotiated protection not checked\n');
      }
      return null;
    }
    if (lines.length < conns) return `ringsmb logged ${lines.length} sessions for ${conns} connections`;
    for (const l of lines) {
      const protectedSession = /, (signed|encrypted)\s*$/.test(l);
      if (prot === 'off' && protectedSession) return `protection off, but ringsmb says: ${l.trim()}`;
      if (prot !== 'off' && !protectedSession) return `protection ${prot}, but ringsmb says: ${l.trim()}`;
    }
    return null;
  }

  stopSync(): void {
    const pid = this.pid();
    if (!pid) return;
    const tree = processTree(pid).map((s) => s.pid);
    terminateSync([pid], 5000);
    terminateSync(tree.filter((p) => p !== pid), 2000);
    this.child = null;
  }
}

// ---------------------------------------------------------------- smbd

export interface SmbdOptions {
  name: 'smbd' | 'smbd-uring';
  vfs: 'default' | 'io_uring';
  port: number;
  shareDir: string;
  user: string;
  password: string;
  /** Private directory for this instance: smb.conf, tdbs, logs. */
  base: string;
}

export const SMBD = '/usr/sbin/smbd';

export class SmbdServer extends ChildServer implements BenchServer {
  readonly name: 'smbd' | 'smbd-uring';
  readonly port: number;
  commandLine = '';
  readonly conf: string;
  private readonly log: string;

  constructor(private readonly o: SmbdOptions) {
    super();
    this.name = o.name;
    this.port = o.port;
    this.conf = join(o.base, 'smb.conf');
    this.log = join(o.base, 'logs', 'log.smbd');
  }

  /** The smb.conf: start-smbd.sh's "bench" profile, every state directory under base. */
  smbConf(): string {
    const b = this.o.base;
    const lines = [
      `# written by ringsmb bench/smb for ${this.name} (vfs ${this.o.vfs})`,
      '[global]',
      '\tserver role = standalone server',
      '\tworkgroup = BENCH',
      '\tnetbios name = SAMBABENCH',
      `\tsmb ports = ${this.o.port}`,
      '\tinterfaces = 127.0.0.1',
      '\tbind interfaces only = yes',
      '\tdisable netbios = yes',
      `\tprivate dir = ${b}/private`,
      `\tlock directory = ${b}/lock`,
      `\tstate directory = ${b}/state`,
      `\tcache directory = ${b}/cache`,
      `\tpid directory = ${b}/pid`,
      `\tncalrpc dir = ${b}/ncalrpc`,
      `\tbinddns dir = ${b}/binddns`,
      `\tlog file = ${b}/logs/log.smbd`,
      '\tmax log size = 0',
      '\tlogging = file',
      '\tlog level = 1',
      '\tpassdb backend = tdbsam',
      '\tsecurity = user',
      '\tmap to guest = never',
      '\tserver signing = default',
      '\tload printers = no',
      '\tprinting = bsd',
      '\tprintcap name = /dev/null',
      '\tdisable spoolss = yes',
      '\tobey pam restrictions = no',
      '\tunix password sync = no',
      '\tusershare max shares = 0',
      '',
      '[bench]',
      `\tpath = ${this.o.shareDir}`,
      '\tread only = no',
      '\tbrowseable = yes',
      `\tvalid users = ${this.o.user}`,
    ];
    if (this.o.vfs === 'io_uring') lines.push('\tvfs objects = io_uring');
    return lines.join('\n') + '\n';
  }

  describe(): string {
    return `${SMBD} (${this.o.vfs === 'io_uring' ? 'vfs objects = io_uring' : 'default VFS'}, server signing = default), conf ${this.conf}`;
  }

  async start(): Promise<void> {
    const b = this.o.base;
    for (const d of ['private', 'lock', 'state', 'cache', 'pid', 'logs', 'ncalrpc', 'binddns']) mkdirSync(join(b, d), { recursive: true });
    chmodSync(join(b, 'private'), 0o700);
    writeFileSync(this.conf, this.smbConf());
    const tp = spawnSync('testparm', ['-s', this.conf], { encoding: 'utf8' });
    if (tp.status !== 0) throw new Error(`testparm rejected ${this.conf}:\n${tp.stderr}`);
    // Samba password into this instance's private tdbsam (stdin: password twice).
    const pw = spawnSync('smbpasswd', ['-c', this.conf, '-s', '-a', this.o.user], {
      input: `${this.o.password}\n${this.o.password}\n`,
      encoding: 'utf8',
    });
    if (pw.status !== 0) throw new Error(`smbpasswd -a ${this.o.user} failed: ${pw.stderr || pw.stdout}`);
    // -F: no fork, so the pid is ours; smbd still calls setsid(), so a Ctrl-C
    // on the terminal does not reach it and the bench stops it in order.
    const args = ['-F', '-s', this.conf];
    this.commandLine = [SMBD, ...args].map(quote).join(' ');
    const out = join(b, 'logs', 'smbd.stdout');
    const fd = openSync(out, 'a');
    try {
      this.child = spawn(SMBD, args, { stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    this.child.on('error', () => undefined);
    await waitListening(this.name, this.child, this.port, this.log);
  }

  beforeTransfer(): void {}

  checkProtection(): string | null {
    return null;
  }

  stopSync(): void {
    const pid = this.pid();
    if (!pid) return;
    // Children (per-connection smbd, notifyd, cleanupd) are listed before the
    // parent goes, since they are re-parented afterwards; helpers that smbd
    // may start on demand (samba-dcerpcd, rpcd_*) carry our config path.
    const isSamba = (p: number): boolean => {
      const e = exePath(p);
      return e === SMBD || e.startsWith('/usr/libexec/samba/') || e.startsWith('/usr/lib/samba/');
    };
    const others = processTree(pid).map((s) => s.pid).filter((p) => p !== pid);
    terminateSync([pid], 5000);
    const left = new Set([...others, ...pidsWithArg(this.conf)].filter((p) => p !== pid && alive(p) && isSamba(p)));
    if (left.size) terminateSync([...left], 3000);
    this.child = null;
  }
}
