/**
 * A raw SMB 2/3 client for session tests: every request signed, every
 * signed response verified, 3.1.1 preauth integrity kept per connection and
 * per authentication, so it can do what smbclient cannot show: LOGOFF twice,
 * re-authenticate on a live session, bind a second connection to a session
 * (MS-SMB2 3.2.4.2.3 / 3.2.5.3.3) and be refused for each binding rule.
 * Keys come from src/crypto; smbtorture smb2.session is the other witness.
 */
import type { Socket } from 'node:net';
import { dialFramed, framed } from './smb-client.js';
import { randomBytes } from 'node:crypto';
import { decodeHeader, encodeHeader, HEADER_SIZE, type Smb2Header } from '../../src/smb2/header.js';
import { Cipher, Command, Dialect, HashAlgorithm, HeaderFlags, SessionSetupFlags } from '../../src/smb2/constants.js';
import { NtStatus } from '../../src/smb2/status.js';
import { decodeNegotiateResponse, encodeNegotiateRequest } from '../../src/smb2/commands/negotiate.js';
import { decodeSessionSetupResponse, encodeSessionSetupRequest } from '../../src/smb2/commands/session-setup.js';
import { encodeTreeConnectRequest } from '../../src/smb2/commands/tree-connect.js';
import { decodeCreateResponse, encodeCreateRequest } from '../../src/smb2/commands/create.js';
import { encodeReadRequest } from '../../src/smb2/commands/read.js';
import type { FileId } from '../../src/smb2/wire.js';
import { createClientAuth } from '../../src/auth/authenticator.js';
import { deriveSessionKeys } from '../../src/crypto/keys.js';
import { preauthInitial, preauthUpdate } from '../../src/crypto/preauth.js';
import { signingAlgorithmFor, signInPlace, verify, type SigningAlgorithm } from '../../src/crypto/signing.js';
import { decryptMessage, encryptMessage, parseTransformHeader } from '../../src/crypto/encryption.js';
import { keysForRole } from '../../src/crypto/keys.js';
import { protocolKind } from '../../src/smb2/header.js';

export interface Reply {
  hdr: Smb2Header;
  msg: Buffer;
  /** the response carried SMB2_FLAGS_SIGNED */
  signed: boolean;
  /** the response came in a transform header, and decrypted (node:crypto) */
  sealed?: boolean;
}

/** What a client knows of one session (3.2.1.3): the session's key, and per connection the channel's. */
export interface ClientSession {
  id: bigint;
  dialect: number;
  /** Session.SigningKey and the algorithm of the connection that set it up */
  signingKey: Buffer;
  signingAlgorithm: SigningAlgorithm;
  /** 3.x: the client's cipher keys (client to server, server to client) */
  encryptionKey?: Buffer | null;
  decryptionKey?: Buffer | null;
}

export interface ConnectOptions {
  dialects?: number[];
  /** 3.1.1 SIGNING_CAPABILITIES; omitted: none sent (the server then uses AES-CMAC) */
  signing?: number[];
  /** 3.1.1 ENCRYPTION_CAPABILITIES */
  ciphers?: number[];
  clientGuid?: Buffer;
}

export class SignedConnection {
  private sock!: Socket;
  private nextId = 0n;
  private readonly waiters = new Map<bigint, (r: Reply) => void>();
  dialect = 0;
  capabilities = 0;
  signingAlgorithm: SigningAlgorithm = 0 as SigningAlgorithm;
  /** Connection.PreauthIntegrityHashValue after NEGOTIATE */
  preauth: Buffer | null = null;
  /** Channel.SigningKey of each session on this connection */
  readonly channelKeys = new Map<bigint, Buffer>();
  /** the session of each id set up here (to open sealed responses) */
  private readonly sessions = new Map<bigint, ClientSession>();
  /** 3.1.1: the cipher the server chose (ENCRYPTION_CAPABILITIES) */
  cipherId = 0;
  /** sealed responses that did not decrypt */
  undecryptable = 0;
  closed = false;

  /** resolves when the server (or destroy()) ends the connection */
  readonly gone: Promise<void>;
  private onGone!: () => void;

  private constructor() {
    this.gone = new Promise((r) => (this.onGone = r));
  }

  static async open(port: number, o: ConnectOptions = {}): Promise<SignedConnection> {
    const c = new SignedConnection();
    c.sock = await dialFramed(port, (msg) => c.onMessage(msg), () => {
      c.closed = true;
      c.onGone();
    });
    await c.negotiate(o);
    return c;
  }

  private onMessage(raw: Buffer): void {
    let msg = raw;
    const sealed = protocolKind(raw) === 'transform';
    if (sealed) {
      const key = this.sessions.get(parseTransformHeader(raw)?.sessionId ?? -1n)?.decryptionKey;
      const plain = key ? decryptMessage(this.cipherId, key, raw) : null;
      if (!plain) return void this.undecryptable++;
      msg = plain;
    }
    const hdr = decodeHeader(msg, 0);
    if (hdr.status === NtStatus.PENDING && hdr.flags & HeaderFlags.ASYNC_COMMAND) return;
    const w = this.waiters.get(hdr.messageId);
    this.waiters.delete(hdr.messageId);
    w?.({ hdr, msg, signed: (hdr.flags & HeaderFlags.SIGNED) !== 0, sealed });
  }

  /** Sends one request; `key` signs it with `alg` (default: this connection's algorithm). Returns the request bytes too. */
  async request(command: number, body: Buffer, o: { sessionId?: bigint; treeId?: number; key?: Buffer | null; alg?: SigningAlgorithm; seal?: { key: Buffer; tamper?: (frame: Buffer) => void } } = {}): Promise<Reply & { sent: Buffer }> {
    const messageId = this.nextId++;
    const msg = Buffer.alloc(HEADER_SIZE + body.length);
    encodeHeader({
      creditCharge: 1, status: 0, command, credits: 32, flags: o.key ? HeaderFlags.SIGNED : 0, nextCommand: 0,
      messageId, asyncId: 0n, processId: 0xfeff, treeId: o.treeId ?? 0, sessionId: o.sessionId ?? 0n, signature: Buffer.alloc(16),
    }, msg, 0);
    body.copy(msg, HEADER_SIZE);
    if (o.key) signInPlace(o.alg ?? this.signingAlgorithm, o.key, msg);
    // Sealed (3.2.4.1.8): the whole message in a transform header, node:crypto's AES.
    const frame = o.seal ? encryptMessage(this.cipherId, o.seal.key, o.sessionId ?? 0n, msg) : msg;
    o.seal?.tamper?.(frame);
    const reply = new Promise<Reply>((resolve, reject) => {
      this.waiters.set(messageId, resolve);
      const t = setTimeout(() => reject(new Error(`no response to command ${command} (message ${messageId})`)), 5000);
      t.unref();
    });
    this.sock.write(framed([frame]));
    return { ...(await reply), sent: msg };
  }

  private async negotiate(o: ConnectOptions): Promise<void> {
    const dialects = o.dialects ?? [Dialect.SMB311];
    const has311 = dialects.includes(Dialect.SMB311);
    const body = encodeNegotiateRequest({
      securityMode: 2, capabilities: 0x7f, clientGuid: o.clientGuid ?? randomBytes(16), dialects,
      negotiateContexts: has311 ? {
        preauthIntegrity: { hashAlgorithms: [HashAlgorithm.SHA_512], salt: randomBytes(32) },
        encryption: { ciphers: o.ciphers ?? [Cipher.AES_128_GCM, Cipher.AES_128_CCM] },
        ...(o.signing ? { signing: { signingAlgorithms: o.signing } } : {}),
      } : undefined,
    });
    const r = await this.request(Command.NEGOTIATE, body);
    if (r.hdr.status !== 0) throw new Error(`NEGOTIATE: 0x${r.hdr.status.toString(16)}`);
    const neg = decodeNegotiateResponse(r.msg);
    this.dialect = neg.dialectRevision;
    this.capabilities = neg.capabilities;
    this.cipherId = neg.negotiateContexts?.encryption?.ciphers[0] ?? 0;
    const alg = neg.negotiateContexts?.signing?.signingAlgorithms[0];
    this.signingAlgorithm = signingAlgorithmFor(this.dialect, alg as SigningAlgorithm | undefined);
    if (this.dialect === Dialect.SMB311) this.preauth = preauthUpdate(preauthUpdate(preauthInitial(), r.sent), r.msg);
  }

  /**
   * One authentication exchange: a new session (`session` absent), a
   * re-authentication (`session` bound here) or a binding (`bind`). Returns
   * the final reply, and the session once it succeeded; a successful final
   * response must verify with the key the client derives (3.2.5.3.1).
   */
  async authenticate(user: string, password: string, o: { session?: ClientSession; bind?: boolean; unsigned?: boolean } = {}): Promise<{ reply: Reply; session: ClientSession | null }> {
    const auth = createClientAuth({ user, password, domain: '' });
    const s = o.session;
    let hash = this.preauth;
    let sessionId = s?.id ?? 0n;
    let token: Buffer | null = null;
    for (;;) {
      const step = auth.step(token);
      // Binding requests are signed with Session.SigningKey; a re-authentication with the channel's (3.2.4.1.1).
      const key = o.unsigned || !s ? null : o.bind ? s.signingKey : this.channelKeys.get(s.id) ?? null;
      const r = await this.request(Command.SESSION_SETUP, encodeSessionSetupRequest({
        flags: o.bind ? SessionSetupFlags.BINDING : 0, securityMode: 2, capabilities: 0, channel: 0, previousSessionId: 0n, securityBuffer: step.token,
      }), { sessionId, key, alg: o.bind ? s!.signingAlgorithm : undefined });
      if (hash) hash = preauthUpdate(hash, r.sent);
      sessionId = r.hdr.sessionId;
      if (r.hdr.status === NtStatus.MORE_PROCESSING_REQUIRED) {
        if (hash) hash = preauthUpdate(hash, r.msg);
        token = decodeSessionSetupResponse(r.msg).securityBuffer;
        continue;
      }
      if (r.hdr.status !== 0) return { reply: r, session: null };
      auth.step(decodeSessionSetupResponse(r.msg).securityBuffer);
      if (s && !o.bind) {
        // Re-authentication: the keys stay.
        this.mustVerify(r, this.channelKeys.get(s.id)!, this.signingAlgorithm);
        return { reply: r, session: s };
      }
      const keys = deriveSessionKeys({ dialect: this.dialect, gssSessionKey: auth.sessionKey, preauthHash: hash ?? undefined, cipherId: this.cipherId || undefined });
      this.mustVerify(r, keys.signingKey, this.signingAlgorithm);
      this.channelKeys.set(sessionId, keys.signingKey);
      const cipher = keysForRole(keys, 'client');
      const session = s ?? {
        id: sessionId, dialect: this.dialect, signingKey: keys.signingKey, signingAlgorithm: this.signingAlgorithm,
        encryptionKey: cipher.encryptionKey, decryptionKey: cipher.decryptionKey,
      };
      this.sessions.set(sessionId, session);
      return { reply: r, session };
    }
  }

  private mustVerify(r: Reply, key: Buffer, alg: SigningAlgorithm): void {
    if (!r.signed) throw new Error('the final SESSION_SETUP response is not signed');
    if (!verify(alg, key, r.msg)) throw new Error('the final SESSION_SETUP response does not verify with the derived key');
  }

  /** A request on `session`, signed with this connection's channel key; a signed response must verify with it. */
  async call(session: ClientSession, command: number, body: Buffer, treeId = 0): Promise<Reply> {
    const key = this.channelKeys.get(session.id) ?? null;
    const r = await this.request(command, body, { sessionId: session.id, treeId, key });
    const skip = r.hdr.status === NtStatus.USER_SESSION_DELETED; // signed flag set, signature not checkable (3.3.4.1.1)
    if (r.signed && key && !skip && !verify(this.signingAlgorithm, key, r.msg)) throw new Error(`response to command ${command} does not verify`);
    return r;
  }

  /**
   * A request on `session` sealed with its client-to-server key (unsigned, as
   * sealed requests are); `tamper` may change the frame before it goes.
   */
  async sealedCall(session: ClientSession, command: number, body: Buffer, treeId = 0, tamper?: (frame: Buffer) => void): Promise<Reply> {
    if (!session.encryptionKey || !this.cipherId) throw new Error('no cipher negotiated for this session');
    return this.request(command, body, { sessionId: session.id, treeId, seal: { key: session.encryptionKey, tamper } });
  }

  /** TREE_CONNECT of `share`, signed, or (`sealed`) sealed and answered sealed; throws unless it succeeds. */
  async treeConnect(session: ClientSession, share: string, o: { sealed?: boolean } = {}): Promise<number> {
    const body = encodeTreeConnectRequest({ flags: 0, path: `\\\\127.0.0.1\\${share}` });
    const r = o.sealed ? await this.sealedCall(session, Command.TREE_CONNECT, body) : await this.call(session, Command.TREE_CONNECT, body);
    if (r.hdr.status !== 0) throw new Error(`TREE_CONNECT: 0x${r.hdr.status.toString(16)}`);
    if (o.sealed && !r.sealed) throw new Error('a sealed TREE_CONNECT answered unsealed');
    return r.hdr.treeId;
  }

  /**
   * CREATE of `name` for read and write, signed or (`sealed`) sealed:
   * `disposition` (default 1, open), or with `dir` the directory opened.
   * The reply and the file id, zeros unless it succeeded.
   */
  async create(session: ClientSession, treeId: number, name: string, o: { disposition?: number; dir?: boolean; sealed?: boolean } = {}): Promise<{ reply: Reply; fileId: FileId }> {
    const body = encodeCreateRequest({
      securityFlags: 0, requestedOplockLevel: 0, impersonationLevel: 2, smbCreateFlags: 0n, desiredAccess: o.dir ? 0x120089 : 0x0012019f,
      fileAttributes: o.dir ? 0 : 0x80, shareAccess: 7, createDisposition: o.disposition ?? 1, createOptions: o.dir ? 1 : 0, name, createContexts: [],
    });
    const reply = o.sealed ? await this.sealedCall(session, Command.CREATE, body, treeId) : await this.call(session, Command.CREATE, body, treeId);
    return { reply, fileId: reply.hdr.status === 0 ? decodeCreateResponse(reply.msg).fileId : { persistent: 0n, volatile: 0n } };
  }

  /** CREATE of `name` for read and write (disposition 1: open, 3: open or create); throws unless it succeeds. */
  async openFile(session: ClientSession, treeId: number, name: string, disposition = 1): Promise<FileId> {
    const { reply, fileId } = await this.create(session, treeId, name, { disposition });
    if (reply.hdr.status !== 0) throw new Error(`CREATE ${name}: 0x${reply.hdr.status.toString(16)}`);
    return fileId;
  }

  /** The next message id, the counter advanced by `charge` (for requests made outside request()). */
  takeId(charge = 1): bigint {
    const id = this.nextId;
    this.nextId += BigInt(charge);
    return id;
  }

  /**
   * Sends `frame` (a whole SMB2 or transform message, as it is) and resolves
   * with the first response to any of `ids` (a sealed one opened), or null
   * when the connection ends or `ms` pass first.
   */
  async sendFrame(frame: Buffer, ids: readonly bigint[], ms: number): Promise<Reply | null> {
    let timer: NodeJS.Timeout | undefined;
    const answered = new Promise<Reply>((resolve) => {
      for (const id of ids) this.waiters.set(id, resolve);
    });
    this.sock.write(framed([frame]));
    try {
      return await Promise.race([answered, this.gone.then(() => null), new Promise<null>((r) => (timer = setTimeout(() => r(null), ms)))]);
    } finally {
      clearTimeout(timer);
      for (const id of ids) this.waiters.delete(id);
    }
  }

  /** Stops reading the socket: the server's responses back up in its send queue. */
  pause(): void {
    this.sock.pause();
  }

  resume(): void {
    this.sock.resume();
  }

  destroy(): void {
    this.sock.destroy();
  }
}

/** A READ request body for `length` bytes at `offset`. */
export function readRequest(fileId: FileId, length: number, offset: bigint): Buffer {
  return encodeReadRequest({ padding: 0x50, flags: 0, length, offset, fileId, minimumCount: 0, channel: 0, remainingBytes: 0, readChannelInfo: Buffer.alloc(0) });
}
