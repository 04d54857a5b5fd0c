/**
 * Central validation of one request before dispatch (the ksmbd table): the header,
 * the StructureSize of the command's request body (MS-SMB2 2.2.x), and every
 * Offset/Length pair lying inside the message and after the fixed part. Decoders may
 * then assume a well-formed message. Never throws.
 *
 * `msg` is the one request (for a compound, the slice up to NextCommand), starting at
 * its SMB2 header.
 */
import { Command } from './constants.js';
import { HEADER_SIZE, PROTOCOL_ID_SMB2 } from './header.js';
import { NtStatus } from './status.js';
import { MalformedError, overlaps } from './wire.js';
import { decodeCreateRequest } from './commands/create.js';
import { decodeNegotiateRequest } from './commands/negotiate.js';
import { decodeTreeConnectRequest } from './commands/tree-connect.js';
import { LEASE_BREAK_ACK_SIZE } from './commands/oplock-break.js';

export { MalformedError };

const B = HEADER_SIZE;

/** StructureSize of each request (2.2.x). OPLOCK_BREAK also accepts 36 (lease ack). */
export const REQUEST_STRUCTURE_SIZE: Readonly<Record<number, number>> = {
  [Command.NEGOTIATE]: 36,
  [Command.SESSION_SETUP]: 25,
  [Command.LOGOFF]: 4,
  [Command.TREE_CONNECT]: 9,
  [Command.TREE_DISCONNECT]: 4,
  [Command.CREATE]: 57,
  [Command.CLOSE]: 24,
  [Command.FLUSH]: 24,
  [Command.READ]: 49,
  [Command.WRITE]: 49,
  [Command.LOCK]: 48,
  [Command.IOCTL]: 57,
  [Command.CANCEL]: 4,
  [Command.ECHO]: 4,
  [Command.QUERY_DIRECTORY]: 33,
  [Command.CHANGE_NOTIFY]: 32,
  [Command.QUERY_INFO]: 41,
  [Command.SET_INFO]: 33,
  [Command.OPLOCK_BREAK]: 24,
};

/**
 * The fixed part of a body: StructureSize rounded down to even. An odd StructureSize
 * counts one byte of the variable Buffer, which senders may omit when it is empty
 * (Samba and ksmbd accept that too).
 */
function fixedOf(structureSize: number): number {
  return structureSize & ~1;
}

/** The smallest whole message (header + fixed body) for each request command. */
export const REQUEST_MIN_SIZE: Readonly<Record<number, number>> = Object.fromEntries(
  Object.entries(REQUEST_STRUCTURE_SIZE).map(([c, s]) => [c, B + fixedOf(s)]),
);

/** `utf16`: the region is a UTF-16LE name, so its length must be even. */
type Pair = [offsetField: number, offsetWidth: 2 | 4, lengthField: number, lengthWidth: 2 | 4, utf16?: true];

/** Offset/Length fields of each request, as positions in the body. */
const PAIRS: Readonly<Record<number, readonly Pair[]>> = {
  [Command.SESSION_SETUP]: [[12, 2, 14, 2]],
  [Command.TREE_CONNECT]: [[4, 2, 6, 2, true]],
  [Command.CREATE]: [
    [44, 2, 46, 2, true],
    [48, 4, 52, 4],
  ],
  [Command.READ]: [[44, 2, 46, 2]],
  [Command.WRITE]: [
    [2, 2, 4, 4],
    [40, 2, 42, 2],
  ],
  [Command.IOCTL]: [
    [24, 4, 28, 4],
    [36, 4, 40, 4],
  ],
  [Command.QUERY_DIRECTORY]: [[24, 2, 26, 2, true]],
  [Command.QUERY_INFO]: [[8, 2, 12, 4]],
  [Command.SET_INFO]: [[8, 2, 4, 4]],
};

const NO_PAIRS: readonly Pair[] = [];

/** Checks that need the whole variable part parsed (context chains, counts). */
const DEEP: Readonly<Record<number, (msg: Buffer) => unknown>> = {
  [Command.NEGOTIATE]: decodeNegotiateRequest,
  [Command.CREATE]: decodeCreateRequest,
  [Command.TREE_CONNECT]: decodeTreeConnectRequest,
};

function readField(msg: Buffer, off: number, width: 2 | 4): number {
  return width === 2 ? msg.readUInt16LE(off) : msg.readUInt32LE(off);
}

/**
 * Returns null when the request may be dispatched, else the NTSTATUS to answer with:
 * INVALID_PARAMETER for every malformation and for an unknown command.
 *
 * `msgLength` is the length of the message on the wire when `msg` holds only a prefix
 * of it: a WRITE whose data will be received straight into a file. Offsets are then
 * checked against `msgLength` and the data is not inspected.
 */
export function validateRequest(msg: Buffer, command: number, msgLength = msg.length): number | null {
  const bad = NtStatus.INVALID_PARAMETER;
  const size = REQUEST_STRUCTURE_SIZE[command];
  if (size === undefined) return bad;
  if (msg.length < B + 2 || msgLength < msg.length) return bad;
  if (msg.readUInt32LE(0) !== PROTOCOL_ID_SMB2 || msg.readUInt16LE(4) !== 64) return bad;
  const got = msg.readUInt16LE(B);
  const okSize = got === size || (command === Command.OPLOCK_BREAK && got === LEASE_BREAK_ACK_SIZE);
  if (!okSize) return bad;
  const fixed = fixedOf(got);
  if (msg.length < B + fixed) return bad;

  for (const [oOff, oW, lOff, lW, utf16] of PAIRS[command] ?? NO_PAIRS) {
    const offset = readField(msg, B + oOff, oW);
    const length = readField(msg, B + lOff, lW);
    if (length === 0) continue;
    if (utf16 && length % 2 !== 0) return bad;
    if (offset < B + fixed || offset + length > msgLength) return bad;
  }
  if (command === Command.LOCK) {
    const count = msg.readUInt16LE(B + 2);
    if (count === 0 || B + 24 + count * 24 > msg.length) return bad;
  }
  if (command === Command.IOCTL && ioctlBuffersOverlap(msg)) return bad;

  const deep = DEEP[command];
  if (deep) {
    try {
      deep(msg);
    } catch (e) {
      if (e instanceof MalformedError || e instanceof RangeError) return bad;
      return NtStatus.INTERNAL_ERROR;
    }
  }
  return null;
}

function ioctlBuffersOverlap(msg: Buffer): boolean {
  return overlaps(msg.readUInt32LE(B + 24), msg.readUInt32LE(B + 28), msg.readUInt32LE(B + 36), msg.readUInt32LE(B + 40));
}
