/**
 * EventContext: tevent's loop in TypeScript (TEVENT-SEMANTICS.md Part B).
 *
 * One loopOnce() runs at most one handler, in this order: pending signals
 * (all of them), the first immediate, the first expired timer, then one
 * wait of the backend (timeout = time to the next timer) and one ready fd.
 * The core owns immediates, timers and signals; backends own fd waiting.
 */
import { SystemError } from '../util/errors.js';
import type { Ring } from '../uring/ring.js';
import { FdEvent, FdSlot, handlerRan, type FdHandler } from './fd.js';
import { ImmediateEvent, ImmediateList, TimerEvent, TimerList, type ImmediateHandler, type TimerHandler } from './timer.js';
import { SignalEvent, runSignalEvent, signalHub, signalNumber, type SignalHandler, type SignalInfo } from './signal.js';
import { closeWatchedFd, registerSlot, unregisterSlot } from './registry.js';
import { captureSite } from './site.js';
import {
  FD_READ, FD_WRITE, FD_ERROR,
  type Backend, type ErrorHook, type EventSite, type EventTraceCallback, type TraceHook, type TraceKind, type TraceRegistration, type TraceWhat,
} from './types.js';
import { TraceTable } from './trace.js';
import { eventsNative } from './native-events.js';

const ELOOP = 40;
const EBADF = 9;

/** @internal what a wrapper context (wrapper.ts) exposes to its main context */
export interface WrapperLink {
  /** the main context was re-initialised or closed: the wrapper is dead */
  mainGone(): void;
}

export interface Driver {
  /** something was added that the driver may need to arm for (timer, immediate, fd) */
  kick(): void;
  loopWait(): Promise<number>;
  close(): void;
}

export class EventContext {
  onError: ErrorHook | null = null;
  /** what handlers call: onTrace alone, or a dispatcher to the per-kind callbacks too (trace.ts) */
  private traceFn: TraceHook | null = null;
  private readonly traceTable = new TraceTable();
  /** @internal wrapper contexts on this one (item 33) */
  readonly wrappers = new Set<WrapperLink>();
  /** capture the creation site of every event (cheap: one frame) */
  captureSites = true;
  /** @internal */ backend: Backend;
  /** @internal */ driver: Driver | null = null;
  /** @internal */ readonly slots = new Map<number, FdSlot>();
  /** @internal */ readonly timers = new TimerList();
  /** @internal */ readonly immediates = new ImmediateList();
  private readonly signals = new Set<SignalEvent>();
  private sigPending = 0;
  private activeFdes = 0;
  private depth = 0;
  private nesting = false;
  private closedFlag = false;
  private backendCloseDeferred = false;
  /** replaces the backend when it fails at run time (auto mode) */
  /** @internal */ fallback: ((failed: Backend, err: unknown) => Backend | null) | null = null;

  constructor(backend: Backend) {
    this.backend = backend;
  }

  get backendName(): string {
    return this.backend.name;
  }

  /** The io_uring of this loop, for other layers' ops; null without one. */
  get ring(): Ring | null {
    return this.backend.ring;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  allowNesting(on = true): void {
    if (on && this.wrappers.size > 0) throw new SystemError('tevent_loop_allow_nesting', 22, 'nesting conflicts with wrapper contexts');
    this.nesting = on;
  }

  get nestingAllowed(): boolean {
    return this.nesting;
  }

  /**
   * tevent caches getpid() and must refresh it after fork() (item 37). Node
   * never forks a running JS heap: child_process.fork() and cluster start a
   * new process that loads its modules afresh, so every process reads its
   * own pid here and there is no cache to go stale.
   */
  get pid(): number {
    return process.pid;
  }

  // ---- trace callbacks (items 39, 42; trace.ts) ----

  /** One hook for every kind of event (fd, timer, immediate, signal, queue). */
  get onTrace(): TraceHook | null {
    return this.traceTable.all;
  }

  set onTrace(hook: TraceHook | null) {
    this.traceTable.all = hook;
    this.traceFn = this.traceTable.dispatcher();
  }

  /** tevent_set_trace_{fd,timer,signal,immediate,queue}_callback: one callback and its private data per kind. */
  setTraceCallback(kind: TraceKind, callback: EventTraceCallback | null, privateData: unknown = null): void {
    this.traceTable.set(kind, callback, privateData);
    this.traceFn = this.traceTable.dispatcher();
  }

  /** Exactly what was set for kind; { callback: null, privateData: null } by default. */
  getTraceCallback(kind: TraceKind): TraceRegistration {
    return this.traceTable.get(kind);
  }

  // ---- fd events ----

  addFd(fd: number, flags: number, handler: FdHandler): FdEvent {
    return this.addFdImpl(fd, flags, handler, false);
  }

  private addFdImpl(fd: number, flags: number, handler: FdHandler, internal: boolean): FdEvent {
    this.assertOpen();
    if (!Number.isInteger(fd) || fd < 0) throw new RangeError(`fd must be a non-negative integer, got ${fd}`);
    if (eventsNative().fcntlFlags(fd, 0, 0) < 0) throw new SystemError('tevent_add_fd', EBADF, `fd ${fd} is not open`);
    const fde = new FdEvent(this, fd, flags & (FD_READ | FD_WRITE | FD_ERROR), handler, this.site(this.addFd));
    let slot = this.slots.get(fd);
    if (!slot) {
      slot = new FdSlot(this, fd);
      slot.internal = internal;
      slot.fdes.push(fde);
      fde.slot = slot;
      slot.flags = fde.flagsValue;
      this.backend.add(slot);
      this.slots.set(fd, slot);
      registerSlot(slot);
      if (slot.flags && !internal) this.activeFdes++;
    } else {
      slot.fdes.push(fde);
      fde.slot = slot;
      slot.recompute();
    }
    this.trace('attach', fde);
    this.driver?.kick();
    return fde;
  }

  /** @internal the slot's union of flags changed */
  slotChanged(slot: FdSlot, old: number): void {
    if (slot.closed || this.closedFlag) return;
    if (!slot.internal) this.activeFdes += (slot.flags ? 1 : 0) - (old ? 1 : 0);
    this.backend.update(slot);
    this.driver?.kick();
  }

  /** @internal */
  freeFd(fde: FdEvent): void {
    if (!fde.slot) {
      // Detached by reinitialise() or a freed wrapper: freeing it now still honours auto-close.
      if (fde.detached) {
        fde.detached = false;
        if (fde.autoClose) closeWatchedFd(fde.fd);
      }
      return;
    }
    this.unlinkFd(fde);
    if (fde.autoClose) closeWatchedFd(fde.fd);
  }

  /** @internal takes fde off the loop without closing its fd; a later free() still auto-closes (items 34, 40) */
  detachFd(fde: FdEvent): void {
    if (!fde.slot) return;
    this.unlinkFd(fde);
    fde.detached = true;
  }

  private unlinkFd(fde: FdEvent): void {
    const slot = fde.slot!;
    fde.slot = null;
    const i = slot.fdes.indexOf(fde);
    if (i >= 0) slot.fdes.splice(i, 1);
    if (!slot.closed) {
      if (slot.fdes.length === 0) this.dropSlot(slot);
      else slot.recompute();
    }
    this.trace('detach', fde);
  }

  /** Closes fd after silencing every fde on it in every context (item 18). */
  closeFd(fd: number): void {
    closeWatchedFd(fd);
  }

  /** @internal called by the registry before the fd is closed */
  silenceSlot(slot: FdSlot): void {
    if (slot.closed) return;
    this.dropSlot(slot, true);
    slot.closed = true;
  }

  private dropSlot(slot: FdSlot, closing = false): void {
    if (this.slots.get(slot.fd) === slot) this.slots.delete(slot.fd);
    unregisterSlot(slot);
    if (slot.flags && !slot.internal) this.activeFdes--;
    if (!this.closedFlag) this.backend.remove(slot, closing);
  }

  // ---- timers ----

  /** A one-shot timer due in delayMs (never early, item 23). */
  addTimer(delayMs: number, handler: TimerHandler): TimerEvent {
    this.assertOpen();
    const te = new TimerEvent(this, performance.now() + Math.max(0, delayMs), handler, this.site(this.addTimer));
    this.timers.insert(te);
    this.trace('attach', te);
    this.driver?.kick();
    return te;
  }

  /** @internal */
  updateTimer(te: TimerEvent, due: number): void {
    if (this.closedFlag) return;
    if (te.linked) {
      this.timers.remove(te);
      this.trace('detach', te);
    }
    te.due = due;
    this.timers.insert(te);
    this.trace('attach', te);
    this.driver?.kick();
  }

  /** @internal */
  freeTimer(te: TimerEvent): void {
    if (!te.linked) return;
    this.timers.remove(te);
    this.trace('detach', te);
  }

  // ---- immediates ----

  createImmediate(): ImmediateEvent {
    return new ImmediateEvent(this, this.site(this.createImmediate));
  }

  /** Runs handler on a later iteration, FIFO (item 26). */
  addImmediate(handler: ImmediateHandler): ImmediateEvent {
    const im = new ImmediateEvent(this, this.site(this.addImmediate));
    this.scheduleImmediate(im, handler);
    return im;
  }

  /** @internal */
  scheduleImmediate(im: ImmediateEvent, handler: ImmediateHandler): void {
    this.assertOpen();
    if (im.linked) {
      this.immediates.remove(im);
      this.trace('detach', im);
    }
    im.handler = handler;
    this.immediates.push(im);
    this.trace('attach', im);
    this.driver?.kick();
  }

  /** @internal */
  cancelImmediate(im: ImmediateEvent): void {
    if (!im.linked) return;
    this.immediates.remove(im);
    this.trace('detach', im);
  }

  // ---- signals ----

  /** A signal handler run from the loop; saFlags: SA_SIGINFO, SA_RESETHAND, SA_RESTART. */
  addSignal(signal: number | string, saFlags: number, handler: SignalHandler): SignalEvent {
    this.assertOpen();
    const hub = signalHub();
    const se = new SignalEvent(this, signalNumber(signal), saFlags, handler, this.site(this.addSignal));
    hub.add(se);
    if (this.signals.size === 0) this.addWakeFd(hub.wakeFd);
    this.signals.add(se);
    this.trace('attach', se);
    this.driver?.kick();
    return se;
  }

  private wakeFde: FdEvent | null = null;

  private addWakeFd(fd: number): void {
    if (this.wakeFde) return;
    // The wake-up pipe is internal: it does not count as an event (item 3).
    this.wakeFde = this.untraced(() => this.addFdImpl(fd, FD_READ, () => signalHub().wake(), true));
  }

  /** @internal */
  signalArrived(): void {
    this.sigPending++;
  }

  /** @internal */
  freeSignal(se: SignalEvent): void {
    if (!se.active) return;
    se.active = false;
    this.signals.delete(se);
    signalHub().remove(se);
    this.trace('detach', se);
    if (this.signals.size === 0 && this.wakeFde) {
      const w = this.wakeFde;
      this.wakeFde = null;
      this.untraced(() => w.free());
    }
  }

  /** Runs fn with the trace hook off: the internal wake-up fde is not traced. */
  private untraced<T>(fn: () => T): T {
    const t = this.traceFn;
    this.traceFn = null;
    try {
      return fn();
    } finally {
      this.traceFn = t;
    }
  }

  /** Collects deliveries from the hub and runs them (item 29); false if none. */
  private pollSignals(): boolean {
    if (this.signals.size === 0) return false;
    signalHub().collect();
    return this.runSignals();
  }

  private runSignals(): boolean {
    if (this.sigPending === 0) return false;
    this.sigPending = 0;
    let ran = false;
    for (const se of [...this.signals]) {
      if (se.pending === 0 || !se.active || this.closedFlag) continue;
      ran = true;
      runSignalEvent(se, (s, count, info) => this.invoke(s, (c: number, i: SignalInfo | null) => s.handler(s, s.signo, c, i), count, info));
    }
    return ran;
  }

  // ---- the loop ----

  /** Whether loopWait() has anything left to wait for (item 3). */
  haveEvents(): boolean {
    if (this.closedFlag) return false;
    return (
      this.signals.size > 0 || this.immediates.head !== null || this.timers.head !== null || this.activeFdes > 0 ||
      (this.backend.busy?.() ?? false)
    );
  }

  /**
   * One iteration; runs at most one handler (signals excepted, item 1).
   * maxWaitNs caps the backend wait (0: do not block). Returns whether a
   * handler ran (or, on a backend with a ring, completions of other
   * layers' io_uring ops were dispatched).
   */
  loopOnce(maxWaitNs = -1): boolean {
    if (this.closedFlag) return false;
    if (this.depth > 0 && !this.nesting) {
      throw new SystemError('tevent_loop_once', ELOOP, 'loopOnce() called from inside a handler; call allowNesting() first');
    }
    if (this.pollSignals()) return true;
    const im = this.immediates.head;
    if (im) {
      this.runImmediate(im);
      return true;
    }
    let timeout = -1;
    let due = -1;
    const t = this.timers.head;
    if (t) {
      const now = performance.now();
      if (t.due <= now) {
        this.runTimer(t, now);
        return true;
      }
      timeout = Math.ceil((t.due - now) * 1e6);
      due = t.due;
    }
    if (maxWaitNs >= 0 && (timeout < 0 || timeout > maxWaitNs)) {
      timeout = maxWaitNs;
      due = -1;
    }
    // Nothing to wait for: no timer, no cap, no fd event, nothing queued (item 3).
    if (timeout < 0 && !this.haveEvents() && !this.backend.hasPending()) return false;
    let ran: boolean;
    try {
      ran = this.backend.wait(timeout, due);
    } catch (err) {
      if (!this.switchBackend(err)) throw err;
      return false;
    }
    if (this.closedFlag) return ran;
    // Signals the wait woke up for (the wake-up fde collected them) run now.
    if (this.runSignals()) return true;
    if (ran) return true;
    if (this.pollSignals()) return true;
    return this.runDueTimer();
  }

  private runDueTimer(): boolean {
    const t = this.timers.head;
    if (!t) return false;
    const now = performance.now();
    if (t.due > now) return false;
    this.runTimer(t, now);
    return true;
  }

  private runTimer(t: TimerEvent, now: number): void {
    this.timers.remove(t);
    this.invoke(t, t.handler, t, now);
    this.trace('detach', t);
  }

  private runImmediate(im: ImmediateEvent): void {
    this.immediates.remove(im);
    this.invoke(im, im.handler!, im, undefined);
    if (!im.linked) this.trace('detach', im);
  }

  /** @internal runs one fd handler (called by FdSlot.dispatch); a direct call, the hot path */
  runFd(fde: FdEvent, flags: number): void {
    this.enter(fde);
    try {
      fde.handler(fde, flags);
    } catch (err) {
      this.report(err, fde);
    } finally {
      this.leave();
    }
  }

  /** Timer, immediate and signal handlers; arguments are passed, not closed over (no allocation per event). */
  private invoke<A, B>(ev: EventSite, fn: (a: A, b: B) => void, a: A, b: B): void {
    this.enter(ev);
    try {
      fn.call(ev, a, b);
    } catch (err) {
      this.report(err, ev);
    } finally {
      this.leave();
    }
  }

  private enter(ev: EventSite): void {
    if (this.traceFn) this.trace('before_handler', ev);
    this.depth++;
  }

  /** After every handler: readiness backends saw earlier may be stale now (handlerRan). */
  private leave(): void {
    handlerRan();
    if (--this.depth === 0 && this.backendCloseDeferred) this.finishClose();
  }

  /** Reports an error of a handler (or of an io_uring completion callback) through onError. */
  report(err: unknown, ev: EventSite): void {
    const hook = this.onError;
    if (hook) {
      try {
        hook(err, ev);
        return;
      } catch (e) {
        err = e;
      }
    }
    console.error(`ringsmb events: ${ev.kind} handler (created ${ev.site}) threw:`, err);
  }

  /** Runs until no events are left or the context is closed (item 3). */
  loopWait(): Promise<number> {
    if (!this.driver) throw new Error('context has no driver; create it with createEventContext()');
    return this.driver.loopWait();
  }

  /** Frees every event without running it; safe from inside a handler (item 25). */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.dropWrappers();
    for (const se of [...this.signals]) this.freeSignal(se);
    const toClose: number[] = [];
    for (const slot of [...this.slots.values()]) {
      let closing = false;
      for (const fde of slot.fdes) {
        fde.slot = null;
        if (fde.autoClose) closing = true;
      }
      unregisterSlot(slot);
      if (!slot.closed) this.backend.remove(slot, closing);
      slot.closed = true;
      if (closing) toClose.push(slot.fd);
    }
    this.slots.clear();
    for (const fd of toClose) {
      try {
        closeWatchedFd(fd);
      } catch {
        /* already closed behind our back */
      }
    }
    while (this.timers.head) this.timers.remove(this.timers.head);
    while (this.immediates.head) this.immediates.remove(this.immediates.head);
    this.activeFdes = 0;
    this.driver?.close();
    if (this.depth > 0) this.backendCloseDeferred = true;
    else this.finishClose();
  }

  /**
   * tevent_re_initialise (item 40): every pending event is detached without
   * running (traced DETACH), wrappers die, and the context stays usable.
   * Event objects keep their tags and may be re-armed (timer update(),
   * immediate schedule()); a detached fde is gone, but freeing it still
   * honours auto-close. tevent also rebuilds its backend here because the
   * epoll fd is shared with the parent after fork(); Node does not fork (see
   * pid), so the backend and the io_uring of other layers' ops stay.
   */
  reinitialise(): void {
    this.assertOpen();
    this.dropWrappers();
    for (const se of [...this.signals]) this.freeSignal(se);
    for (const slot of [...this.slots.values()]) {
      for (const fde of [...slot.fdes]) this.detachFd(fde);
    }
    while (this.timers.head) {
      const t = this.timers.head;
      this.timers.remove(t);
      this.trace('detach', t);
    }
    while (this.immediates.head) {
      const im = this.immediates.head;
      this.immediates.remove(im);
      this.trace('detach', im);
    }
  }

  private dropWrappers(): void {
    if (this.wrappers.size === 0) return;
    const ws = [...this.wrappers];
    this.wrappers.clear();
    for (const w of ws) w.mainGone();
  }

  private finishClose(): void {
    this.backendCloseDeferred = false;
    this.backend.close();
  }

  private switchBackend(err: unknown): boolean {
    const next = this.fallback?.(this.backend, err) ?? null;
    if (!next) return false;
    const old = this.backend;
    this.backend = next;
    try {
      old.close();
    } catch {
      /* the failed backend may be half gone */
    }
    for (const slot of this.slots.values()) next.add(slot);
    this.driver?.kick();
    return true;
  }

  private assertOpen(): void {
    if (this.closedFlag) throw new SystemError('tevent', EBADF, 'event context is closed');
  }

  private site(fn: (...a: never[]) => unknown): ReturnType<typeof captureSite> | null {
    return this.captureSites ? captureSite(fn) : null;
  }

  /** @internal also used by queues (queue.ts) for their entries */
  trace(what: TraceWhat, ev: EventSite): void {
    if (this.traceFn) this.traceFn(what, ev);
  }
}
