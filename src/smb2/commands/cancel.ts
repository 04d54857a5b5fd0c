/** CANCEL request (MS-SMB2 2.2.30): no response is ever sent. */
import { decodeEmptyBody, encodeEmptyBody } from './empty.js';

export const CANCEL_REQUEST_SIZE = 4;

export function decodeCancelRequest(msg: Buffer): Record<string, never> {
  decodeEmptyBody(msg, 4, 'CANCEL request');
  return {};
}

export function encodeCancelRequest(): Buffer {
  return encodeEmptyBody(4);
}
