/**
 * A named-pipe RPC endpoint (ncacn_np): what the SMB server attaches to an Open of
 * \PIPE\srvsvc or \PIPE\wkssvc on IPC$. Bytes written by the client are cut into PDUs by
 * frag_length; responses are queued as whole fragments and read back one message
 * (fragment) at a time, as a message-mode pipe would return them.
 */
import { NdrError } from './ndr.js';
import {
  BIND_TIME_FEATURE_PREFIX,
  BTFN,
  HEADER_LENGTH,
  NAK_REASON,
  NCA,
  NDR20,
  NULL_SYNTAX,
  PFC,
  PTYPE,
  REASON,
  RESULT,
  decodeBind,
  decodeHeader,
  decodeRequest,
  encodeBindAck,
  encodeBindNak,
  encodeFault,
  encodeResponses,
  sameSyntax,
  uuidToBytes,
  type BindPdu,
  type ContextElement,
  type ContextResult,
  type PduHeader,
} from './pdu.js';
import type { RpcContext, RpcInterface, RpcShare } from './interface.js';
import { srvsvc } from './srvsvc.js';
import { wkssvc } from './wkssvc.js';

export type { RpcContext, RpcShare } from './interface.js';

export interface RpcPipe {
  /** One SMB2 WRITE: any number of bytes, whole PDUs or pieces of them. */
  write(data: Buffer): void;
  /** One SMB2 READ: the rest of the next queued fragment, at most maxLen bytes; null when none. */
  read(maxLen: number): Buffer | null;
  /** FSCTL_PIPE_TRANSCEIVE: write, then read; more is true while response bytes remain queued. */
  transceive(data: Buffer, maxOut: number): { data: Buffer; more: boolean };
  /** Bytes of response still queued (the SMB layer may report STATUS_BUFFER_OVERFLOW). */
  pending(): number;
  close(): void;
}

/** The fragment size we offer; Windows and Samba both use 4280 on named pipes. */
export const MAX_FRAG = 4280;
/** Largest reassembled request stub we accept. */
export const MAX_REQUEST_STUB = 1 << 20;

const INTERFACES: ReadonlyMap<string, RpcInterface> = new Map([
  ['srvsvc', srvsvc],
  ['wkssvc', wkssvc],
]);

let nextAssocGroup = 0x5a3c;

/** The endpoint for a pipe name ("srvsvc", "\PIPE\srvsvc", any case), or null if unknown. */
export function createPipe(name: string, ctx: RpcContext): RpcPipe | null {
  const bare = name.replace(/^[\\/]*(pipe[\\/]+)?/i, '').toLowerCase();
  const iface = INTERFACES.get(bare);
  return iface ? new PipeEndpoint(iface, ctx) : null;
}

interface Reassembly {
  callId: number;
  contextId: number;
  opnum: number;
  chunks: Buffer[];
  size: number;
}

class PipeEndpoint implements RpcPipe {
  private input: Buffer = Buffer.alloc(0);
  private readonly output: Buffer[] = [];
  private bound = false;
  private closed = false;
  /** Set after a PDU we cannot frame: further input is ignored. */
  private broken = false;
  private readonly contexts = new Map<number, RpcInterface>();
  private maxXmitFrag = MAX_FRAG;
  private maxRecvFrag = MAX_FRAG;
  private assocGroupId = 0;
  private partial: Reassembly | null = null;

  constructor(
    private readonly iface: RpcInterface,
    private readonly ctx: RpcContext,
  ) {}

  write(data: Buffer): void {
    if (this.closed || this.broken) return;
    this.input = this.input.length ? Buffer.concat([this.input, data]) : Buffer.from(data);
    while (this.input.length >= HEADER_LENGTH) {
      let h: PduHeader;
      try {
        h = decodeHeader(this.input);
      } catch {
        // Wrong version or byte order: the stream cannot be framed any more.
        const callId = this.input.readUInt32LE(12);
        this.broken = true;
        this.input = Buffer.alloc(0);
        this.output.push(this.bound ? encodeFault(callId, 0, NCA.s_proto_error) : encodeBindNak(callId, NAK_REASON.protocol_version_not_supported));
        return;
      }
      if (this.input.length < h.fragLength) return;
      const pdu = this.input.subarray(0, h.fragLength);
      this.input = this.input.subarray(h.fragLength);
      this.handlePdu(pdu, h);
    }
  }

  read(maxLen: number): Buffer | null {
    const head = this.output[0];
    if (!head) return null;
    if (head.length <= maxLen) {
      this.output.shift();
      return head;
    }
    this.output[0] = head.subarray(maxLen);
    return head.subarray(0, maxLen);
  }

  transceive(data: Buffer, maxOut: number): { data: Buffer; more: boolean } {
    this.write(data);
    const out = this.read(maxOut) ?? Buffer.alloc(0);
    return { data: out, more: this.output.length > 0 };
  }

  pending(): number {
    return this.output.reduce((n, b) => n + b.length, 0);
  }

  close(): void {
    this.closed = true;
    this.output.length = 0;
    this.input = Buffer.alloc(0);
    this.partial = null;
    this.contexts.clear();
  }

  /** `h` is the header `write` framed the PDU by. */
  private handlePdu(pdu: Buffer, h: PduHeader): void {
    const callId = h.callId;
    try {
      switch (h.ptype) {
        case PTYPE.bind:
          return this.onBind(pdu);
        case PTYPE.alter_context:
          return this.onAlterContext(pdu);
        case PTYPE.request:
          return this.onRequest(pdu);
        case PTYPE.orphaned:
        case PTYPE.co_cancel:
          if (this.partial?.callId === callId) this.partial = null;
          return;
        case PTYPE.auth3:
        case PTYPE.shutdown:
          return;
        default:
          this.output.push(encodeFault(callId, 0, NCA.s_proto_error));
      }
    } catch {
      // Malformed PDUs (RpcPduError) and anything unforeseen end as a fault, never a throw.
      this.output.push(this.bound ? encodeFault(callId, 0, NCA.s_proto_error) : encodeBindNak(callId, NAK_REASON.not_specified));
    }
  }

  private onBind(pdu: Buffer): void {
    const bind = decodeBind(pdu);
    const callId = bind.header.callId;
    // A second bind on one association is a protocol error (C706 12.6.4.3 binds once).
    if (this.bound) return void this.output.push(encodeBindNak(callId, NAK_REASON.not_specified));
    if (bind.header.authLength) {
      return void this.output.push(encodeBindNak(callId, NAK_REASON.authentication_type_not_recognized));
    }
    this.maxXmitFrag = clampFrag(bind.maxRecvFrag);
    this.maxRecvFrag = clampFrag(bind.maxXmitFrag);
    this.assocGroupId = bind.assocGroupId || nextAssocGroup++;
    this.bound = true;
    this.output.push(this.ack(PTYPE.bind_ack, bind, `\\PIPE\\${this.iface.name}`));
  }

  private onAlterContext(pdu: Buffer): void {
    const alter = decodeBind(pdu);
    if (!this.bound) return void this.output.push(encodeFault(alter.header.callId, 0, NCA.s_proto_error));
    // alter_context_resp carries an empty secondary address (C706 12.6.4.2).
    this.output.push(this.ack(PTYPE.alter_context_resp, alter, ''));
  }

  private ack(ptype: number, bind: BindPdu, secAddr: string): Buffer {
    const results = bind.contexts.map((c) => this.negotiate(c));
    return encodeBindAck(ptype, bind.header.callId, {
      maxXmitFrag: this.maxXmitFrag,
      maxRecvFrag: this.maxRecvFrag,
      assocGroupId: this.assocGroupId,
      secAddr,
      results,
    });
  }

  /** One presentation context: accept NDR 2.0, answer bind-time feature negotiation. */
  private negotiate(c: ContextElement): ContextResult {
    const ours = this.iface.syntax;
    // Same UUID and major version; any minor version up to ours is compatible.
    const abstractOk =
      c.abstractSyntax.uuid.toLowerCase() === ours.uuid.toLowerCase() &&
      (c.abstractSyntax.version & 0xffff) === (ours.version & 0xffff) &&
      c.abstractSyntax.version >>> 16 <= ours.version >>> 16;
    if (!abstractOk) {
      return { result: RESULT.provider_rejection, reason: REASON.abstract_syntax_not_supported, transferSyntax: NULL_SYNTAX };
    }
    if (c.transferSyntaxes.some((t) => sameSyntax(t, NDR20))) {
      this.contexts.set(c.contextId, this.iface);
      return { result: RESULT.acceptance, reason: 0, transferSyntax: NDR20 };
    }
    const btfn = c.transferSyntaxes.find((t) => t.uuid.toLowerCase().startsWith(BIND_TIME_FEATURE_PREFIX));
    if (btfn) {
      // MS-RPCE 3.3.1.5.3: the reason field carries the features we support of those
      // offered. We never close on an orphaned PDU, so that one we can promise.
      const offered = uuidToBytes(btfn.uuid).readUInt16LE(8);
      return { result: RESULT.negotiate_ack, reason: offered & BTFN.KEEP_CONNECTION_ON_ORPHAN, transferSyntax: NULL_SYNTAX };
    }
    return { result: RESULT.provider_rejection, reason: REASON.proposed_transfer_syntaxes_not_supported, transferSyntax: NULL_SYNTAX };
  }

  private onRequest(pdu: Buffer): void {
    const req = decodeRequest(pdu);
    const { callId, flags } = req.header;
    if (req.header.authLength) return this.fault(callId, req.contextId, NCA.s_proto_error);
    if (flags & PFC.FIRST_FRAG) {
      if (this.partial) this.fault(this.partial.callId, this.partial.contextId, NCA.s_proto_error);
      this.partial = { callId, contextId: req.contextId, opnum: req.opnum, chunks: [], size: 0 };
    } else if (!this.partial || this.partial.callId !== callId) {
      this.partial = null;
      return this.fault(callId, req.contextId, NCA.s_proto_error);
    }
    const call = this.partial!;
    // A view, not a copy: `input` is this endpoint's own copy of what was written.
    call.chunks.push(req.stub);
    call.size += req.stub.length;
    if (call.size > MAX_REQUEST_STUB) {
      this.partial = null;
      return this.fault(callId, call.contextId, NCA.s_proto_error);
    }
    if (!(flags & PFC.LAST_FRAG)) return;
    this.partial = null;
    this.dispatch(call, call.chunks.length === 1 ? call.chunks[0]! : Buffer.concat(call.chunks, call.size));
  }

  private dispatch(call: Reassembly, stub: Buffer): void {
    const iface = this.contexts.get(call.contextId);
    if (!iface) return this.fault(call.callId, call.contextId, NCA.s_unk_if);
    let result;
    try {
      result = iface.call(call.opnum, stub, this.ctx);
    } catch (e) {
      return this.fault(call.callId, call.contextId, e instanceof NdrError ? NCA.s_fault_ndr : NCA.s_fault_cant_perform);
    }
    if ('fault' in result) return this.fault(call.callId, call.contextId, result.fault);
    this.output.push(...encodeResponses(call.callId, call.contextId, result.stub, this.maxXmitFrag));
  }

  private fault(callId: number, contextId: number, status: number): void {
    this.output.push(encodeFault(callId, contextId, status));
  }
}

/** C706 12.6.3.1 requires at least 1432 from peers; we tolerate smaller but not absurd. */
function clampFrag(n: number): number {
  return Math.min(Math.max(n, 256), MAX_FRAG);
}
