/** SESSION_SETUP request (MS-SMB2 2.2.5) and response (2.2.6). */
import { HEADER_SIZE } from '../header.js';
import { need, region, structureSize, zeroed } from '../wire.js';

const B = HEADER_SIZE;
export const SESSION_SETUP_REQUEST_SIZE = 25;
export const SESSION_SETUP_RESPONSE_SIZE = 9;

export interface SessionSetupRequest {
  flags: number;
  securityMode: number;
  capabilities: number;
  channel: number;
  previousSessionId: bigint;
  /** A view into the message (GSS/SPNEGO token). */
  securityBuffer: Buffer;
}

export interface SessionSetupResponse {
  sessionFlags: number;
  securityBuffer: Buffer;
}

export function decodeSessionSetupRequest(msg: Buffer): SessionSetupRequest {
  structureSize(msg, B, SESSION_SETUP_REQUEST_SIZE, 'SESSION_SETUP request');
  need(msg, B, 24, 'SESSION_SETUP request');
  return {
    flags: msg.readUInt8(B + 2),
    securityMode: msg.readUInt8(B + 3),
    capabilities: msg.readUInt32LE(B + 4),
    channel: msg.readUInt32LE(B + 8),
    previousSessionId: msg.readBigUInt64LE(B + 16),
    securityBuffer: region(msg, msg.readUInt16LE(B + 12), msg.readUInt16LE(B + 14), B + 24, 'SESSION_SETUP security buffer'),
  };
}

export function encodeSessionSetupRequest(r: SessionSetupRequest): Buffer {
  if (r.securityBuffer.length > 0xffff) throw new RangeError('security buffer too large');
  const body = zeroed(Math.max(24 + r.securityBuffer.length, SESSION_SETUP_REQUEST_SIZE));
  body.writeUInt16LE(SESSION_SETUP_REQUEST_SIZE, 0);
  body.writeUInt8(r.flags, 2);
  body.writeUInt8(r.securityMode, 3);
  body.writeUInt32LE(r.capabilities, 4);
  body.writeUInt32LE(r.channel, 8);
  body.writeUInt16LE(B + 24, 12);
  body.writeUInt16LE(r.securityBuffer.length, 14);
  body.writeBigUInt64LE(r.previousSessionId, 16);
  r.securityBuffer.copy(body, 24);
  return body;
}

export function encodeSessionSetupResponse(r: SessionSetupResponse): Buffer {
  if (r.securityBuffer.length > 0xffff) throw new RangeError('security buffer too large');
  const body = zeroed(Math.max(8 + r.securityBuffer.length, SESSION_SETUP_RESPONSE_SIZE));
  body.writeUInt16LE(SESSION_SETUP_RESPONSE_SIZE, 0);
  body.writeUInt16LE(r.sessionFlags, 2);
  body.writeUInt16LE(r.securityBuffer.length ? B + 8 : 0, 4);
  body.writeUInt16LE(r.securityBuffer.length, 6);
  r.securityBuffer.copy(body, 8);
  return body;
}

export function decodeSessionSetupResponse(msg: Buffer): SessionSetupResponse {
  structureSize(msg, B, SESSION_SETUP_RESPONSE_SIZE, 'SESSION_SETUP response');
  need(msg, B, 8, 'SESSION_SETUP response');
  return {
    sessionFlags: msg.readUInt16LE(B + 2),
    securityBuffer: region(msg, msg.readUInt16LE(B + 4), msg.readUInt16LE(B + 6), B + 8, 'SESSION_SETUP security buffer'),
  };
}
