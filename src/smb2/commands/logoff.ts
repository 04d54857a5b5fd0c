/** LOGOFF request and response (MS-SMB2 2.2.7 / 2.2.8): StructureSize 4 and Reserved. */
import { decodeEmptyBody, encodeEmptyBody } from './empty.js';

export const LOGOFF_REQUEST_SIZE = 4;
export const LOGOFF_RESPONSE_SIZE = 4;

export function decodeLogoffRequest(msg: Buffer): Record<string, never> {
  decodeEmptyBody(msg, 4, 'LOGOFF request');
  return {};
}

export function encodeLogoffRequest(): Buffer {
  return encodeEmptyBody(4);
}

export function decodeLogoffResponse(msg: Buffer): Record<string, never> {
  decodeEmptyBody(msg, 4, 'LOGOFF response');
  return {};
}

export function encodeLogoffResponse(): Buffer {
  return encodeEmptyBody(4);
}
