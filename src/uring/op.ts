/**
 * Submissions and completions (seed 000's samba_io_uring_submission /
 * _completion, in TypeScript form).
 *
 * A Submission fills its SQE when the ring finally builds it (`prep`), may
 * have a `hook` that runs right after, with the SQE in hand (late flags, a
 * timestamp, or `false` to cancel), and receives every CQE it produces
 * (`complete`): one for plain ops, several for multishot ops (CQE_F_MORE)
 * and a final notification for zero-copy sends (CQE_F_NOTIF).
 */
import { SqeWriter, type SqeFields } from './sqe.js';
import { CQE, OPS } from './constants.js';
import type { ArenaBlock } from './memory.js';
import { SystemError } from '../util/errors.js';

export interface Submission {
  prep(sqe: SqeWriter): void;
  complete(res: number, flags: number): void;
  hook?(sqe: SqeWriter): boolean | void;
}

/** err is set when res < 0; res is the kernel's result otherwise. */
export type OpCallback = (err: SystemError | null, res: number, flags: number) => void;

/**
 * The user_data the ring gives a placed submission: slot in the low word,
 * generation (21 bits, so the sum stays an exact double) in the high word.
 * ASYNC_CANCEL, POLL_REMOVE and TIMEOUT_REMOVE name their target by it.
 */
export function encodeUserData(slot: number, gen: number): number {
  return slot + gen * 4294967296;
}

export function opName(opcode: number): string {
  return OPS[opcode] ?? `OP_${opcode}`;
}

/**
 * The generic op: every SQE field as a property, so all op families share
 * one monomorphic shape. Buffers in `keep` and arena `blocks` stay
 * referenced until the op's final CQE (for zero-copy sends, the
 * notification), so the kernel never touches freed memory.
 */
export class Op implements Submission, SqeFields {
  opcode = 0;
  flags = 0;
  ioprio = 0;
  fd = -1;
  off = 0;
  addr = 0;
  len = 0;
  opFlags = 0;
  bufIndex = 0;
  personality = 0;
  spliceFdIn = 0;
  addr3 = 0;
  keep: unknown = null;
  blocks: ArenaBlock[] | null = null;
  cb: OpCallback | null;
  hook?: (sqe: SqeWriter) => boolean | void;
  /** called after the final CQE, to give back arena memory */
  release: ((op: Op) => void) | null = null;
  /**
   * In a chain (Ring.submitLinked) whose members all are quiet but the
   * last (otherwise the flag is ignored): post no CQE when the op succeeds
   * (IOSQE_CQE_SKIP_SUCCESS, where the kernel has it). The
   * callback then runs with res = len, in chain order, just before that of
   * the next member whose CQE arrives. When it fails it posts its CQE, and
   * the kernel cancels the rest of the chain without posting theirs; the
   * ring completes those with ECANCELED. Only for ops whose success is
   * exactly res == len, a shorter result failing the link: SEND/RECV with
   * MSG_WAITALL, SPLICE, READ and WRITE of regular files. Each CQE not
   * posted is one wake-up less for whoever waits on the ring.
   */
  quiet = false;
  /** set by the ring: slot and generation, for cancellation by user_data */
  slot = -1;
  gen = 0;
  done = false;

  constructor(opcode: number, cb: OpCallback | null) {
    this.opcode = opcode;
    this.cb = cb;
  }

  prep(sqe: SqeWriter): void {
    sqe.fill(this);
  }

  /** user_data while placed and not finally completed; 0 (matches nothing) otherwise */
  get userData(): number {
    return this.slot >= 0 && !this.done ? encodeUserData(this.slot, this.gen) : 0;
  }

  complete(res: number, flags: number): void {
    const final = (flags & CQE.F_MORE) === 0;
    if (final) {
      this.done = true;
      if (this.release) this.release(this);
    }
    if (final) this.keep = null;
    const cb = this.cb;
    if (!cb) return;
    // The notification CQE of a zero-copy send carries res 0 and F_NOTIF.
    if (res < 0) cb(completionError(this.opcode, -res), res, flags);
    else cb(null, res, flags);
  }
}

/**
 * The error a failed op's callback gets. No stack is captured: it would
 * only ever show the ring's reaping loop, and capturing it is the dearest
 * part of an error (cancellations come by the dozen when a chain breaks).
 */
function completionError(opcode: number, errno: number): SystemError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new SystemError(opName(opcode), errno);
  } finally {
    Error.stackTraceLimit = limit;
  }
}
