/**
 * FGETXATTR, FSETXATTR, GETXATTR, SETXATTR (5.19+). get* complete with the
 * value's length (the value is in `value`); set* with 0.
 */
import type { Ring } from '../ring.js';
import type { Op } from '../op.js';
import { OP } from '../constants.js';
import { addressOf } from '../memory.js';
import {
  checkBytes, checkCallback, checkFd, checkString, checkUint, prepPathOp, submitPromise, type Bytes, type ResultCallback,
} from './common.js';

export const XATTR = { CREATE: 1, REPLACE: 2 } as const;

function checkName(name: string): void {
  checkString('name', name);
  if (name.length === 0 || Buffer.byteLength(name) > 255) throw new RangeError('xattr name must be 1 to 255 bytes');
}

function prepXattr(opcode: number, ring: Ring, fd: number, path: string | null, name: string, value: Bytes, flags: number, cb: ResultCallback | null | undefined): Op {
  if (path === null) checkFd('fd', fd);
  else checkString('path', path);
  checkName(name);
  checkBytes('value', value);
  checkUint('flags', flags, 3);
  // addr = the name; the path (GETXATTR/SETXATTR) goes in addr3, the value in off.
  const op = prepPathOp(ring, opcode, checkCallback('cb', cb), path === null ? fd : 0, name, path);
  op.addr3 = path === null ? 0 : op.off;
  op.off = value.byteLength ? addressOf(value) : 0;
  op.len = value.byteLength;
  op.opFlags = flags;
  op.keep = value;
  return op;
}

export function prepFgetxattr(ring: Ring, fd: number, name: string, value: Bytes, cb?: ResultCallback | null): Op {
  return prepXattr(OP.FGETXATTR, ring, fd, null, name, value, 0, cb);
}
export function prepFsetxattr(ring: Ring, fd: number, name: string, value: Bytes, cb?: ResultCallback | null, opts?: { flags?: number }): Op {
  return prepXattr(OP.FSETXATTR, ring, fd, null, name, value, opts?.flags ?? 0, cb);
}
export function prepGetxattr(ring: Ring, path: string, name: string, value: Bytes, cb?: ResultCallback | null): Op {
  return prepXattr(OP.GETXATTR, ring, -1, path, name, value, 0, cb);
}
export function prepSetxattr(ring: Ring, path: string, name: string, value: Bytes, cb?: ResultCallback | null, opts?: { flags?: number }): Op {
  return prepXattr(OP.SETXATTR, ring, -1, path, name, value, opts?.flags ?? 0, cb);
}

export function fgetxattr(ring: Ring, fd: number, name: string, value: Bytes): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepFgetxattr(ring, fd, name, value, cb));
}
export function fsetxattr(ring: Ring, fd: number, name: string, value: Bytes, opts?: { flags?: number }): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepFsetxattr(ring, fd, name, value, cb, opts));
}
export function getxattr(ring: Ring, path: string, name: string, value: Bytes): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepGetxattr(ring, path, name, value, cb));
}
export function setxattr(ring: Ring, path: string, name: string, value: Bytes, opts?: { flags?: number }): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepSetxattr(ring, path, name, value, cb, opts));
}
