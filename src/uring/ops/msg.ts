/**
 * SENDMSG and RECVMSG with a struct msghdr and its iovecs in arena memory
 * (one block, released at the final CQE). MSG_WAITALL makes RECVMSG fill
 * every iovec before it completes (unless the peer closes).
 */
import type { Ring } from '../ring.js';
import { Op } from '../op.js';
import { OP, SIZEOF } from '../constants.js';
import type { ArenaBlock } from '../memory.js';
import { checkBytes, checkCallback, checkFd, checkUint, holdBlocks, submitPromise, type Bytes, type ResultCallback } from './common.js';
import { writeIovecs } from './rw.js';

/** iovecs that fit beside the msghdr in the largest arena block */
export const MAX_MSG_IOVECS = (4096 - 64) / SIZEOF.IOVEC;

/** Writes a msghdr at 0 and its iovecs at 64 of one arena block. */
export function msghdrBlock(ring: Ring, bufs: readonly Bytes[]): ArenaBlock {
  if (!Array.isArray(bufs)) throw new TypeError('bufs must be an array of buffers');
  if (bufs.length === 0 || bufs.length > MAX_MSG_IOVECS) throw new RangeError(`bufs must hold 1 to ${MAX_MSG_IOVECS} buffers`);
  for (const b of bufs) checkBytes('bufs[i]', b);
  const block = ring.arena.alloc(64 + bufs.length * SIZEOF.IOVEC);
  const m = block.buf;
  // struct msghdr: name u64, namelen u32 (+pad), iov u64, iovlen u64, control u64, controllen u64, flags i32 (+pad)
  m.fill(0, 0, 64);
  m.writeUIntLE(block.addr + 64, 16, 6);
  m.writeUInt32LE(bufs.length, 24);
  writeIovecs(m, 64, bufs);
  return block;
}

function prepMsg(opcode: number, ring: Ring, fd: number, bufs: readonly Bytes[], cb: ResultCallback | null | undefined, flags: number | undefined): Op {
  checkFd('fd', fd);
  const f = flags === undefined ? 0 : checkUint('flags', flags);
  const callback = checkCallback('cb', cb);
  const block = msghdrBlock(ring, bufs);
  const op = new Op(opcode, callback);
  op.fd = fd;
  op.addr = block.addr;
  op.len = 1;
  op.opFlags = f;
  op.keep = bufs.slice();
  holdBlocks(ring, op, [block]);
  return op;
}

export function prepSendmsg(ring: Ring, fd: number, bufs: readonly Bytes[], cb?: ResultCallback | null, opts?: { flags?: number }): Op {
  return prepMsg(OP.SENDMSG, ring, fd, bufs, cb, opts?.flags);
}

export function prepRecvmsg(ring: Ring, fd: number, bufs: readonly Bytes[], cb?: ResultCallback | null, opts?: { flags?: number }): Op {
  return prepMsg(OP.RECVMSG, ring, fd, bufs, cb, opts?.flags);
}

export function sendmsg(ring: Ring, fd: number, bufs: readonly Bytes[], opts?: { flags?: number }): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepSendmsg(ring, fd, bufs, cb, opts));
}

export function recvmsg(ring: Ring, fd: number, bufs: readonly Bytes[], opts?: { flags?: number }): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepRecvmsg(ring, fd, bufs, cb, opts));
}
