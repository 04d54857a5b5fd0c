/**
 * Connection-oriented DCE/RPC PDUs (C706 chapter 12.6, MS-RPCE 2.2.2), as carried
 * over SMB named pipes: no authentication verifiers are produced; received ones are
 * tolerated only where the caller decides so (auth_length is reported).
 */
import { RingsmbError } from '../util/errors.js';

export const PTYPE = {
  request: 0,
  response: 2,
  fault: 3,
  bind: 11,
  bind_ack: 12,
  bind_nak: 13,
  alter_context: 14,
  alter_context_resp: 15,
  auth3: 16,
  shutdown: 17,
  co_cancel: 18,
  orphaned: 19,
} as const;

export const PFC = {
  FIRST_FRAG: 0x01,
  LAST_FRAG: 0x02,
  /** In bind/alter_context: MS-RPCE 2.2.2.3 PFC_SUPPORT_HEADER_SIGN; else PENDING_CANCEL. */
  PENDING_CANCEL: 0x04,
  CONC_MPX: 0x10,
  DID_NOT_EXECUTE: 0x20,
  MAYBE: 0x40,
  OBJECT_UUID: 0x80,
} as const;

/** Fault statuses (C706 appendix E, MS-RPCE 2.2.2.11). */
export const NCA = {
  s_op_rng_error: 0x1c010002,
  s_unk_if: 0x1c010003,
  s_proto_error: 0x1c01000b,
  s_fault_context_mismatch: 0x1c00001a,
  s_fault_cant_perform: 0x000006d8,
  s_fault_ndr: 0x000006f7,
  s_fault_access_denied: 0x00000005,
} as const;

/** p_cont_def_result_t (C706 12.6.3.1) plus MS-RPCE negotiate_ack. */
export const RESULT = { acceptance: 0, user_rejection: 1, provider_rejection: 2, negotiate_ack: 3 } as const;
/** p_provider_reason_t. */
export const REASON = {
  not_specified: 0,
  abstract_syntax_not_supported: 1,
  proposed_transfer_syntaxes_not_supported: 2,
  local_limit_exceeded: 3,
} as const;
/** bind_nak p_reject_reason_t (C706 12.6.3.2, MS-RPCE 2.2.2.5). */
export const NAK_REASON = {
  not_specified: 0,
  temporary_congestion: 1,
  local_limit_exceeded: 2,
  protocol_version_not_supported: 4,
  authentication_type_not_recognized: 8,
} as const;

export const HEADER_LENGTH = 16;
export const REQUEST_HEADER_LENGTH = 24;
export const RESPONSE_HEADER_LENGTH = 24;
/** Little-endian integers, ASCII characters, IEEE floats. */
const DREP_LE = 0x10;

export class RpcPduError extends RingsmbError {
  constructor(message: string) {
    super('ERR_RPC_PDU', message);
  }
}

/** A presentation syntax identifier: interface or transfer syntax UUID and version. */
export interface SyntaxId {
  uuid: string;
  /** major in the low 16 bits, minor in the high 16 bits, as on the wire. */
  version: number;
}

export const NDR20: SyntaxId = { uuid: '8a885d04-1ceb-11c9-9fe8-08002b104860', version: 2 };
export const NDR64: SyntaxId = { uuid: '71710533-beba-4937-8319-b5dbef9ccc36', version: 1 };
/** MS-RPCE 3.3.1.5.3: the first 8 bytes name it; bytes 8-9 carry the feature bitmask. */
export const BIND_TIME_FEATURE_PREFIX = '6cb71c2c-9812-4540-';
export const BTFN = { SECURITY_CONTEXT_MULTIPLEXING: 0x1, KEEP_CONNECTION_ON_ORPHAN: 0x2 } as const;

export function syntaxVersion(major: number, minor: number): number {
  return ((minor & 0xffff) << 16 | (major & 0xffff)) >>> 0;
}

/** UUID text to its 16-byte NDR form (first three fields little-endian). */
export function uuidToBytes(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new RangeError(`bad UUID ${uuid}`);
  const b = Buffer.from(hex, 'hex');
  b.subarray(0, 4).reverse();
  b.subarray(4, 6).reverse();
  b.subarray(6, 8).reverse();
  return b;
}

export function uuidFromBytes(b: Buffer): string {
  const c = Buffer.from(b.subarray(0, 16));
  c.subarray(0, 4).reverse();
  c.subarray(4, 6).reverse();
  c.subarray(6, 8).reverse();
  const h = c.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function sameSyntax(a: SyntaxId, b: SyntaxId): boolean {
  return a.uuid.toLowerCase() === b.uuid.toLowerCase() && a.version === b.version;
}

export interface PduHeader {
  ptype: number;
  flags: number;
  fragLength: number;
  authLength: number;
  callId: number;
}

/** Reads the common header; checks version and data representation. */
export function decodeHeader(b: Buffer): PduHeader {
  if (b.length < HEADER_LENGTH) throw new RpcPduError(`PDU shorter than the ${HEADER_LENGTH}-byte header`);
  if (b[0] !== 5 || b[1] !== 0) throw new RpcPduError(`unsupported RPC version ${b[0]}.${b[1]}`);
  if ((b[4]! & 0xf0) !== DREP_LE) throw new RpcPduError('only little-endian data representation is supported');
  const h = { ptype: b[2]!, flags: b[3]!, fragLength: b.readUInt16LE(8), authLength: b.readUInt16LE(10), callId: b.readUInt32LE(12) };
  if (h.fragLength < HEADER_LENGTH) throw new RpcPduError(`frag_length ${h.fragLength} below header size`);
  return h;
}

/**
 * A PDU of `bodyLength` bytes after the common header, the header written (frag_length
 * included) and the body zeroed: callers write the body in place at HEADER_LENGTH.
 */
function newPdu(ptype: number, flags: number, callId: number, bodyLength: number): Buffer {
  const out = Buffer.alloc(HEADER_LENGTH + bodyLength);
  out[0] = 5;
  out[1] = 0;
  out[2] = ptype;
  out[3] = flags;
  out[4] = DREP_LE;
  out.writeUInt16LE(out.length, 8);
  out.writeUInt16LE(0, 10);
  out.writeUInt32LE(callId >>> 0, 12);
  return out;
}

/** Builds a PDU from its header fields and body (frag_length is computed). */
export function encodePdu(ptype: number, flags: number, callId: number, body: Buffer): Buffer {
  const out = newPdu(ptype, flags, callId, body.length);
  body.copy(out, HEADER_LENGTH);
  return out;
}

export interface ContextElement {
  contextId: number;
  abstractSyntax: SyntaxId;
  transferSyntaxes: SyntaxId[];
}

export interface BindPdu {
  header: PduHeader;
  maxXmitFrag: number;
  maxRecvFrag: number;
  assocGroupId: number;
  contexts: ContextElement[];
}

function readSyntax(b: Buffer, at: number): SyntaxId {
  return { uuid: uuidFromBytes(b.subarray(at, at + 16)), version: b.readUInt32LE(at + 16) };
}

function writeSyntax(b: Buffer, at: number, s: SyntaxId): void {
  uuidToBytes(s.uuid).copy(b, at);
  b.writeUInt32LE(s.version >>> 0, at + 16);
}

/** bind and alter_context share one layout (C706 12.6.4.3, 12.6.4.1). */
export function decodeBind(pdu: Buffer): BindPdu {
  const header = decodeHeader(pdu);
  const end = header.fragLength - (header.authLength ? header.authLength + 8 : 0);
  if (end > pdu.length || end < 28) throw new RpcPduError('bind PDU truncated');
  const n = pdu[24]!;
  const contexts: ContextElement[] = [];
  let at = 28;
  for (let i = 0; i < n; i++) {
    if (at + 24 > end) throw new RpcPduError(`bind context ${i} truncated`);
    const contextId = pdu.readUInt16LE(at);
    const nTransfer = pdu[at + 2]!;
    const abstractSyntax = readSyntax(pdu, at + 4);
    at += 24;
    if (at + nTransfer * 20 > end) throw new RpcPduError(`bind context ${i} transfer syntaxes truncated`);
    const transferSyntaxes: SyntaxId[] = [];
    for (let t = 0; t < nTransfer; t++, at += 20) transferSyntaxes.push(readSyntax(pdu, at));
    contexts.push({ contextId, abstractSyntax, transferSyntaxes });
  }
  return {
    header,
    maxXmitFrag: pdu.readUInt16LE(16),
    maxRecvFrag: pdu.readUInt16LE(18),
    assocGroupId: pdu.readUInt32LE(20),
    contexts,
  };
}

export function encodeBind(
  ptype: number,
  callId: number,
  p: { maxXmitFrag: number; maxRecvFrag: number; assocGroupId: number; contexts: ContextElement[] },
): Buffer {
  const size = 12 + p.contexts.reduce((s, c) => s + 24 + 20 * c.transferSyntaxes.length, 0);
  const body = Buffer.alloc(size);
  body.writeUInt16LE(p.maxXmitFrag, 0);
  body.writeUInt16LE(p.maxRecvFrag, 2);
  body.writeUInt32LE(p.assocGroupId >>> 0, 4);
  body[8] = p.contexts.length;
  let at = 12;
  for (const c of p.contexts) {
    body.writeUInt16LE(c.contextId, at);
    body[at + 2] = c.transferSyntaxes.length;
    writeSyntax(body, at + 4, c.abstractSyntax);
    at += 24;
    for (const t of c.transferSyntaxes) {
      writeSyntax(body, at, t);
      at += 20;
    }
  }
  return encodePdu(ptype, PFC.FIRST_FRAG | PFC.LAST_FRAG, callId, body);
}

export interface ContextResult {
  result: number;
  reason: number;
  transferSyntax: SyntaxId;
}

export const NULL_SYNTAX: SyntaxId = { uuid: '00000000-0000-0000-0000-000000000000', version: 0 };

/** bind_ack / alter_context_resp (C706 12.6.4.4). secAddr '' gives a zero length. */
export function encodeBindAck(
  ptype: number,
  callId: number,
  p: { maxXmitFrag: number; maxRecvFrag: number; assocGroupId: number; secAddr: string; results: ContextResult[] },
): Buffer {
  const addr = p.secAddr ? Buffer.from(p.secAddr + '\0', 'latin1') : Buffer.alloc(0);
  // port_spec is followed by padding to a 4-byte boundary, counted from the PDU start.
  const afterAddr = HEADER_LENGTH + 10 + addr.length;
  const pad = (4 - (afterAddr % 4)) % 4;
  const body = Buffer.alloc(10 + addr.length + pad + 4 + 24 * p.results.length);
  body.writeUInt16LE(p.maxXmitFrag, 0);
  body.writeUInt16LE(p.maxRecvFrag, 2);
  body.writeUInt32LE(p.assocGroupId >>> 0, 4);
  body.writeUInt16LE(addr.length, 8);
  addr.copy(body, 10);
  let at = 10 + addr.length + pad;
  body[at] = p.results.length;
  at += 4;
  for (const r of p.results) {
    body.writeUInt16LE(r.result, at);
    body.writeUInt16LE(r.reason, at + 2);
    writeSyntax(body, at + 4, r.transferSyntax);
    at += 24;
  }
  return encodePdu(ptype, PFC.FIRST_FRAG | PFC.LAST_FRAG, callId, body);
}

/** bind_nak (C706 12.6.4.5): reason and the one protocol version we speak, 5.0. */
export function encodeBindNak(callId: number, reason: number): Buffer {
  const body = Buffer.from([reason & 0xff, reason >> 8, 1, 5, 0]);
  return encodePdu(PTYPE.bind_nak, PFC.FIRST_FRAG | PFC.LAST_FRAG, callId, body);
}

export interface RequestPdu {
  header: PduHeader;
  allocHint: number;
  contextId: number;
  opnum: number;
  stub: Buffer;
}

/** request (C706 12.6.4.9); an object UUID, when flagged, is skipped. */
export function decodeRequest(pdu: Buffer): RequestPdu {
  const header = decodeHeader(pdu);
  let start = REQUEST_HEADER_LENGTH;
  if (header.flags & PFC.OBJECT_UUID) start += 16;
  // The auth verifier is auth_length bytes plus its 8-byte sec_trailer (C706 13.2.6.1).
  const end = header.fragLength - (header.authLength ? header.authLength + 8 : 0);
  if (end < start || end > pdu.length) throw new RpcPduError('request PDU truncated');
  return {
    header,
    allocHint: pdu.readUInt32LE(16),
    contextId: pdu.readUInt16LE(20),
    opnum: pdu.readUInt16LE(22),
    stub: pdu.subarray(start, end),
  };
}

export function encodeRequest(callId: number, flags: number, contextId: number, opnum: number, stub: Buffer, allocHint = stub.length): Buffer {
  const out = newPdu(PTYPE.request, flags, callId, 8 + stub.length);
  out.writeUInt32LE(allocHint >>> 0, 16);
  out.writeUInt16LE(contextId, 20);
  out.writeUInt16LE(opnum, 22);
  stub.copy(out, REQUEST_HEADER_LENGTH);
  return out;
}

/**
 * Splits a response stub into response PDUs no larger than maxXmitFrag. Each fragment
 * but the last carries a multiple of 8 stub bytes, so NDR alignment is unaffected;
 * alloc_hint is the stub still to come from that fragment on (C706 12.6.4.10).
 */
export function encodeResponses(callId: number, contextId: number, stub: Buffer, maxXmitFrag: number): Buffer[] {
  const room = Math.max(8, (maxXmitFrag - RESPONSE_HEADER_LENGTH) & ~7);
  const out: Buffer[] = [];
  let at = 0;
  do {
    const chunk = stub.subarray(at, at + room);
    let flags = 0;
    if (at === 0) flags |= PFC.FIRST_FRAG;
    if (at + chunk.length >= stub.length) flags |= PFC.LAST_FRAG;
    const pdu = newPdu(PTYPE.response, flags, callId, 8 + chunk.length);
    pdu.writeUInt32LE(stub.length - at, 16);
    pdu.writeUInt16LE(contextId, 20);
    chunk.copy(pdu, RESPONSE_HEADER_LENGTH);
    out.push(pdu);
    at += chunk.length;
  } while (at < stub.length);
  return out;
}

/** fault (C706 12.6.4.7): 32 bytes, status after alloc_hint/context/cancel count. */
export function encodeFault(callId: number, contextId: number, status: number, didNotExecute = true): Buffer {
  const flags = PFC.FIRST_FRAG | PFC.LAST_FRAG | (didNotExecute ? PFC.DID_NOT_EXECUTE : 0);
  const pdu = newPdu(PTYPE.fault, flags, callId, 16);
  pdu.writeUInt16LE(contextId, 20);
  pdu.writeUInt32LE(status >>> 0, 24);
  return pdu;
}
