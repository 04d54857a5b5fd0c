/** ECHO request and response (MS-SMB2 2.2.28 / 2.2.29): StructureSize 4 and Reserved. */
import { decodeEmptyBody, encodeEmptyBody } from './empty.js';

export const ECHO_REQUEST_SIZE = 4;
export const ECHO_RESPONSE_SIZE = 4;

export function decodeEchoRequest(msg: Buffer): Record<string, never> {
  decodeEmptyBody(msg, 4, 'ECHO request');
  return {};
}

export function encodeEchoRequest(): Buffer {
  return encodeEmptyBody(4);
}

export function decodeEchoResponse(msg: Buffer): Record<string, never> {
  decodeEmptyBody(msg, 4, 'ECHO response');
  return {};
}

export function encodeEchoResponse(): Buffer {
  return encodeEmptyBody(4);
}
