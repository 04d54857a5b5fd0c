/**
 * NTLMSSP message codecs (MS-NLMP 2.2.1) and AV pairs (MS-NLMP 2.2.2.1).
 * Pure Buffer <-> object functions; the protocol logic lives in ntlm.ts.
 */
import { RingsmbError } from '../util/errors.js';

export const NTLMSSP_SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');

/** NegotiateFlags (MS-NLMP 2.2.2.5). */
export const NtlmFlags = {
  UNICODE: 0x00000001,
  OEM: 0x00000002,
  REQUEST_TARGET: 0x00000004,
  SIGN: 0x00000010,
  SEAL: 0x00000020,
  DATAGRAM: 0x00000040,
  LM_KEY: 0x00000080,
  NTLM: 0x00000200,
  ANONYMOUS: 0x00000800,
  OEM_DOMAIN_SUPPLIED: 0x00001000,
  OEM_WORKSTATION_SUPPLIED: 0x00002000,
  ALWAYS_SIGN: 0x00008000,
  TARGET_TYPE_DOMAIN: 0x00010000,
  TARGET_TYPE_SERVER: 0x00020000,
  EXTENDED_SESSIONSECURITY: 0x00080000,
  IDENTIFY: 0x00100000,
  REQUEST_NON_NT_SESSION_KEY: 0x00400000,
  TARGET_INFO: 0x00800000,
  VERSION: 0x02000000,
  NEGOTIATE_128: 0x20000000,
  KEY_EXCH: 0x40000000,
  NEGOTIATE_56: 0x80000000,
} as const;

/** AvId values (MS-NLMP 2.2.2.1). */
export const AvId = {
  EOL: 0,
  NbComputerName: 1,
  NbDomainName: 2,
  DnsComputerName: 3,
  DnsDomainName: 4,
  DnsTreeName: 5,
  Flags: 6,
  Timestamp: 7,
  SingleHost: 8,
  TargetName: 9,
  ChannelBindings: 10,
} as const;

/** MsvAvFlags bit: the AUTHENTICATE message carries a MIC. */
export const AV_FLAG_MIC_PRESENT = 0x00000002;

export const MessageType = { NEGOTIATE: 1, CHALLENGE: 2, AUTHENTICATE: 3 } as const;

export class NtlmError extends RingsmbError {
  constructor(message: string) {
    super('ERR_NTLM_MALFORMED', message);
  }
}

export interface AvPair {
  id: number;
  value: Buffer;
}

/** A Windows-compatible 8-byte version field: 10.0 build 19041, NTLMSSP_REVISION_W2K3. */
export const DEFAULT_VERSION = Buffer.from([10, 0, 0x61, 0x4a, 0, 0, 0, 0x0f]);

export function encodeAvPairs(pairs: readonly AvPair[]): Buffer {
  const parts: Buffer[] = [];
  for (const p of pairs) {
    if (p.id === AvId.EOL) continue;
    const h = Buffer.alloc(4);
    h.writeUInt16LE(p.id, 0);
    h.writeUInt16LE(p.value.length, 2);
    parts.push(h, p.value);
  }
  parts.push(Buffer.alloc(4)); // MsvAvEOL
  return Buffer.concat(parts);
}

/** Decodes up to MsvAvEOL; throws on a pair running past the buffer. */
export function decodeAvPairs(buf: Buffer): AvPair[] {
  const out: AvPair[] = [];
  let off = 0;
  while (off + 4 <= buf.length) {
    const id = buf.readUInt16LE(off);
    const len = buf.readUInt16LE(off + 2);
    off += 4;
    if (id === AvId.EOL) return out;
    if (off + len > buf.length) throw new NtlmError('AV pair runs past its buffer');
    out.push({ id, value: buf.subarray(off, off + len) });
    off += len;
  }
  throw new NtlmError('AV pair list without MsvAvEOL');
}

export function avString(s: string): Buffer {
  return Buffer.from(s, 'utf16le');
}

export function findAv(pairs: readonly AvPair[], id: number): Buffer | undefined {
  return pairs.find((p) => p.id === id)?.value;
}

function checkHeader(buf: Buffer, type: number): void {
  if (buf.length < 12 || !buf.subarray(0, 8).equals(NTLMSSP_SIGNATURE)) throw new NtlmError('not an NTLMSSP message');
  const t = buf.readUInt32LE(8);
  if (t !== type) throw new NtlmError(`expected NTLMSSP message type ${type}, got ${t}`);
}

/** Reads a (Len, MaxLen, Offset) field descriptor at `at`. */
function readField(buf: Buffer, at: number): Buffer {
  if (at + 8 > buf.length) throw new NtlmError('truncated NTLMSSP message');
  const len = buf.readUInt16LE(at);
  const off = buf.readUInt32LE(at + 4);
  if (len === 0) return Buffer.alloc(0);
  if (off + len > buf.length) throw new NtlmError('NTLMSSP field out of bounds');
  return buf.subarray(off, off + len);
}

function fieldOffset(buf: Buffer, at: number): number {
  return buf.readUInt16LE(at) === 0 ? Infinity : buf.readUInt32LE(at + 4);
}

/** Lays out payload fields after a fixed part, filling their descriptors. */
class Writer {
  private readonly payload: Buffer[] = [];
  private offset: number;
  constructor(readonly fixed: Buffer) {
    this.offset = fixed.length;
  }
  field(at: number, data: Buffer): void {
    this.fixed.writeUInt16LE(data.length, at);
    this.fixed.writeUInt16LE(data.length, at + 2);
    this.fixed.writeUInt32LE(this.offset, at + 4);
    this.payload.push(data);
    this.offset += data.length;
  }
  done(): Buffer {
    return Buffer.concat([this.fixed, ...this.payload]);
  }
}

function fixedPart(size: number, type: number): Buffer {
  const b = Buffer.alloc(size);
  NTLMSSP_SIGNATURE.copy(b, 0);
  b.writeUInt32LE(type, 8);
  return b;
}

function decodeString(b: Buffer, unicode: boolean): string {
  return b.toString(unicode ? 'utf16le' : 'latin1');
}

function encodeString(s: string, unicode: boolean): Buffer {
  return Buffer.from(s, unicode ? 'utf16le' : 'latin1');
}

export interface NegotiateMessage {
  flags: number;
  domain: string;
  workstation: string;
}

export function encodeNegotiate(m: NegotiateMessage): Buffer {
  const w = new Writer(fixedPart(40, MessageType.NEGOTIATE));
  w.fixed.writeUInt32LE(m.flags >>> 0, 12);
  // MS-NLMP 2.2.1.1: DomainName and Workstation are OEM strings.
  w.field(16, Buffer.from(m.domain, 'latin1'));
  w.field(24, Buffer.from(m.workstation, 'latin1'));
  if (m.flags & NtlmFlags.VERSION) DEFAULT_VERSION.copy(w.fixed, 32);
  return w.done();
}

export function decodeNegotiate(buf: Buffer): NegotiateMessage {
  checkHeader(buf, MessageType.NEGOTIATE);
  if (buf.length < 16) throw new NtlmError('truncated NEGOTIATE_MESSAGE');
  const flags = buf.readUInt32LE(12);
  // Old clients send a 16-byte message without the optional fields.
  const domain = buf.length >= 24 ? readField(buf, 16).toString('latin1') : '';
  const workstation = buf.length >= 32 ? readField(buf, 24).toString('latin1') : '';
  return { flags, domain, workstation };
}

export interface ChallengeMessage {
  flags: number;
  targetName: string;
  serverChallenge: Buffer;
  /** Raw AV pair list, as the NTLMv2 blob must carry it. */
  targetInfo: Buffer;
}

export function encodeChallenge(m: ChallengeMessage): Buffer {
  const unicode = (m.flags & NtlmFlags.UNICODE) !== 0;
  const w = new Writer(fixedPart(56, MessageType.CHALLENGE));
  w.field(12, encodeString(m.targetName, unicode));
  w.fixed.writeUInt32LE(m.flags >>> 0, 20);
  m.serverChallenge.copy(w.fixed, 24, 0, 8);
  w.field(40, m.targetInfo);
  DEFAULT_VERSION.copy(w.fixed, 48);
  return w.done();
}

export function decodeChallenge(buf: Buffer): ChallengeMessage {
  checkHeader(buf, MessageType.CHALLENGE);
  if (buf.length < 48) throw new NtlmError('truncated CHALLENGE_MESSAGE');
  const flags = buf.readUInt32LE(20);
  return {
    flags,
    targetName: decodeString(readField(buf, 12), (flags & NtlmFlags.UNICODE) !== 0),
    serverChallenge: Buffer.from(buf.subarray(24, 32)),
    targetInfo: readField(buf, 40),
  };
}

export interface AuthenticateMessage {
  flags: number;
  lmResponse: Buffer;
  ntResponse: Buffer;
  domain: string;
  user: string;
  workstation: string;
  encryptedRandomSessionKey: Buffer;
  /** The MIC field (16 bytes at offset 72) when the layout has room for it. */
  mic: Buffer | null;
}

export const AUTH_MIC_OFFSET = 72;
const AUTH_FIXED_WITH_MIC = 88;

/** Encodes with Version and a zeroed MIC field when `withMic` (MS-NLMP 2.2.1.3). */
export function encodeAuthenticate(m: AuthenticateMessage, withMic: boolean): Buffer {
  const unicode = (m.flags & NtlmFlags.UNICODE) !== 0;
  const w = new Writer(fixedPart(withMic ? AUTH_FIXED_WITH_MIC : 72, MessageType.AUTHENTICATE));
  w.field(12, m.lmResponse);
  w.field(20, m.ntResponse);
  w.field(28, encodeString(m.domain, unicode));
  w.field(36, encodeString(m.user, unicode));
  w.field(44, encodeString(m.workstation, unicode));
  w.field(52, m.encryptedRandomSessionKey);
  w.fixed.writeUInt32LE(m.flags >>> 0, 60);
  DEFAULT_VERSION.copy(w.fixed, 64);
  if (withMic && m.mic) m.mic.copy(w.fixed, AUTH_MIC_OFFSET);
  return w.done();
}

export function decodeAuthenticate(buf: Buffer): AuthenticateMessage {
  checkHeader(buf, MessageType.AUTHENTICATE);
  if (buf.length < 64) throw new NtlmError('truncated AUTHENTICATE_MESSAGE');
  const flags = buf.readUInt32LE(60);
  const unicode = (flags & NtlmFlags.UNICODE) !== 0;
  // The MIC exists only if the payload starts after it.
  let firstPayload = Infinity;
  for (let at = 12; at <= 52; at += 8) firstPayload = Math.min(firstPayload, fieldOffset(buf, at));
  const hasMic = firstPayload >= AUTH_FIXED_WITH_MIC && buf.length >= AUTH_FIXED_WITH_MIC;
  return {
    flags,
    lmResponse: readField(buf, 12),
    ntResponse: readField(buf, 20),
    domain: decodeString(readField(buf, 28), unicode),
    user: decodeString(readField(buf, 36), unicode),
    workstation: decodeString(readField(buf, 44), unicode),
    encryptedRandomSessionKey: readField(buf, 52),
    mic: hasMic ? Buffer.from(buf.subarray(AUTH_MIC_OFFSET, AUTH_MIC_OFFSET + 16)) : null,
  };
}

/** True for a buffer that starts with "NTLMSSP\0". */
export function isNtlmssp(buf: Buffer): boolean {
  return buf.length >= 8 && buf.subarray(0, 8).equals(NTLMSSP_SIGNATURE);
}
