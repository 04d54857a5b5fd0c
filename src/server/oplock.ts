/**
 * Oplocks and leases (MS-SMB2 3.3.1.4 Lease, 3.3.4.6/3.3.4.7 breaks, 3.3.5.9
 * grant, 3.3.5.22 acknowledgment; MS-FSA 2.1.4.12 when an open breaks another).
 *
 * One FileState per file (keyed by dev:ino) holds its opens. What a client may
 * cache is kept as lease-style bits, R(ead) H(andle) W(rite), for oplocks too:
 * BATCH is RWH, EXCLUSIVE RW, LEVEL_II R. A Holder is what gets broken: a Lease
 * (shared by every open with the same ClientGuid and LeaseKey) or one open's
 * oplock. A break lowers the bits; one that takes away W or H waits for the
 * client's acknowledgment (or a timeout) before the open that caused it goes on.
 */
import { encodeOplockBreak } from '../smb2/commands/oplock-break.js';
import { Command, OplockLevel } from '../smb2/constants.js';
import { Access } from './access.js';
import { shareCompatible } from './sharemode.js';
import { streamKey } from './streams.js';
import { ownerKey, type Open, type Session } from './state.js';
import type { SmbServer } from './server.js';

/** a ClientGuid of zeros: no client named (SMB 2.0.2 sends it) */
const ZERO_GUID = Buffer.alloc(16);

export const R = 0x01;
export const H = 0x02;
export const W = 0x04;

/** 2.2.23.2 Flags */
const NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED = 0x01;
/** 3.3.2.5/3.3.2.6: how long a break waits for its acknowledgment. */
export const DEFAULT_BREAK_TIMEOUT_MS = 35_000;

/** Opens that read no data and change nothing (MS-FSA "stat opens") break nothing. */
const STAT_BITS = Access.FILE_READ_ATTRIBUTES | Access.FILE_WRITE_ATTRIBUTES | Access.SYNCHRONIZE;

export function isStatOpen(access: number, forLease: boolean): boolean {
  const bits = forLease ? STAT_BITS | Access.READ_CONTROL : STAT_BITS;
  return (access & ~bits) === 0;
}

export function oplockToBits(level: number): number {
  switch (level) {
    case OplockLevel.BATCH: return R | W | H;
    case OplockLevel.EXCLUSIVE: return R | W;
    case OplockLevel.II: return R;
    default: return 0;
  }
}

export function bitsToOplock(bits: number): number {
  if (bits & W) return bits & H ? OplockLevel.BATCH : OplockLevel.EXCLUSIVE;
  return bits & R ? OplockLevel.II : OplockLevel.NONE;
}

/** The lease states a server grants (2.2.13.2.8): R, RH, RW, RWH; anything else is none. */
export function validLeaseState(s: number): number {
  return s & R ? s & (R | W | H) : 0;
}

/** Something a break lowers: a lease or one open's oplock. */
abstract class Holder {
  state = 0;
  /** the state a break in progress lowers to; null when none is */
  breakingTo: number | null = null;
  /**
   * lower still, asked for by an open that came while the break was under way:
   * broken to after the acknowledgment (ackLease), not announced before it
   */
  required: number | null = null;
  private waiters: (() => void)[] = [];
  private timer: NodeJS.Timeout | null = null;

  abstract get opens(): Iterable<Open>;

  /** Resolves when the break in progress ends (acknowledged, timed out, or the holder went away). */
  waitBreak(): Promise<void> {
    if (this.breakingTo === null) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  startBreak(to: number, timeoutMs: number, onTimeout: () => void): void {
    this.breakingTo = to;
    this.timer = setTimeout(onTimeout, timeoutMs);
    this.timer.unref();
  }

  /** Asks, during a break, for `to` once it is acknowledged. */
  require(to: number): void {
    this.required = (this.required ?? this.breakingTo ?? this.state) & to;
  }

  /** The break is over: the holder now has `state`. */
  endBreak(state: number): void {
    this.state = state;
    this.breakingTo = null;
    this.required = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }
}

export class OplockHolder extends Holder {
  constructor(readonly open: Open, level: number) {
    super();
    this.state = oplockToBits(level);
  }
  get opens(): Iterable<Open> {
    return [this.open];
  }
  get level(): number {
    return bitsToOplock(this.state);
  }
}

export class Lease extends Holder {
  readonly opens = new Set<Open>();
  epoch = 0;
  constructor(
    readonly id: string,
    /** the client it belongs to (its breaks go to that client's first connection) */
    readonly clientGuid: Buffer,
    readonly key: Buffer,
    readonly file: FileState,
    readonly version: 1 | 2,
    readonly parentKey: Buffer | null,
  ) {
    super();
  }
}

/** One file's opens and the leases on it (MS-FSA Stream.Oplock). */
export class FileState {
  readonly opens = new Set<Open>();
  readonly leases = new Set<Lease>();
  constructor(public key: string) {}

  holders(): Holder[] {
    const out: Holder[] = [...this.leases];
    for (const o of this.opens) if (o.caching?.oplock) out.push(o.caching.oplock);
    return out;
  }
}

/** Where FileTable keeps a file's state, or one of its named streams' (streams.ts). */
function fileStateKey(dev: bigint, ino: bigint, stream: string | null): string {
  return stream === null ? `${dev}:${ino}` : `${dev}:${ino}:${streamKey(stream)}`;
}

/** An open's link to its file, its oplock or lease, and its durability (durable.ts). */
export interface OpenCaching {
  file: FileState;
  oplock: OplockHolder | null;
  lease: Lease | null;
}

/** What a CREATE asks, for deciding what to break and what to grant. */
export interface OpenIntent {
  access: number;
  share: number;
  /** SUPERSEDE, OVERWRITE, OVERWRITE_IF: other holders lose R and H too */
  truncate: boolean;
  /** ClientGuid + LeaseKey of the lease the CREATE asks for, if any */
  leaseId: string | null;
}

/** The server-wide tables: files by dev:ino, leases by ClientGuid + LeaseKey. */
export class FileTable {
  readonly files = new Map<string, FileState>();
  readonly leases = new Map<string, Lease>();
  /** 35 s per spec; tests set it lower */
  breakTimeoutMs = Number(process.env.RINGSMB_BREAK_TIMEOUT_MS) || DEFAULT_BREAK_TIMEOUT_MS;

  static leaseId(clientGuid: Buffer, key: Buffer): string {
    return clientGuid.toString('hex') + key.toString('hex');
  }

  /** Links an open to its file's state (after the open succeeded). */
  attach(open: Open, dev: bigint, ino: bigint): FileState {
    // A named stream has caching of its own (MS-SMB2 3.3.5.9.8: a lease on a stream is
    // separate from the file's; smbtorture smb2.lease.request, smb2.oplock.stream1).
    const key = fileStateKey(dev, ino, open.stream);
    let f = this.files.get(key);
    if (!f) {
      f = new FileState(key);
      this.files.set(key, f);
    }
    f.opens.add(open);
    open.caching = { file: f, oplock: null, lease: null };
    return f;
  }

  /** A stream renamed under an open: its state goes under the new name (the rename made sure no other open shares it). */
  rekey(open: Open, dev: bigint, ino: bigint): void {
    const f = open.caching?.file;
    if (!f || open.stream === null) return;
    const key = fileStateKey(dev, ino, open.stream);
    if (this.files.has(key)) return;
    if (this.files.get(f.key) === f) this.files.delete(f.key);
    f.key = key;
    this.files.set(key, f);
  }

  /** Releases an open's oplock or lease share and its place in the file state (close, logoff, disconnect). */
  detach(open: Open): void {
    const c = open.caching;
    if (!c) return;
    open.caching = null;
    if (c.oplock) c.oplock.endBreak(0);
    if (c.lease) {
      c.lease.opens.delete(open);
      if (c.lease.opens.size === 0) {
        c.lease.endBreak(0);
        c.file.leases.delete(c.lease);
        this.leases.delete(c.lease.id);
      }
    }
    c.file.opens.delete(open);
    if (c.file.opens.size === 0) this.files.delete(c.file.key);
  }

  /** The file states of `opens` (the opens a path names before the CREATE opens it). */
  statesOf(opens: Iterable<Open>): FileState[] {
    const out = new Set<FileState>();
    for (const o of opens) if (o.caching) out.add(o.caching.file);
    return [...out];
  }
}

/**
 * What a new open leaves a holder with (after Samba's delay_for_oplock and
 * MS-FSA 2.1.4.12): with a sharing violation only H goes (so the client can
 * close its cached handle); otherwise W goes, and all of it when the open
 * truncates. (breakForOpen has already passed over the open's own lease and
 * a stat open that does not truncate.)
 */
function breakTarget(h: Holder, intent: OpenIntent, sharingConflict: boolean): number {
  let t: number;
  if (sharingConflict) t = h.state & ~H;
  else t = h.state & ~W;
  // An overwrite takes all of it (what was cached of the data is gone); never W alone.
  if (intent.truncate) t = 0;
  if (h instanceof OplockHolder && t !== h.state) t = t & R ? R : 0; // oplocks break to LEVEL_II or NONE
  return t;
}

/** "RHW"-style name of caching state bits, for log lines. */
function stateName(bits: number): string {
  return (bits & R ? 'R' : '') + (bits & H ? 'H' : '') + (bits & W ? 'W' : '') || 'none';
}

/** True when the new open conflicts with some existing open's share mode. */
export function sharingConflict(intent: OpenIntent, files: FileState[]): boolean {
  for (const f of files) for (const o of f.opens) if (!shareCompatible(intent.access, intent.share, o)) return true;
  return false;
}

/**
 * The connection and session a notification for `h` goes to. A lease belongs
 * to the client, not to one open: its break goes to the client's oldest
 * connection still up (with a session of the lease's own opens if one is
 * bound there), whichever connection its opens came through, as Windows and
 * Samba do (smbtorture smb2.lease.v2_complex1). An oplock's goes to its
 * open's connection.
 */
function deliveryFor(server: SmbServer, h: Holder): { send: (cmd: number, body: Buffer, s: Session) => void; session: Session } | null {
  // Only to a connection where the lease's own user has a session: a ClientGuid is the client's
  // word, and another user's connection claiming it must not take the break (the holder would
  // keep caching what others now change). A zero ClientGuid names no client.
  if (h instanceof Lease && !h.clientGuid.equals(ZERO_GUID)) {
    const owners = new Set([...h.opens].map((o) => o.owner));
    for (const conn of server.connections.values()) {
      if (conn.isClosed || !conn.negotiated?.clientGuid.equals(h.clientGuid)) continue;
      const own = [...h.opens].find((o) => !o.closed && conn.sessions.get(o.tree.session.id) === o.tree.session);
      const session = own?.tree.session ?? [...conn.sessions.values()].find((s) => s.state === 'valid' && owners.has(ownerKey(s)));
      if (session) return { send: (c, b, ss) => conn.sendUnsolicited(c, b, ss), session };
    }
  }
  for (const o of h.opens) {
    if (o.closed || o.durable?.disconnected) continue;
    const s = o.tree.session;
    const conn = server.connections.get(s.connectionId);
    if (conn && !conn.isClosed) return { send: (c, b, ss) => conn.sendUnsolicited(c, b, ss), session: s };
  }
  return null;
}

/**
 * Sends the break notification (3.3.4.6 oplock, 3.3.4.7 lease) and starts the
 * acknowledgment timer. Returns whether the break waits for an acknowledgment
 * (it does when W or H is taken away; 3.3.4.7: ACK_REQUIRED).
 */
export function sendBreak(server: SmbServer, table: FileTable, h: Holder, to: number, newEpoch = true): boolean {
  const from = h.state;
  const needAck = (from & (W | H)) !== 0 && from !== to;
  const target = h.breakingTo ?? from;
  const dest = deliveryFor(server, h);
  server.log.debug(`${h instanceof Lease ? 'lease' : 'oplock'} break ${stateName(from)} -> ${stateName(to)}${needAck ? ' (ack required)' : ''} ${dest ? `to connection ${dest.session.connectionId}` : 'undeliverable (no connected open)'}`);
  if (h instanceof Lease) {
    if (h.version === 2 && newEpoch) h.epoch = (h.epoch + 1) & 0xffff;
    const body = encodeOplockBreak({
      kind: 'leaseNotification',
      newEpoch: h.version === 2 ? h.epoch : 0,
      flags: needAck ? NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED : 0,
      leaseKey: h.key,
      currentLeaseState: target,
      newLeaseState: to,
      breakReason: 0,
      accessMaskHint: 0,
      shareMaskHint: 0,
    });
    if (dest) dest.send(Command.OPLOCK_BREAK, body, dest.session);
  } else if (h instanceof OplockHolder) {
    const body = encodeOplockBreak({ kind: 'oplock', oplockLevel: bitsToOplock(to), fileId: { persistent: h.open.persistentId, volatile: h.open.volatileId } });
    if (dest) dest.send(Command.OPLOCK_BREAK, body, dest.session);
  }
  if (!needAck) {
    h.endBreak(to);
    return false;
  }
  // 3.3.2.5 / 3.3.2.6: no acknowledgment in time: the holder is left with nothing.
  h.startBreak(to, table.breakTimeoutMs, () => {
    server.log.info(`${h instanceof Lease ? 'lease' : 'oplock'} break not acknowledged in ${table.breakTimeoutMs} ms; revoked`);
    h.endBreak(0);
  });
  return true;
}

/**
 * Breaks what stands in the way of a new open of the files `files` (3.3.5.9,
 * MS-FSA 2.1.5.1.2). Returns the promises to wait on before trying again, and
 * the disconnected durable opens whose holder must break: their client is not
 * there to acknowledge, so the caller closes them (Samba, smb2.durable-open).
 * Both empty: go on.
 */
export function breakForOpen(
  server: SmbServer,
  table: FileTable,
  files: FileState[],
  intent: OpenIntent,
  retry = false,
): { waits: Promise<void>[]; stale: Open[] } {
  const conflict = sharingConflict(intent, files);
  // The open waits only for a holder that had what is in its way: W (data it may not have
  // written yet), or H when share modes conflict (a handle it may close). An overwrite that
  // takes an RH lease to none goes on at once (smbtorture smb2.lease.breaking4; Samba alike).
  const inTheWay = conflict ? H : W;
  const waits: Promise<void>[] = [];
  const stale: Open[] = [];
  for (const f of files) {
    for (const h of f.holders()) {
      if (h instanceof Lease && h.id === intent.leaseId) continue; // its own lease
      // A stat open breaks nothing, unless it overwrites the file (smbtorture smb2.oplock exclusive5).
      if (isStatOpen(intent.access, h instanceof Lease) && !intent.truncate) continue;
      const to = breakTarget(h, intent, conflict);
      if (h.breakingTo !== null) {
        // A break under way: what the holder answers decides what this open meets. Less
        // than the break asks is asked for once it is acknowledged (ackLease), not now.
        if (to !== h.state) h.require(to);
        if (to === h.state || h.state & inTheWay || retry) waits.push(h.waitBreak());
        continue;
      }
      if (to === h.state) continue;
      const opens = [...h.opens];
      if (opens.length > 0 && opens.every((o) => o.durable?.disconnected)) {
        stale.push(...opens);
        continue;
      }
      const had = h.state;
      if (sendBreak(server, table, h, to) && had & inTheWay) waits.push(h.waitBreak());
    }
  }
  return { waits, stale };
}

/**
 * After an acknowledged lease break: a lower state asked for meanwhile is broken to
 * next. W and H go first, with an acknowledgment, R after them without (as Windows:
 * smbtorture smb2.lease.breaking3 sees RH -> R -> none). These breaks finish the one
 * acknowledged and keep its epoch (v2_breaking3).
 */
export function breakToRequired(server: SmbServer, lease: Lease, required: number | null): void {
  if (required === null || (lease.state & ~required) === 0) return;
  const next = lease.state & (W | H) && lease.state & R ? R | required : required;
  sendBreak(server, server.state.files, lease, next & lease.state, false);
}

/** What the other holders of a file leave a new open: W only alone, nothing beside a W holder. */
function grantable(f: FileState, open: Open, lease: Lease | null): number {
  let allowed = R | W | H;
  for (const o of f.opens) {
    if (o === open || (lease && o.caching?.lease === lease)) continue;
    if (!isStatOpen(o.grantedAccess, true)) allowed &= ~W;
  }
  for (const h of f.holders()) {
    if (h === lease) continue;
    if (h.state & W || (h.breakingTo !== null && h.breakingTo & W)) allowed = 0;
    // W is exclusive: not beside anyone else's read caching, a stat open's LEVEL_II included (smb2.oplock batch9).
    else if (h.state & R) allowed &= ~W;
    const held = h.breakingTo ?? h.state;
    // Leases and oplocks side by side (smbtorture smb2.lease oplock, Windows' table): a lease gets no H
    // beside an oplock, and an oplock nothing beside a lease that caches handles.
    if (lease && h instanceof OplockHolder && held !== 0) allowed &= ~H;
    if (!lease && h instanceof Lease && held & H) allowed = 0;
  }
  return allowed;
}

/** Grants an oplock to a new open (3.3.5.9: BATCH/EXCLUSIVE alone, LEVEL_II beside others). */
export function grantOplock(open: Open, requested: number): number {
  const c = open.caching;
  if (!c || open.isDirectory || requested === OplockLevel.NONE) return OplockLevel.NONE;
  const allowed = grantable(c.file, open, null);
  let level: number = OplockLevel.NONE;
  if (requested === OplockLevel.BATCH || requested === OplockLevel.EXCLUSIVE) {
    if (allowed & W) level = requested;
    else if (allowed & R) level = OplockLevel.II;
  } else if (requested === OplockLevel.II && allowed & R) level = OplockLevel.II;
  if (level !== OplockLevel.NONE) c.oplock = new OplockHolder(open, level);
  return level;
}

export interface LeaseAsk {
  clientGuid: Buffer;
  key: Buffer;
  state: number;
  version: 1 | 2;
  parentKey: Buffer | null;
  epoch: number;
}

/** Whether a lease key is already in use on another file (3.3.5.9.8: STATUS_INVALID_PARAMETER). */
export function leaseKeyElsewhere(table: FileTable, ask: LeaseAsk, fileKey: string | null): boolean {
  const l = table.leases.get(FileTable.leaseId(ask.clientGuid, ask.key));
  return !!l && fileKey !== null && l.file.key !== fileKey;
}

/**
 * Grants or joins a lease for a new open (3.3.5.9.8 / 3.3.5.9.11). A new lease
 * gets what the request asks and the file allows; an existing one (same key)
 * is upgraded when the request asks for more than it holds, the file allows all
 * of it, and nothing is breaking.
 */
export function grantLease(table: FileTable, open: Open, ask: LeaseAsk): Lease {
  const c = open.caching!;
  const id = FileTable.leaseId(ask.clientGuid, ask.key);
  let lease = table.leases.get(id);
  const want = validLeaseState(ask.state) & (open.isDirectory ? R | H : R | W | H);
  if (!lease) {
    lease = new Lease(id, Buffer.from(ask.clientGuid), Buffer.from(ask.key), c.file, ask.version, ask.parentKey);
    lease.state = want & grantable(c.file, open, lease);
    if (lease.state & W && !(lease.state & R)) lease.state = 0;
    lease.epoch = ask.version === 2 ? (ask.epoch + 1) & 0xffff : 0;
    table.leases.set(id, lease);
    c.file.leases.add(lease);
  } else if (lease.breakingTo === null && (want & lease.state) === lease.state && want !== lease.state) {
    // All of it or nothing: an upgrade the other leases do not allow whole leaves the lease as it
    // was (R beside another R asking RHW stays R, not RH: smbtorture smb2.lease upgrade3).
    if ((want & ~grantable(c.file, open, lease)) === 0) {
      lease.state = want;
      if (lease.version === 2) lease.epoch = (lease.epoch + 1) & 0xffff;
    }
  }
  lease.opens.add(open);
  c.lease = lease;
  return lease;
}

/**
 * A WRITE, a byte-range LOCK, or a change of end of file or allocation
 * through `open` (MS-FSA 2.1.4.12, WRITE / RANGE_LOCK / SET_INFORMATION):
 * read caching of the file's data goes. Every LEVEL_II oplock breaks to none,
 * the writer's own too (smbtorture smb2.oplock batch1: a "self break"); every
 * lease but the open's own breaks to none, RH too (smb2.lease lock1,
 * complex1: what Windows does). Nothing waits: a break from R needs no
 * acknowledgment, and one from RH is acknowledged while the operation goes
 * on. Holders with W are left alone: one exists only while no other open
 * could write (or it is this open's). A break already under way (say RWH ->
 * RH after an open) is left to end as it is. Called for every WRITE: it walks
 * the file's leases and opens in place (no holders() array).
 */
export function breakReadCaching(server: SmbServer, open: Open): void {
  const c = open.caching;
  if (!c) return;
  const table = server.state.files;
  const take = (h: Holder): void => {
    if (h.breakingTo === null && h.state & R && !(h.state & W)) sendBreak(server, table, h, 0);
  };
  for (const l of c.file.leases) if (l !== c.lease) take(l);
  for (const o of c.file.opens) if (o.caching?.oplock) take(o.caching.oplock);
}

/**
 * A rename takes handle caching from the file's other leases (MS-FSA
 * 2.1.4.12: the name their holders cache handles under is going; smbtorture
 * smb2.lease.v2_rename): RH leases break to R. Returns the breaks to wait for
 * (H goes only with an acknowledgment), those already under way included.
 */
export function breakHandleCaching(server: SmbServer, open: Open): Promise<void>[] {
  const c = open.caching;
  if (!c) return [];
  const waits: Promise<void>[] = [];
  for (const l of c.file.leases) {
    if (l === c.lease || !((l.breakingTo ?? l.state) & H)) continue;
    if (l.breakingTo !== null) waits.push(l.waitBreak());
    else if (sendBreak(server, server.state.files, l, l.state & ~H)) waits.push(l.waitBreak());
  }
  return waits;
}

