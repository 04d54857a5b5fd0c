/**
 * The bodies that are a StructureSize and a Reserved field only: ECHO, CANCEL,
 * LOGOFF, TREE_DISCONNECT requests and responses, FLUSH, LOCK and SET_INFO responses.
 */
import { HEADER_SIZE } from '../header.js';
import { structureSize, zeroed } from '../wire.js';

/** StructureSize then zeros: 4 bytes for size 4, 2 for size 2. */
export function encodeEmptyBody(size: 2 | 4): Buffer {
  const b = zeroed(size);
  b.writeUInt16LE(size, 0);
  return b;
}

/** Checks that the body is present with the given StructureSize; Reserved is ignored. */
export function decodeEmptyBody(msg: Buffer, size: 2 | 4, what: string): void {
  structureSize(msg, HEADER_SIZE, size, what);
}
