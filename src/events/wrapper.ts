/**
 * Wrapper contexts (tevent_context_wrapper_create, items 33 and 34).
 *
 * A wrapper is a view of a main context: events added through it live in
 * the main context and run from its loop, each handler bracketed by the
 * wrapper's before/after hooks (Samba uses this to become a user around
 * every callback). pushUse()/popUse() bracket code run outside the loop the
 * same way, through beforeUse/afterUse. Freeing the wrapper cancels every
 * event added through it; freed from inside one of its own handlers, it
 * dies once that handler (and its after hook) has returned.
 *
 * The bracketing lives in the handler the main context stores, so the core
 * loop does no work for it: events not added through a wrapper cost
 * nothing. One difference from tevent follows: the context's trace sees
 * BEFORE_HANDLER before the wrapper's before hook runs, not after.
 */
import { SystemError } from '../util/errors.js';
import type { EventContext, WrapperLink } from './context.js';
import type { FdEvent, FdHandler } from './fd.js';
import type { ImmediateEvent, ImmediateHandler, TimerEvent, TimerHandler } from './timer.js';
import type { SignalEvent, SignalHandler, SignalInfo } from './signal.js';

const EINVAL = 22;

/** tevent_wrapper_ops; every hook is optional. `w` is the wrapper, `main` its main context. */
export interface WrapperOps {
  readonly name?: string;
  /** false makes pushUse() fail */
  beforeUse?(w: WrapperContext, main: EventContext): boolean;
  afterUse?(w: WrapperContext, main: EventContext): void;
  beforeFdHandler?(w: WrapperContext, main: EventContext, fde: FdEvent, flags: number): void;
  afterFdHandler?(w: WrapperContext, main: EventContext, fde: FdEvent, flags: number): void;
  /** requested: the timer's due time; now: when it runs (performance.now() ms) */
  beforeTimerHandler?(w: WrapperContext, main: EventContext, te: TimerEvent, requested: number, now: number): void;
  afterTimerHandler?(w: WrapperContext, main: EventContext, te: TimerEvent, requested: number, now: number): void;
  beforeImmediateHandler?(w: WrapperContext, main: EventContext, im: ImmediateEvent): void;
  afterImmediateHandler?(w: WrapperContext, main: EventContext, im: ImmediateEvent): void;
  beforeSignalHandler?(w: WrapperContext, main: EventContext, se: SignalEvent, signo: number, count: number, info: SignalInfo | null): void;
  afterSignalHandler?(w: WrapperContext, main: EventContext, se: SignalEvent, signo: number, count: number, info: SignalInfo | null): void;
}

type Tracked = FdEvent | TimerEvent | ImmediateEvent | SignalEvent;

function live(ev: Tracked): boolean {
  switch (ev.kind) {
    case 'fd':
      return !ev.freed;
    case 'signal':
      return ev.active;
    default:
      return ev.pending;
  }
}

export class WrapperContext implements WrapperLink {
  private mainCtx: EventContext | null;
  /** inside one of our handlers or between pushUse and popUse */
  private busy = false;
  /** freed while busy: dies when the busy section ends */
  private destroyed = false;
  private readonly events = new Set<Tracked>();
  private pruneAt = 64;

  constructor(main: EventContext, readonly ops: WrapperOps) {
    if (main.closed) throw new SystemError('tevent_context_wrapper_create', 9, 'event context is closed');
    if (main.nestingAllowed) throw new SystemError('tevent_context_wrapper_create', EINVAL, 'wrapper contexts conflict with nesting');
    this.mainCtx = main;
    main.wrappers.add(this);
  }

  get name(): string {
    return this.ops.name ?? 'wrapper';
  }

  /** The main context, or null once the wrapper is freed (or the main context re-initialised or closed). */
  get main(): EventContext | null {
    return this.destroyed ? null : this.mainCtx;
  }

  get freed(): boolean {
    return this.mainCtx === null || this.destroyed;
  }

  // ---- events, added to the main context with bracketed handlers ----

  addFd(fd: number, flags: number, handler: FdHandler): FdEvent {
    const main = this.usable('addFd');
    const ops = this.ops;
    const fde = main.addFd(fd, flags, (e, f) => {
      if (!this.enterHandler()) return;
      try {
        ops.beforeFdHandler?.(this, main, e, f);
        try {
          handler(e, f);
        } finally {
          ops.afterFdHandler?.(this, main, e, f);
        }
      } finally {
        this.leaveHandler();
      }
    });
    return this.track(fde);
  }

  addTimer(delayMs: number, handler: TimerHandler): TimerEvent {
    const main = this.usable('addTimer');
    const ops = this.ops;
    const te = main.addTimer(delayMs, (t, now) => {
      if (!this.enterHandler()) return;
      const requested = t.due;
      try {
        ops.beforeTimerHandler?.(this, main, t, requested, now);
        try {
          handler(t, now);
        } finally {
          ops.afterTimerHandler?.(this, main, t, requested, now);
        }
      } finally {
        this.leaveHandler();
      }
    });
    return this.track(te);
  }

  /** An immediate of the main context; schedule it through scheduleImmediate() to have it wrapped. */
  createImmediate(): ImmediateEvent {
    return this.usable('createImmediate').createImmediate();
  }

  addImmediate(handler: ImmediateHandler): ImmediateEvent {
    const im = this.createImmediate();
    this.scheduleImmediate(im, handler);
    return im;
  }

  /** tevent_schedule_immediate(im, wrap_ev, ...): this scheduling runs bracketed (im.schedule() would not). */
  scheduleImmediate(im: ImmediateEvent, handler: ImmediateHandler): void {
    const main = this.usable('scheduleImmediate');
    const ops = this.ops;
    main.scheduleImmediate(im, (i) => {
      if (!this.enterHandler()) return;
      try {
        ops.beforeImmediateHandler?.(this, main, i);
        try {
          handler(i);
        } finally {
          ops.afterImmediateHandler?.(this, main, i);
        }
      } finally {
        this.leaveHandler();
      }
    });
    this.track(im);
  }

  addSignal(signal: number | string, saFlags: number, handler: SignalHandler): SignalEvent {
    const main = this.usable('addSignal');
    const ops = this.ops;
    const se = main.addSignal(signal, saFlags, (s, signo, count, info) => {
      if (!this.enterHandler()) return;
      try {
        ops.beforeSignalHandler?.(this, main, s, signo, count, info);
        try {
          handler(s, signo, count, info);
        } finally {
          ops.afterSignalHandler?.(this, main, s, signo, count, info);
        }
      } finally {
        this.leaveHandler();
      }
    });
    return this.track(se);
  }

  // ---- use outside the loop ----

  /**
   * tevent_context_push_use: calls beforeUse; false (and nothing pushed) if
   * the wrapper is dead or beforeUse refused. Must be paired with popUse().
   */
  pushUse(): boolean {
    const main = this.main;
    if (!main) return false;
    if (this.busy) throw new SystemError('tevent_context_push_use', EINVAL, `wrapper ${this.name} is already in use`);
    this.busy = true;
    let ok = false;
    try {
      ok = this.ops.beforeUse ? this.ops.beforeUse(this, main) : true;
    } finally {
      if (!ok) this.busy = false;
    }
    return ok;
  }

  /** tevent_context_pop_use: calls afterUse; a free() from inside the pushed section takes effect here. */
  popUse(): void {
    if (!this.busy) throw new SystemError('tevent_context_pop_use', EINVAL, `wrapper ${this.name} is not in use`);
    this.busy = false;
    if (this.destroyed) return this.destroyNow();
    const main = this.mainCtx;
    if (main) this.ops.afterUse?.(this, main);
  }

  /** Cancels every pending event added through this wrapper (item 34); deferred while one of its handlers runs. */
  free(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    if (!this.busy) this.destroyNow();
  }

  /** @internal the main context was re-initialised or closed */
  mainGone(): void {
    this.mainCtx = null;
    this.events.clear();
  }

  // ---- internals ----

  private usable(what: string): EventContext {
    if (this.destroyed) throw new SystemError(`wrapper ${what}`, EINVAL, `wrapper ${this.name} used after free`);
    const main = this.mainCtx;
    if (!main) throw new SystemError(`wrapper ${what}`, EINVAL, `the main context of wrapper ${this.name} is gone`);
    return main;
  }

  /** false: the wrapper died, the handler must not run (an event re-armed after we stopped tracking it) */
  private enterHandler(): boolean {
    if (this.destroyed || !this.mainCtx) return false;
    if (this.busy) throw new SystemError('wrapper handler', EINVAL, `wrapper ${this.name} is already in use`);
    this.busy = true;
    return true;
  }

  private leaveHandler(): void {
    this.busy = false;
    if (this.destroyed) this.destroyNow();
  }

  private destroyNow(): void {
    const main = this.mainCtx;
    this.mainCtx = null;
    if (!main) return;
    main.wrappers.delete(this);
    const evs = [...this.events];
    this.events.clear();
    for (const ev of evs) {
      switch (ev.kind) {
        case 'fd':
          main.detachFd(ev);
          break;
        case 'timer':
          ev.free();
          break;
        case 'immediate':
          ev.cancel();
          break;
        case 'signal':
          ev.free();
          break;
      }
    }
  }

  /** Remembers ev for free(); drops dead entries now and then so the set stays the size of what is live. */
  private track<T extends Tracked>(ev: T): T {
    const set = this.events;
    if (set.size >= this.pruneAt) {
      for (const e of set) if (!live(e)) set.delete(e);
      this.pruneAt = Math.max(64, set.size * 2);
    }
    set.add(ev);
    return ev;
  }
}

/** tevent_context_wrapper_create: a wrapper on main (main must not allow nesting). */
export function createWrapper(main: EventContext, ops: WrapperOps): WrapperContext {
  return new WrapperContext(main, ops);
}
