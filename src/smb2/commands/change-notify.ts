/**
 * CHANGE_NOTIFY request (MS-SMB2 2.2.35) and response (2.2.36), with the
 * FILE_NOTIFY_INFORMATION entries (MS-FSCC 2.7.1) the response carries.
 */
import { HEADER_SIZE } from '../header.js';
import { FileId, MalformedError, fromUtf16, joinChain, need, readFileId, structureSize, utf16, writeFileId, zeroed } from '../wire.js';
import { decodeOutputBufferResponse, encodeOutputBufferResponse } from './query-directory.js';

const B = HEADER_SIZE;
export const CHANGE_NOTIFY_REQUEST_SIZE = 32;
export const CHANGE_NOTIFY_RESPONSE_SIZE = 9;

export interface ChangeNotifyRequest {
  flags: number;
  outputBufferLength: number;
  fileId: FileId;
  completionFilter: number;
}

export interface FileNotifyInformation {
  action: number;
  fileName: string;
}

export function decodeChangeNotifyRequest(msg: Buffer): ChangeNotifyRequest {
  structureSize(msg, B, CHANGE_NOTIFY_REQUEST_SIZE, 'CHANGE_NOTIFY request');
  need(msg, B, 32, 'CHANGE_NOTIFY request');
  return {
    flags: msg.readUInt16LE(B + 2),
    outputBufferLength: msg.readUInt32LE(B + 4),
    fileId: readFileId(msg, B + 8),
    completionFilter: msg.readUInt32LE(B + 24),
  };
}

export function encodeChangeNotifyRequest(r: ChangeNotifyRequest): Buffer {
  const b = zeroed(32);
  b.writeUInt16LE(CHANGE_NOTIFY_REQUEST_SIZE, 0);
  b.writeUInt16LE(r.flags, 2);
  b.writeUInt32LE(r.outputBufferLength, 4);
  writeFileId(b, 8, r.fileId);
  b.writeUInt32LE(r.completionFilter, 24);
  return b;
}

/** FILE_NOTIFY_INFORMATION chain, each entry 4-aligned, last NextEntryOffset 0. */
export function encodeFileNotifyInformation(list: readonly FileNotifyInformation[]): Buffer {
  const entries = list.map((e) => {
    const name = utf16(e.fileName);
    const b = zeroed(12 + name.length);
    b.writeUInt32LE(e.action, 4);
    b.writeUInt32LE(name.length, 8);
    name.copy(b, 12);
    return b;
  });
  return joinChain(entries, 4);
}

export function decodeFileNotifyInformation(buf: Buffer): FileNotifyInformation[] {
  const out: FileNotifyInformation[] = [];
  let off = 0;
  while (off < buf.length) {
    need(buf, off, 12, 'FILE_NOTIFY_INFORMATION');
    const next = buf.readUInt32LE(off);
    const len = buf.readUInt32LE(off + 8);
    need(buf, off + 12, len, 'FILE_NOTIFY_INFORMATION name');
    if (next !== 0 && next < 12 + len) throw new MalformedError('FILE_NOTIFY_INFORMATION: bad NextEntryOffset');
    out.push({ action: buf.readUInt32LE(off + 4), fileName: fromUtf16(buf.subarray(off + 12, off + 12 + len)) });
    if (next === 0) break;
    off += next;
  }
  return out;
}

/** `output` is FILE_NOTIFY_INFORMATION bytes (empty for STATUS_NOTIFY_ENUM_DIR). */
export function encodeChangeNotifyResponse(r: { output: Buffer }): Buffer {
  return encodeOutputBufferResponse(r.output);
}

export function decodeChangeNotifyResponse(msg: Buffer): { output: Buffer } {
  return { output: decodeOutputBufferResponse(msg, 'CHANGE_NOTIFY response') };
}
