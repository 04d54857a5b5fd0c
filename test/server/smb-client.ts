/**
 * A small raw SMB2 client for server tests that need what smbclient cannot
 * show: interim STATUS_PENDING responses, CANCEL, server-to-client oplock and
 * lease break notifications. Unsigned, unencrypted (the test server runs with
 * signing "enabled"); NTLM through the project's own client authenticator.
 */
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { decodeHeader, encodeHeader, HEADER_SIZE, type Smb2Header } from '../../src/smb2/header.js';
import { Command, HeaderFlags, OplockLevel } from '../../src/smb2/constants.js';
import { NtStatus } from '../../src/smb2/status.js';
import { encodeNegotiateRequest } from '../../src/smb2/commands/negotiate.js';
import { encodeSessionSetupRequest, decodeSessionSetupResponse } from '../../src/smb2/commands/session-setup.js';
import { encodeTreeConnectRequest, decodeTreeConnectResponse } from '../../src/smb2/commands/tree-connect.js';
import { encodeCreateRequest, decodeCreateResponse, type CreateResponse } from '../../src/smb2/commands/create.js';
import { encodeCloseRequest } from '../../src/smb2/commands/close.js';
import { encodeCancelRequest } from '../../src/smb2/commands/cancel.js';
import { decodeOplockBreak, encodeOplockBreak, type OplockBreakMessage } from '../../src/smb2/commands/oplock-break.js';
import type { CreateContext } from '../../src/smb2/commands/create-contexts.js';
import type { FileId } from '../../src/smb2/wire.js';
import { createClientAuth } from '../../src/auth/authenticator.js';
import { frameHeader } from '../../src/transport/types.js';
import { after, before } from 'node:test';
import { startServer, USER, PASSWORD, type Running } from '../interop/harness.js';
import type { ServerOptions } from '../../src/server/server.js';

/**
 * Registers before/after hooks that start a test server (signing "enabled" unless
 * opts say otherwise) with one connected TestClient on share "share"; the getters
 * are valid inside tests.
 */
export function serverWithClient(opts: ServerOptions = {}): { readonly srv: Running; readonly c: TestClient } {
  let srv: Running | null = null;
  let c: TestClient | null = null;
  before(async () => {
    srv = await startServer({ signing: 'enabled', ...opts });
    c = await TestClient.connect(srv.port, USER, PASSWORD, 'share');
  });
  after(async () => {
    c?.destroy();
    await srv?.stop();
  });
  return { get srv() { return srv!; }, get c() { return c!; } };
}

export interface Response {
  hdr: Smb2Header;
  msg: Buffer;
  /** interim STATUS_PENDING responses seen before this one */
  interim: Smb2Header[];
}

interface Waiter {
  resolve: (r: Response) => void;
  interim: Smb2Header[];
}

export interface CreateOptions {
  access?: number;
  share?: number;
  disposition?: number;
  options?: number;
  oplock?: number;
  contexts?: CreateContext[];
  /** FileAttributes of the request; default NORMAL */
  attributes?: number;
}

/**
 * Connects to 127.0.0.1:port and calls onMessage with each SMB2 message (the
 * 4-byte direct-TCP header cut off, MS-SMB2 2.1), as its own Buffer.
 */
export async function dialFramed(port: number, onMessage: (msg: Buffer) => void, onClose: () => void): Promise<Socket> {
  const sock = await new Promise<Socket>((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  let buf = Buffer.alloc(0);
  sock.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 4) {
      const len = buf.readUInt32BE(0) & 0xffffff;
      if (buf.length < 4 + len) return;
      const msg = Buffer.from(buf.subarray(4, 4 + len));
      buf = buf.subarray(4 + len);
      onMessage(msg);
    }
  });
  sock.on('close', onClose);
  return sock;
}

/** An unsigned SMB2 request header (MS-SMB2 2.2.1.2); async when `asyncId` is given. */
export function requestHeader(o: {
  command: number;
  messageId: bigint;
  sessionId?: bigint;
  treeId?: number;
  charge?: number;
  credits?: number;
  nextCommand?: number;
  asyncId?: bigint;
  /** more flags (SMB2_FLAGS_REPLAY_OPERATION) */
  flags?: number;
  /** a 3.x request's ChannelSequence (2.2.1.2) */
  channelSequence?: number;
}): Buffer {
  const header = Buffer.alloc(HEADER_SIZE);
  encodeHeader({
    creditCharge: o.charge ?? 1,
    status: o.channelSequence ?? 0,
    command: o.command,
    credits: o.credits ?? 8,
    flags: (o.asyncId !== undefined ? HeaderFlags.ASYNC_COMMAND : 0) | (o.flags ?? 0),
    nextCommand: o.nextCommand ?? 0,
    messageId: o.messageId,
    asyncId: o.asyncId ?? 0n,
    processId: 0xfeff,
    treeId: o.treeId ?? 0,
    sessionId: o.sessionId ?? 0n,
    signature: Buffer.alloc(16),
  }, header, 0);
  return header;
}

/** One direct-TCP frame (MS-SMB2 2.1): the 4-byte length, then `parts`. */
export function framed(parts: readonly Buffer[]): Buffer {
  return Buffer.concat([frameHeader(parts.reduce((n, p) => n + p.length, 0)), ...parts]);
}

export class TestClient {
  private sock!: Socket;
  private nextId = 0n;
  private readonly waiters = new Map<bigint, Waiter>();
  /** server-to-client notifications (MessageId all ones), in arrival order */
  readonly breaks: OplockBreakMessage[] = [];
  private breakWaiters: (() => void)[] = [];
  sessionId = 0n;
  treeId = 0;
  clientGuid: Buffer = randomBytes(16);
  closed = false;
  /** set SMB2_FLAGS_REPLAY_OPERATION on the requests sent */
  replay = false;
  /** the ChannelSequence the requests carry */
  channelSequence = 0;

  /** `clientGuid`: another connection of the same client (its leases are the client's, not the connection's). */
  static async connect(port: number, user = 'bench', password = 'bench', share = 'bench', clientGuid?: Buffer): Promise<TestClient> {
    const c = new TestClient();
    if (clientGuid) c.clientGuid = clientGuid;
    c.sock = await dialFramed(port, (msg) => c.onMessage(msg), () => (c.closed = true));
    await c.setup(user, password, share);
    return c;
  }

  /** Sees every frame the server sends, whole (a compound's responses and their padding included). */
  onFrame: ((frame: Buffer) => void) | null = null;

  private onMessage(msg: Buffer): void {
    this.onFrame?.(msg);
    const hdr = decodeHeader(msg, 0);
    if (hdr.messageId === 0xffffffffffffffffn) {
      this.breaks.push(decodeOplockBreak(msg));
      const w = this.breakWaiters;
      this.breakWaiters = [];
      for (const fn of w) fn();
      return;
    }
    const w = this.waiters.get(hdr.messageId);
    if (!w) return;
    if (hdr.status === NtStatus.PENDING && hdr.flags & HeaderFlags.ASYNC_COMMAND) {
      w.interim.push(hdr);
      return;
    }
    this.waiters.delete(hdr.messageId);
    w.resolve({ hdr, msg, interim: w.interim });
  }

  /** One request's SMB2 header on this session and tree (unsigned; 64 credits asked). */
  private header(command: number, messageId: bigint, o: { charge?: number; nextCommand?: number; asyncId?: bigint } = {}): Buffer {
    const flags = this.replay ? HeaderFlags.REPLAY_OPERATION : 0;
    return requestHeader({ command, messageId, sessionId: this.sessionId, treeId: this.treeId, credits: 64, flags, channelSequence: this.channelSequence, ...o });
  }

  /** Writes one direct-TCP frame (MS-SMB2 2.1) holding `parts`. */
  private writeFrame(parts: Buffer[]): void {
    this.sock.write(framed(parts));
  }

  /** Sends one request; returns its MessageId and the promise of its final response. */
  send(command: number, body: Buffer, opts: { messageId?: bigint; asyncId?: bigint; charge?: number } = {}): { messageId: bigint; response: Promise<Response> } {
    const charge = opts.charge ?? 1;
    const messageId = opts.messageId ?? this.nextId;
    if (opts.messageId === undefined) this.nextId += BigInt(Math.max(charge, 1));
    const header = this.header(command, messageId, { asyncId: opts.asyncId, charge });
    const response = command === Command.CANCEL
      ? Promise.resolve(null as unknown as Response)
      : new Promise<Response>((resolve) => this.waiters.set(messageId, { resolve, interim: [] }));
    this.writeFrame([header, body]);
    return { messageId, response };
  }

  /**
   * Sends unrelated requests chained in one compound (MS-SMB2 3.2.4.1.4: each
   * but the last padded to 8 bytes, NextCommand its length). Returns the
   * MessageId of each; their responses are not collected.
   */
  sendCompound(reqs: { command: number; body: Buffer; charge?: number }[]): bigint[] {
    const ids: bigint[] = [];
    const msgs: Buffer[] = [];
    for (let i = 0; i < reqs.length; i++) {
      const r = reqs[i]!;
      const charge = r.charge ?? 1;
      const messageId = this.nextId;
      this.nextId += BigInt(charge);
      ids.push(messageId);
      const last = i === reqs.length - 1;
      const len = HEADER_SIZE + r.body.length;
      const padded = last ? len : (len + 7) & ~7;
      msgs.push(this.header(r.command, messageId, { charge, nextCommand: last ? 0 : padded }), r.body);
      if (padded > len) msgs.push(Buffer.alloc(padded - len));
    }
    this.writeFrame(msgs);
    return ids;
  }

  async request(command: number, body: Buffer): Promise<Response> {
    return this.send(command, body).response;
  }

  private async setup(user: string, password: string, share: string): Promise<void> {
    await this.request(Command.NEGOTIATE, encodeNegotiateRequest({ securityMode: 1, capabilities: 0x7f, clientGuid: this.clientGuid, dialects: [0x0202, 0x0210, 0x0300, 0x0302] }));
    const auth = createClientAuth({ user, password, domain: '' });
    let token: Buffer | null = null;
    for (;;) {
      const step = auth.step(token);
      const r = await this.request(Command.SESSION_SETUP, encodeSessionSetupRequest({ flags: 0, securityMode: 1, capabilities: 0, channel: 0, previousSessionId: 0n, securityBuffer: step.token }));
      this.sessionId = r.hdr.sessionId;
      if (r.hdr.status === 0) break;
      if (r.hdr.status !== NtStatus.MORE_PROCESSING_REQUIRED) throw new Error(`session setup: 0x${r.hdr.status.toString(16)}`);
      token = decodeSessionSetupResponse(r.msg).securityBuffer;
    }
    const t = await this.request(Command.TREE_CONNECT, encodeTreeConnectRequest({ flags: 0, path: `\\\\127.0.0.1\\${share}` }));
    if (t.hdr.status !== 0) throw new Error(`tree connect: 0x${t.hdr.status.toString(16)}`);
    decodeTreeConnectResponse(t.msg);
    this.treeId = t.hdr.treeId;
  }

  createBody(name: string, o: CreateOptions = {}): Buffer {
    return encodeCreateRequest({
      securityFlags: 0,
      requestedOplockLevel: o.oplock ?? OplockLevel.NONE,
      impersonationLevel: 2,
      smbCreateFlags: 0n,
      desiredAccess: o.access ?? 0x0012019f,
      fileAttributes: o.attributes ?? 0x80,
      shareAccess: o.share ?? 7,
      createDisposition: o.disposition ?? 3, // OPEN_IF
      createOptions: o.options ?? 0,
      name,
      createContexts: o.contexts ?? [],
    });
  }

  async create(name: string, o: CreateOptions = {}): Promise<{ status: number; res: CreateResponse | null; interim: number }> {
    const r = await this.request(Command.CREATE, this.createBody(name, o));
    return { status: r.hdr.status, res: r.hdr.status === 0 ? decodeCreateResponse(r.msg) : null, interim: r.interim.length };
  }

  async close(fileId: FileId): Promise<number> {
    return (await this.request(Command.CLOSE, encodeCloseRequest({ flags: 0, fileId }))).hdr.status;
  }

  cancel(target: { messageId: bigint } | { asyncId: bigint }): void {
    if ('asyncId' in target) this.send(Command.CANCEL, encodeCancelRequest(), { messageId: 0n, asyncId: target.asyncId });
    else this.send(Command.CANCEL, encodeCancelRequest(), { messageId: target.messageId });
  }

  async ack(m: OplockBreakMessage): Promise<Response> {
    return this.request(Command.OPLOCK_BREAK, encodeOplockBreak(m));
  }

  /** Resolves when `n` notifications have arrived (or rejects after `ms`). */
  async waitBreaks(n: number, ms = 3000): Promise<OplockBreakMessage[]> {
    const deadline = Date.now() + ms;
    while (this.breaks.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${n} break notifications, got ${this.breaks.length}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.breakWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.breaks.slice(0, n);
  }

  destroy(): void {
    this.sock.destroy();
  }

  /** The first interim (STATUS_PENDING) header of a request still waiting for its final response. */
  async waitInterim(messageId: bigint, ms = 1000): Promise<Smb2Header> {
    for (const end = Date.now() + ms; Date.now() < end; ) {
      const w = this.waiters.get(messageId);
      if (w && w.interim.length) return w.interim[0]!;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no interim response to message ${messageId}`);
  }

  async end(): Promise<void> {
    if (this.closed) return;
    await new Promise<void>((resolve) => {
      this.sock.once('close', () => resolve());
      this.sock.end();
    });
  }
}
