/** TREE_DISCONNECT request and response (MS-SMB2 2.2.11 / 2.2.12): StructureSize 4 and Reserved. */
import { decodeEmptyBody, encodeEmptyBody } from './empty.js';

export const TREE_DISCONNECT_REQUEST_SIZE = 4;
export const TREE_DISCONNECT_RESPONSE_SIZE = 4;

export function decodeTreeDisconnectRequest(msg: Buffer): Record<string, never> {
  decodeEmptyBody(msg, 4, 'TREE_DISCONNECT request');
  return {};
}

export function encodeTreeDisconnectRequest(): Buffer {
  return encodeEmptyBody(4);
}

export function decodeTreeDisconnectResponse(msg: Buffer): Record<string, never> {
  decodeEmptyBody(msg, 4, 'TREE_DISCONNECT response');
  return {};
}

export function encodeTreeDisconnectResponse(): Buffer {
  return encodeEmptyBody(4);
}
