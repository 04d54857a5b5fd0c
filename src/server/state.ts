/**
 * Server state: sessions, tree connects and opens (MS-SMB2 3.3.1). Kept
 * behind these classes so that a later cluster mode can move it into a
 * replicated store without touching the handlers.
 */
import { randomBytes } from 'node:crypto';
import type { ShareRoot, VfsFile, VfsDirEntry } from '../vfs/types.js';
import type { RpcPipe } from '../rpc/pipe.js';
import type { SigningAlgorithm } from '../crypto/signing.js';
import { FileTable, type OpenCaching } from './oplock.js';
import type { DurableState } from './durable.js';
import { ReplayTable, type ReplaySlot } from './replay.js';
import type { DirWatch } from './notify.js';
import type { Channel } from './channel.js';
import { StreamFile } from './streams.js';
import type { CaseNames } from './case-names.js';

export interface ShareState {
  name: string;
  path: string;
  readOnly: boolean;
  comment: string;
  encrypt: boolean;
  browseable: boolean;
  guestOk: boolean;
  isIpc: boolean;
  /** named streams kept in extended attributes (streams.ts); false: names with a stream are refused */
  streams: boolean;
  root: ShareRoot | null;
  /** names compared as bytes ("case sensitive = yes"); otherwise `names` finds them in any case */
  caseSensitive: boolean;
  /** case-insensitive lookup of names (case-names.ts), set when the root opens; null: names are compared as bytes ("case sensitive = yes") */
  names: CaseNames | null;
}

export type SessionState = 'inProgress' | 'valid' | 'expired';

export class Session {
  state: SessionState = 'inProgress';
  user = '';
  domain = '';
  isGuest = false;
  isAnonymous = false;
  sessionKey: Buffer | null = null;
  signingKey: Buffer | null = null;
  /** server -> client */
  encryptionKey: Buffer | null = null;
  /** client -> server */
  decryptionKey: Buffer | null = null;
  applicationKey: Buffer | null = null;
  signingRequired = false;
  encryptData = false;
  signingAlgorithm: SigningAlgorithm = 0 as SigningAlgorithm;
  /** 3.1.1 Session.PreauthIntegrityHashValue */
  preauthHash: Buffer | null = null;
  /** the authentication exchange in progress */
  auth: unknown = null;
  readonly trees = new Map<number, TreeConnect>();
  /** Session.ChannelList (3.3.1.14), by connection id; channel.ts */
  readonly channels = new Map<number, Channel>();
  /** Connection.ClientGuid and cipher of the connection that set the session up (binding checks, 3.3.5.5) */
  clientGuid: Buffer | null = null;
  cipherId = 0;
  private nextTreeId = 1;
  lastActivity = Date.now();

  /** the connection notifications go to: the first channel's, then a surviving one's (channel.ts) */
  constructor(readonly id: bigint, readonly dialect: number, public connectionId: number) {}

  allocTreeId(): number {
    for (let i = 0; i < 0xffff; i++) {
      const id = this.nextTreeId;
      this.nextTreeId = this.nextTreeId >= 0xfffffffe ? 1 : this.nextTreeId + 1;
      if (!this.trees.has(id)) return id;
    }
    return 0;
  }
}

export class TreeConnect {
  readonly opens = new Set<Open>();
  /** set when its disconnect begins (TREE_DISCONNECT, logoff, connection loss): no open may join it after */
  disconnected = false;
  constructor(
    readonly id: number,
    readonly session: Session,
    readonly share: ShareState,
    readonly maximalAccess: number,
  ) {}
}

export interface DirEnumState {
  entries: VfsDirEntry[] | null;
  index: number;
  /** the scan's pattern, compiled (compileWildcard) */
  matches: (name: string) => boolean;
  /** '.' and '..' already returned */
  dotsDone: number;
  /** some entry was returned since the scan (re)started: the end is NO_MORE_FILES, not NO_SUCH_FILE */
  returnedSome: boolean;
  /** the directory's change time when `entries` was read: a later one means entries may be gone */
  readAtCtimeNs?: bigint;
}

export class Open {
  deleteOnClose = false;
  /**
   * The file is delete-pending (MS-FSA File.PendingDelete): set by a disposition
   * SET_INFO, or when a delete-on-close handle closed before this one. Unlike
   * deleteOnClose from the CREATE option alone, it refuses new opens of the path.
   */
  pendingDelete = false;
  /**
   * On an open of a named stream: the file itself is delete-pending, passed on
   * by the close of a delete-on-close handle of the file (server.closeOpen):
   * the file goes when the last open of it or of its streams closes.
   * (deleteOnClose and pendingDelete of a stream open are about the stream.)
   */
  deleteFile = false;
  /** LockSequenceIndex (1..64) -> the LockSequenceNumber of the last LOCK done with it (MS-SMB2 3.3.5.14; kept for every 3.x open) */
  lockSequences: Map<number, number> | null = null;
  /** the file's share-relative path with '/' separators, '' for the root */
  path: string;
  dir: DirEnumState | null = null;
  position = 0;
  mode = 0;
  closed = false;
  /** its file's shared state, oplock and lease (oplock.ts); null for pipes */
  caching: OpenCaching | null = null;
  /** set when the open is durable (durable.ts) */
  durable: DurableState | null = null;
  /** SMB2_CREATE_APP_INSTANCE_ID (3.3.5.9.13): a later open of the file with it from another client closes this one */
  appInstanceId: Buffer | null = null;
  /** the CreateGuid entry of the CREATE (with DH2Q) that made it, for a replay of that CREATE and its CreateGuid's duplicates (replay.ts) */
  replay: ReplaySlot | null = null;
  /** 3.3.5.2.10 Open.ChannelSequence, OutstandingRequestCount and OutstandingPreRequestCount (replay.ts) */
  channelSequence = 0;
  outstanding = 0;
  outstandingPre = 0;
  /** data was written through it: change notify reports the file MODIFIED at close */
  modified = false;
  /** directory change watch, from the first CHANGE_NOTIFY until close (notify.ts) */
  notify: DirWatch | null = null;
  /** QUERY_DIRECTORY scans running on this handle, settled or not; a CLOSE waits for them (track, settled) */
  private readonly scans = new Set<Promise<unknown>>();
  /** the user whose session made it (ownerKey), for what each user holds; a durable reconnect keeps it */
  readonly owner: string;

  constructor(
    readonly persistentId: bigint,
    readonly volatileId: bigint,
    /** changes only when a durable open is reconnected */
    public tree: TreeConnect,
    readonly file: VfsFile | null,
    readonly pipe: RpcPipe | null,
    path: string,
    readonly isDirectory: boolean,
    readonly grantedAccess: number,
    readonly shareAccess: number,
  ) {
    this.path = path;
    this.owner = ownerKey(tree.session);
  }

  /** The named stream this open is of (its name as stored), null for the file itself (streams.ts). */
  get stream(): string | null {
    return this.file instanceof StreamFile ? this.file.stream : null;
  }

  /**
   * Runs a request that must finish before the handle closes (a directory scan in several steps:
   * a CLOSE sent right behind it, as smbtorture smb2.compound_find does, must not take the
   * handle from under it; Windows completes the query, then closes).
   */
  track<T>(run: () => Promise<T>): Promise<T> {
    const p = run();
    const done = p.then(() => undefined, () => undefined);
    this.scans.add(done);
    void done.then(() => this.scans.delete(done));
    return p;
  }

  /** What to wait for before the handle closes: null when nothing runs (a CLOSE then goes on at once). */
  settled(): Promise<unknown> | null {
    return this.scans.size === 0 ? null : Promise.all(this.scans);
  }
}

/** Who a session is, for counting what users hold: DOMAIN\user, case folded. */
export function ownerKey(s: Session): string {
  return `${s.domain}\\${s.user}`.toLowerCase();
}

/**
 * GlobalOpenTable by volatile id, also indexed by share and path: every CREATE
 * asks who else has the file open (share modes, breaks, pending delete), and a
 * scan of all opens made that quadratic (smbtorture smb2.maxfid opens 16k+).
 * An open's path changes only through move() (rename).
 */
export class OpenTable extends Map<bigint, Open> {
  private readonly byPath = new Map<ShareState, Map<string, Set<Open>>>();
  /** Where each indexed open was put (a Map: an open is in it exactly while it is in the table). */
  private readonly indexKeys = new Map<Open, { share: ShareState; path: string }>();
  /** opens by the user whose session made them (Open.owner) */
  private readonly byOwner = new Map<string, number>();

  override set(id: bigint, o: Open): this {
    // Setting an open again re-indexes it (its tree changed: durable reconnect).
    const old = super.get(id);
    if (old) this.unindex(old);
    super.set(id, o);
    this.index(o);
    return this;
  }

  override delete(id: bigint): boolean {
    const o = super.get(id);
    if (o) this.unindex(o);
    return super.delete(id);
  }

  override clear(): void {
    this.indexKeys.clear();
    this.byOwner.clear();
    this.byPath.clear();
    super.clear();
  }

  /** Renames an open in place, keeping the index right. */
  move(o: Open, path: string): void {
    const indexed = super.get(o.volatileId) === o;
    if (indexed) this.unindex(o);
    o.path = path;
    if (indexed) this.index(o);
  }

  /** How many opens the user (ownerKey) holds, durable ones without a session included. */
  ownedBy(owner: string): number {
    return this.byOwner.get(owner) ?? 0;
  }

  /** The opens whose share and path are these (no copy: do not change the set). */
  at(share: ShareState, path: string): ReadonlySet<Open> | undefined {
    return this.byPath.get(share)?.get(path);
  }

  private index(o: Open): void {
    const share = o.tree.share;
    let m = this.byPath.get(share);
    if (!m) this.byPath.set(share, (m = new Map()));
    let s = m.get(o.path);
    if (!s) m.set(o.path, (s = new Set()));
    s.add(o);
    this.byOwner.set(o.owner, (this.byOwner.get(o.owner) ?? 0) + 1);
    this.indexKeys.set(o, { share, path: o.path });
  }

  /** By the key the open was indexed under (its tree may have changed since: durable reconnect). */
  private unindex(o: Open): void {
    const k = this.indexKeys.get(o);
    if (!k) return;
    this.indexKeys.delete(o);
    const n = (this.byOwner.get(o.owner) ?? 1) - 1;
    if (n > 0) this.byOwner.set(o.owner, n);
    else this.byOwner.delete(o.owner);
    const m = this.byPath.get(k.share);
    const s = m?.get(k.path);
    if (!s) return;
    s.delete(o);
    if (s.size === 0) m!.delete(k.path);
    if (m!.size === 0) this.byPath.delete(k.share);
  }
}

/** The global tables (MS-SMB2 3.3.1.1: GlobalSessionTable, GlobalOpenTable). */
export class ServerState {
  readonly sessions = new Map<bigint, Session>();
  readonly opens = new OpenTable();
  /** per-file state, oplocks and leases (oplock.ts) */
  readonly files = new FileTable();
  /** CREATEs with a DH2Q by ClientGuid and CreateGuid (replay.ts) */
  readonly replays = new ReplayTable();
  private nextVolatile = BigInt('0x' + randomBytes(4).toString('hex')) << 8n;

  /** Whether a user other than `me` (ownerKey) has a valid session. */
  otherUserPresent(me: string): boolean {
    for (const s of this.sessions.values()) if (s.state === 'valid' && ownerKey(s) !== me) return true;
    return false;
  }

  /**
   * Random, non-zero and unused; within 32 bits, as Samba's are: clients that keep a session id
   * in 32 bits (smbtorture's smb2.session-id does) find theirs again.
   */
  newSessionId(): bigint {
    for (;;) {
      const id = BigInt(randomBytes(4).readUInt32LE(0));
      if (id !== 0n && !this.sessions.has(id)) return id;
    }
  }

  /** File opens on `share` whose path is `path` or, with `below`, lies under it. */
  opensAt(share: ShareState, path: string, below = false): Open[] {
    const out: Open[] = [];
    if (!below) {
      for (const o of this.opens.at(share, path) ?? []) if (o.file) out.push(o);
      return out;
    }
    for (const o of this.opens.values()) {
      if (o.tree.share !== share || !o.file) continue;
      if (o.path === path || o.path.startsWith(path + '/')) out.push(o);
    }
    return out;
  }

  newOpenIds(): { persistent: bigint; volatile: bigint } {
    this.nextVolatile = (this.nextVolatile + 1n) & 0xffffffffffffffffn;
    if (this.nextVolatile === 0n || this.nextVolatile === 0xffffffffffffffffn) this.nextVolatile = 1n;
    return { persistent: this.nextVolatile, volatile: this.nextVolatile };
  }
}
