/**
 * The server configuration model and its parsers: command-line specs (listen address,
 * share, user), an smb.conf subset, and a validator that names every problem at once.
 * Parsers throw ConfigError with a message fit for the terminal; smb.conf parsing only
 * warns, as Samba does, so an existing smb.conf with unsupported keys still loads.
 */
import { readFileSync, statSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isIP, isIPv6 } from 'node:net';
import { RingsmbError } from '../util/errors.js';

export interface ShareConfig {
  name: string;
  path: string;
  readOnly: boolean;
  comment: string;
  /** Require encryption on this share (SMB 3.x). */
  encrypt: boolean;
  browseable: boolean;
  guestOk: boolean;
  /**
   * Named streams (`file:name:$DATA`), kept in extended attributes as Samba's
   * vfs_streams_xattr keeps them (server/streams.ts). Default on; off refuses
   * stream names and does not announce FILE_NAMED_STREAMS, so that macOS
   * clients keep extended attributes and resource forks in AppleDouble `._`
   * files instead, which no filesystem limits ("ringsmb streams = no").
   */
  streams?: boolean;
  /**
   * Names compared as bytes, as Linux does ("case sensitive = yes"). Default
   * off: a name is found in any case, as on Windows and macOS (case-names.ts).
   */
  caseSensitive?: boolean;
}

export interface UserConfig {
  name: string;
  /** MD4 of the UTF-16LE password, 16 bytes. */
  ntHash?: Buffer;
  password?: string;
}

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface ServerConfig {
  listen: Array<{ host: string; port: number }>;
  shares: ShareConfig[];
  users: UserConfig[];
  usersFile?: string;
  /** Map unknown users to guest ("map to guest = bad user"). */
  guest: boolean;
  /** Global: require encryption on every session. */
  encrypt: boolean;
  /** SMB 3.x multichannel: session binding from several connections ("server multi channel support"). */
  multichannel: boolean;
  signing: 'required' | 'enabled';
  logLevel: LogLevel;
  serverName: string;
  /** 0 = no limit. */
  maxConnections: number;
  maxOpensPerSession: number;
  /**
   * Opens at once across the server ("max open files"); never more than the
   * fd limit allows with room kept for connections (limits.ts). 0: that.
   */
  maxOpenFiles: number;
  /**
   * Response bytes held for all clients together before a connection that
   * does not take its answers gets no more ("ringsmb max held bytes", held.ts).
   * 0: 1 GiB, or an eighth of the memory where that is less.
   */
  maxHeldBytes: number;
  /** 0 = never time out idle connections. */
  idleTimeoutSec: number;
  authTimeoutSec: number;
  /** Largest SMB2 message accepted, bytes. */
  maxPdu: number;
  /** MaxReadSize/MaxWriteSize/MaxTransactSize offered in NEGOTIATE, bytes. */
  maxReadWrite: number;
  /**
   * Data-path buffers of maxPdu bytes each, made on first use and reused (big WRITE bodies,
   * signed or sealed READ data); registered with the ring under the io_uring VFS, which pins
   * them all at the first use. Three times as many plain ones may be made past them, one at
   * a time, when a burst has them all out (DataPool `spare`), and are kept. 0: none.
   */
  dataBuffers: number;
}

export type PartialConfig = Partial<ServerConfig> & { warnings: string[] };

export class ConfigError extends RingsmbError {
  constructor(message: string) {
    super('ERR_CONFIG', message);
  }
}

const MiB = 1024 * 1024;
export const DEFAULT_PORT = 445;
const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

export function defaultConfig(): ServerConfig {
  const maxReadWrite = 8 * MiB;
  return {
    listen: [{ host: '0.0.0.0', port: DEFAULT_PORT }],
    shares: [],
    users: [],
    guest: false,
    encrypt: false,
    multichannel: true,
    signing: 'required',
    logLevel: 'info',
    serverName: defaultServerName(),
    maxConnections: 1024,
    maxOpensPerSession: 16384,
    maxOpenFiles: 0,
    maxHeldBytes: 0,
    idleTimeoutSec: 900,
    authTimeoutSec: 30,
    // One WRITE of maxReadWrite plus its header, or a compound of small messages.
    maxPdu: maxReadWrite + 64 * 1024,
    maxReadWrite,
    dataBuffers: 8,
  };
}

/** The host's first DNS label, upper case, cut to the 15 characters NetBIOS allows. */
function defaultServerName(): string {
  const name = hostname().split('.')[0]!.toUpperCase().slice(0, 15);
  return name || 'RINGSMB';
}

function parsePort(text: string, spec: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new ConfigError(`bad port "${text}" in listen address "${spec}"`);
  const port = Number(text);
  if (port > 65535) throw new ConfigError(`port ${port} out of range 0-65535 in "${spec}"`);
  return port;
}

/** "PORT", "HOST:PORT" or "[IPv6]:PORT"; a bare port listens on every IPv4 address. */
export function parseListen(spec: string): { host: string; port: number } {
  const s = spec.trim();
  if (!s) throw new ConfigError('empty listen address');
  if (/^\d+$/.test(s)) return { host: '0.0.0.0', port: parsePort(s, spec) };
  const v6 = /^\[([^\]]*)\]:(.*)$/.exec(s);
  if (v6) {
    if (!isIPv6(v6[1]!)) throw new ConfigError(`"${v6[1]}" in "${spec}" is not an IPv6 address`);
    return { host: v6[1]!, port: parsePort(v6[2]!, spec) };
  }
  const colon = s.lastIndexOf(':');
  if (colon < 0) throw new ConfigError(`listen address "${spec}" has no port: use HOST:PORT, [IPv6]:PORT or PORT`);
  const host = s.slice(0, colon);
  if (host.includes(':') || host.startsWith('[')) {
    throw new ConfigError(`IPv6 address in "${spec}" needs brackets: [${host.replace(/^\[|\]$/g, '')}]:PORT`);
  }
  if (!host || !/^[A-Za-z0-9.-]+$/.test(host)) throw new ConfigError(`bad host "${host}" in listen address "${spec}"`);
  return { host, port: parsePort(s.slice(colon + 1), spec) };
}

const BAD_SHARE_CHARS = /[\\/:*?"<>|\x00-\x1f]/;

/** Why a share name is unacceptable, or null when it is fine. */
export function shareNameProblem(name: string): string | null {
  if (name.length === 0) return 'share name is empty';
  if (name.length > 80) return `share name "${name.slice(0, 20)}..." is longer than 80 characters`;
  const bad = BAD_SHARE_CHARS.exec(name);
  if (bad) return `share name "${name}" contains "${bad[0]}" (not allowed: \\ / : * ? " < > | and control characters)`;
  if (name.toUpperCase() === 'IPC$') return 'share name IPC$ is reserved';
  return null;
}

function newShare(name: string, path: string): ShareConfig {
  return { name, path, readOnly: false, comment: '', encrypt: false, browseable: true, guestOk: false };
}

/** "NAME=PATH[:ro|:rw]"; a relative PATH resolves against baseDir. */
export function parseShareSpec(spec: string, baseDir: string = process.cwd()): ShareConfig {
  const eq = spec.indexOf('=');
  if (eq < 0) throw new ConfigError(`share "${spec}" is not NAME=PATH[:ro]`);
  const name = spec.slice(0, eq).trim();
  const problem = shareNameProblem(name);
  if (problem) throw new ConfigError(problem);
  let path = spec.slice(eq + 1);
  let readOnly = false;
  const mode = /:(ro|rw)$/i.exec(path);
  if (mode) {
    readOnly = mode[1]!.toLowerCase() === 'ro';
    path = path.slice(0, -3);
  }
  if (!path) throw new ConfigError(`share "${name}" has an empty path`);
  return { ...newShare(name, resolve(baseDir, path)), readOnly };
}

const BAD_USER_CHARS = /["/\\[\]:;|=,+*?<>@\x00-\x1f]/;

/** "NAME:PASSWORD" (the password may itself contain ':'). */
export function parseUserSpec(spec: string): UserConfig {
  const colon = spec.indexOf(':');
  if (colon < 0) throw new ConfigError(`user "${spec}" is not NAME:PASSWORD`);
  const name = spec.slice(0, colon);
  if (!name) throw new ConfigError('user name is empty');
  if (name.length > 104) throw new ConfigError(`user name "${name.slice(0, 20)}..." is longer than 104 characters`);
  const bad = BAD_USER_CHARS.exec(name);
  if (bad) throw new ConfigError(`user name "${name}" contains "${bad[0]}"`);
  return { name, password: spec.slice(colon + 1) };
}

// ---- smb.conf ------------------------------------------------------------------------

/** A physical-line number and the logical line (continuations joined). */
interface ConfLine {
  line: number;
  text: string;
}

function logicalLines(text: string): ConfLine[] {
  const out: ConfLine[] = [];
  const physical = text.split(/\r?\n/);
  for (let i = 0; i < physical.length; i++) {
    const line = i + 1;
    let s = physical[i]!;
    // As in Samba, whitespace at the start of a continuation line is dropped.
    while (s.endsWith('\\') && i + 1 < physical.length) s = s.slice(0, -1) + physical[++i]!.trimStart();
    if (s.endsWith('\\')) s = s.slice(0, -1);
    out.push({ line, text: s.trim() });
  }
  return out;
}

/** "Read Only", "read_only" and "readonly" are one key. */
function foldKey(key: string): string {
  return key.toLowerCase().replace(/[\s_]+/g, '');
}

function parseBool(v: string): boolean | null {
  const s = v.trim().toLowerCase();
  if (['yes', 'true', '1', 'on'].includes(s)) return true;
  if (['no', 'false', '0', 'off'].includes(s)) return false;
  return null;
}

/** smb encrypt: only required/mandatory/force make encryption a requirement. */
function parseEncrypt(v: string): boolean | null {
  const s = foldKey(v);
  if (['required', 'mandatory', 'force'].includes(s)) return true;
  if (['off', 'no', 'false', 'disabled', 'desired', 'ifrequired', 'yes', 'true', 'auto', 'default', 'enabled'].includes(s)) {
    return false;
  }
  return null;
}

function parseSigning(v: string): ServerConfig['signing'] | null {
  const s = foldKey(v);
  if (['mandatory', 'required', 'force'].includes(s)) return 'required';
  // SMB2 signing cannot be switched off; every other value means "when asked".
  if (['auto', 'default', 'enabled', 'ifrequired', 'yes', 'true', 'no', 'false', 'off', 'disabled'].includes(s)) {
    return 'enabled';
  }
  return null;
}

/** Samba debug levels 0-10 (the first number of "log level = 3 auth:5"), or a name. */
function parseLogLevel(v: string): LogLevel | null {
  const s = v.trim().toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(s)) return s as LogLevel;
  const m = /^(\d+)\b/.exec(s);
  if (!m) return null;
  const n = Number(m[1]);
  if (n > 10) return null;
  if (n === 0) return 'error';
  if (n === 1) return 'warn';
  return n <= 3 ? 'info' : 'debug';
}

function parseCount(v: string): number | null {
  return /^\s*\d+\s*$/.test(v) ? Number(v) : null;
}

interface ParseState {
  file: string;
  baseDir: string;
  out: PartialConfig;
  /** Share-level keys set in [global]: defaults for every share (Samba semantics). */
  shareDefaults: Map<string, { value: string; line: number }>;
  /** Per share, the keys set explicitly in its own section. */
  shareKeys: Map<ShareConfig, Set<string>>;
  interfaces?: string[];
  bindInterfacesOnly: boolean;
  ports?: number[];
  listenKeySeen: boolean;
}

type Setter<T> = (st: ParseState, target: T, value: string, line: number) => string | null;

/** "case sensitive": yes, no, or Samba's auto, which for SMB2 clients is no (they cannot ask for case). */
const caseSetter: Setter<ShareConfig> = (_st, sh, v) => {
  if (v.trim().toLowerCase() === 'auto') {
    sh.caseSensitive = false;
    return null;
  }
  const b = parseBool(v);
  if (b === null) return `"${v.trim()}" is not one of yes, no, auto`;
  sh.caseSensitive = b;
  return null;
};

/** Share keys; each returns a complaint about the value, or null when applied. */
const SHARE_KEYS: Record<string, Setter<ShareConfig>> = {
  path: (st, sh, v) => ((sh.path = v.trim() ? resolve(st.baseDir, v.trim()) : ''), null),
  comment: (_st, sh, v) => ((sh.comment = v.trim()), null),
  readonly: boolSetter((sh, b) => (sh.readOnly = b)),
  writeable: boolSetter((sh, b) => (sh.readOnly = !b)),
  writable: boolSetter((sh, b) => (sh.readOnly = !b)),
  writeok: boolSetter((sh, b) => (sh.readOnly = !b)),
  browseable: boolSetter((sh, b) => (sh.browseable = b)),
  browsable: boolSetter((sh, b) => (sh.browseable = b)),
  guestok: boolSetter((sh, b) => (sh.guestOk = b)),
  public: boolSetter((sh, b) => (sh.guestOk = b)),
  smbencrypt: encryptSetter((sh, b) => (sh.encrypt = b)),
  serversmbencrypt: encryptSetter((sh, b) => (sh.encrypt = b)),
  ringsmbstreams: boolSetter((sh, b) => (sh.streams = b)),
  casesensitive: caseSetter,
  casesignames: caseSetter,
};

function boolSetter<T>(apply: (t: T, b: boolean) => void): Setter<T> {
  return (_st, t, v) => {
    const b = parseBool(v);
    if (b === null) return `"${v.trim()}" is not a boolean (yes/no)`;
    apply(t, b);
    return null;
  };
}

function encryptSetter<T>(apply: (t: T, b: boolean) => void): Setter<T> {
  return (_st, t, v) => {
    const b = parseEncrypt(v);
    if (b === null) return `"${v.trim()}" is not one of required, mandatory, desired, off`;
    apply(t, b);
    return null;
  };
}

function countSetter(apply: (o: PartialConfig, n: number) => void): Setter<PartialConfig> {
  return (_st, o, v) => {
    const n = parseCount(v);
    if (n === null) return `"${v.trim()}" is not a whole number`;
    apply(o, n);
    return null;
  };
}

const GLOBAL_KEYS: Record<string, Setter<PartialConfig>> = {
  netbiosname: (_st, o, v) => ((o.serverName = v.trim()), null),
  serversigning: (_st, o, v) => {
    const s = parseSigning(v);
    if (!s) return `"${v.trim()}" is not one of mandatory, required, auto, default`;
    o.signing = s;
    return null;
  },
  smbencrypt: encryptSetter((o: PartialConfig, b) => (o.encrypt = b)),
  serversmbencrypt: encryptSetter((o: PartialConfig, b) => (o.encrypt = b)),
  servermultichannelsupport: boolSetter((o: PartialConfig, b) => (o.multichannel = b)),
  maptoguest: (_st, o, v) => {
    const s = foldKey(v);
    if (s === 'never') o.guest = false;
    else if (['baduser', 'badpassword', 'baduid'].includes(s)) o.guest = true;
    else return `"${v.trim()}" is not one of never, bad user`;
    return null;
  },
  loglevel: (_st, o, v) => {
    const l = parseLogLevel(v);
    if (!l) return `"${v.trim()}" is not a level 0-10 or error/warn/info/debug`;
    o.logLevel = l;
    return null;
  },
  debuglevel: (st, o, v, line) => GLOBAL_KEYS.loglevel!(st, o, v, line),
  ringsmbusersfile: (st, o, v) => ((o.usersFile = resolve(st.baseDir, v.trim())), null),
  maxconnections: countSetter((o, n) => (o.maxConnections = n)),
  ringsmbmaxopenspersession: countSetter((o, n) => (o.maxOpensPerSession = n)),
  maxopenfiles: countSetter((o, n) => (o.maxOpenFiles = n)),
  ringsmbmaxheldbytes: countSetter((o, n) => (o.maxHeldBytes = n)),
  ringsmbidletimeout: countSetter((o, n) => (o.idleTimeoutSec = n)),
  deadtime: countSetter((o, n) => (o.idleTimeoutSec = n * 60)), // Samba: minutes
  ringsmbauthtimeout: countSetter((o, n) => (o.authTimeoutSec = n)),
  ringsmbmaxreadwrite: countSetter((o, n) => (o.maxReadWrite = n)),
  ringsmbmaxpdu: countSetter((o, n) => (o.maxPdu = n)),
  interfaces: (st, _o, v) => ((st.interfaces = splitList(v)), null),
  bindinterfacesonly: (st, _o, v) => {
    const b = parseBool(v);
    if (b === null) return `"${v.trim()}" is not a boolean (yes/no)`;
    st.bindInterfacesOnly = b;
    return null;
  },
  smbports: (st, _o, v) => {
    const ports = splitList(v).map((p) => parseCount(p));
    if (!ports.length || ports.some((p) => p === null || p > 65535)) return `"${v.trim()}" is not a list of ports`;
    st.ports = ports as number[];
    return null;
  },
  listen: (st, o, v) => {
    st.listenKeySeen = true;
    o.listen = splitList(v).map((s) => parseListen(s));
    return null;
  },
};

function splitList(v: string): string[] {
  return v.split(/[\s,]+/).filter(Boolean);
}

/** Sections Samba gives a special meaning we do not implement. */
const SPECIAL_SECTIONS = new Set(['homes', 'printers', 'print$']);

/**
 * Parses an smb.conf subset. Unknown keys, bad values and unsupported sections become
 * warnings "file:line: ..."; nothing in the text makes it throw.
 */
export function parseSmbConf(text: string, baseDir: string, file = 'smb.conf'): PartialConfig {
  const st: ParseState = {
    file,
    baseDir,
    out: { warnings: [] },
    shareDefaults: new Map(),
    shareKeys: new Map(),
    bindInterfacesOnly: false,
    listenKeySeen: false,
  };
  const shares: ShareConfig[] = [];
  // 'skip': inside a section already warned about; its keys are dropped silently.
  let section: 'global' | 'skip' | ShareConfig | null = null;
  for (const { line, text: s } of logicalLines(text)) {
    if (!s || s.startsWith(';') || s.startsWith('#')) continue;
    const warn = (msg: string) => st.out.warnings.push(`${file}:${line}: ${msg}`);
    const head = /^\[(.*)\]$/.exec(s);
    if (head) {
      section = openSection(head[1]!.trim(), shares, st, warn);
      continue;
    }
    const eq = s.indexOf('=');
    if (eq < 0) {
      warn(`"${s}" is neither [section] nor key = value; ignored`);
      continue;
    }
    const rawKey = s.slice(0, eq).trim();
    const key = foldKey(rawKey);
    const value = s.slice(eq + 1);
    if (section === 'skip') continue;
    if (section === null) warn(`"${rawKey}" before any section; ignored`);
    else if (section === 'global') applyGlobal(st, key, rawKey, value, line, warn);
    else applyShare(st, section, key, rawKey, value, line, warn);
  }
  finishShares(st, shares);
  finishListen(st);
  if (shares.length) st.out.shares = shares;
  return st.out;
}

function openSection(name: string, shares: ShareConfig[], st: ParseState, warn: (m: string) => void): 'global' | 'skip' | ShareConfig {
  if (name.toLowerCase() === 'global') return 'global';
  if (SPECIAL_SECTIONS.has(name.toLowerCase())) {
    warn(`section [${name}] is not supported; ignored`);
    return 'skip';
  }
  const problem = shareNameProblem(name);
  if (problem) {
    warn(`${problem}; section ignored`);
    return 'skip';
  }
  const existing = shares.find((s) => s.name.toLowerCase() === name.toLowerCase());
  if (existing) {
    warn(`section [${name}] appears again; its keys are merged into the first`);
    return existing;
  }
  const share = newShare(name, '');
  shares.push(share);
  st.shareKeys.set(share, new Set());
  return share;
}

function applyGlobal(st: ParseState, key: string, rawKey: string, value: string, line: number, warn: (m: string) => void): void {
  const setter = GLOBAL_KEYS[key];
  if (setter) {
    let complaint: string | null;
    try {
      complaint = setter(st, st.out, value, line);
    } catch (e) {
      complaint = e instanceof ConfigError ? e.message : String(e);
    }
    if (complaint) warn(`${rawKey}: ${complaint}; ignored`);
  } else if (SHARE_KEYS[key] && key !== 'path') {
    st.shareDefaults.set(key, { value, line });
  } else {
    warn(`unknown or unsupported parameter "${rawKey}" in [global]; ignored`);
  }
}

function applyShare(
  st: ParseState,
  share: ShareConfig,
  key: string,
  rawKey: string,
  value: string,
  line: number,
  warn: (m: string) => void,
): void {
  const setter = SHARE_KEYS[key];
  if (!setter) {
    warn(`unknown or unsupported parameter "${rawKey}" in [${share.name}]; ignored`);
    return;
  }
  const complaint = setter(st, share, value, line);
  if (complaint) warn(`${rawKey}: ${complaint}; ignored`);
  else st.shareKeys.get(share)!.add(key);
}

/** Writable/read only are one setting under several names, as are browse and guest keys. */
const KEY_GROUPS: string[][] = [
  ['readonly', 'writeable', 'writable', 'writeok'],
  ['browseable', 'browsable'],
  ['guestok', 'public'],
  ['smbencrypt', 'serversmbencrypt'],
];

function finishShares(st: ParseState, shares: ShareConfig[]): void {
  for (const share of shares) {
    const own = st.shareKeys.get(share)!;
    for (const [key, { value, line }] of st.shareDefaults) {
      const group = KEY_GROUPS.find((g) => g.includes(key)) ?? [key];
      if (group.some((k) => own.has(k))) continue;
      const complaint = SHARE_KEYS[key]!(st, share, value, line);
      if (complaint) st.out.warnings.push(`${st.file}:${line}: ${key}: ${complaint}; ignored`);
    }
  }
}

/** interfaces + bind interfaces only (+ smb ports) become listen addresses, unless listen = is set. */
function finishListen(st: ParseState): void {
  if (st.listenKeySeen) return;
  const ports = st.ports ?? [DEFAULT_PORT];
  if (!st.bindInterfacesOnly || !st.interfaces) {
    if (st.ports) st.out.listen = ports.map((port) => ({ host: '0.0.0.0', port }));
    return;
  }
  const hosts: string[] = [];
  const nics = networkInterfaces();
  for (const item of st.interfaces) {
    const addr = item.replace(/\/.*$/, '');
    if (isIP(addr)) hosts.push(addr);
    else if (nics[item]) hosts.push(...nics[item]!.map((n) => n.address));
    else st.out.warnings.push(`${st.file}: interfaces: "${item}" is neither an address nor a local interface; ignored`);
  }
  st.out.listen = hosts.flatMap((host) => ports.map((port) => ({ host, port })));
}

/** Reads and parses an smb.conf; relative paths resolve against the file's folder. */
export function loadConfigFile(path: string): PartialConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(`cannot read config file ${path}: ${code}`);
  }
  const abs = isAbsolute(path) ? path : resolve(path);
  return parseSmbConf(text, dirname(abs), path);
}

/** Config values from a file over the defaults (or any base); warnings are dropped. */
export function mergeConfig(base: ServerConfig, over: Partial<ServerConfig> & { warnings?: string[] }): ServerConfig {
  const { warnings: _w, ...rest } = over;
  const out: ServerConfig = { ...base };
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) (out as unknown as Record<string, unknown>)[k] = v;
  return out;
}

// ---- validation ----------------------------------------------------------------------

function pathKind(path: string): 'dir' | 'missing' | 'other' {
  try {
    return statSync(path).isDirectory() ? 'dir' : 'other';
  } catch {
    return 'missing';
  }
}

function shareProblems(cfg: ServerConfig): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const share of cfg.shares) {
    const nameProblem = shareNameProblem(share.name);
    if (nameProblem) problems.push(nameProblem);
    const key = share.name.toLowerCase();
    if (seen.has(key)) problems.push(`share name "${share.name}" is used more than once`);
    seen.add(key);
    if (!share.path) {
      problems.push(`share "${share.name}" has no path`);
      continue;
    }
    const kind = pathKind(share.path);
    if (kind === 'missing') problems.push(`share "${share.name}": path ${share.path} does not exist`);
    if (kind === 'other') problems.push(`share "${share.name}": path ${share.path} is not a directory`);
  }
  return problems;
}

function userProblems(cfg: ServerConfig): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const u of cfg.users) {
    if (!u.name) problems.push('a user has an empty name');
    if (seen.has(u.name.toLowerCase())) problems.push(`user "${u.name}" is defined more than once`);
    seen.add(u.name.toLowerCase());
    if (u.ntHash !== undefined && u.ntHash.length !== 16) problems.push(`user "${u.name}": NT hash must be 16 bytes, not ${u.ntHash.length}`);
    if (u.ntHash === undefined && u.password === undefined) problems.push(`user "${u.name}" has neither password nor NT hash`);
  }
  if (cfg.users.length === 0 && !cfg.usersFile && !cfg.guest) {
    problems.push('no users are configured and guest access is off: nobody could connect');
  }
  if (cfg.usersFile && pathKind(cfg.usersFile) !== 'other') problems.push(`users file ${cfg.usersFile} is not a readable file`);
  return problems;
}

function limitProblems(cfg: ServerConfig): string[] {
  const problems: string[] = [];
  const whole = (name: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER) => {
    if (!Number.isInteger(v) || v < min || v > max) problems.push(`${name} ${v} must be a whole number in ${min}-${max}`);
  };
  whole('maxConnections', cfg.maxConnections, 0);
  whole('maxOpensPerSession', cfg.maxOpensPerSession, 1);
  whole('maxOpenFiles', cfg.maxOpenFiles, 0);
  // Below 16 MiB one 8 MiB READ answer would take half of it.
  if (cfg.maxHeldBytes !== 0) whole('maxHeldBytes', cfg.maxHeldBytes, 16 * MiB);
  whole('idleTimeoutSec', cfg.idleTimeoutSec, 0);
  whole('authTimeoutSec', cfg.authTimeoutSec, 1);
  // 64 KiB is the SMB 2.0.2 floor; 8 MiB is what Windows clients accept at most.
  whole('maxReadWrite', cfg.maxReadWrite, 65536, 8 * MiB);
  whole('dataBuffers', cfg.dataBuffers, 0, 256);
  if (cfg.maxPdu < cfg.maxReadWrite + 512) problems.push(`maxPdu ${cfg.maxPdu} is too small for maxReadWrite ${cfg.maxReadWrite} plus headers`);
  return problems;
}

/** Every problem with a complete configuration; an empty list means it can start. */
export function validateConfig(cfg: ServerConfig): string[] {
  const problems: string[] = [];
  if (cfg.listen.length === 0) problems.push('no listen address');
  for (const l of cfg.listen) {
    if (!l.host) problems.push('a listen address has an empty host');
    if (!Number.isInteger(l.port) || l.port < 0 || l.port > 65535) problems.push(`listen port ${l.port} out of range 0-65535`);
  }
  if (!/^[^\\/:*?"<>|\s]{1,63}$/.test(cfg.serverName)) problems.push(`server name "${cfg.serverName}" must be 1-63 characters without \\ / : * ? " < > | or spaces`);
  if (!LOG_LEVELS.includes(cfg.logLevel)) problems.push(`log level "${cfg.logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);
  if (cfg.signing !== 'required' && cfg.signing !== 'enabled') problems.push(`signing "${cfg.signing}" is not required or enabled`);
  problems.push(...shareProblems(cfg), ...userProblems(cfg), ...limitProblems(cfg));
  return problems;
}
