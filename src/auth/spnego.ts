/**
 * SPNEGO tokens (RFC 4178, MS-SPNG), DER-encoded:
 *
 *   InitialContextToken ::= [APPLICATION 0] { thisMech OID(1.3.6.1.5.5.2), NegotiationToken }
 *   NegotiationToken    ::= CHOICE { negTokenInit [0], negTokenResp [1] }
 *   NegTokenInit  ::= SEQUENCE { mechTypes [0], reqFlags [1], mechToken [2], mechListMIC [3] }
 *   NegTokenInit2 ::= SEQUENCE { mechTypes [0], reqFlags [1], mechToken [2], negHints [3], mechListMIC [4] }
 *   NegTokenResp  ::= SEQUENCE { negState [0], supportedMech [1], responseToken [2], mechListMIC [3] }
 *
 * Only the first token of a context carries the [APPLICATION 0] wrapper.
 * Raw NTLMSSP tokens (no SPNEGO at all) are recognised too.
 */
import { decodeOid, DerError, encodeOid, readAll, readTlv, Tag, tlv, type Tlv } from './der.js';
import { isNtlmssp } from './ntlm-messages.js';

export const Oid = {
  SPNEGO: '1.3.6.1.5.5.2',
  NTLMSSP: '1.3.6.1.4.1.311.2.2.10',
  KRB5: '1.2.840.113554.1.2.2',
  MS_KRB5: '1.2.840.48018.1.2.2',
  NEGOEX: '1.3.6.1.4.1.311.2.2.30',
} as const;

export const NegState = {
  ACCEPT_COMPLETED: 0,
  ACCEPT_INCOMPLETE: 1,
  REJECT: 2,
  REQUEST_MIC: 3,
} as const;
export type NegState = (typeof NegState)[keyof typeof NegState];

/** MS-SPNG 3.2.5.2: the hint Windows puts into the NEGOTIATE response. */
export const NEG_HINT_NAME = 'not_defined_in_RFC4178@please_ignore';

export interface NegTokenInit {
  mechTypes: string[];
  /** The DER MechTypeList exactly as received: what mechListMIC covers. */
  mechTypesDer: Buffer;
  reqFlags?: Buffer;
  mechToken?: Buffer;
  mechListMIC?: Buffer;
  hintName?: string;
}

export interface NegTokenResp {
  negState?: NegState;
  supportedMech?: string;
  responseToken?: Buffer;
  mechListMIC?: Buffer;
}

export type SpnegoToken =
  | { kind: 'init'; init: NegTokenInit }
  | { kind: 'resp'; resp: NegTokenResp }
  | { kind: 'raw'; token: Buffer };

export function encodeMechTypes(mechTypes: readonly string[]): Buffer {
  return tlv(Tag.SEQUENCE, ...mechTypes.map(encodeOid));
}

function wrapInitial(negTokenInitSeq: Buffer): Buffer {
  return tlv(Tag.APPLICATION_0, encodeOid(Oid.SPNEGO), tlv(Tag.context(0), negTokenInitSeq));
}

/** A client's first token: [APPLICATION 0] { SPNEGO, [0] NegTokenInit }. */
export function encodeNegTokenInit(init: { mechTypes: readonly string[]; mechToken?: Buffer; mechListMIC?: Buffer }): Buffer {
  const fields = [tlv(Tag.context(0), encodeMechTypes(init.mechTypes))];
  if (init.mechToken) fields.push(tlv(Tag.context(2), tlv(Tag.OCTET_STRING, init.mechToken)));
  if (init.mechListMIC) fields.push(tlv(Tag.context(3), tlv(Tag.OCTET_STRING, init.mechListMIC)));
  return wrapInitial(tlv(Tag.SEQUENCE, ...fields));
}

/** The server's NEGOTIATE-response token: NegTokenInit2 with negHints (MS-SPNG 2.2.1). */
export function encodeNegTokenInit2(mechTypes: readonly string[] = [Oid.NTLMSSP], hintName = NEG_HINT_NAME): Buffer {
  const hints = tlv(Tag.SEQUENCE, tlv(Tag.context(0), tlv(Tag.GENERAL_STRING, Buffer.from(hintName, 'latin1'))));
  return wrapInitial(tlv(Tag.SEQUENCE, tlv(Tag.context(0), encodeMechTypes(mechTypes)), tlv(Tag.context(3), hints)));
}

/** [1] NegTokenResp, never wrapped in [APPLICATION 0]. */
export function encodeNegTokenResp(resp: NegTokenResp): Buffer {
  const fields: Buffer[] = [];
  if (resp.negState !== undefined) fields.push(tlv(Tag.context(0), tlv(Tag.ENUMERATED, Buffer.of(resp.negState))));
  if (resp.supportedMech) fields.push(tlv(Tag.context(1), encodeOid(resp.supportedMech)));
  if (resp.responseToken) fields.push(tlv(Tag.context(2), tlv(Tag.OCTET_STRING, resp.responseToken)));
  if (resp.mechListMIC) fields.push(tlv(Tag.context(3), tlv(Tag.OCTET_STRING, resp.mechListMIC)));
  return tlv(Tag.context(1), tlv(Tag.SEQUENCE, ...fields));
}

function inner(t: Tlv, tag: number): Tlv {
  const x = readTlv(t.value);
  if (x.tag !== tag) throw new DerError(`expected tag 0x${tag.toString(16)}, got 0x${x.tag.toString(16)}`);
  return x;
}

function decodeHints(seq: Tlv): string | undefined {
  for (const h of readAll(seq.value)) {
    if (h.tag === Tag.context(0)) return readTlv(h.value).value.toString('latin1');
  }
  return undefined;
}

function decodeInit(ctx0: Tlv): NegTokenInit {
  const seq = inner(ctx0, Tag.SEQUENCE);
  const out: NegTokenInit = { mechTypes: [], mechTypesDer: Buffer.alloc(0) };
  for (const f of readAll(seq.value)) {
    if (f.tag === Tag.context(0)) {
      const list = inner(f, Tag.SEQUENCE);
      out.mechTypesDer = Buffer.from(list.raw);
      out.mechTypes = readAll(list.value).map((o) => {
        if (o.tag !== Tag.OID) throw new DerError('mechTypes holds a non-OID');
        return decodeOid(o.value);
      });
    } else if (f.tag === Tag.context(1)) {
      out.reqFlags = inner(f, Tag.BIT_STRING).value;
    } else if (f.tag === Tag.context(2)) {
      out.mechToken = inner(f, Tag.OCTET_STRING).value;
    } else if (f.tag === Tag.context(3)) {
      // [3] is mechListMIC in NegTokenInit, negHints in NegTokenInit2: the inner tag tells.
      const x = readTlv(f.value);
      if (x.tag === Tag.SEQUENCE) out.hintName = decodeHints(x);
      else if (x.tag === Tag.OCTET_STRING) out.mechListMIC = x.value;
    } else if (f.tag === Tag.context(4)) {
      out.mechListMIC = inner(f, Tag.OCTET_STRING).value;
    }
  }
  return out;
}

function decodeResp(ctx1: Tlv): NegTokenResp {
  const seq = inner(ctx1, Tag.SEQUENCE);
  const out: NegTokenResp = {};
  for (const f of readAll(seq.value)) {
    if (f.tag === Tag.context(0)) {
      const e = inner(f, Tag.ENUMERATED);
      if (e.value.length !== 1 || e.value[0]! > 3) throw new DerError('bad negState');
      out.negState = e.value[0] as NegState;
    } else if (f.tag === Tag.context(1)) {
      out.supportedMech = decodeOid(inner(f, Tag.OID).value);
    } else if (f.tag === Tag.context(2)) {
      out.responseToken = inner(f, Tag.OCTET_STRING).value;
    } else if (f.tag === Tag.context(3)) {
      out.mechListMIC = inner(f, Tag.OCTET_STRING).value;
    }
  }
  return out;
}

function decodeNegotiationToken(t: Tlv): SpnegoToken {
  if (t.tag === Tag.context(0)) return { kind: 'init', init: decodeInit(t) };
  if (t.tag === Tag.context(1)) return { kind: 'resp', resp: decodeResp(t) };
  throw new DerError(`not a SPNEGO NegotiationToken (tag 0x${t.tag.toString(16)})`);
}

/** Any token a peer may send in SESSION_SETUP. Throws DerError when malformed. */
export function decodeSpnegoToken(buf: Buffer): SpnegoToken {
  if (isNtlmssp(buf)) return { kind: 'raw', token: buf };
  const outer = readTlv(buf);
  if (outer.tag !== Tag.APPLICATION_0) return decodeNegotiationToken(outer);
  const oid = readTlv(outer.value);
  if (oid.tag !== Tag.OID || decodeOid(oid.value) !== Oid.SPNEGO) throw new DerError('initial context token is not SPNEGO');
  return decodeNegotiationToken(readTlv(outer.value, oid.end));
}
