/**
 * The io_uring layer's public face: the Ring, the probe, memory with known
 * addresses, registered/provided buffers, and one builder per opcode (also
 * grouped as the `ops` namespace).
 */
export { Ring, type RingOptions } from './ring.js';
export { Op, opName, type Submission, type OpCallback } from './op.js';
export { SqeWriter, type SqeFields } from './sqe.js';
export * as constants from './constants.js';
export {
  OP, OPS, SETUP, FEAT, SQE, CQE, ENTER, REGISTER, POLL, RESOLVE, AT, SPLICE_F, MSG, CANCEL, TIMEOUT_FLAGS, SIZEOF,
  type OpName,
} from './constants.js';
export {
  uringAvailability, uringForcedOff, describeFeatures, probeOps, parseProbe, FLAG_CHOICES, names,
  type Availability, type RingFeatures, type FeatureReport,
} from './features.js';
export { Arena, NativeRegion, addressOf, type ArenaBlock } from './memory.js';
export { RegisteredBuffers, BufRing, type BufRingOptions } from './buffers.js';
export * as ops from './ops/index.js';
export * from './ops/index.js';
