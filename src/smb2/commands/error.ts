/**
 * SMB2 ERROR response (MS-SMB2 2.2.2) with the 3.1.1 error context list (2.2.2.1),
 * and the symbolic link error data (2.2.2.2.1) used with STATUS_STOPPED_ON_SYMLINK.
 */
import { HEADER_SIZE } from '../header.js';
import { MalformedError, align8, fromUtf16, need, structureSize, utf16, zeroed } from '../wire.js';

const B = HEADER_SIZE;
export const ERROR_RESPONSE_SIZE = 9;

export interface ErrorContext {
  errorId: number;
  data: Buffer;
}

export interface ErrorResponse {
  /** Raw ErrorData when errorContexts is empty (e.g. a BUFFER_TOO_SMALL u32). */
  errorData: Buffer;
  /** 3.1.1 only: when non-empty, ErrorData is this list. */
  errorContexts: ErrorContext[];
}

/** 9-byte body with one zero byte of ErrorData when nothing else is given (2.2.2). */
export function encodeErrorResponse(r: Partial<ErrorResponse> = {}): Buffer {
  const ctxs = r.errorContexts ?? [];
  let data = r.errorData ?? zeroed(0);
  if (ctxs.length) {
    const parts: Buffer[] = [];
    let len = 0;
    for (const c of ctxs) {
      const padded = align8(8 + c.data.length);
      const b = zeroed(padded);
      b.writeUInt32LE(c.data.length, 0);
      b.writeUInt32LE(c.errorId >>> 0, 4);
      c.data.copy(b, 8);
      parts.push(b);
      len += padded;
    }
    data = Buffer.concat(parts, len);
  }
  if (ctxs.length > 0xff) throw new RangeError('too many error contexts');
  const b = zeroed(8 + Math.max(1, data.length));
  b.writeUInt16LE(ERROR_RESPONSE_SIZE, 0);
  b.writeUInt8(ctxs.length, 2);
  b.writeUInt32LE(data.length, 4);
  data.copy(b, 8);
  return b;
}

export function decodeErrorResponse(msg: Buffer): ErrorResponse {
  structureSize(msg, B, ERROR_RESPONSE_SIZE, 'ERROR response');
  need(msg, B, 8, 'ERROR response');
  const count = msg.readUInt8(B + 2);
  const byteCount = msg.readUInt32LE(B + 4);
  need(msg, B + 8, byteCount, 'ERROR data');
  const errorData = msg.subarray(B + 8, B + 8 + byteCount);
  const errorContexts: ErrorContext[] = [];
  let off = 0;
  for (let i = 0; i < count; i++) {
    need(errorData, off, 8, 'error context');
    const len = errorData.readUInt32LE(off);
    need(errorData, off + 8, len, 'error context data');
    errorContexts.push({ errorId: errorData.readUInt32LE(off + 4), data: errorData.subarray(off + 8, off + 8 + len) });
    off = align8(off + 8 + len);
  }
  return { errorData, errorContexts };
}

/** SMB2 Symbolic Link Error Response (2.2.2.2.1). */
export interface SymlinkErrorResponse {
  unparsedPathLength: number;
  substituteName: string;
  printName: string;
  /** SYMLINK_FLAG_RELATIVE = 1. */
  flags: number;
}

const SYMLINK_ERROR_TAG = 0x4c4d5953; // 'SYML'
const IO_REPARSE_TAG_SYMLINK = 0xa000000c;

export function encodeSymlinkErrorResponse(s: SymlinkErrorResponse): Buffer {
  const sub = utf16(s.substituteName);
  const pr = utf16(s.printName);
  const reparseLen = 12 + sub.length + pr.length; // after ReparseTag/ReparseDataLength/Reserved
  const b = zeroed(28 + sub.length + pr.length);
  b.writeUInt32LE(b.length - 4, 0); // SymLinkLength: from SymLinkErrorTag to the end
  b.writeUInt32LE(SYMLINK_ERROR_TAG, 4);
  b.writeUInt32LE(IO_REPARSE_TAG_SYMLINK, 8);
  b.writeUInt16LE(reparseLen, 12);
  b.writeUInt16LE(s.unparsedPathLength, 14);
  b.writeUInt16LE(0, 16); // SubstituteNameOffset, relative to PathBuffer
  b.writeUInt16LE(sub.length, 18);
  b.writeUInt16LE(sub.length, 20); // PrintNameOffset
  b.writeUInt16LE(pr.length, 22);
  b.writeUInt32LE(s.flags, 24);
  sub.copy(b, 28);
  pr.copy(b, 28 + sub.length);
  return b;
}

export function decodeSymlinkErrorResponse(data: Buffer): SymlinkErrorResponse {
  need(data, 0, 28, 'symlink error');
  if (data.readUInt32LE(4) !== SYMLINK_ERROR_TAG) throw new MalformedError('symlink error: bad tag');
  const path = data.subarray(28);
  const so = data.readUInt16LE(16);
  const sl = data.readUInt16LE(18);
  const po = data.readUInt16LE(20);
  const pl = data.readUInt16LE(22);
  need(path, so, sl, 'symlink substitute name');
  need(path, po, pl, 'symlink print name');
  return {
    unparsedPathLength: data.readUInt16LE(14),
    substituteName: fromUtf16(path.subarray(so, so + sl)),
    printName: fromUtf16(path.subarray(po, po + pl)),
    flags: data.readUInt32LE(24),
  };
}
