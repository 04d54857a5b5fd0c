/**
 * IORING_OP_OPENAT2: openat2(dirfd, path, {flags, mode, resolve}); the
 * result is the new fd. Share confinement (decision 6) uses resolve
 * RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS.
 */
import type { Ring } from '../ring.js';
import type { Op } from '../op.js';
import { OP, SIZEOF } from '../constants.js';
import { checkCallback, checkDirFd, checkString, checkUint, prepPathOp, submitPromise, type ResultCallback } from './common.js';

export const O = {
  RDONLY: 0, WRONLY: 1, RDWR: 2, CREAT: 0o100, EXCL: 0o200, NOCTTY: 0o400, TRUNC: 0o1000, APPEND: 0o2000,
  NONBLOCK: 0o4000, DIRECTORY: 0o200000, NOFOLLOW: 0o400000, CLOEXEC: 0o2000000, PATH: 0o10000000, TMPFILE: 0o20200000,
} as const;

export interface OpenHow {
  /** open(2) flags; default O_RDONLY. O_CLOEXEC is always added (Node's own fds are close-on-exec). */
  flags?: number;
  /** permission bits for O_CREAT/O_TMPFILE; must be 0 otherwise (openat2 rule) */
  mode?: number;
  /** RESOLVE_* bits */
  resolve?: number;
  /** personality id from ring.registerPersonality*() */
  personality?: number;
}

export function prepOpenat2(ring: Ring, dirfd: number, path: string, how?: OpenHow | null, cb?: ResultCallback | null): Op {
  checkDirFd('dirfd', dirfd);
  checkString('path', path);
  const flags = (how?.flags === undefined ? 0 : checkUint('flags', how.flags)) | O.CLOEXEC;
  const mode = how?.mode === undefined ? 0 : checkUint('mode', how.mode, 0o7777);
  const resolve = how?.resolve === undefined ? 0 : checkUint('resolve', how.resolve, 0xff);
  const personality = how?.personality === undefined ? 0 : checkUint('personality', how.personality, 0xffff);
  const op = prepPathOp(ring, OP.OPENAT2, checkCallback('cb', cb), dirfd, path, null, SIZEOF.OPEN_HOW);
  // struct open_how at off: flags u64, mode u64, resolve u64
  const h = op.blocks![1]!.buf;
  h.fill(0, 0, SIZEOF.OPEN_HOW);
  h.writeUInt32LE(flags >>> 0, 0);
  h.writeUInt32LE(mode, 8);
  h.writeUInt32LE(resolve, 16);
  op.len = SIZEOF.OPEN_HOW;
  op.personality = personality;
  return op;
}

export function openat2(ring: Ring, dirfd: number, path: string, how?: OpenHow): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepOpenat2(ring, dirfd, path, how, cb));
}
