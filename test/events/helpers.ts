/** Shared set-up of the events tests: backends x drivers, fds, skips. */
import { createEventContext, type BackendName, type DriverName, type EventContext } from '../../src/events/index.js';
import { eventsNative } from '../../src/events/native-events.js';

export const n = eventsNative();
export const ALL_BACKENDS: BackendName[] = ['poll', 'epoll', 'uring', 'hybrid'];
export const DRIVERS: DriverName[] = ['standalone', 'node'];

const reasons = new Map<BackendName, string | null>();

/** null when the backend works here, else why it is skipped. */
export function skipReason(b: BackendName): string | null {
  if (reasons.has(b)) return reasons.get(b)!;
  let why: string | null = null;
  try {
    createEventContext({ backend: b, driver: 'standalone' }).close();
  } catch (err) {
    why = `${b} backend unavailable on this machine: ${(err as Error).message}`;
  }
  reasons.set(b, why);
  return why;
}

const open: EventContext[] = [];
const fds: number[] = [];

export function ctxOf(backend: BackendName, driver: DriverName = 'standalone'): EventContext {
  const ctx = createEventContext({ backend, driver });
  ctx.onError = (err) => {
    throw err;
  };
  open.push(ctx);
  return ctx;
}

export function pipe(flags = 0): [number, number] {
  const r = n.pipe2(flags | 0o2000000);
  if (typeof r === 'number') throw new Error(`pipe2 ${r}`);
  fds.push(r[0], r[1]);
  return r;
}

export const SOCK_STREAM = 1;
export const O_NONBLOCK = 0o4000;

export function socketpair(): [number, number] {
  const r = n.socketpair(SOCK_STREAM | 0o2000000);
  if (typeof r === 'number') throw new Error(`socketpair ${r}`);
  fds.push(r[0], r[1]);
  return r;
}

export function isOpen(fd: number): boolean {
  return n.fcntlFlags(fd, 0, 0) >= 0;
}

/** Closes what the test left open (contexts first, then fds still open). */
export function cleanup(): void {
  for (const c of open.splice(0)) c.close();
  for (const fd of fds.splice(0)) if (isOpen(fd)) n.close(fd);
}

export function write1(fd: number, b = 120): void {
  if (n.writeByte(fd, b) !== 1) throw new Error(`write to ${fd} failed`);
}

/** Runs loopOnce(0) k times, returning how many ran a handler. */
export function spin(ctx: EventContext, k: number): number {
  let ran = 0;
  for (let i = 0; i < k; i++) if (ctx.loopOnce(0)) ran++;
  return ran;
}

export function sleepMs(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

import { describe, it, afterEach } from 'node:test';

/** Declares `body` once per backend (skipped with the reason where missing). */
export function perBackend(title: string, body: (b: BackendName) => void): void {
  for (const b of ALL_BACKENDS) {
    const why = skipReason(b);
    describe(`${title} [${b}]`, { skip: why ?? false }, () => {
      afterEach(cleanup);
      body(b);
    });
  }
}

/** As perBackend, for each driver too. */
export function perBackendDriver(title: string, body: (b: BackendName, d: DriverName) => void): void {
  for (const b of ALL_BACKENDS) {
    const why = skipReason(b);
    for (const d of DRIVERS) {
      describe(`${title} [${b}/${d}]`, { skip: why ?? false }, () => {
        afterEach(cleanup);
        body(b, d);
      });
    }
  }
}

export { it };
