/** TREE_CONNECT request (MS-SMB2 2.2.9) and response (2.2.10). */
import { TreeConnectFlags } from '../constants.js';
import { HEADER_SIZE } from '../header.js';
import { MalformedError, fromUtf16, need, region, structureSize, utf16, zeroed } from '../wire.js';

const B = HEADER_SIZE;
export const TREE_CONNECT_REQUEST_SIZE = 9;
export const TREE_CONNECT_RESPONSE_SIZE = 16;

export interface TreeConnectRequest {
  /** 3.1.1 only; Reserved before. */
  flags: number;
  /** \\server\share */
  path: string;
}

export interface TreeConnectResponse {
  shareType: number;
  shareFlags: number;
  capabilities: number;
  maximalAccess: number;
}

/**
 * The 3.1.1 TREE_CONNECT request extension (2.2.9.1, flag EXTENSION_PRESENT) is not
 * supported: decoding a request that carries it throws MalformedError.
 */
export function decodeTreeConnectRequest(msg: Buffer): TreeConnectRequest {
  structureSize(msg, B, TREE_CONNECT_REQUEST_SIZE, 'TREE_CONNECT request');
  need(msg, B, 8, 'TREE_CONNECT request');
  const flags = msg.readUInt16LE(B + 2);
  if (flags & TreeConnectFlags.EXTENSION_PRESENT) {
    throw new MalformedError('TREE_CONNECT request extension is not supported');
  }
  const path = region(msg, msg.readUInt16LE(B + 4), msg.readUInt16LE(B + 6), B + 8, 'TREE_CONNECT path');
  return { flags, path: fromUtf16(path, 'TREE_CONNECT path') };
}

export function encodeTreeConnectRequest(r: TreeConnectRequest): Buffer {
  const p = utf16(r.path);
  const body = zeroed(Math.max(8 + p.length, TREE_CONNECT_REQUEST_SIZE));
  body.writeUInt16LE(TREE_CONNECT_REQUEST_SIZE, 0);
  body.writeUInt16LE(r.flags, 2);
  body.writeUInt16LE(B + 8, 4);
  body.writeUInt16LE(p.length, 6);
  p.copy(body, 8);
  return body;
}

export function encodeTreeConnectResponse(r: TreeConnectResponse): Buffer {
  const body = zeroed(16);
  body.writeUInt16LE(TREE_CONNECT_RESPONSE_SIZE, 0);
  body.writeUInt8(r.shareType, 2);
  body.writeUInt32LE(r.shareFlags >>> 0, 4);
  body.writeUInt32LE(r.capabilities >>> 0, 8);
  body.writeUInt32LE(r.maximalAccess >>> 0, 12);
  return body;
}

export function decodeTreeConnectResponse(msg: Buffer): TreeConnectResponse {
  structureSize(msg, B, TREE_CONNECT_RESPONSE_SIZE, 'TREE_CONNECT response');
  need(msg, B, 16, 'TREE_CONNECT response');
  return {
    shareType: msg.readUInt8(B + 2),
    shareFlags: msg.readUInt32LE(B + 4),
    capabilities: msg.readUInt32LE(B + 8),
    maximalAccess: msg.readUInt32LE(B + 12),
  };
}
