/**
 * Compounded messages (MS-SMB2 3.2.4.1.4 / 3.3.5.2.7): several SMB2 messages in one
 * transport frame, each header's NextCommand giving the offset of the next header
 * from its own start, 8-byte aligned. Also the SMB1 NEGOTIATE a client may open with
 * (MS-SMB2 3.3.5.3.1), recognised only to answer it with an SMB2 NEGOTIATE response.
 */
import { HEADER_SIZE, PROTOCOL_ID_SMB1, PROTOCOL_ID_SMB2 } from './header.js';
import { align8 } from './wire.js';

/**
 * The messages of a frame as views (no copy), or null when the NextCommand chain is
 * malformed: not 8-aligned, shorter than a header, or running past the frame.
 */
export function splitCompound(frame: Buffer): Buffer[] | null {
  const out: Buffer[] = [];
  let off = 0;
  for (;;) {
    if (frame.length - off < HEADER_SIZE) return null;
    if (frame.readUInt32LE(off) !== PROTOCOL_ID_SMB2) return null;
    const next = frame.readUInt32LE(off + 20);
    if (next === 0) {
      out.push(frame.subarray(off));
      return out;
    }
    if (next < HEADER_SIZE || next % 8 !== 0 || off + next + HEADER_SIZE > frame.length) return null;
    out.push(frame.subarray(off, off + next));
    off += next;
  }
}

/** Bytes of padding a response needs before another message follows it in a compound. */
export function compoundPadding(messageLength: number): number {
  return align8(messageLength) - messageLength;
}

/**
 * The dialect strings of an SMB1 NEGOTIATE request (MS-CIFS 2.2.4.52.1), or null when
 * `frame` is not one. A server answers with SMB2 when it finds "SMB 2.002" or "SMB 2.???".
 */
export function smb1NegotiateDialects(frame: Buffer): string[] | null {
  // SMB1 header (32 bytes) with Command 0x72, then WordCount(1)=0, ByteCount(2), dialects.
  if (frame.length < 35 || frame.readUInt32LE(0) !== PROTOCOL_ID_SMB1 || frame[4] !== 0x72) return null;
  if (frame[32] !== 0) return null;
  const count = frame.readUInt16LE(33);
  if (35 + count > frame.length) return null;
  const bytes = frame.subarray(35, 35 + count);
  const out: string[] = [];
  let i = 0;
  while (i < bytes.length) {
    if (bytes[i] !== 0x02) return null; // BufferFormat: dialect string
    const end = bytes.indexOf(0, i + 1);
    if (end < 0) return null;
    out.push(bytes.toString('latin1', i + 1, end));
    i = end + 1;
  }
  return out;
}
