/**
 * Shared vocabulary of the event context: flag bits, handler signatures and
 * the interface every backend implements (tevent's ops table).
 */
import type { Ring } from '../uring/ring.js';
import type { FdSlot } from './fd.js';

/** tevent's TEVENT_FD_READ / _WRITE / _ERROR */
export const FD_READ = 1;
export const FD_WRITE = 2;
export const FD_ERROR = 4;

/** poll(2)/epoll(7) bits, identical values in both APIs */
export const P_IN = 0x001;
export const P_OUT = 0x004;
export const P_ERR = 0x008;
export const P_HUP = 0x010;
export const P_NVAL = 0x020;
export const P_RDHUP = 0x2000;
export const P_BAD = P_ERR | P_HUP | P_RDHUP;

export type BackendName = 'poll' | 'epoll' | 'uring' | 'hybrid';
export type BackendChoice = BackendName | 'auto';
export type DriverName = 'standalone' | 'node';

/** Poll bits to ask the kernel for, given the union of an fd's fde flags. */
export function pollEventsFor(flags: number): number {
  let ev = 0;
  if (flags & FD_READ) ev |= P_IN | P_RDHUP;
  if (flags & FD_WRITE) ev |= P_OUT;
  if (flags & FD_ERROR) ev |= P_RDHUP;
  return ev;
}

/**
 * A backend owns how fds are waited for. The core (context.ts) owns
 * immediates, timers and signals, and asks the backend to wait at most
 * `timeoutNs` and run at most one fd handler (through FdSlot.dispatch).
 */
export interface Backend {
  readonly name: BackendName;
  /** fd an outer loop can watch for "something to do" (epoll fd, ring fd); -1 if none */
  readonly pollFd: number;
  readonly ring: Ring | null;
  /** a new fd slot (first fde on that fd); throws SystemError on failure */
  add(slot: FdSlot): void;
  /** the union of the slot's flags changed */
  update(slot: FdSlot): void;
  /**
   * The slot is gone: its last fde was freed, or (closing) the fd is about
   * to be close(2)d, so nothing of ours may still hold the file.
   */
  remove(slot: FdSlot, closing: boolean): void;
  /**
   * Waits up to timeoutNs (-1: forever, 0: poll) and runs at most one fd
   * handler; true if one ran. dueMs is the performance.now() time the
   * timeout leads to (the next timer), or -1 when the timeout is not a
   * timer's: a backend may wait for that deadline in a cheaper way.
   */
  wait(timeoutNs: number, dueMs: number): boolean;
  /** readiness already known but not yet dispatched (epoll batch, ring completions) */
  hasPending(): boolean;
  /** work the loop must wait for besides fd events (io_uring ops of other layers in flight) */
  busy?(): boolean;
  /**
   * Pushes queued submissions to the kernel (the attached driver calls it
   * before yielding to Node). With `reap`, completions already posted (ops
   * that finished inline, during the submission) are dispatched at once
   * instead of after a trip through Node's loop; fd readiness they carry is
   * only queued (hasPending), never handled here.
   */
  flush?(reap: boolean): void;
  /**
   * Set by the attached driver while it drives this backend: Node's loop
   * runs between its turns and wakes it through pollFd. A backend may then
   * leave submissions that are not due for a later flush (the ring's lazy
   * ones, flushed from Node's check phase at the latest) and answer a poll
   * (timeout 0) that would find nothing without a syscall.
   */
  attached?: boolean;
  /** clears the wake-up signal behind pollFd (an eventfd), before the attached driver runs the loop */
  drainWake?(): void;
  close(): void;
}

export interface EventSite {
  readonly kind: TraceKind;
  /** where the event was created ("at file:line:col"), computed on first use */
  readonly site: string;
}

export type ErrorHook = (err: unknown, event: EventSite) => void;

export type TraceWhat = 'attach' | 'before_handler' | 'detach';
export type TraceHook = (what: TraceWhat, event: EventSite) => void;

/** The kinds with their own trace callback in tevent (queue: tevent_queue entries, queue.ts). */
export type TraceKind = 'fd' | 'timer' | 'immediate' | 'signal' | 'queue';
export const TRACE_KINDS: readonly TraceKind[] = ['fd', 'timer', 'immediate', 'signal', 'queue'];
/** tevent_trace_<kind>_callback_t: the event, the trace point, the private data given when set */
export type EventTraceCallback = (event: EventSite, what: TraceWhat, privateData: unknown) => void;
export interface TraceRegistration {
  callback: EventTraceCallback | null;
  privateData: unknown;
}
