/**
 * SMB 3.1.1 preauthentication integrity (MS-SMB2 3.2.5.2 / 3.3.5.4 for the
 * connection, 3.2.5.3.1 / 3.3.5.5 for the session): the hash starts as 64
 * zero bytes and each NEGOTIATE / SESSION_SETUP message (the whole SMB2
 * message as sent, header included, no transport framing) is chained as
 *   H = SHA-512(H || message).
 * The session's hash starts from the connection's value after NEGOTIATE and
 * takes every SESSION_SETUP request and every response except the final
 * STATUS_SUCCESS one.
 */
import { createHash } from 'node:crypto';

const PREAUTH_HASH_SIZE = 64;

export function preauthInitial(): Buffer {
  return Buffer.alloc(PREAUTH_HASH_SIZE);
}

/** Returns SHA-512(prev || message); message may be given in pieces. */
export function preauthUpdate(prev: Buffer, message: Buffer | readonly Buffer[]): Buffer {
  const h = createHash('sha512');
  h.update(prev);
  if (Buffer.isBuffer(message)) h.update(message);
  else for (const m of message) h.update(m);
  return h.digest();
}

/** A small holder for code that prefers an object. */
export class PreauthHash {
  value: Buffer;
  constructor(initial?: Buffer) {
    this.value = initial ? Buffer.from(initial) : preauthInitial();
  }
  update(message: Buffer | readonly Buffer[]): Buffer {
    this.value = preauthUpdate(this.value, message);
    return this.value;
  }
  clone(): PreauthHash {
    return new PreauthHash(this.value);
  }
}
