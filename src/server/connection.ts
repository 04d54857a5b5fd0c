/**
 * One client connection: turns PDUs into requests and responses
 * (MS-SMB2 3.3.5.2): decryption, compound splitting, central validation,
 * credits, session/tree lookup, signature checks, dispatch, response
 * signing and encryption. Handlers see none of this.
 */
import { timingSafeEqual } from 'node:crypto';
import { channelSequence, encodeHeader, protocolKind, tryDecodeHeader, HEADER_SIZE, type Smb2Header } from '../smb2/header.js';
import { Command, HeaderFlags } from '../smb2/constants.js';
import { NtStatus, statusName } from '../smb2/status.js';
import { validateRequest } from '../smb2/validate.js';
import { splitCompound, compoundPadding } from '../smb2/compound.js';
import { handleSmb1Negotiate } from './handlers/negotiate.js';
import { openInPlace, openInPlaceAsync, parseTransformHeader, SealStream, sealInPlace, sealInPlaceAsync } from '../crypto/encryption.js';
import { SignStream, signInPlace, signInPlaceAsync, signvAsync, verify, type SigningAlgorithm } from '../crypto/signing.js';
import { preauthUpdate } from '../crypto/preauth.js';
import { MAX_FRAME, type FileRegion, type SpliceOutcome, type TransportConnection } from '../transport/types.js';
import { spliceTarget } from './datapath/write.js';
import { CreditWindow } from './credits.js';
import { PendingTable, type PendingRequest } from './async.js';
import { encodeErrorResponse } from '../smb2/commands/error.js';
import { errorReply, type ReadSeal, type Reply, type RequestContext } from './context.js';
import { encodeReadResponseHead } from '../smb2/commands/read.js';
import { COMMANDS } from './dispatch.js';
import { boundTo, channelBesides, channelOf, isBindingRequest, signingFor } from './channel.js';
import { sequenceDone } from './replay.js';
import type { Session, TreeConnect, Open } from './state.js';
import type { SmbServer } from './server.js';
import { HELD_SHARE } from './held.js';

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
/** Response bytes queued for a client past which its requests are no longer read (see updateReading). */
const SEND_BACKLOG_MAX = 64 << 20;
const SEND_BACKLOG_RESUME = 16 << 20;
const ZERO_SIGNATURE = Buffer.alloc(16);
const ZERO_PAD = Buffer.alloc(8);
/** MessageId of server-to-client notifications (oplock and lease breaks, 3.3.4.6/3.3.4.7). */
const UNSOLICITED_MESSAGE_ID = 0xffffffffffffffffn;
const INTERIM_BODY = encodeErrorResponse({});

/** One response on its way out: header and body as they are (no copy), and who signs or seals it. */
interface OutMessage {
  parts: Buffer[];
  /** file data that follows the parts (zero-copy READ), see canSendFile */
  region?: FileRegion;
  length: number;
  signWith: Session | null;
  encryptWith: Session | null;
  /** runs on the parts once signed, as they go on the wire (the 3.1.1 preauth hash of a SESSION_SETUP response) */
  onSigned?: (parts: Buffer[]) => void;
  /** gives back pooled memory the parts point into (Reply.release) */
  release?: () => void;
  /** a part sealing may overwrite (Reply.scratch) */
  scratch?: Buffer;
  /** sealed or signed already, as its data was read (Connection.readSealer): the frame to send as it is */
  presealed?: Buffer[];
}

/** The cipher or MAC a READ response goes through as its data is read: the handler's ReadSeal, and the frame at the end. */
interface ReadProtect extends ReadSeal {
  /** the frame to send, once all the data went through */
  finish(data: Buffer): Buffer[];
}

/** A READ response sealed or signed as its data is read (Connection.readSealer), once its header is fixed. */
interface EarlySeal {
  out: OutMessage;
  /** header and READ response body (sealed in place, or to take the signature) */
  head: Buffer;
  /** what the handler was given (ctx.sealRead) */
  stream: ReadProtect;
  /** the credits its header grants, which an error response in its place grants instead */
  grant: number;
}

/** A request's signature computed off the loop (premacOffLoop): the key it used and the MAC. */
interface Premac {
  key: Buffer;
  mac: Buffer;
}

/** Responses at least this long are signed or sealed off the event loop (Connection.cryptoOffLoop). */
const CRYPTO_OFF_LOOP_MIN = 256 * 1024;

/** What a READ protected as it is read stands for when its header is fixed (Connection.readSealer). */
const OK: Reply = { status: NtStatus.SUCCESS, body: [] };

function releaseAll(out: readonly OutMessage[]): void {
  for (const o of out) {
    const r = o.release;
    o.release = undefined;
    r?.();
  }
}

/**
 * What a related request takes from the one before it (3.3.5.2.7.2). `status`: the error a
 * failed CREATE (or a first request wrongly flagged related) passes on to the related
 * requests after it, as Windows does; other failures are not passed on.
 */
type Related = { open: Open | null; session: Session | null; tree: TreeConnect | null; status: number };

/**
 * Whether a request may be handled in the transport's pooled memory: a
 * single WRITE, whose handler is done with the data when it answers. Other
 * handlers may keep views of their message, so they get a copy.
 */
function pooledPduOk(pdu: Buffer): boolean {
  return protocolKind(pdu) === 'smb2' && pdu.length >= 64 && pdu.readUInt16LE(12) === Command.WRITE && pdu.readUInt32LE(20) === 0;
}

export class SmbConnection {
  readonly id: number;
  negotiated: NegotiatedState | null = null;
  readonly sessions = new Map<bigint, Session>();
  private readonly credits = new CreditWindow(MAX_CREDITS);
  /** requests that wait: async ones and those a CANCEL may name (async.ts) */
  readonly pending = new PendingTable();
  private closed = false;
  /** large signed or sealed messages in progress, either way (server.cryptoBusy counts the connections with any) */
  private cryptoActive = 0;
  /**
   * While a PDU's decryption or signature check runs off the loop, later PDUs
   * wait here, to be handled in arrival order once it is back (a CLOSE must
   * not overtake the WRITE before it). Null when nothing is held.
   */
  private hold: { q: (() => void)[] } | null = null;
  private inflight = 0;
  /** responses queued for the client beyond SEND_BACKLOG_MAX: no request is read until they go */
  private backlogged = false;
  /** bytes asked for by READs being handled (read from the file, not yet queued for the client) */
  private readsInHand = 0;
  /** backlogged by the server-wide budget (held.ts), not by this connection's own backlog */
  private heldBack = false;
  /** while backlogged: PDUs already received, waiting to be handled (in order) */
  private gated: (() => void)[] | null = null;
  private readingPaused = false;
  lastActivity = Date.now();
  readonly connectedAt = Date.now();

  constructor(readonly server: SmbServer, readonly transport: TransportConnection) {
    this.id = transport.id;
    transport.onMessage = (pdu, release, spliced) => this.onPdu(pdu, release, spliced);
    // Transports that splice from their socket ask where a big WRITE's data may go (datapath/write.ts).
    transport.onLargeMessage = (head, total) => spliceTarget(this, head, total);
    transport.onClose = () => this.onClosed();
  }

  get peer(): string {
    return `${this.transport.remoteAddress}:${this.transport.remotePort}`;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** A session on this connection is valid: messages up to maxPdu may come now (PRE_LOGON_MAX_PDU before). */
  loggedOn(): void {
    this.transport.maxFrame = this.server.config.maxPdu;
  }

  /** drop() was called: the transport is closing */
  dropping = false;

  /** Ends the connection with a log line (a protocol violation or a limit). */
  drop(reason: string): void {
    if (this.closed || this.dropping) return;
    this.dropping = true;
    this.server.log.warn(`connection ${this.id} (${this.peer}): ${reason}; disconnecting`);
    this.transport.close();
  }

  private onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    // PDUs waiting behind a backlog end at once (handlePdu sees the close) and give back what they hold.
    const gated = this.gated;
    this.gated = null;
    if (gated) for (const run of gated) run();
    this.pending.connectionGone((id) => {
      const s = this.server.state.sessions.get(id);
      return s !== undefined && channelBesides(s, this) !== undefined;
    });
    this.server.connectionClosed(this);
  }

  private onPdu(pdu: Buffer, release?: () => void, spliced?: SpliceOutcome): void {
    this.lastActivity = Date.now();
    this.inflight++;
    if (this.inflight > this.server.config.maxOutstanding) this.updateReading();
    if (release && protocolKind(pdu) !== 'transform' && !pooledPduOk(pdu)) {
      // Pooled memory is lent for the request's lifetime only; a handler other than WRITE may keep views of its message.
      pdu = Buffer.from(pdu);
      release();
      release = undefined;
    }
    const run = (): void => {
      if (this.hold) this.hold.q.push(() => this.runPdu(pdu, release, spliced));
      else this.runPdu(pdu, release, spliced);
    };
    // Past the backlog, PDUs the transport had already taken in wait too (a 64 KiB staging
    // buffer holds hundreds of READ requests, each of which would be answered into memory).
    if (this.gated) this.gated.push(run);
    else run();
  }

  private runPdu(pdu: Buffer, release: (() => void) | undefined, spliced: SpliceOutcome | undefined): void {
    // One reaction per request (a catch().finally().catch() chain made five promises).
    this.handlePdu(pdu, release !== undefined, spliced).then(
      () => this.pduDone(release, null),
      (err: unknown) => this.pduDone(release, err),
    );
  }

  /** A request is over: its pooled message goes back, and a paused connection reads again. */
  private pduDone(release: (() => void) | undefined, err: unknown): void {
    // What these may throw themselves (a logger, a closed ring): logged, not left to end the process.
    try {
      if (err !== null) this.drop(`internal error: ${(err as Error)?.stack ?? err}`);
    } catch (e) {
      this.server.log.error(`connection ${this.id}: ${(e as Error)?.stack ?? e}`);
    }
    try {
      release?.();
      this.inflight--;
      if (this.inflight === this.server.config.maxOutstanding) this.updateReading();
    } catch (e) {
      this.server.log.error(`connection ${this.id}: ${(e as Error)?.stack ?? e}`);
    }
  }

  /** `lent`: the message is pooled memory, given back when this resolves. */
  private async handlePdu(raw: Buffer, lent = false, spliced?: SpliceOutcome): Promise<void> {
    if (this.closed) return; // held behind a PDU whose connection went meanwhile
    const kind = protocolKind(raw);
    if (kind === 'smb1') return handleSmb1Negotiate(this.server, this, raw);
    // A large sealed or signed message counts in server.cryptoBusy while it is handled.
    const big = raw.length >= CRYPTO_OFF_LOOP_MIN && (kind === 'transform' || (kind === 'smb2' && (raw.readUInt32LE(16) & HeaderFlags.SIGNED) !== 0));
    const end = big ? this.cryptoStarted() : null;
    let hold: { q: (() => void)[] } | null = null;
    let premac: Premac | null = null;
    // Responses made so far (a compound's): pooled memory they hold goes back unless they are sent.
    let responses: OutMessage[] = [];
    let handed = false;
    // READ bytes this PDU asks for: in hand until its responses are queued (checkBacklog).
    let reads = 0;
    try {
      let pdu = raw;
      let encryptedSession: Session | null = null;
      if (kind === 'transform') {
        const th = parseTransformHeader(raw);
        const s = th ? this.server.state.sessions.get(th.sessionId) : undefined;
        if (!th || !s || !s.decryptionKey || !this.negotiated || !boundTo(s, this)) return this.drop('encrypted message for an unknown session');
        // Decrypted where it lies: the message is this connection's own memory (or lent to it until the response).
        // Large, while another connection has large protected traffic: on a pool thread, later PDUs held behind it.
        const cipherId = this.negotiated.cipherId;
        const key = s.decryptionKey;
        const off = big && this.othersBusy() ? this.offLoop<Buffer | null>((cb) => openInPlaceAsync(cipherId, key, raw, cb)) : null;
        if (off) hold = off.hold;
        const plain = off ? await off.result : openInPlace(cipherId, key, raw);
        if (!plain) return this.drop('message failed decryption');
        if (this.closed) return;
        pdu = lent && !pooledPduOk(plain) ? Buffer.from(plain) : plain;
        encryptedSession = s;
      } else if (kind !== 'smb2') {
        return this.drop(kind === 'compressed' ? 'compressed messages are not supported' : 'not an SMB2 message');
      } else if (big && this.othersBusy()) {
        const off = this.premacOffLoop(raw);
        if (off) {
          hold = off.hold;
          premac = await off.result;
          if (this.closed) return;
        }
      }
      const msgs = splitCompound(pdu);
      if (!msgs) return this.drop('malformed compound (truncated header or bad NextCommand)');
      const related: Related = { open: null, session: null, tree: null, status: 0 };
      let compoundBytes = 0;
      let sealWith = encryptedSession;
      for (let i = 0; i < msgs.length; i++) {
        const msg = msgs[i]!;
        const hdr = tryDecodeHeader(msg);
        // A header that is not one (StructureSize other than 64): the connection ends, as Samba's does.
        if (!hdr) return this.drop('malformed SMB2 header (StructureSize not 64)');
        if (hdr.flags & HeaderFlags.SERVER_TO_REDIR) return this.drop('response received from client');
        const co = msgs.length > 1 ? { earlier: responses, last: i === msgs.length - 1, flushed: false } : undefined;
        if (hdr.command === Command.READ && msg.length >= 72) {
          // READ Length (MS-SMB2 2.2.19); one past MaxReadSize is refused by the handler, and counts as that.
          const len = Math.min(msg.readUInt32LE(68), this.server.config.maxReadWrite);
          // Past the server-wide budget, a connection that holds answers already waits for room (held.ts).
          if (!this.server.held.allows(this, len)) {
            await this.server.held.wait(this, len);
            if (this.closed) return;
          }
          reads += len;
          this.readsInHand += len;
          this.checkBacklog();
        }
        const pending = this.handleRequest(hdr, msg, i === 0, related, encryptedSession, co, spliced, i === 0 ? premac : null);
        // Its handler has started: the PDUs held behind this one may go (in order).
        this.release(hold);
        const out = await pending;
        if (out === null) return; // dropped
        if (co?.flushed) {
          // The last request went async: the earlier responses left with its interim one.
          responses = [];
          sealWith = encryptedSession;
        }
        if (out === 'none') continue; // CANCEL: no response
        responses.push(out);
        if (co) {
          // A compound's responses go out in one frame (MS-SMB2 2.1: a 24-bit length), which the
          // transport would refuse whole once past it: the rest is not even read (up to the credit
          // window, 64 READs of 8 MiB, were read before the refusal).
          compoundBytes += out.length + compoundPadding(out.length);
          if (compoundBytes > MAX_FRAME) return this.drop(`the responses of a compound (${compoundBytes} bytes after ${i + 1} of ${msgs.length}) do not fit a direct-TCP frame (at most ${MAX_FRAME})`);
        }
        sealWith ??= out.encryptWith;
      }
      handed = true;
      this.sendResponses(responses, sealWith);
    } finally {
      // A drop or a throw part-way through a compound: what its earlier requests read is given back.
      if (!handed) releaseAll(responses);
      this.release(hold);
      end?.();
      if (reads) {
        this.readsInHand -= reads;
        this.maybeResume();
      }
    }
  }

  /**
   * For a large signed message (alone, not a compound) of a valid session:
   * its signature (AES-GMAC, AES-CMAC or HMAC-SHA256) computed on a pool thread, later PDUs
   * held behind it; resolve() then compares (checkSignature). Returns the hold
   * and the signature to come (null, at once and with nothing held, when it
   * cannot run off the loop: no addon, no such session; the
   * signature null if the MAC failed, and resolve() computes it again).
   */
  private premacOffLoop(raw: Buffer): { hold: { q: (() => void)[] }; result: Promise<Premac | null> } | null {
    if (raw.readUInt32LE(20) !== 0) return null; // NextCommand: a compound is checked in line
    const s = this.server.state.sessions.get(raw.readBigUInt64LE(40));
    const k = s && s.state === 'valid' ? signingFor(s, this) : null;
    if (!k) return null;
    const mac = Buffer.alloc(16);
    const off = this.offLoop<Error | null>((cb) => signvAsync(k.alg, k.key, [raw], mac, cb));
    if (!off) return null;
    return { hold: off.hold, result: off.result.then((err) => (err ? null : { key: k.key, mac })) };
  }

  private async handleRequest(
    hdr: Smb2Header,
    msg: Buffer,
    first: boolean,
    rel: Related,
    encSession: Session | null,
    compoundOut?: { earlier: OutMessage[]; last: boolean; flushed: boolean },
    spliced?: SpliceOutcome,
    premac: Premac | null = null,
  ): Promise<OutMessage | 'none' | null> {
    const compound = compoundOut !== undefined;
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
    const flaggedRelated = (hdr.flags & HeaderFlags.RELATED_OPERATIONS) !== 0;
    const isRelated = !first && flaggedRelated;
    // 3.3.5.2.7.2: the first request of a compound cannot be related.
    const badFirst = first && compound && flaggedRelated;
    if (!isRelated) rel.status = badFirst ? NtStatus.INVALID_PARAMETER : 0;
    const ctx: RequestContext = {
      server: this.server, conn: this, hdr, msg, session: null, tree: null,
      encrypted: encSession !== null, compound, compoundOut, related: { open: isRelated ? rel.open : null }, spliced,
    };
    let reply: Reply;
    let signWith: Session | null = null;
    let early: { seal: EarlySeal | null } | null = null;
    /** the session was valid when the request came: its response is signed even if the request ended it (LOGOFF, failed re-authentication) */
    let liveBefore = false;
    // A spliced WRITE is its head alone; its fields are checked against the whole PDU's length.
    const bad = spec ? validateRequest(msg, hdr.command, spliced?.total ?? msg.length) : NtStatus.INVALID_PARAMETER;
    if (!spec || bad !== null) {
      if (!spec) this.server.log.warn(`connection ${this.id}: unknown command ${hdr.command}`);
      else this.server.log.debug(`connection ${this.id}: malformed ${spec.name}: ${statusName(bad!)}`);
      reply = errorReply(bad ?? NtStatus.INVALID_PARAMETER);
    } else if (badFirst || (isRelated && rel.status !== 0)) {
      reply = errorReply(rel.status);
    } else {
      const pre = this.resolve(ctx, spec.session, spec.tree, isRelated ? rel : null, encSession, premac);
      signWith = ctx.session;
      liveBefore = ctx.session?.state === 'valid';
      if (pre !== null) reply = errorReply(pre);
      else {
        if (hdr.command === Command.READ && !compound) early = this.readSealer(hdr, ctx, encSession, liveBefore);
        try {
          reply = await spec.handler(ctx);
        } catch (err) {
          this.server.log.error(`connection ${this.id}: ${spec.name} failed: ${(err as Error).stack ?? err}`);
          reply = errorReply(NtStatus.INTERNAL_ERROR);
        }
        if (ctx.sequenced) sequenceDone(ctx.sequenced, channelSequence(hdr));
      }
    }
    if (this.closed) {
      reply.region?.release?.();
      reply.release?.();
      return null;
    }
    // CANCEL has no response (3.3.5.16).
    if (isCancel) return 'none';
    if (hdr.command === Command.CREATE && reply.status >>> 0 >= 0xc0000000) rel.status = reply.status;
    rel.open = ctx.related.open;
    rel.session = ctx.session;
    rel.tree = ctx.tree;
    const session = ctx.session ?? (reply.sessionId !== undefined ? this.server.state.sessions.get(reply.sessionId) ?? null : null);
    const sealed = early?.seal;
    if (sealed && reply.sealed === sealed.stream && reply.status === NtStatus.SUCCESS) return this.presealed(sealed, reply);
    // A final response after the compound's interim went out stands alone.
    const out = this.buildResponse(hdr, reply, isRelated && !compoundOut?.flushed, ctx, sealed?.grant);
    out.release = reply.release;
    out.scratch = reply.scratch;
    // 3.1.1: the connection's preauth hash covers NEGOTIATE request and response.
    if (hdr.command === Command.NEGOTIATE && reply.status === 0 && this.negotiated?.preauthHash) {
      this.negotiated.preauthHash = preauthUpdate(this.negotiated.preauthHash, out.parts);
    }
    // 3.1.1: every SESSION_SETUP exchange except the final response goes into the channel's hash (channel.ts).
    const ch = hdr.command === Command.SESSION_SETUP && session ? channelOf(session, this) : undefined;
    // A binding's interim responses are signed: the hash takes them as sent (sendResponses).
    if (ch?.preauthHash && reply.status === NtStatus.MORE_PROCESSING_REQUIRED) {
      out.onSigned = (parts) => { if (ch.preauthHash) ch.preauthHash = preauthUpdate(ch.preauthHash, parts); };
    }
    const prot = this.protection(hdr, reply, ctx, session, encSession, signWith ?? session, signWith ? liveBefore : undefined);
    out.encryptWith = prot.encryptWith;
    out.signWith = prot.signWith;
    if (!out.signWith && !out.encryptWith && reply.status === NtStatus.USER_SESSION_DELETED && hdr.flags & HeaderFlags.SIGNED) {
      // The client skips the signature check for this status but wants the flag (Samba smbXcli; Windows sets it).
      out.parts[0]!.writeUInt32LE((out.parts[0]!.readUInt32LE(16) | HeaderFlags.SIGNED) >>> 0, 16);
    }
    if (reply.region) {
      // canSendFile promised neither signing nor sealing; anything else is a bug, never a wrong signature on the wire.
      if (out.encryptWith || out.signWith || compound) {
        reply.region.release?.(); // it holds the open's fd: CLOSE would wait for it
        throw new Error('a file region in a response that is signed, sealed or compounded');
      }
      out.region = reply.region;
    }
    return out;
  }

  /**
   * Whether this request's response may carry file data the transport sends
   * itself (ARCHITECTURE decision 5): the transport can splice, the response
   * is alone (no compound), and it will be neither sealed nor signed.
   */
  canSendFile(ctx: RequestContext): boolean {
    if (!this.transport.sendFile || ctx.compound || ctx.encrypted) return false;
    const s = ctx.session;
    if (!s) return true;
    if (s.encryptData || ctx.tree?.share.encrypt) return false;
    return !(s.signingKey && s.state === 'valid' && (s.signingRequired || (ctx.hdr.flags & HeaderFlags.SIGNED) !== 0));
  }

  /** Session and tree lookup, encryption and signing checks (3.3.5.2.9-11, 3.3.5.2.4). */
  private resolve(ctx: RequestContext, needSession: boolean, needTree: boolean, rel: { session: Session | null; tree: TreeConnect | null } | null, enc: Session | null, premac: Premac | null = null): number | null {
    const hdr = ctx.hdr;
    // A related request naming "the previous session" when the previous request had none (3.3.5.2.7.2).
    if (rel && hdr.sessionId === 0xffffffffffffffffn && !rel.session) return NtStatus.INVALID_PARAMETER;
    const sid = rel && hdr.sessionId === 0xffffffffffffffffn ? rel.session!.id : hdr.sessionId;
    if (needSession || sid !== 0n) {
      const s = this.server.state.sessions.get(sid);
      if (!s) return hdr.command === Command.SESSION_SETUP && sid === 0n ? null : NtStatus.USER_SESSION_DELETED;
      // A session serves only on its channels; a binding SESSION_SETUP finds it in the global table (3.3.5.2.9, 3.3.5.5).
      const binding = hdr.command === Command.SESSION_SETUP && isBindingRequest(ctx.msg);
      const ch = channelOf(s, this);
      if (!ch && !binding) return NtStatus.USER_SESSION_DELETED;
      if (hdr.command !== Command.SESSION_SETUP) {
        if (s.state === 'expired') return NtStatus.NETWORK_SESSION_EXPIRED;
        if (s.state !== 'valid' || ch?.state !== 'valid') return NtStatus.USER_SESSION_DELETED;
      }
      ctx.session = s;
      s.lastActivity = Date.now();
      if (enc && enc !== s) return NtStatus.ACCESS_DENIED;
      if (s.state === 'valid' && s.encryptData && !enc && hdr.command !== Command.SESSION_SETUP) return NtStatus.ACCESS_DENIED;
      const st = this.checkSignature(ctx, s, enc !== null, binding, premac);
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

  /** 3.3.5.2.4, with the channel's key on a bound connection and Session.SigningKey for a binding request (channel.ts). */
  private checkSignature(ctx: RequestContext, s: Session, encrypted: boolean, binding: boolean, premac: Premac | null): number | null {
    const hdr = ctx.hdr;
    const k = encrypted || s.state !== 'valid' ? null : signingFor(s, this);
    if (!k) return null;
    const signed = (hdr.flags & HeaderFlags.SIGNED) !== 0;
    if (!signed) {
      // An unsigned binding request gets INVALID_PARAMETER from SESSION_SETUP (3.3.5.5).
      if (binding) return null;
      if (s.signingRequired && hdr.command !== Command.CANCEL && hdr.command !== Command.ECHO) return NtStatus.ACCESS_DENIED;
      return null;
    }
    // Computed off the loop for this message (premacOffLoop): compare, if the key is still the one it used; else compute now.
    const ok = premac && premac.key === k.key
      ? timingSafeEqual(premac.mac, ctx.msg.subarray(48, 64))
      : verify(k.alg, k.key, ctx.msg, { isCancel: hdr.command === Command.CANCEL });
    if (!ok) {
      this.server.log.warn(`connection ${this.id} (${this.peer}): bad signature on ${COMMANDS[hdr.command]?.name ?? hdr.command} for session ${s.id.toString(16)}`);
      return NtStatus.ACCESS_DENIED;
    }
    return null;
  }

  /**
   * The response header, followed by the body parts as the handler gave them
   * (no copy of data). `granted`: the credits an earlier header for this
   * request granted already (readSealer), which this one grants instead.
   */
  private buildResponse(req: Smb2Header, reply: Reply, related: boolean, ctx: RequestContext, granted?: number): OutMessage {
    const header = Buffer.allocUnsafe(HEADER_SIZE);
    const p = this.pending.size > 0 ? this.pending.get(req.messageId) : undefined;
    if (p) this.pending.remove(p);
    // 3.3.4.2: an async request's interim response granted its credits; the final one is async too.
    const grant = granted ?? (req.command === Command.CANCEL || p?.creditsGranted ? 0 : this.credits.grant(req.credits, req.creditCharge));
    const asyncId = p?.asyncId ?? 0n;
    encodeHeader({
      creditCharge: req.creditCharge,
      status: reply.status >>> 0,
      command: req.command,
      credits: grant,
      flags: HeaderFlags.SERVER_TO_REDIR | (related ? HeaderFlags.RELATED_OPERATIONS : 0) | (asyncId ? HeaderFlags.ASYNC_COMMAND : 0),
      nextCommand: 0,
      messageId: req.messageId,
      asyncId,
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

  /**
   * A READ whose response will be sealed (AES-GCM) or signed, alone (not in
   * a compound): its handler may protect it as the file is read
   * (ctx.sealRead), so that the cipher or MAC runs over each piece while the
   * next is still being read, instead of over 8 MiB after all of them (one
   * smbclient keeps one sealed READ outstanding, so that time was wall
   * time). When sealRead is called the response header is built at once,
   * its credits granted, and the header and body go through first, as they
   * come first in the message; a signature goes into the header at the end.
   * Not when another connection has large protected traffic too: then the
   * whole response goes to a pool thread (cryptoOffLoop).
   */
  private readSealer(hdr: Smb2Header, ctx: RequestContext, encSession: Session | null, live: boolean): { seal: EarlySeal | null } | null {
    const neg = this.negotiated;
    if (!neg || this.othersBusy()) return null;
    if (this.pending.size > 0 && this.pending.get(hdr.messageId)) return null;
    const s = ctx.session;
    const { encryptWith: sealWith, signWith } = this.protection(hdr, OK, ctx, s, encSession, s, live);
    let protect: (head: Buffer, total: number) => ReadProtect;
    if (sealWith) {
      const key = sealWith.encryptionKey;
      if (!key || !SealStream.available(neg.cipherId)) return null;
      protect = (head, total) => {
        const st = SealStream.start(neg.cipherId, key, sealWith.id, total)!;
        st.update(head);
        return { update: (p) => st.update(p), finish: (data) => [st.finish(), head, data] };
      };
    } else {
      const k = signWith ? signingFor(signWith, this) : null;
      if (!k) return null;
      protect = (head) => {
        const mac = new SignStream(k.alg, k.key, head);
        return { update: (p) => mac.update(p), finish: (data) => [mac.finishInto(head), data] };
      };
    }
    const early: { seal: EarlySeal | null } = { seal: null };
    ctx.sealRead = (n: number): ReadSeal | null => {
      if (early.seal || this.closed) return null;
      const body = encodeReadResponseHead(n);
      const out = this.buildResponse(hdr, { status: NtStatus.SUCCESS, body: [body] }, false, ctx);
      out.encryptWith = sealWith;
      out.signWith = signWith;
      const head = Buffer.concat([out.parts[0]!, body]);
      early.seal = { out, head, stream: protect(head, head.length + n), grant: out.parts[0]!.readUInt16LE(14) };
      this.server.readsSealedInPieces++;
      return early.seal.stream;
    };
    return early;
  }

  /** The response whose data went through its EarlySeal: the header was built then, the frame is complete now. */
  private presealed(seal: EarlySeal, reply: Reply): OutMessage {
    const data = (reply.body as Buffer[])[1]!;
    const out = seal.out;
    out.parts = [seal.head, data];
    out.length = seal.head.length + data.length;
    out.presealed = seal.stream.finish(data);
    out.release = reply.release;
    return out;
  }

  /**
   * Who seals the response (the request's session when it came sealed, or a
   * valid session that encrypts or on a share that does; 3.3.4.1.4), else
   * who signs it (signerFor). SESSION_SETUP responses are signed, not
   * sealed, unless the request came sealed (the 3.1.1 client checks the
   * signature).
   */
  private protection(hdr: Smb2Header, reply: Reply, ctx: RequestContext, session: Session | null, encSession: Session | null, signer: Session | null, live?: boolean): { encryptWith: Session | null; signWith: Session | null } {
    const sealable = session && hdr.command !== Command.SESSION_SETUP && session.state === 'valid';
    const seal = sealable && (session.encryptData || ctx.tree?.share.encrypt) && session.encryptionKey ? session : null;
    const encryptWith = encSession ?? seal;
    return { encryptWith, signWith: encryptWith ? null : this.signerFor(hdr, signer, reply, live) };
  }

  /** The session whose key signs this response, or null (3.3.4.1.1). */
  private signerFor(req: Smb2Header, s: Session | null, reply: Reply, live = s?.state === 'valid'): Session | null {
    if (!s || !s.signingKey) return null;
    const isFinalSetup = req.command === Command.SESSION_SETUP && reply.status === 0 && !s.isGuest && !s.isAnonymous;
    // `live`: valid when the request came. A LOGOFF or failed re-authentication has expired it since; the response is still signed (3.3.4.1.1).
    const wants = isFinalSetup || (live && (s.signingRequired || (req.flags & HeaderFlags.SIGNED) !== 0));
    if (!wants) return null;
    if (reply.status === NtStatus.USER_SESSION_DELETED || reply.status === NtStatus.NETWORK_SESSION_EXPIRED) return null;
    return s;
  }

  /** Pads and chains a compound, signs each response over its padded length, and seals the whole when a session encrypts. */
  private sendResponses(responses: OutMessage[], sealWith: Session | null): void {
    if (responses.length === 0 || this.closed) return;
    const one = responses.length === 1 ? responses[0]! : null;
    if (one && (one.presealed || one.length >= CRYPTO_OFF_LOOP_MIN)) {
      this.trackCryptoSend(one, sealWith);
      // Sealed or signed already, as its data was read (readSealer).
      if (one.presealed) return this.sendFrame(one.presealed, responses);
      if (this.othersBusy() && this.cryptoOffLoop(one, sealWith)) {
        this.server.cryptoHandedOff++;
        return;
      }
    }
    const parts: Buffer[] = [];
    for (let i = 0; i < responses.length; i++) {
      const r = responses[i]!;
      // Every response of a compound is padded to 8 bytes, the last one too (its NextCommand
      // stays 0), as Windows and Samba send them; the signature covers the padding
      // (MS-SMB2 3.3.4.1.3; smbtorture smb2.compound.compound-padding). A lone response is not.
      if (!one) {
        const pad = compoundPadding(r.length);
        if (pad) r.parts.push(ZERO_PAD.subarray(0, pad));
        if (i < responses.length - 1) r.parts[0]!.writeUInt32LE(r.length + pad, 20);
      }
      const k = sealWith || !r.signWith ? null : signingFor(r.signWith, this);
      if (k) signInPlace(k.alg, k.key, r.parts);
      r.onSigned?.(r.parts);
      for (const p of r.parts) parts.push(p);
    }
    const region = one?.region;
    if (region) {
      this.transport.sendFile!(parts, region)
        .catch((err: Error) => (err instanceof RangeError ? this.drop(err.message) : this.server.log.debug(`connection ${this.id}: file send: ${err.message}`)))
        .finally(() => region.release?.())
        .catch((err) => this.server.log.error(`connection ${this.id}: file send: ${(err as Error)?.stack ?? err}`));
      this.checkBacklog();
      return;
    }
    let frame = parts;
    if (sealWith && sealWith.encryptionKey && this.negotiated) {
      // READ data is sealed where it was read; everything else is copied first (sealInPlace).
      const scratch = new Set<Buffer>();
      for (const r of responses) if (r.scratch) scratch.add(r.scratch);
      frame = sealInPlace(this.negotiated.cipherId, sealWith.encryptionKey, sealWith.id, parts, scratch);
    }
    this.sendFrame(frame, responses);
  }

  /**
   * Signs (AES-GMAC, AES-CMAC) or seals (AES-GCM, AES-CCM) one large response on a libuv pool
   * thread and sends it when done, so that the MAC or cipher over an 8 MiB
   * READ does not hold the event loop while other connections wait for it.
   * Only then: with one client streaming (smbclient keeps two 8 MiB READs
   * out) the hand-off's latency showed and nothing gained from it (2026-12-06,
   * 6.18: sealed 1-conn get 1220 MiB/s against 1400 in line, signed equal),
   * while four clients at once went 7-8% faster at 10% less server CPU per
   * GiB, signed and sealed alike. So the server counts the connections with a
   * large protected message in progress (cryptoBusy) and hands off when
   * another one has one too. The response may then leave after later,
   * smaller ones; SMB2 clients match responses by MessageId (MS-SMB2
   * 3.2.5.1), and its credits and nonce were fixed before. False where this
   * cannot be had (no addon, nothing to protect): the
   * caller goes on synchronously.
   */
  private cryptoOffLoop(r: OutMessage, sealWith: Session | null): boolean {
    if (r.region) return false;
    const finish = (err: Error | null, frame: Buffer[]): void => {
      if (err) {
        this.server.log.error(`connection ${this.id} (${this.peer}): ${err.message}`);
        releaseAll([r]);
        return this.drop(err.message);
      }
      if (this.closed) return releaseAll([r]);
      this.sendFrame(frame, [r]);
    };
    if (sealWith) {
      if (!sealWith.encryptionKey || !this.negotiated || !r.scratch) return false;
      return sealInPlaceAsync(this.negotiated.cipherId, sealWith.encryptionKey, sealWith.id, r.parts, new Set([r.scratch]), finish);
    }
    const k = r.signWith ? signingFor(r.signWith, this) : null;
    if (!k) return false;
    return signInPlaceAsync(k.alg, k.key, r.parts, (err) => {
      if (!err) r.onSigned?.(r.parts);
      finish(err, r.parts);
    });
  }

  /** Counts this connection in server.cryptoBusy while a large signed or sealed response is on its way. */
  private trackCryptoSend(r: OutMessage, sealWith: Session | null): void {
    if (r.region || !(sealWith || r.signWith)) return;
    const end = this.cryptoStarted();
    const release = r.release;
    r.release = () => {
      end();
      release?.();
    };
  }

  /** Another connection than this one has a large protected message in progress (cryptoBusy). */
  private othersBusy(): boolean {
    return this.server.cryptoBusy > (this.cryptoActive > 0 ? 1 : 0);
  }

  /** One large protected message in progress; the function ends it (once). */
  private cryptoStarted(): () => void {
    if (this.cryptoActive++ === 0) this.server.cryptoBusy++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--this.cryptoActive === 0) this.server.cryptoBusy--;
    };
  }

  /**
   * Starts a decryption or signature check off the loop (`start` calls back
   * once, or returns false when it cannot) and holds later PDUs behind it.
   * Null, with nothing held, when it cannot: the caller goes on in line.
   */
  private offLoop<T>(start: (cb: (v: T) => void) => boolean): { hold: { q: (() => void)[] }; result: Promise<T> } | null {
    let resolve!: (v: T) => void;
    const result = new Promise<T>((r) => (resolve = r));
    if (!start(resolve)) return null;
    this.server.cryptoHandedOff++;
    const hold = { q: [] as (() => void)[] };
    this.hold = hold;
    return { hold, result };
  }

  /** The held PDUs go on, in order, until one of them holds the rest again. */
  private release(hold: { q: (() => void)[] } | null): void {
    if (!hold || this.hold !== hold) return;
    this.hold = null;
    const q = hold.q;
    while (q.length) {
      if (this.hold) {
        (this.hold as { q: (() => void)[] }).q.push(...q);
        return;
      }
      q.shift()!();
    }
  }

  /** Bytes queued for the client and READ bytes being read for it (the server's budget, held.ts). */
  get held(): number {
    return this.closed ? 0 : this.transport.pendingBytes + this.readsInHand;
  }

  /**
   * Reads requests only while fewer than maxOutstanding are in hand and the
   * client takes its responses: a client that asks for 8 MiB READs and never
   * reads the answers would otherwise make the server hold every one of them
   * (memory, or a pipe and its file pages each), without bound. Past
   * SEND_BACKLOG_MAX bytes queued on the socket no further request is read;
   * reading resumes once the queue is down to SEND_BACKLOG_RESUME. The
   * requests already read still get their answers, so the most one
   * connection holds is the backlog plus what its credits allow in flight.
   */
  private updateReading(): void {
    const pause = this.backlogged || this.inflight > this.server.config.maxOutstanding;
    if (pause === this.readingPaused || this.closed) return;
    this.readingPaused = pause;
    if (pause) this.transport.pause();
    else this.transport.resume();
  }

  /**
   * After a send or a READ taken in hand: past SEND_BACKLOG_MAX bytes queued
   * for the client or being read for it, its requests are neither read nor
   * handled (those already received wait, in order) until maybeResume().
   */
  private checkBacklog(): void {
    if (this.backlogged || this.closed) return;
    const pending = this.transport.pendingBytes;
    const own = pending + this.readsInHand;
    if (own <= HELD_SHARE) return;
    // Past its share while the whole server is over its budget: held back too (held.ts).
    const byBudget = own <= SEND_BACKLOG_MAX;
    const total = byBudget ? this.server.held.total() : 0;
    if (byBudget && total <= this.server.held.max) return;
    this.backlogged = true;
    this.heldBack = byBudget;
    this.gated = [];
    if (this.heldBack) this.server.heldPressure(this, total);
    this.server.log.debug(`connection ${this.id} (${this.peer}): ${pending} bytes of responses not taken by the client, ${this.readsInHand} being read for it; its requests wait${this.heldBack ? ' (the server is over its budget of held bytes)' : ''}`);
    this.updateReading();
    this.maybeResume();
  }

  /**
   * Ends the backlog once what is queued and in hand is down to
   * SEND_BACKLOG_RESUME: else waits for the queue to drain that far (or for
   * the READs in hand, each of which calls this when its answer is queued).
   */
  private maybeResume(): void {
    if (!this.backlogged || this.closed) return;
    const pending = this.transport.pendingBytes;
    const own = pending + this.readsInHand;
    // Held back by the server's budget: on once down to half its share, or once the server is within budget again.
    const target = this.heldBack && own > HELD_SHARE / 2 && this.server.held.over() ? HELD_SHARE / 2 : SEND_BACKLOG_RESUME;
    if (own > target) {
      if (pending > 0) this.transport.onDrained(Math.max(0, target - this.readsInHand), () => this.maybeResume());
      return;
    }
    this.backlogged = false;
    this.heldBack = false;
    const q = this.gated ?? [];
    this.gated = null;
    this.updateReading();
    // The waiting PDUs go on in order, until one of them fills the backlog again.
    while (q.length) {
      if (this.gated) {
        (this.gated as (() => void)[]).push(...q);
        return;
      }
      q.shift()!();
    }
  }

  private sendFrame(frame: Buffer[], responses: OutMessage[]): void {
    const done = responses.some((r) => r.release) ? () => releaseAll(responses) : undefined;
    try {
      this.transport.send(frame, done);
      this.checkBacklog();
    } catch (err) {
      // The transport refuses a frame its 24-bit length cannot carry (MS-SMB2 2.1), e.g. a
      // compound of several large READs: sending it would desynchronise the stream.
      if (!(err instanceof RangeError)) throw err;
      releaseAll(responses);
      this.drop(err.message);
    }
  }

  /**
   * Registers the request for CANCEL (3.3.5.16): `onCancel` runs once when a CANCEL
   * names it by MessageId or AsyncId, or when the connection goes away. Returns the
   * entry; the final response removes it.
   */
  onCancel(ctx: RequestContext, onCancel: () => void): PendingRequest {
    const p = this.pending.register(ctx.hdr.messageId, ctx.session?.id ?? 0n);
    p.onCancel = onCancel;
    if (this.closed) {
      p.cancelled = true;
      p.onCancel = null;
      onCancel();
    }
    return p;
  }

  /**
   * Makes the request async (3.3.4.2): sends the interim STATUS_PENDING response,
   * with SMB2_FLAGS_ASYNC_COMMAND and a new AsyncId, granting the request's credits.
   * The handler's eventual Reply becomes the final response (async, no credits).
   * In a compound only the last request goes async: the earlier responses go out
   * with its interim one, as Windows does (MS-SMB2 3.3.4.2, <159>); elsewhere in a
   * compound the request just waits (no interim) and null is returned.
   */
  goAsync(ctx: RequestContext): bigint | null {
    const co = ctx.compoundOut;
    if ((co && !co.last) || this.closed) return null;
    const p = this.pending.register(ctx.hdr.messageId, ctx.session?.id ?? 0n);
    if (p.asyncId !== 0n) return p.asyncId;
    const asyncId = this.pending.makeAsync(p);
    const req = ctx.hdr;
    const header = Buffer.allocUnsafe(HEADER_SIZE);
    encodeHeader({
      creditCharge: req.creditCharge,
      status: NtStatus.PENDING,
      command: req.command,
      credits: this.credits.grant(req.credits, req.creditCharge),
      flags: HeaderFlags.SERVER_TO_REDIR | HeaderFlags.ASYNC_COMMAND,
      nextCommand: 0,
      messageId: req.messageId,
      asyncId,
      processId: req.processId,
      treeId: 0,
      sessionId: ctx.session?.id ?? req.sessionId,
      signature: ZERO_SIGNATURE,
    }, header, 0);
    p.creditsGranted = true;
    const out: OutMessage = { parts: [header, INTERIM_BODY], length: HEADER_SIZE + INTERIM_BODY.length, signWith: null, encryptWith: null };
    const s = ctx.session;
    const seal = s && s.state === 'valid' && (s.encryptData || ctx.tree?.share.encrypt) && s.encryptionKey ? s : null;
    const sealWith = ctx.encrypted ? s : seal;
    if (!sealWith) out.signWith = this.signerFor(req, s, { status: NtStatus.PENDING, body: INTERIM_BODY });
    if (co) {
      // The interim answers a related request: it says so, and leaves with the responses before it.
      if (req.flags & HeaderFlags.RELATED_OPERATIONS) header.writeUInt32LE((header.readUInt32LE(16) | HeaderFlags.RELATED_OPERATIONS) >>> 0, 16);
      const earlier = co.earlier as OutMessage[];
      co.flushed = true;
      let seal = sealWith;
      for (const e of earlier) seal ??= e.encryptWith;
      this.sendResponses([...earlier, out], seal);
      return asyncId;
    }
    this.sendResponses([out], sealWith);
    return asyncId;
  }

  /** CANCEL (3.3.5.16): finds the request by AsyncId (async CANCEL) or MessageId. */
  cancelRequest(ctx: RequestContext): boolean {
    const h = ctx.hdr;
    const by = h.flags & HeaderFlags.ASYNC_COMMAND ? { asyncId: h.asyncId } : { messageId: h.messageId };
    return this.pending.cancel(by, ctx.session?.id ?? null);
  }

  /**
   * Sends a server-to-client notification outside any request (3.3.4.6, 3.3.4.7:
   * oplock and lease breaks): MessageId all ones, no session or tree, no credits,
   * unsigned; sealed with `session` when that session encrypts.
   */
  sendUnsolicited(command: number, body: Buffer, session: Session | null): void {
    if (this.closed) return;
    const header = Buffer.allocUnsafe(HEADER_SIZE);
    encodeHeader({
      creditCharge: 0,
      status: 0,
      command,
      credits: 0,
      flags: HeaderFlags.SERVER_TO_REDIR,
      nextCommand: 0,
      messageId: UNSOLICITED_MESSAGE_ID,
      asyncId: 0n,
      processId: 0,
      treeId: 0,
      sessionId: 0n,
      signature: ZERO_SIGNATURE,
    }, header, 0);
    const seal = session && session.state === 'valid' && session.encryptData && session.encryptionKey ? session : null;
    this.sendResponses([{ parts: [header, body], length: HEADER_SIZE + body.length, signWith: null, encryptWith: seal }], seal);
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
