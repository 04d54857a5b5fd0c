/**
 * POLL_ADD (one-shot, or multishot with POLL_ADD_MULTI: 5.13+) and
 * POLL_REMOVE by target op. Results are the ready poll(2) bits.
 */
import type { Ring } from '../ring.js';
import { Op } from '../op.js';
import { OP, POLL_ADD_MULTI } from '../constants.js';
import {
  checkCallback, checkFd, checkOp, checkUint, multishot, submitPromise, TargetedOp, type MultishotCallback, type ResultCallback,
} from './common.js';

/** the ready poll(2) bits; `more` false means the multishot poll ended. */
export type PollMultiCallback = MultishotCallback;

export function prepPollAdd(_ring: Ring, fd: number, events: number, cb?: ResultCallback | null): Op {
  checkFd('fd', fd);
  checkUint('events', events);
  const op = new Op(OP.POLL_ADD, checkCallback('cb', cb));
  op.fd = fd;
  op.opFlags = events; // poll32_events, little-endian
  return op;
}

export function prepPollMultishot(ring: Ring, fd: number, events: number, cb: PollMultiCallback): Op {
  const callback = checkCallback('cb', cb);
  if (!callback) throw new TypeError('cb is required for a multishot poll');
  const op = prepPollAdd(ring, fd, events, null);
  op.len = POLL_ADD_MULTI;
  op.cb = multishot(callback);
  return op;
}

/** Removes a POLL_ADD: it completes with ECANCELED; this op with 0, or ENOENT when the poll had already finished. */
export function prepPollRemove(_ring: Ring, target: Op, cb?: ResultCallback | null): Op {
  checkOp('target', target);
  if (target.opcode !== OP.POLL_ADD) throw new TypeError('target must be a POLL_ADD op');
  return new TargetedOp(OP.POLL_REMOVE, checkCallback('cb', cb), target);
}

export function pollAdd(ring: Ring, fd: number, events: number): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepPollAdd(ring, fd, events, cb));
}

export function pollRemove(ring: Ring, target: Op): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepPollRemove(ring, target, cb));
}
