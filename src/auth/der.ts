/**
 * The small part of ASN.1 DER that SPNEGO needs (RFC 4178 / RFC 2743 3.1):
 * definite lengths, tags below 31, OIDs.
 */
import { RingsmbError } from '../util/errors.js';

export class DerError extends RingsmbError {
  constructor(message: string) {
    super('ERR_DER_MALFORMED', message);
  }
}

export interface Tlv {
  tag: number;
  /** The contents octets. */
  value: Buffer;
  /** The whole encoding (tag, length, contents). */
  raw: Buffer;
  /** Offset just past this element in the buffer it was read from. */
  end: number;
}

export function readTlv(buf: Buffer, off = 0, limit = buf.length): Tlv {
  if (off + 2 > limit) throw new DerError('truncated DER element');
  const tag = buf[off]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte DER tags are not supported');
  let len = buf[off + 1]!;
  let p = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new DerError('unsupported DER length form');
    if (p + n > limit) throw new DerError('truncated DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]!;
    p += n;
  }
  if (p + len > limit) throw new DerError('DER element runs past its container');
  return { tag, value: buf.subarray(p, p + len), raw: buf.subarray(off, p + len), end: p + len };
}

/** All elements inside a constructed value. */
export function readAll(value: Buffer): Tlv[] {
  const out: Tlv[] = [];
  let off = 0;
  while (off < value.length) {
    const t = readTlv(value, off);
    out.push(t);
    off = t.end;
  }
  return out;
}

function encodeLength(n: number): Buffer {
  if (n < 0x80) return Buffer.of(n);
  const bytes: number[] = [];
  while (n > 0) {
    bytes.unshift(n & 0xff);
    n = Math.floor(n / 256);
  }
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.of(tag), encodeLength(body.length), body]);
}

export function encodeOid(oid: string): Buffer {
  const arcs = oid.split('.').map((s) => Number(s));
  if (arcs.length < 2 || arcs.some((a) => !Number.isInteger(a) || a < 0)) throw new RangeError(`bad OID ${oid}`);
  const bytes: number[] = [arcs[0]! * 40 + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f];
    let v = Math.floor(arc / 128);
    while (v > 0) {
      chunk.unshift((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

export function decodeOid(value: Buffer): string {
  if (value.length === 0) throw new DerError('empty OID');
  const first = value[0]!;
  const arcs = [Math.min(2, Math.floor(first / 40)), first - Math.min(2, Math.floor(first / 40)) * 40];
  let v = 0;
  for (let i = 1; i < value.length; i++) {
    v = v * 128 + (value[i]! & 0x7f);
    if (!(value[i]! & 0x80)) {
      arcs.push(v);
      v = 0;
    }
  }
  return arcs.join('.');
}

export const Tag = {
  ENUMERATED: 0x0a,
  OCTET_STRING: 0x04,
  BIT_STRING: 0x03,
  OID: 0x06,
  GENERAL_STRING: 0x1b,
  SEQUENCE: 0x30,
  APPLICATION_0: 0x60,
  context: (n: number) => 0xa0 + n,
} as const;
