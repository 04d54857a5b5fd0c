/**
 * The SMB2/3 server: shares, users, listeners, connections and the global
 * state tables. Handlers reach files only through the Vfs; bytes move
 * only through the Transport. Both are chosen at start from what the
 * kernel offers (io_uring, or the threadpool and net.Socket fallbacks).
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { createLogger, throttledLog, type Logger } from '../util/log.js';
import { aesGcmImplementation } from '../crypto/encryption.js';
import { createVfs } from '../vfs/index.js';
import type { UringVfs } from '../vfs/uring.js';
import { DataPool } from '../uring/data-pool.js';
import { releaseLocks } from './handlers/lock.js';
import type { Vfs } from '../vfs/types.js';
import { createNodeTransport } from '../transport/node.js';
import { createUringTransport, URING_TRANSPORT_OPS, type UringTransport } from '../transport/uring.js';
import { createEventContext, type EventContext } from '../events/index.js';
import type { Listener, Transport, TransportConnection } from '../transport/types.js';
import { createServerAuth, type ServerAuth } from '../auth/authenticator.js';
import { Dialect } from '../smb2/constants.js';
import { defaultConfig, type ServerConfig, type ShareConfig } from './config.js';
import { SmbConnection } from './connection.js';
import { openFileLimit, reserveWanted, type OpenFileLimit } from './limits.js';
import { ServerState, type Open, type Session, type ShareState, type TreeConnect } from './state.js';
import { ntHash } from '../auth/ntlm-crypto.js';
import { forgetDurable, preserveDurable } from './durable.js';
import { dropChannels, sessionConnections } from './channel.js';
import { HeldBudget, defaultHeldBudget } from './held.js';
import { NotifyAction, NotifyFilter, NotifyHub, nameBit } from './notify.js';
import { fileOf, sameStream, streamXattr } from './streams.js';
import { CaseNames } from './case-names.js';

/**
 * Largest message a connection may send before it has a session: NEGOTIATE
 * and SESSION_SETUP are a few KiB (a Kerberos ticket tens), while 8 MiB
 * frames from every connection that never logs on would let a peer make the
 * server hold 8 GiB at 1024 connections. Raised to maxPdu at logon
 * (SmbConnection.loggedOn).
 */
export const PRE_LOGON_MAX_PDU = 256 * 1024;

export interface ServerOptions extends Partial<ServerConfig> {
  /** 'auto' (default) uses io_uring where the kernel allows it */
  vfs?: 'auto' | 'threadpool' | 'uring';
  /** 'auto' (default) uses the io_uring transport where the ring has its ops */
  transport?: 'auto' | 'node' | 'uring';
  /** The event context the server runs on (default: a new one attached to Node's loop, backend 'auto'). Its ring, when it has one, carries the io_uring transport and VFS. */
  events?: EventContext;
  logger?: Logger;
  minDialect?: number;
  maxDialect?: number;
}

export interface RuntimeConfig extends ServerConfig {
  minDialect: number;
  maxDialect: number;
  maxOutstanding: number;
  maxSessionsPerConnection: number;
  maxTreesPerSession: number;
}

export interface SmbServerEvents {
  listening: [addresses: { host: string; port: number }[]];
  connection: [info: { id: number; remote: string }];
  disconnect: [info: { id: number; remote: string }];
  close: [];
}

export class SmbServer extends EventEmitter<SmbServerEvents> {
  readonly config: RuntimeConfig;
  readonly log: Logger;
  readonly guid = randomBytes(16);
  readonly state = new ServerState();
  /** change notify: the server's own changes, to the opens watching (notify.ts) */
  readonly notify = new NotifyHub();
  readonly auth: ServerAuth;
  readonly vfs: Vfs;
  readonly transport: Transport;
  readonly events: EventContext;
  /** big data-path buffers, shared by the transport (WRITE bodies) and the READ path */
  readonly dataPool: DataPool;
  private readonly ownEvents: boolean;
  readonly connections = new Map<number, SmbConnection>();
  /** connections with a large signed or sealed message in progress, either way (SmbConnection: crypto off the loop) */
  cryptoBusy = 0;
  /** large messages signed, sealed, verified or opened on a libuv pool thread so far */
  cryptoHandedOff = 0;
  /** READ responses sealed piece by piece as their data was read (SmbConnection.readSealer) so far */
  readsSealedInPieces = 0;
  private readonly shares = new Map<string, ShareState>();
  private netListeners: Listener[] = [];
  private sweeper: NodeJS.Timeout | null = null;
  /** opens allowed at once across the server (limits.ts) */
  readonly openLimit: OpenFileLimit;
  /** refused opens and locks, connections held back (limits a client reached), logged at most once per 10 s of each kind */
  readonly logRefused: (msg: string, kind?: string) => void;
  private readonly refusedLogs = new Map<string, (msg: string) => void>();
  /** response bytes held for all clients together (held.ts) */
  readonly held: HeldBudget;
  /** NT hashes by lower-cased user name, computed once */
  private readonly users = new Map<string, Buffer>();

  constructor(opts: ServerOptions = {}) {
    super();
    const base = defaultConfig();
    this.config = {
      ...base,
      ...stripUndefined(opts),
      minDialect: opts.minDialect ?? Dialect.SMB202,
      maxDialect: opts.maxDialect ?? Dialect.SMB311,
      maxOutstanding: 512,
      maxSessionsPerConnection: 64,
      maxTreesPerSession: 1024,
    } as RuntimeConfig;
    this.log = opts.logger ?? createLogger(this.config.logLevel);
    this.openLimit = openFileLimit(this.config.maxOpenFiles, this.config.maxConnections);
    this.logRefused = (msg, kind = '') => {
      let sink = this.refusedLogs.get(kind);
      if (!sink) this.refusedLogs.set(kind, (sink = throttledLog((m) => this.log.warn(m))));
      sink(msg);
    };
    this.held = new HeldBudget(this.config.maxHeldBytes || defaultHeldBudget(), () => this.connections.values(), (total, who) => this.heldPressure(who as SmbConnection, total));
    for (const u of this.config.users) this.users.set(u.name.toLowerCase(), u.ntHash ?? ntHash(u.password ?? ''));
    for (const s of this.config.shares) this.addShare(s);
    this.shares.set('ipc$', { name: 'IPC$', path: '', readOnly: true, comment: 'IPC Service', encrypt: false, browseable: false, guestOk: true, isIpc: true, streams: false, caseSensitive: true, root: null, names: null });
    this.ownEvents = !opts.events;
    this.events = opts.events ?? createEventContext({ backend: 'auto', driver: 'node' });
    // A throw from a handler or completion callback of the server's own context goes to its log (the loop goes on).
    if (this.ownEvents) this.events.onError = (err, ev) => this.log.error(`event loop: ${ev.kind} handler (created ${ev.site}) threw: ${(err as Error)?.stack ?? err}`);
    const ring = this.events.ring;
    this.vfs = createVfs(opts.vfs ?? 'auto', ring ?? undefined);
    this.dataPool = new DataPool({
      size: this.config.maxPdu,
      count: this.config.dataBuffers,
      spare: this.config.dataBuffers * 3,
      ring: this.vfs.name === 'uring' ? ring : null,
      onRegistered: (fixed) => (this.vfs as UringVfs).useFixedBuffers(fixed),
      onRegisterError: (err) => this.log.info(`data buffers: ${err.message}; using unregistered buffers (or, without memory for them, one per request)`),
    });
    this.transport = this.chooseTransport(opts.transport ?? 'auto');
    this.auth = createServerAuth({
      lookup: (user) => {
        const hash = this.users.get(user.toLowerCase());
        return hash ? { ntHash: hash } : null;
      },
      allowGuest: this.config.guest,
      netbiosName: this.config.serverName,
      dnsName: this.config.serverName.toLowerCase(),
      domain: 'WORKGROUP',
    });
  }

  /** io_uring where the ring has the ops (decision 1: probed, not configured), else net.Socket. */
  private chooseTransport(kind: 'auto' | 'node' | 'uring'): Transport {
    const tOpts = { maxPdu: this.config.maxPdu, firstMaxPdu: Math.min(this.config.maxPdu, PRE_LOGON_MAX_PDU), pool: this.dataPool, log: (l: 'debug' | 'info' | 'warn' | 'error', m: string) => this.log.log(l, m) };
    const ring = this.events.ring;
    const forcedOff = process.env.RINGSMB_TRANSPORT === 'node';
    if (kind === 'node' || (kind === 'auto' && forcedOff)) return createNodeTransport(tOpts);
    const missing = !ring ? 'the event context has no ring' : URING_TRANSPORT_OPS.filter((op) => !ring.supports(op)).join(', ');
    if (ring && !missing) return createUringTransport({ ...tOpts, ring });
    if (kind === 'uring') throw new Error(`transport uring: ${missing ? `io_uring lacks ${missing}` : 'no ring'}`);
    this.log.info(`transport: net.Socket (${missing})`);
    return createNodeTransport(tOpts);
  }

  private addShare(s: ShareConfig): void {
    const key = s.name.toLowerCase();
    if (this.shares.has(key)) throw new Error(`duplicate share name "${s.name}"`);
    this.shares.set(key, { ...s, path: resolvePath(s.path), isIpc: false, streams: s.streams ?? true, caseSensitive: s.caseSensitive ?? false, root: null, names: null });
  }

  findShare(name: string): ShareState | null {
    return this.shares.get(name.toLowerCase()) ?? null;
  }

  listShares(): ShareState[] {
    return [...this.shares.values()];
  }

  /** Opens the share roots and starts listening on every configured address. */
  async listen(): Promise<{ host: string; port: number }[]> {
    for (const s of this.shares.values()) {
      if (s.isIpc) continue;
      const st = statSync(s.path, { throwIfNoEntry: false });
      if (!st || !st.isDirectory()) throw new Error(`share "${s.name}": ${s.path} is not a directory`);
      s.root = await this.vfs.openShare(s.path);
      s.names = s.caseSensitive ? null : new CaseNames(s.root, (m) => this.log.warn(`share ${s.name}: ${m}`));
      const m = s.root.metadata;
      const inline = m.inline === 'all' ? 'path and metadata calls inline' : m.inline === 'stat' ? 'stat of open files inline' : 'every call on workers';
      const nested = m.nested.length ? ` (mounted beneath: ${m.nested.map((n) => `${n.path} on ${n.fs}`).join(', ')})` : '';
      this.log.info(`share ${s.name}: ${s.path} on ${m.fs}${nested}, ${inline}${m.forced ? ' (RINGSMB_INLINE_META)' : ''}`);
      // Named streams live in extended attributes (streams.ts): on ext2/3/4 a file's all share one block.
      if (s.streams && /^ext[234]$/.test(m.fs)) {
        this.log.info(`share ${s.name}: named streams are kept in extended attributes, which ${m.fs} holds in one block per file (about 3 KiB for all of a file's streams unless the filesystem has ea_inode); a larger stream fails with DISK_FULL. "ringsmb streams = no" turns streams off (macOS then keeps its metadata in ._ files)`);
      }
    }
    for (const addr of this.config.listen) {
      const l = await this.transport.listen(addr, (c) => this.onConnection(c));
      this.netListeners.push(l);
    }
    const addrs = this.netListeners.map((l) => l.address);
    this.sweeper = setInterval(() => this.sweep(), 5000);
    this.sweeper.unref();
    this.logOpenLimit();
    this.log.info(`listening on ${addrs.map((a) => `${a.host}:${a.port}`).join(', ')} (transport ${this.transport.name}, vfs ${this.vfs.name} [${this.vfs.reason}], events ${this.events.backendName}, signing ${this.config.signing}${this.config.encrypt ? ', encryption required' : ''}, aes-gcm ${aesGcmImplementation()})`);
    this.emit('listening', addrs);
    return addrs;
  }

  /** Says how many opens the fd limit allows, and warns where it is tight. */
  private logOpenLimit(): void {
    const { limit, nofile, reserve } = this.openLimit;
    if (nofile === null) return this.log.info(`open files: at most ${limit} at once (the fd limit is unknown or unlimited)`);
    const cfg = this.config.maxOpenFiles;
    this.log.info(`open files: at most ${limit} at once (RLIMIT_NOFILE ${nofile}, ${reserve} kept for connections and the server)`);
    if (cfg > limit) this.log.warn(`max open files ${cfg} lowered to ${limit}: RLIMIT_NOFILE is ${nofile} (raise it with ulimit -n or LimitNOFILE=)`);
    const need = reserveWanted(this.config.maxConnections, nofile);
    if (reserve < need) {
      this.log.warn(`RLIMIT_NOFILE ${nofile} is tight for ${this.config.maxConnections} connections (about ${need} fds besides the opens): raise it with ulimit -n or LimitNOFILE=, or lower max connections`);
    }
  }

  get addresses(): { host: string; port: number }[] {
    return this.netListeners.map((l) => l.address);
  }

  /** A connection held back by the server-wide budget (held.ts): one log line per 10 s. */
  heldPressure(c: SmbConnection, total: number): void {
    const mib = (n: number): string => (n / (1 << 20)).toFixed(0);
    this.logRefused(`${mib(total)} MiB of responses held for clients (budget ${mib(this.held.max)} MiB, ringsmb max held bytes): connection ${c.id} (${c.peer}) gets no more until it takes its answers`, 'held');
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    // Stop accepting, then end the connections, then wait: a net.Server's close() calls back
    // only once its last connection is gone, so waiting first would wait on clients forever.
    const listening = this.netListeners.map((l) => l.close());
    this.netListeners = [];
    for (const c of this.connections.values()) c.transport.close();
    await Promise.all(listening);
    this.held.close();
    for (const s of [...this.state.sessions.values()]) await this.logoff(s);
    for (const o of [...this.state.opens.values()]) await this.closeOpen(o); // durable ones kept by logoff
    for (const s of this.shares.values()) {
      s.names?.close();
      s.names = null;
      if (s.root) await s.root.close();
      s.root = null;
    }
    if (this.transport.name === 'uring') (this.transport as UringTransport).close();
    this.dataPool.close();
    if (this.ownEvents) this.events.close();
    this.emit('close');
  }

  private onConnection(t: TransportConnection): void {
    const max = this.config.maxConnections;
    if (max > 0 && this.live() >= max) {
      // Connections that never log on must not lock everyone else out (open max connections, send
      // nothing, and nobody could connect until the auth timeout): the oldest of them makes room.
      const idle = this.oldestUnauthenticated();
      if (!idle) {
        this.logRefused(`connection from ${t.remoteAddress}:${t.remotePort} refused: ${max} connections with sessions (max connections)`);
        t.close();
        return;
      }
      idle.drop(`dropped for a new connection: ${max} connections (max connections) and this one has no session after ${Date.now() - idle.connectedAt} ms`);
    }
    const c = new SmbConnection(this, t);
    this.connections.set(c.id, c);
    this.log.debug(`connection ${c.id} from ${c.peer}`);
    this.emit('connection', { id: c.id, remote: c.peer });
  }

  /** Connections not on their way out. */
  private live(): number {
    let n = 0;
    for (const c of this.connections.values()) if (!c.dropping) n++;
    return n;
  }

  /** The connection that has waited longest without an authenticated session (insertion order is age). */
  private oldestUnauthenticated(): SmbConnection | null {
    for (const c of this.connections.values()) {
      if (c.dropping) continue;
      let authed = false;
      for (const s of c.sessions.values()) if (s.state === 'valid') authed = true;
      if (!authed) return c;
    }
    return null;
  }

  /** Called by a connection once its transport is gone: its sessions and opens go with it. */
  connectionClosed(c: SmbConnection): void {
    this.connections.delete(c.id);
    // A session lives on while another of its channels does (channel.ts).
    for (const s of dropChannels(c)) void this.logoff(s);
    this.log.debug(`connection ${c.id} (${c.peer}) closed`);
    this.emit('disconnect', { id: c.id, remote: c.peer });
  }

  /** Closes every tree and open of a session and forgets it. */
  async logoff(s: Session): Promise<void> {
    // Requests of the session still waiting (3.3.5.6) end; durable opens stay for a reconnect (durable.ts).
    for (const c of sessionConnections(s)) c.pending.cancelAll(s.id);
    for (const t of [...s.trees.values()]) await this.disconnectTree(t, true);
    this.removeSession(s);
  }

  removeSession(s: Session): void {
    s.state = 'expired';
    this.state.sessions.delete(s.id);
    for (const c of this.connections.values()) c.sessions.delete(s.id);
  }

  async disconnectTree(t: TreeConnect, keepDurable = false): Promise<void> {
    // A CREATE still under way checks this before its open joins the tree (and fails instead).
    t.disconnected = true;
    for (const o of [...t.opens]) if (!(keepDurable && preserveDurable(this, o))) await this.closeOpen(o);
    t.session.trees.delete(t.id);
  }

  /** Closes an open, applying delete-on-close (3.3.4.17). */
  async closeOpen(o: Open): Promise<void> {
    if (o.closed) return;
    o.closed = true;
    o.notify?.close();
    forgetDurable(o);
    this.state.replays.forget(o);
    this.state.files.detach(o);
    this.state.opens.delete(o.volatileId);
    releaseLocks(o);
    o.tree.opens.delete(o);
    try {
      if (o.pipe) o.pipe.close();
      const root = o.tree.share.root;
      const stream = o.stream;
      if (o.file) {
        // A named stream goes with its last handle, before the file's fd it lives on closes.
        try {
          if (stream !== null && o.deleteOnClose && root) await this.deleteStreamAtClose(o, stream);
        } finally {
          await o.file.close();
        }
      }
      if (root && (stream === null ? o.deleteOnClose : o.deleteFile)) {
        // The file goes when its last handle closes (MS-FSA 2.1.5.4), its streams' handles
        // included (smbtorture smb2.streams.delete): pass it on.
        const others = this.state.opensAt(o.tree.share, o.path);
        for (const other of others) {
          if (other.stream !== null) {
            other.deleteFile = true;
            continue;
          }
          other.deleteOnClose = true;
          other.pendingDelete = true;
          other.notify?.deletePending();
        }
        if (others.length === 0) {
          const isDirectory = o.file ? fileOf(o.file).isDirectory : o.isDirectory;
          if (isDirectory) await root.rmdir(o.path);
          else await root.unlink(o.path);
          this.notify.post(o.tree.share, o.path, NotifyAction.REMOVED, nameBit(isDirectory));
          return;
        }
      }
      // Written through this handle: the new size and write time are reported once, at close,
      // as NTFS does at cleanup (MS-FSA 2.1.5.4).
      if (o.modified && stream !== null) this.notify.post(o.tree.share, `${o.path}:${stream}`, NotifyAction.MODIFIED_STREAM, NotifyFilter.STREAM_SIZE | NotifyFilter.STREAM_WRITE);
      else if (o.modified) this.notify.post(o.tree.share, o.path, NotifyAction.MODIFIED, NotifyFilter.SIZE | NotifyFilter.LAST_WRITE);
    } catch (err) {
      this.log.warn(`close of "${o.path}" on share ${o.tree.share.name}: ${(err as Error).message}`);
    }
  }

  /** Delete-on-close of a named stream (o is out of the open table): passed on to its other opens, or done. */
  private async deleteStreamAtClose(o: Open, stream: string): Promise<void> {
    const same = this.state.opensAt(o.tree.share, o.path).filter((x) => sameStream(x.stream, stream));
    for (const other of same) {
      other.deleteOnClose = true;
      other.pendingDelete = true;
    }
    if (same.length > 0) return;
    await fileOf(o.file!).removeXattr(streamXattr(stream)).catch((err: { code?: string }) => {
      if (err.code !== 'ENODATA') throw err;
    });
    this.notify.post(o.tree.share, `${o.path}:${stream}`, NotifyAction.REMOVED_STREAM, NotifyFilter.STREAM_NAME);
  }

  /** Drops idle connections and connections that never authenticated. */
  private sweep(): void {
    const now = Date.now();
    for (const c of this.connections.values()) {
      const authed = [...c.sessions.values()].some((s) => s.state === 'valid');
      if (!authed && this.config.authTimeoutSec > 0 && now - c.connectedAt > this.config.authTimeoutSec * 1000) {
        c.drop(`no authenticated session after ${this.config.authTimeoutSec} s`);
      } else if (this.config.idleTimeoutSec > 0 && now - c.lastActivity > this.config.idleTimeoutSec * 1000) {
        const hasOpens = [...c.sessions.values()].some((s) => [...s.trees.values()].some((t) => t.opens.size > 0));
        if (!hasOpens) c.drop(`idle for ${this.config.idleTimeoutSec} s`);
      }
    }
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function createServer(opts: ServerOptions = {}): SmbServer {
  return new SmbServer(opts);
}
