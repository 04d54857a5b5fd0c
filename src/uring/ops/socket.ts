/** IORING_OP_SOCKET (5.19+): socket(domain, type, protocol); the result is the fd. */
import type { Ring } from '../ring.js';
import { Op } from '../op.js';
import { OP } from '../constants.js';
import { checkCallback, checkUint, submitPromise, type ResultCallback } from './common.js';

export const AF = { UNIX: 1, INET: 2, INET6: 10 } as const;
export const SOCK = { STREAM: 1, DGRAM: 2, NONBLOCK: 0o4000, CLOEXEC: 0o2000000 } as const;

/** SOCK_CLOEXEC is always added to type. */
export function prepSocket(_ring: Ring, domain: number, type: number, protocol = 0, cb?: ResultCallback | null): Op {
  checkUint('domain', domain, 0xffff);
  checkUint('type', type);
  checkUint('protocol', protocol);
  const op = new Op(OP.SOCKET, checkCallback('cb', cb));
  op.fd = domain;
  op.off = (type | SOCK.CLOEXEC) >>> 0;
  op.len = protocol;
  return op;
}

export function socket(ring: Ring, domain: number, type: number, protocol = 0): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepSocket(ring, domain, type, protocol, cb));
}
