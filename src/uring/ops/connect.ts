/** IORING_OP_CONNECT, with sockaddr_in / sockaddr_in6 built from host + port. */
import { isIPv4, isIPv6 } from 'node:net';
import type { Ring } from '../ring.js';
import { Op } from '../op.js';
import { OP } from '../constants.js';
import { checkCallback, checkFd, checkString, checkUint, holdBlocks, submitPromise, type ResultCallback } from './common.js';
import { AF } from './socket.js';

/** Expands an IPv6 literal (with optional embedded IPv4 tail) to 16 bytes. */
function ipv6Bytes(host: string): Buffer {
  const out = Buffer.alloc(16);
  let h = host;
  let tail: number[] = [];
  const v4 = h.match(/:(\d+\.\d+\.\d+\.\d+)$/);
  if (v4) {
    const p = v4[1]!.split('.').map(Number);
    tail = [(p[0]! << 8) | p[1]!, (p[2]! << 8) | p[3]!];
    h = h.slice(0, h.length - v4[1]!.length) + '0:0';
  }
  const [left, right] = h.includes('::') ? h.split('::') as [string, string] : [h, null];
  const l = left ? left.split(':') : [];
  const r = right ? right.split(':') : [];
  const groups = right === null ? l : [...l, ...Array(8 - l.length - r.length).fill('0'), ...r];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  if (tail.length) {
    out.writeUInt16BE(tail[0]!, 12);
    out.writeUInt16BE(tail[1]!, 14);
  }
  return out;
}

/** struct sockaddr_in (16 bytes) or sockaddr_in6 (28 bytes) for a numeric host. */
export function sockaddr(host: string, port: number, scopeId = 0): Buffer {
  checkString('host', host);
  checkUint('port', port, 65535);
  const zone = host.indexOf('%');
  const h = zone >= 0 ? host.slice(0, zone) : host;
  if (isIPv4(h)) {
    const b = Buffer.alloc(16);
    b.writeUInt16LE(AF.INET, 0);
    b.writeUInt16BE(port, 2);
    h.split('.').forEach((x, i) => (b[4 + i] = Number(x)));
    return b;
  }
  if (isIPv6(h)) {
    const b = Buffer.alloc(28);
    b.writeUInt16LE(AF.INET6, 0);
    b.writeUInt16BE(port, 2);
    ipv6Bytes(h).copy(b, 8);
    b.writeUInt32LE(zone >= 0 ? Number(host.slice(zone + 1)) >>> 0 : scopeId, 24);
    return b;
  }
  throw new TypeError(`host must be a numeric IPv4 or IPv6 address, got ${JSON.stringify(host)}`);
}

export function prepConnect(ring: Ring, fd: number, host: string, port: number, cb?: ResultCallback | null): Op {
  checkFd('fd', fd);
  const sa = sockaddr(host, port);
  const callback = checkCallback('cb', cb);
  const block = ring.arena.alloc(sa.length);
  sa.copy(block.buf, 0);
  const op = new Op(OP.CONNECT, callback);
  op.fd = fd;
  op.addr = block.addr;
  op.off = sa.length;
  holdBlocks(ring, op, [block]);
  return op;
}

export function connect(ring: Ring, fd: number, host: string, port: number): Promise<number> {
  return submitPromise<number>(ring, (cb) => prepConnect(ring, fd, host, port, cb));
}

/** Host and port of a struct sockaddr_in / sockaddr_in6 (as getpeername fills it). */
export function parseSockaddr(sa: Uint8Array): { host: string; port: number } {
  const b = Buffer.from(sa.buffer, sa.byteOffset, sa.byteLength);
  const family = b.length >= 2 ? b.readUInt16LE(0) : 0;
  if (family === AF.INET && b.length >= 8) return { host: `${b[4]}.${b[5]}.${b[6]}.${b[7]}`, port: b.readUInt16BE(2) };
  if (family === AF.INET6 && b.length >= 24) {
    const g: number[] = [];
    for (let i = 0; i < 8; i++) g.push(b.readUInt16BE(8 + 2 * i));
    if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
      return { host: `::ffff:${b[20]}.${b[21]}.${b[22]}.${b[23]}`, port: b.readUInt16BE(2) };
    }
    // RFC 5952: the longest run of two or more zero groups becomes "::".
    let best = -1, bestLen = 1;
    for (let i = 0; i < 8; ) {
      if (g[i] !== 0) { i++; continue; }
      let j = i;
      while (j < 8 && g[j] === 0) j++;
      if (j - i > bestLen) { best = i; bestLen = j - i; }
      i = j;
    }
    const hex = g.map((x) => x.toString(16));
    const host = best < 0 ? hex.join(':') : `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
    return { host, port: b.readUInt16BE(2) };
  }
  return { host: '', port: 0 };
}
