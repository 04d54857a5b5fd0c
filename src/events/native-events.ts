/**
 * Typed view of the event functions of the native addon (native/src/events.c).
 * src/native.ts stays the only module that loads the addon; this file only
 * narrows its open-ended `[extra: string]: unknown` part.
 */
import { requireNative, type NativeBinding } from '../native.js';
import { SystemError } from '../util/errors.js';
import type { Ring } from '../uring/ring.js';

export interface EventsNative {
  epollCreate(): number;
  epollCtl(epfd: number, op: number, fd: number, events: number, data: number): number;
  /** n events into the buffer bound with epollBindOut; timeoutNs < 0 waits forever */
  epollWait(epfd: number, maxevents: number, timeoutNs: number): number;
  /** binds (or with null, releases) the struct epoll_event[] buffer of epfd; returns its capacity */
  epollBindOut(epfd: number, out: Int32Array | null): number;
  /** sizeof(struct epoll_event): 12 on x86-64, 16 elsewhere */
  epollEventSize(): number;
  /** out is struct pollfd[]: word 2i = fd, word 2i+1 = events | revents << 16 */
  ppoll(pollfds: Int32Array, nfds: number, timeoutNs: number): number;
  /** revents of one fd now (0 = not ready), never blocks */
  pollOne(fd: number, events: number): number;
  /** one byte, 256 at end of file, or -errno */
  readByte(fd: number): number;
  writeByte(fd: number, byte: number): number;
  timerfdCreate(): number;
  /** absNs: CLOCK_MONOTONIC deadline; 0 disarms */
  timerfdArm(fd: number, absNs: number): number;
  monotonicNs(): number;
  signalInit(): { words: ArrayBuffer; fd: number } | number;
  signalAction(signo: number, install: number, saFlags: number): number;
}

export type EventsBinding = NativeBinding & EventsNative;

let cached: EventsBinding | null = null;

export function eventsNative(): EventsBinding {
  if (cached) return cached;
  const n = requireNative() as EventsBinding;
  if (typeof n.epollWait !== 'function') {
    throw new Error('native addon lacks the event functions (native/src/events.c); rebuild with "npm run install" in the package directory');
  }
  cached = n;
  return n;
}

const EFD_NONBLOCK_CLOEXEC = 0o4000 | 0o2000000;
const counterBuf = new Uint8Array(8);

/** Empties an eventfd or timerfd (non-blocking; one 8-byte read). */
export function drainCounter(fd: number): void {
  eventsNative().readSync(fd, counterBuf, 0, 8);
}

/**
 * A non-blocking eventfd registered with the ring: the kernel signals it on
 * completions. It stands in for the ring fd, which with DEFER_TASKRUN does
 * not become readable for epoll or uv_poll when completions are pending (6.18).
 */
/** The ring's own wake-up eventfd (owned and closed by the ring). */
export function ringWakeFd(ring: Ring): number {
  return ring.wakeFd();
}

export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLL_CTL_MOD = 3;

let offsetNs: number | null = null;

/** CLOCK_MONOTONIC ns of a performance.now() time (both are the monotonic clock). */
export function monoNsOf(perfMs: number): number {
  if (offsetNs === null) {
    const n = eventsNative();
    let best = Infinity;
    let off = 0;
    for (let i = 0; i < 5; i++) {
      const a = performance.now();
      const m = n.monotonicNs();
      const b = performance.now();
      if (b - a < best) {
        best = b - a;
        off = m - ((a + b) / 2) * 1e6;
      }
    }
    offsetNs = off;
  }
  return perfMs * 1e6 + offsetNs;
}
