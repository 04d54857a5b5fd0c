/** IOCTL request (MS-SMB2 2.2.31) and response (2.2.32). FSCTL payloads are in fsctl.ts. */
import { HEADER_SIZE } from '../header.js';
import { FileId, MalformedError, align8, need, overlaps, readFileId, region, structureSize, writeFileId, zeroed } from '../wire.js';

const B = HEADER_SIZE;
export const IOCTL_REQUEST_SIZE = 57;
export const IOCTL_RESPONSE_SIZE = 49;

export interface IoctlRequest {
  ctlCode: number;
  fileId: FileId;
  /** A view into the message. */
  input: Buffer;
  maxInputResponse: number;
  /** Output buffer sent by the client (rare; a view into the message). */
  output: Buffer;
  maxOutputResponse: number;
  flags: number;
}

export interface IoctlResponse {
  ctlCode: number;
  fileId: FileId;
  input: Buffer;
  output: Buffer;
  flags: number;
}

export function decodeIoctlRequest(msg: Buffer): IoctlRequest {
  structureSize(msg, B, IOCTL_REQUEST_SIZE, 'IOCTL request');
  need(msg, B, 56, 'IOCTL request');
  const inOff = msg.readUInt32LE(B + 24);
  const inLen = msg.readUInt32LE(B + 28);
  const outOff = msg.readUInt32LE(B + 36);
  const outLen = msg.readUInt32LE(B + 40);
  const input = region(msg, inOff, inLen, B + 56, 'IOCTL input');
  const output = region(msg, outOff, outLen, B + 56, 'IOCTL output');
  if (overlaps(inOff, inLen, outOff, outLen)) {
    throw new MalformedError('IOCTL: input and output buffers overlap');
  }
  return {
    ctlCode: msg.readUInt32LE(B + 4),
    fileId: readFileId(msg, B + 8),
    input,
    maxInputResponse: msg.readUInt32LE(B + 32),
    output,
    maxOutputResponse: msg.readUInt32LE(B + 44),
    flags: msg.readUInt32LE(B + 48),
  };
}

/** Lays out input then output (8-aligned) after a fixed part of `fixed` bytes. */
function layout(fixed: number, input: Buffer, output: Buffer): { size: number; inOff: number; outOff: number } {
  const inOff = fixed;
  const outOff = output.length ? align8(inOff + input.length) : 0;
  const size = output.length ? outOff + output.length : inOff + input.length;
  return { size, inOff, outOff };
}

export function encodeIoctlRequest(r: IoctlRequest): Buffer {
  const l = layout(56, r.input, r.output);
  const b = zeroed(Math.max(l.size, 56));
  b.writeUInt16LE(IOCTL_REQUEST_SIZE, 0);
  b.writeUInt32LE(r.ctlCode >>> 0, 4);
  writeFileId(b, 8, r.fileId);
  b.writeUInt32LE(r.input.length ? B + l.inOff : 0, 24);
  b.writeUInt32LE(r.input.length, 28);
  b.writeUInt32LE(r.maxInputResponse, 32);
  b.writeUInt32LE(r.output.length ? B + l.outOff : 0, 36);
  b.writeUInt32LE(r.output.length, 40);
  b.writeUInt32LE(r.maxOutputResponse, 44);
  b.writeUInt32LE(r.flags, 48);
  r.input.copy(b, l.inOff);
  r.output.copy(b, l.outOff);
  return b;
}

/**
 * Offsets of empty buffers point where the buffer would be (B+48), as Windows does;
 * 3.3.5.15 lets InputOffset be 0 when InputCount is 0, and clients accept both.
 */
export function encodeIoctlResponse(r: IoctlResponse): Buffer {
  const l = layout(48, r.input, r.output);
  const b = zeroed(Math.max(l.size, 48));
  b.writeUInt16LE(IOCTL_RESPONSE_SIZE, 0);
  b.writeUInt32LE(r.ctlCode >>> 0, 4);
  writeFileId(b, 8, r.fileId);
  b.writeUInt32LE(B + l.inOff, 24);
  b.writeUInt32LE(r.input.length, 28);
  b.writeUInt32LE(r.output.length ? B + l.outOff : B + l.inOff + r.input.length, 32);
  b.writeUInt32LE(r.output.length, 36);
  b.writeUInt32LE(r.flags, 40);
  r.input.copy(b, l.inOff);
  r.output.copy(b, l.outOff);
  return b;
}

export function decodeIoctlResponse(msg: Buffer): IoctlResponse {
  structureSize(msg, B, IOCTL_RESPONSE_SIZE, 'IOCTL response');
  need(msg, B, 48, 'IOCTL response');
  return {
    ctlCode: msg.readUInt32LE(B + 4),
    fileId: readFileId(msg, B + 8),
    input: region(msg, msg.readUInt32LE(B + 24), msg.readUInt32LE(B + 28), B + 48, 'IOCTL input'),
    output: region(msg, msg.readUInt32LE(B + 32), msg.readUInt32LE(B + 36), B + 48, 'IOCTL output'),
    flags: msg.readUInt32LE(B + 40),
  };
}
