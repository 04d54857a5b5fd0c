/** Shared test helpers for the smb2 codecs. */
import { HEADER_SIZE, encodeHeader, makeHeader } from '../../src/smb2/header.js';

/** Bytes from a hex string; spaces, newlines and `|` are ignored. */
export function hex(s: string): Buffer {
  const clean = s.replace(/[\s|]/g, '');
  if (clean.length % 2) throw new Error('odd hex');
  return Buffer.from(clean, 'hex');
}

/** A whole message: a valid 64-byte header for `command` followed by `body`. */
export function msgOf(command: number, body: Buffer): Buffer {
  const h = Buffer.alloc(HEADER_SIZE);
  encodeHeader(makeHeader({ command }), h);
  return Buffer.concat([h, body]);
}

/** `s` as UTF-16LE hex, for hand-built expectations. */
export function u16hex(s: string): string {
  return Buffer.from(s, 'utf16le').toString('hex');
}

export function le16(n: number): string {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b.toString('hex');
}

export function le32(n: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b.toString('hex');
}

export function le64(n: bigint): string {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b.toString('hex');
}

export const zeros = (n: number): string => '00'.repeat(n);
