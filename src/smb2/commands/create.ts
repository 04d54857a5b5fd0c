/** CREATE request (MS-SMB2 2.2.13) and response (2.2.14). */
import { HEADER_SIZE } from '../header.js';
import { FileId, MalformedError, align8, fromUtf16, need, readFileId, region, structureSize, utf16, writeFileId, zeroed } from '../wire.js';
import { CreateContext, decodeCreateContexts, encodeCreateContexts } from './create-contexts.js';
import { readOpenAttributes, writeOpenAttributes, type OpenAttributes } from './open-attributes.js';

const B = HEADER_SIZE;
export const CREATE_REQUEST_SIZE = 57;
export const CREATE_RESPONSE_SIZE = 89;

export interface CreateRequest {
  securityFlags: number;
  requestedOplockLevel: number;
  impersonationLevel: number;
  smbCreateFlags: bigint;
  desiredAccess: number;
  fileAttributes: number;
  shareAccess: number;
  createDisposition: number;
  createOptions: number;
  /** Relative to the share root, backslash-separated, no leading backslash. */
  name: string;
  createContexts: CreateContext[];
}

export interface CreateResponse extends OpenAttributes {
  oplockLevel: number;
  flags: number;
  createAction: number;
  fileId: FileId;
  createContexts: CreateContext[];
}

/** The CreateContexts region of a message, checked to start 8-aligned after `min`. */
function contextsRegion(msg: Buffer, off: number, len: number, min: number, what: string): Buffer {
  if (len !== 0 && off % 8 !== 0) throw new MalformedError(`${what}: CreateContextsOffset ${off} not 8-aligned`);
  return region(msg, off, len, min, what);
}

export function decodeCreateRequest(msg: Buffer): CreateRequest {
  structureSize(msg, B, CREATE_REQUEST_SIZE, 'CREATE request');
  need(msg, B, 56, 'CREATE request');
  const nameOff = msg.readUInt16LE(B + 44);
  const nameLen = msg.readUInt16LE(B + 46);
  const ctxOff = msg.readUInt32LE(B + 48);
  const ctxLen = msg.readUInt32LE(B + 52);
  const nameBuf = region(msg, nameOff, nameLen, B + 56, 'CREATE name');
  const ctxBuf = contextsRegion(msg, ctxOff, ctxLen, B + 56, 'CREATE contexts');
  if (ctxLen && nameLen && ctxOff < nameOff + nameLen) throw new MalformedError('CREATE: contexts overlap the name');
  return {
    securityFlags: msg.readUInt8(B + 2),
    requestedOplockLevel: msg.readUInt8(B + 3),
    impersonationLevel: msg.readUInt32LE(B + 4),
    smbCreateFlags: msg.readBigUInt64LE(B + 8),
    desiredAccess: msg.readUInt32LE(B + 24),
    fileAttributes: msg.readUInt32LE(B + 28),
    shareAccess: msg.readUInt32LE(B + 32),
    createDisposition: msg.readUInt32LE(B + 36),
    createOptions: msg.readUInt32LE(B + 40),
    name: fromUtf16(nameBuf, 'CREATE name'),
    createContexts: decodeCreateContexts(ctxBuf),
  };
}

export function encodeCreateRequest(r: CreateRequest): Buffer {
  const name = utf16(r.name);
  if (name.length > 0xffff) throw new RangeError('CREATE name too long');
  const ctx = encodeCreateContexts(r.createContexts);
  const ctxOff = ctx.length ? align8(56 + name.length) : 0;
  // An empty name still needs the one byte of Buffer StructureSize counts (2.2.13).
  const body = zeroed(ctx.length ? ctxOff + ctx.length : Math.max(56 + name.length, CREATE_REQUEST_SIZE));
  body.writeUInt16LE(CREATE_REQUEST_SIZE, 0);
  body.writeUInt8(r.securityFlags, 2);
  body.writeUInt8(r.requestedOplockLevel, 3);
  body.writeUInt32LE(r.impersonationLevel, 4);
  body.writeBigUInt64LE(r.smbCreateFlags, 8);
  body.writeUInt32LE(r.desiredAccess >>> 0, 24);
  body.writeUInt32LE(r.fileAttributes >>> 0, 28);
  body.writeUInt32LE(r.shareAccess, 32);
  body.writeUInt32LE(r.createDisposition, 36);
  body.writeUInt32LE(r.createOptions >>> 0, 40);
  body.writeUInt16LE(B + 56, 44);
  body.writeUInt16LE(name.length, 46);
  body.writeUInt32LE(ctx.length ? B + ctxOff : 0, 48);
  body.writeUInt32LE(ctx.length, 52);
  name.copy(body, 56);
  ctx.copy(body, ctxOff);
  return body;
}

export function encodeCreateResponse(r: CreateResponse): Buffer {
  const ctx = encodeCreateContexts(r.createContexts);
  const body = zeroed(ctx.length ? 88 + ctx.length : CREATE_RESPONSE_SIZE);
  body.writeUInt16LE(CREATE_RESPONSE_SIZE, 0);
  body.writeUInt8(r.oplockLevel, 2);
  body.writeUInt8(r.flags, 3);
  body.writeUInt32LE(r.createAction, 4);
  writeOpenAttributes(body, 8, r);
  writeFileId(body, 64, r.fileId);
  body.writeUInt32LE(ctx.length ? B + 88 : 0, 80);
  body.writeUInt32LE(ctx.length, 84);
  ctx.copy(body, 88);
  return body;
}

export function decodeCreateResponse(msg: Buffer): CreateResponse {
  structureSize(msg, B, CREATE_RESPONSE_SIZE, 'CREATE response');
  need(msg, B, 88, 'CREATE response');
  const ctxBuf = contextsRegion(msg, msg.readUInt32LE(B + 80), msg.readUInt32LE(B + 84), B + 88, 'CREATE contexts');
  return {
    oplockLevel: msg.readUInt8(B + 2),
    flags: msg.readUInt8(B + 3),
    createAction: msg.readUInt32LE(B + 4),
    ...readOpenAttributes(msg, B + 8),
    fileId: readFileId(msg, B + 64),
    createContexts: decodeCreateContexts(ctxBuf),
  };
}
