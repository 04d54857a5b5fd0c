/** IORING_OP_NOP: completes at once with 0; the measure of the ring's own cost. */
import type { Ring } from '../ring.js';
import { Op } from '../op.js';
import { OP } from '../constants.js';
import { checkCallback, submitPromise, type ResultCallback } from './common.js';

/** A NOP. The returned Op may be submitted again after its completion (no allocation per op). */
export function prepNop(_ring: Ring, cb?: ResultCallback | null): Op {
  return new Op(OP.NOP, checkCallback('cb', cb));
}

export function nop(ring: Ring): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepNop(ring, cb));
}
