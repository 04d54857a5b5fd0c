/**
 * One client connection: turns PDUs into requests and responses
 * (MS-SMB2 3.3.5.2): decryption, compound splitting, central validation,
 * credits, session/tree lookup, signature checks, dispatch, response
 * signing and encryption. Handlers see none of this.
 */
import { decodeHeader, encodeHeader, protocolKind, HEADER_SIZE, type Smb2Header } from '../smb2/header.js';
import { Command, HeaderFlags } from '../smb2/constants.js';
import { NtStatus, statusName } from '../smb2/status.js';
import { validateRequest } from '../smb2/validate.js';
import { splitCompound, compoundPadding } from '../smb2/compound.js';
import { handleSmb1Negotiate } from './handlers/negotiate.js';
import { decryptMessage, encryptMessage, parseTransformHeader } from '../crypto/encryption.js';
import { signInPlace, verify, type SigningAlgorithm } from '../crypto/signing.js';
import { preauthUpdate } from '../crypto/preauth.js';
import type { TransportConnection } from '../transport/types.js';
import { CreditWindow } from './credits.js';
import { errorReply, type Reply, type RequestContext } from './context.js';
import { COMMANDS } from './dispatch.js';
import type { Session, TreeConnect, Open } from './state.js';
import type { SmbServer } from './server.js';

export interface NegotiatedState {
  dialect: number;
  clientGuid: Buffer;
  clientCapabilities: number;
  clientSecurityMode: number;
  serverCapabilities: number;
  cipherId: number;
  signingAlgorithm: SigningAlgorithm;
  /** 3.1.1 Connection.PreauthIntegrityHashValue */
  preauthHash: Buffer | null;
  maxTransact: number;
  maxRead: number;
  maxWrite: number;
}

const MAX_CREDITS = 8192;
const ZERO_SIGNATURE = Buffer.alloc(16);
const ZERO_PAD = Buffer.alloc(8);

/** One response on its way out: header and body as they are (no copy), and who signs or seals it. */
interface OutMessage {
  parts: Buffer[];
  length: number;
  signWith: Session | null;
  encryptWith: Session | null;
}

type Related = { open: Open | null; session: Session | null; tree: TreeConnect | null; status: number };

export class SmbConnection {
  readonly id: number;
  negotiated: NegotiatedState | null = null;
  readonly sessions = new Map<bigint, Session>();
  private readonly credits = new CreditWindow(MAX_CREDITS);
  private closed = false;
  private inflight = 0;
  lastActivity = Date.now();
  readonly connectedAt = Date.now();

  constructor(readonly server: SmbServer, readonly transport: TransportConnection) {
    this.id = transport.id;
    transport.onMessage = (pdu) => this.onPdu(pdu);
    transport.onClose = () => this.onClosed();
  }

  get peer(): string {
    return `${this.transport.remoteAddress}:${this.transport.remotePort}`;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Ends the connection with a log line (a protocol violation or a limit). */
  drop(reason: string): void {
    if (this.closed) return;
    this.server.log.warn(`connection ${this.id} (${this.peer}): ${reason}; disconnecting`);
    this.transport.close();
  }

  private onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.server.connectionClosed(this);
  }

  private onPdu(pdu: Buffer): void {
    this.lastActivity = Date.now();
    this.inflight++;
    if (this.inflight > this.server.config.maxOutstanding) this.transport.pause();
    this.handlePdu(pdu)
      .catch((err) => this.drop(`internal error: ${(err as Error).stack ?? err}`))
      .finally(() => {
        this.inflight--;
        if (this.inflight === this.server.config.maxOutstanding) this.transport.resume();
      });
  }

  private async handlePdu(raw: Buffer): Promise<void> {
    const kind = protocolKind(raw);
    if (kind === 'smb1') return handleSmb1Negotiate(this.server, this, raw);
    let pdu = raw;
    let encryptedSession: Session | null = null;
    if (kind === 'transform') {
      const th = parseTransformHeader(raw);
      const s = th ? this.server.state.sessions.get(th.sessionId) : undefined;
      if (!th || !s || !s.decryptionKey || !this.negotiated) return this.drop('encrypted message for an unknown session');
      const plain = decryptMessage(this.negotiated.cipherId, s.decryptionKey, raw);
      if (!plain) return this.drop('message failed decryption');
      pdu = plain;
      encryptedSession = s;
    } else if (kind !== 'smb2') {
      return this.drop(kind === 'compressed' ? 'compressed messages are not supported' : 'not an SMB2 message');
    }
    const msgs = splitCompound(pdu);
    if (!msgs) return this.drop('malformed compound (truncated header or bad NextCommand)');
    const responses: OutMessage[] = [];
    const related: Related = { open: null, session: null, tree: null, status: 0 };
    let sealWith = encryptedSession;
    for (let i = 0; i < msgs.length; i++) {
      const msg = msgs[i]!;
      const hdr = decodeHeader(msg, 0);
      if (hdr.flags & HeaderFlags.SERVER_TO_REDIR) return this.drop('response received from client');
      const out = await this.handleRequest(hdr, msg, i === 0, related, encryptedSession);
      if (out === null) return; // dropped
      if (out === 'none') continue; // CANCEL: no response
      responses.push(out);
      sealWith ??= out.encryptWith;
    }
    this.sendResponses(responses, sealWith);
  }

  private async handleRequest(
    hdr: Smb2Header,
    msg: Buffer,
    first: boolean,
    rel: Related,
    encSession: Session | null,
  ): Promise<OutMessage | 'none' | null> {
    const spec = COMMANDS[hdr.command];
    const isCancel = hdr.command === Command.CANCEL;
    if (!isCancel) {
      const charge = this.negotiated && this.negotiated.dialect > 0x0202 ? hdr.creditCharge : 1;
      if (!this.credits.consume(hdr.messageId, charge)) {
        this.drop(`message id ${hdr.messageId} (charge ${charge}) outside the credit window`);
        return null;
      }
    }
    if (!this.negotiated && hdr.command !== Command.NEGOTIATE) {
      this.drop(`${spec?.name ?? hdr.command} before NEGOTIATE`);
      return null;
    }
    const isRelated = !first && (hdr.flags & HeaderFlags.RELATED_OPERATIONS) !== 0;
    const ctx: RequestContext = {
      server: this.server, conn: this, hdr, msg, session: null, tree: null,
      encrypted: encSession !== null, related: { open: isRelated ? rel.open : null },
    };
    let reply: Reply;
    let signWith: Session | null = null;
    const bad = spec ? validateRequest(msg, hdr.command) : NtStatus.INVALID_PARAMETER;
    if (!spec || bad !== null) {
      if (!spec) this.server.log.warn(`connection ${this.id}: unknown command ${hdr.command}`);
      else this.server.log.debug(`connection ${this.id}: malformed ${spec.name}: ${statusName(bad!)}`);
      reply = errorReply(bad ?? NtStatus.INVALID_PARAMETER);
    } else if (isRelated && rel.status !== 0 && rel.status !== NtStatus.MORE_PROCESSING_REQUIRED) {
      reply = errorReply(rel.status);
    } else {
      const pre = this.resolve(ctx, spec.session, spec.tree, isRelated ? rel : null, encSession);
      signWith = ctx.session;
      if (pre !== null) reply = errorReply(pre);
      else {
        try {
          reply = await spec.handler(ctx);
        } catch (err) {
          this.server.log.error(`connection ${this.id}: ${spec.name} failed: ${(err as Error).stack ?? err}`);
          reply = errorReply(NtStatus.INTERNAL_ERROR);
        }
      }
    }
    if (this.closed) return null;
    // CANCEL has no response (3.3.5.16).
    if (isCancel) return 'none';
    rel.status = reply.status;
    rel.open = ctx.related.open;
    rel.session = ctx.session;
    rel.tree = ctx.tree;
    const session = ctx.session ?? (reply.sessionId !== undefined ? this.server.state.sessions.get(reply.sessionId) ?? null : null);
    const out = this.buildResponse(hdr, reply, isRelated, ctx);
    // 3.1.1: the connection's preauth hash covers NEGOTIATE request and response.
    if (hdr.command === Command.NEGOTIATE && reply.status === 0 && this.negotiated?.preauthHash) {
      this.negotiated.preauthHash = preauthUpdate(this.negotiated.preauthHash, out.parts);
    }
    // 3.1.1: every SESSION_SETUP exchange except the final response goes into the session's hash.
    if (hdr.command === Command.SESSION_SETUP && session?.preauthHash && reply.status === NtStatus.MORE_PROCESSING_REQUIRED) {
      session.preauthHash = preauthUpdate(session.preauthHash, out.parts);
    }
    const seal = session && session.state === 'valid' && (session.encryptData || ctx.tree?.share.encrypt) && session.encryptionKey ? session : null;
    out.encryptWith = encSession ?? seal;
    if (out.encryptWith === null) out.signWith = this.signerFor(hdr, signWith ?? session, reply);
    return out;
  }

  /** Session and tree lookup, encryption and signing checks (3.3.5.2.9-11, 3.3.5.2.4). */
  private resolve(ctx: RequestContext, needSession: boolean, needTree: boolean, rel: { session: Session | null; tree: TreeConnect | null } | null, enc: Session | null): number | null {
    const hdr = ctx.hdr;
    const sid = rel && hdr.sessionId === 0xffffffffffffffffn ? rel.session?.id ?? 0n : hdr.sessionId;
    if (needSession || sid !== 0n) {
      const s = this.server.state.sessions.get(sid);
      if (!s) return hdr.command === Command.SESSION_SETUP && sid === 0n ? null : NtStatus.USER_SESSION_DELETED;
      if (hdr.command !== Command.SESSION_SETUP) {
        if (s.state === 'expired') return NtStatus.NETWORK_SESSION_EXPIRED;
        if (s.state !== 'valid') return NtStatus.USER_SESSION_DELETED;
      }
      ctx.session = s;
      s.lastActivity = Date.now();
      if (enc && enc !== s) return NtStatus.ACCESS_DENIED;
      if (s.state === 'valid' && s.encryptData && !enc && hdr.command !== Command.SESSION_SETUP) return NtStatus.ACCESS_DENIED;
      const st = this.checkSignature(ctx, s, enc !== null);
      if (st !== null) return st;
    }
    if (needTree) {
      const tid = rel && hdr.treeId === 0xffffffff ? rel.tree?.id ?? 0 : hdr.treeId;
      const t = ctx.session?.trees.get(tid);
      if (!t) return NtStatus.NETWORK_NAME_DELETED;
      if (t.share.encrypt && !enc && this.negotiated!.dialect >= 0x0300) return NtStatus.ACCESS_DENIED;
      ctx.tree = t;
    }
    return null;
  }

  private checkSignature(ctx: RequestContext, s: Session, encrypted: boolean): number | null {
    const hdr = ctx.hdr;
    if (encrypted || s.state !== 'valid' || !s.signingKey) return null;
    const signed = (hdr.flags & HeaderFlags.SIGNED) !== 0;
    if (!signed) {
      if (s.signingRequired && hdr.command !== Command.CANCEL && hdr.command !== Command.ECHO) return NtStatus.ACCESS_DENIED;
      return null;
    }
    const ok = verify(s.signingAlgorithm, s.signingKey, ctx.msg, { isCancel: hdr.command === Command.CANCEL });
    if (!ok) {
      this.server.log.warn(`connection ${this.id} (${this.peer}): bad signature on ${COMMANDS[hdr.command]?.name ?? hdr.command} for session ${s.id.toString(16)}`);
      return NtStatus.ACCESS_DENIED;
    }
    return null;
  }

  /** The response header, followed by the body parts as the handler gave them (no copy of data). */
  private buildResponse(req: Smb2Header, reply: Reply, related: boolean, ctx: RequestContext): OutMessage {
    const header = Buffer.allocUnsafe(HEADER_SIZE);
    const grant = req.command === Command.CANCEL ? 0 : this.credits.grant(req.credits, req.creditCharge);
    encodeHeader({
      creditCharge: req.creditCharge,
      status: reply.status >>> 0,
      command: req.command,
      credits: grant,
      flags: HeaderFlags.SERVER_TO_REDIR | (related ? HeaderFlags.RELATED_OPERATIONS : 0),
      nextCommand: 0,
      messageId: req.messageId,
      asyncId: 0n,
      processId: req.processId,
      treeId: reply.treeId ?? ctx.tree?.id ?? req.treeId,
      sessionId: reply.sessionId ?? ctx.session?.id ?? req.sessionId,
      signature: ZERO_SIGNATURE,
    }, header, 0);
    const parts: Buffer[] = [header];
    let length = HEADER_SIZE;
    for (const p of Array.isArray(reply.body) ? reply.body : [reply.body]) {
      parts.push(p);
      length += p.length;
    }
    return { parts, length, signWith: null, encryptWith: null };
  }

  /** The session whose key signs this response, or null (3.3.4.1.1). */
  private signerFor(req: Smb2Header, s: Session | null, reply: Reply): Session | null {
    if (!s || !s.signingKey) return null;
    const isFinalSetup = req.command === Command.SESSION_SETUP && reply.status === 0 && !s.isGuest && !s.isAnonymous;
    const wants = isFinalSetup || (s.state === 'valid' && (s.signingRequired || (req.flags & HeaderFlags.SIGNED) !== 0));
    if (!wants) return null;
    if (reply.status === NtStatus.USER_SESSION_DELETED || reply.status === NtStatus.NETWORK_SESSION_EXPIRED) return null;
    return s;
  }

  /** Pads and chains a compound, signs each response over its padded length, and seals the whole when a session encrypts. */
  private sendResponses(responses: OutMessage[], sealWith: Session | null): void {
    if (responses.length === 0 || this.closed) return;
    const parts: Buffer[] = [];
    for (let i = 0; i < responses.length; i++) {
      const r = responses[i]!;
      if (i < responses.length - 1) {
        const pad = compoundPadding(r.length);
        if (pad) r.parts.push(ZERO_PAD.subarray(0, pad));
        r.parts[0]!.writeUInt32LE(r.length + pad, 20);
      }
      const s = sealWith ? null : r.signWith;
      if (s) signInPlace(s.signingAlgorithm, s.signingKey!, r.parts);
      for (const p of r.parts) parts.push(p);
    }
    if (sealWith && sealWith.encryptionKey && this.negotiated) {
      this.transport.send([encryptMessage(this.negotiated.cipherId, sealWith.encryptionKey, sealWith.id, parts)]);
      return;
    }
    this.transport.send(parts);
  }

  /** Sends an SMB2 message built outside the request path (the SMB1 negotiate answer). */
  sendRaw(bytes: Buffer): void {
    if (!this.closed) this.transport.send([bytes]);
  }

  /** The SMB1 NEGOTIATE used message id 0; grants the credits of its SMB2 answer. */
  grantCredits(requested: number): number {
    this.credits.consume(0n, 1);
    return this.credits.grant(requested, 1);
  }
}
