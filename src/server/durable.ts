/**
 * Durable handles v1 and v2 (MS-SMB2 3.3.5.9.6 DHnQ, 3.3.5.9.10 DH2Q, 3.3.5.9.7
 * DHnC, 3.3.5.9.12 DH2C; persistent handles are not offered). A durable open
 * outlives its session and connection (logoff, TCP loss) for a timeout and can
 * be reconnected from another session of the same user; a tree disconnect or
 * CLOSE ends it as usual. Samba's behaviour (smbtorture smb2.durable-open) where
 * the spec leaves room: the reconnect ignores the CREATE's other fields, for
 * oplocks even the name; a lease reconnect must name the same file and key.
 */
import { CreateContextName, OplockLevel } from '../smb2/constants.js';
import {
  decodeDH2CRequest,
  decodeDH2QRequest,
  decodeDHnCRequest,
  encodeDH2QResponse,
  encodeDHnQResponse,
  findContext,
  type CreateContext,
} from '../smb2/commands/create-contexts.js';
import { NtStatus } from '../smb2/status.js';
import { H } from './oplock.js';
import { sameStream } from './streams.js';
import type { Open, TreeConnect } from './state.js';
import type { SmbServer } from './server.js';

/** 3.3.5.9.10: the server's own choice when DH2Q asks for 0; Samba caps requests at 300 s. */
const DEFAULT_TIMEOUT_MS = 60_000;
const MAX_TIMEOUT_MS = 300_000;
const ZERO_GUID = Buffer.alloc(16);

export interface DurableState {
  v2: boolean;
  createGuid: Buffer | null;
  timeoutMs: number;
  /** no session holds it: waiting for a reconnect or its timeout */
  disconnected: boolean;
  timer: NodeJS.Timeout | null;
  /** who may reconnect it (3.3.5.9.7: Open.Session.UserName / DurableOwner) */
  owner: string;
  clientGuid: Buffer;
}

export interface DurableAsk {
  v1: boolean;
  v2: { timeout: number; flags: number; createGuid: Buffer } | null;
  reconnect: { persistent: bigint; volatile: bigint; createGuid: Buffer | null } | null;
}

/** The durable contexts of a CREATE; a number is the status to fail it with (3.3.5.9). */
export function parseDurable(list: CreateContext[]): DurableAsk | number {
  const q = findContext(list, CreateContextName.DURABLE_HANDLE_REQUEST);
  const q2 = findContext(list, CreateContextName.DURABLE_HANDLE_REQUEST_V2);
  const c = findContext(list, CreateContextName.DURABLE_HANDLE_RECONNECT);
  const c2 = findContext(list, CreateContextName.DURABLE_HANDLE_RECONNECT_V2);
  try {
    // 3.3.5.9.6, 3.3.5.9.7, 3.3.5.9.10: v1 and v2 contexts together are invalid, and so is a
    // DH2Q beside a DH2C (3.3.5.9.10; a DHnQ beside a DHnC is ignored, 3.3.5.9.7).
    if ((q || c) && (q2 || c2)) return NtStatus.INVALID_PARAMETER;
    if (q2 && c2) return NtStatus.INVALID_PARAMETER;
    const ask: DurableAsk = { v1: false, v2: null, reconnect: null };
    if (c) {
      const id = decodeDHnCRequest(c.data);
      ask.reconnect = { ...id, createGuid: null };
      return ask; // 3.3.5.9.7: a DHnQ beside DHnC is ignored
    }
    if (c2) {
      const r = decodeDH2CRequest(c2.data);
      ask.reconnect = { persistent: r.persistent, volatile: r.volatile, createGuid: r.createGuid };
      return ask;
    }
    if (q) {
      if (q.data.length !== 16) return NtStatus.INVALID_PARAMETER;
      ask.v1 = true;
    }
    if (q2) ask.v2 = decodeDH2QRequest(q2.data);
    return ask;
  } catch {
    return NtStatus.INVALID_PARAMETER;
  }
}

/**
 * Makes a new open durable when asked and allowed (3.3.5.9.6 / 3.3.5.9.10: a
 * BATCH oplock or a lease with handle caching), returning the response context.
 */
export function grantDurable(open: Open, ask: DurableAsk, clientGuid: Buffer, oplockLevel: number, leaseState: number | null): CreateContext | null {
  if (!ask.v1 && !ask.v2) return null;
  if (open.isDirectory && !ask.v2) return null;
  const cached = leaseState !== null ? (leaseState & H) !== 0 : oplockLevel === OplockLevel.BATCH;
  if (!cached) return null;
  const s = open.tree.session;
  const owner = `${s.domain}\\${s.user}`.toLowerCase();
  if (ask.v2) {
    const t = ask.v2.timeout === 0 ? DEFAULT_TIMEOUT_MS : Math.min(ask.v2.timeout, MAX_TIMEOUT_MS);
    open.durable = { v2: true, createGuid: Buffer.from(ask.v2.createGuid), timeoutMs: t, disconnected: false, timer: null, owner, clientGuid: Buffer.from(clientGuid) };
    return { name: CreateContextName.DURABLE_HANDLE_REQUEST_V2, data: encodeDH2QResponse(t, 0) };
  }
  open.durable = { v2: false, createGuid: null, timeoutMs: DEFAULT_TIMEOUT_MS, disconnected: false, timer: null, owner, clientGuid: Buffer.from(clientGuid) };
  return { name: CreateContextName.DURABLE_HANDLE_REQUEST, data: encodeDHnQResponse() };
}

/**
 * Its session is going away (logoff, connection loss): keeps the open for its
 * timeout, detached from tree and session. Returns false when it is not durable
 * (the caller closes it).
 */
export function preserveDurable(server: SmbServer, open: Open): boolean {
  const d = open.durable;
  if (!d || open.closed) return false;
  if (d.disconnected) return true;
  // A break in progress cannot be acknowledged any more: the open goes (Samba does the same).
  const c = open.caching;
  if (c?.oplock?.breakingTo != null || c?.lease?.breakingTo != null) return false;
  d.disconnected = true;
  open.tree.opens.delete(open);
  d.timer = setTimeout(() => {
    d.timer = null;
    server.log.debug(`durable open of "${open.path}" not reconnected in ${d.timeoutMs} ms; closed`);
    void server.closeOpen(open);
  }, d.timeoutMs);
  d.timer.unref();
  return true;
}

/** Stops the timer of a durable open that is being closed. */
export function forgetDurable(open: Open): void {
  if (open.durable?.timer) clearTimeout(open.durable.timer);
  if (open.durable) open.durable.timer = null;
}

export interface ReconnectCheck {
  tree: TreeConnect;
  /** share-relative path the CREATE names, and its stream (streams.ts) */
  path: string | null;
  stream: string | null;
  clientGuid: Buffer;
  /** lease key of the CREATE's RqLs, if any */
  leaseKey: Buffer | null;
}

/**
 * Finds the disconnected durable open a DHnC/DH2C names and checks it may be
 * reconnected (3.3.5.9.7, 3.3.5.9.12). Returns the open or the failure status.
 */
export function findReconnect(server: SmbServer, ask: NonNullable<DurableAsk['reconnect']>, c: ReconnectCheck): Open | number {
  const open = server.state.opens.get(ask.volatile);
  if (!open || open.closed || open.persistentId !== ask.persistent || !open.durable) return NtStatus.OBJECT_NAME_NOT_FOUND;
  const d = open.durable;
  // DH2C names the CreateGuid of the DH2Q (a v1 durable open has none: zeros, as Samba accepts).
  if (ask.createGuid && !ask.createGuid.equals(d.createGuid ?? ZERO_GUID)) return NtStatus.OBJECT_NAME_NOT_FOUND;
  if (open.tree.share !== c.tree.share) return NtStatus.OBJECT_NAME_NOT_FOUND;
  const lease = open.caching?.lease ?? null;
  // A lease open is reconnected only with its lease key (and so its ClientGuid); an oplock open without any.
  if (lease) {
    if (!c.leaseKey || !c.leaseKey.equals(lease.key) || !c.clientGuid.equals(d.clientGuid)) return NtStatus.OBJECT_NAME_NOT_FOUND;
  } else if (c.leaseKey) {
    return NtStatus.OBJECT_NAME_NOT_FOUND;
  }
  if (!d.disconnected) return NtStatus.OBJECT_NAME_NOT_FOUND;
  const s = c.tree.session;
  if (`${s.domain}\\${s.user}`.toLowerCase() !== d.owner) return NtStatus.ACCESS_DENIED;
  // Unlike oplocks, a lease reconnect must name the same file (smbtorture reopen2_lease).
  if (lease && (c.path !== open.path || !sameStream(c.stream, open.stream))) return NtStatus.INVALID_PARAMETER;
  return open;
}

/** Attaches a disconnected durable open to the reconnecting tree. */
export function reattach(open: Open, tree: TreeConnect): void {
  const d = open.durable!;
  forgetDurable(open);
  d.disconnected = false;
  open.tree = tree;
  tree.opens.add(open);
}
