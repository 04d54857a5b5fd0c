/** Shared set-up of the uring tests: rings, temp dirs, fds, skips with reasons. */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { Ring, type RingOptions } from '../../src/uring/ring.js';
import { uringAvailability } from '../../src/uring/features.js';
import { OP, type OpName } from '../../src/uring/constants.js';
import { requireNative } from '../../src/native.js';

export const avail = uringAvailability();
/** The reason every test of this area is skipped, or false when io_uring works here. */
export const noUring: string | false = avail.available ? false : `io_uring unavailable: ${avail.reason}`;
export const n = avail.available ? requireNative() : (null as never);

const rings: Ring[] = [];
const fds: number[] = [];
const dirs: string[] = [];

let probe: Set<number> | null = null;
function probed(): Set<number> {
  if (!probe) {
    const r = Ring.open({ entries: 2 });
    probe = new Set(r.features.ops);
    r.close();
  }
  return probe;
}

/** skip option for a test needing these ops: false, or why not. */
export function needs(...ops: OpName[]): string | false {
  if (noUring) return noUring;
  const missing = ops.filter((o) => !probed().has(OP[o]));
  return missing.length ? `kernel lacks ${missing.map((m) => `IORING_OP_${m}`).join(', ')}` : false;
}

export function ring(opts: RingOptions = {}): Ring {
  const r = Ring.open(opts);
  r.onError = (err) => {
    throw err;
  };
  rings.push(r);
  return r;
}

export function track(fd: number): number {
  fds.push(fd);
  return fd;
}

export function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'ringsmb-uring-'));
  dirs.push(d);
  return d;
}

export function pipe(): [number, number] {
  const r = n.pipe2(0o2000000);
  if (typeof r === 'number') throw new Error(`pipe2 ${r}`);
  fds.push(r[0], r[1]);
  return r;
}

export function socketpair(): [number, number] {
  const r = n.socketpair(1 | 0o2000000);
  if (typeof r === 'number') throw new Error(`socketpair ${r}`);
  fds.push(r[0], r[1]);
  return r;
}

export function isOpen(fd: number): boolean {
  return n.fcntlFlags(fd, 0, 0) >= 0;
}

export function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/** A listening TCP socket on 127.0.0.1 as a plain fd (Node's server closed, the dup kept). */
export async function listenFd(): Promise<{ fd: number; port: number }> {
  const srv = net.createServer();
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
  const port = (srv.address() as net.AddressInfo).port;
  const fd = n.dup((srv as unknown as { _handle: { fd: number } })._handle.fd);
  if (fd < 0) throw new Error(`dup ${fd}`);
  await new Promise<void>((res) => srv.close(() => res()));
  return { fd: track(fd), port };
}

/** Drives an unattached ring until the promise settles (letting Node's loop run between waits). */
export async function drive<T>(r: Ring, p: Promise<T>, timeoutMs = 5000): Promise<T> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  const deadline = Date.now() + timeoutMs;
  while (!done) {
    r.wait(1, 5e6);
    await new Promise(setImmediate);
    if (Date.now() > deadline) throw new Error('drive: timed out');
  }
  return p;
}

/** Waits until `cond` holds, at most timeoutMs. */
export function spinUntil(r: Ring, cond: () => boolean, timeoutMs = 5000): void {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('spinUntil: timed out');
    r.wait(1, 5e6);
  }
}

export function cleanup(): void {
  for (const r of rings.splice(0)) r.close();
  for (const fd of fds.splice(0)) if (isOpen(fd)) n.close(fd);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}
