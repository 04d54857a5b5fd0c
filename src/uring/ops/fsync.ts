/** IORING_OP_FSYNC: fsync, or fdatasync with FSYNC_DATASYNC. */
import type { Ring } from '../ring.js';
import { Op } from '../op.js';
import { FSYNC_DATASYNC, OP } from '../constants.js';
import { checkCallback, checkFd, checkUint, submitPromise, type ResultCallback } from './common.js';

export interface FsyncOptions {
  /** fdatasync semantics: skip metadata not needed to read the data back */
  datasync?: boolean;
}

export function prepFsync(_ring: Ring, fd: number, cb?: ResultCallback | null, opts?: FsyncOptions): Op {
  checkFd('fd', fd);
  const op = new Op(OP.FSYNC, checkCallback('cb', cb));
  op.fd = fd;
  if (opts?.datasync) op.opFlags = FSYNC_DATASYNC;
  return op;
}

export function fsync(ring: Ring, fd: number): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepFsync(ring, fd, cb));
}

export function fdatasync(ring: Ring, fd: number): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepFsync(ring, fd, cb, { datasync: true }));
}

/** IORING_OP_SYNC_FILE_RANGE over [offset, offset + length). */
export function prepSyncFileRange(_ring: Ring, fd: number, offset: number, length: number, flags: number, cb?: ResultCallback | null): Op {
  checkFd('fd', fd);
  checkUint('offset', offset, Number.MAX_SAFE_INTEGER);
  checkUint('length', length);
  checkUint('flags', flags);
  const op = new Op(OP.SYNC_FILE_RANGE, checkCallback('cb', cb));
  op.fd = fd;
  op.off = offset;
  op.len = length;
  op.opFlags = flags;
  return op;
}
