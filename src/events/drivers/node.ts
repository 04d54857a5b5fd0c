/**
 * The attached driver: the context lives inside Node's own loop.
 *
 * The backend's fd (epoll fd, ring fd) is watched with libuv's uv_poll;
 * for the poll backend every fd gets its own uv_poll (shared between
 * contexts watching the same fd, since libuv allows one per fd). Timers
 * map onto setTimeout and immediates onto setImmediate. Each wake-up runs
 * up to BUDGET non-blocking loopOnce() calls, then yields back to Node.
 * Watches are unref'd while the context has no events, so an idle
 * context never keeps the process alive.
 */
import type { WatchHandle } from '../../native.js';
import { eventsNative } from '../native-events.js';
import { FD_ERROR, FD_READ, FD_WRITE, type Backend, type EventSite } from '../types.js';
import { PollBackend } from '../backends/poll.js';
import type { Driver, EventContext } from '../context.js';
import type { FdSlot } from '../fd.js';
import { microtask } from '../../util/hot.js';

const BUDGET = 64;
/**
 * How many times arm() may dispatch inline completions (backend.flush(true))
 * between two wake-ups from Node's loop. Each dispatch can submit more ops
 * that finish inline; the bound makes such a chain yield to Node's other
 * I/O and timers now and then.
 */
const INLINE_REAPS = 64;
/** How a failed submission from the driver is reported (EventContext.onError). */
const FLUSH_SITE: EventSite = { kind: 'fd', site: 'io_uring submission (attached driver)' };
const UV_READABLE = 1;
const UV_WRITABLE = 2;
const UV_DISCONNECT = 4;

interface SharedWatch {
  h: WatchHandle;
  users: Map<NodeDriver, number>;
  events: number;
}
const sharedWatches = new Map<number, SharedWatch>();

function uvEvents(flags: number): number {
  let e = 0;
  if (flags & FD_READ) e |= UV_READABLE | UV_DISCONNECT;
  if (flags & FD_WRITE) e |= UV_WRITABLE;
  if (flags & FD_ERROR) e |= UV_DISCONNECT;
  return e;
}

export class NodeDriver implements Driver {
  private watch: WatchHandle | null = null;
  /** whether the watch keeps Node alive (a new uv_poll does) */
  private watchRef = true;
  /** the backend whose readiness we watch; changes after a run-time fallback */
  private attached: Backend | null = null;
  private running = false;
  /** arm() dispatches of inline completions since Node's loop last ran us */
  private inlineReaps = 0;
  private immediate: NodeJS.Immediate | null = null;
  private timer: NodeJS.Timeout | null = null;
  private timerDue = Infinity;
  private kickQueued = false;
  private waiters: (() => void)[] = [];
  private closed = false;
  private readonly n = eventsNative();
  private readonly drive = (): void => this.run();
  private idleCheck: NodeJS.Immediate | null = null;
  private readonly checkIdle = (): void => {
    this.idleCheck = null;
    if (this.closed || this.ctx.haveEvents()) return this.arm();
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  };
  private readonly driveTimer = (): void => {
    this.timer = null;
    this.timerDue = Infinity;
    this.run();
  };
  private readonly onKick = (): void => {
    this.kickQueued = false;
    if (!this.running) this.arm();
  };

  constructor(private readonly ctx: EventContext) {
    this.attachBackend();
  }

  /** (Re)attaches to the context's current backend (also after a fallback). */
  private attachBackend(): void {
    const b = this.ctx.backend;
    if (b === this.attached) return;
    this.detachMain();
    this.attached = b;
    if (b instanceof PollBackend) {
      b.watcher = (slot, removed) => this.slotWatch(slot, removed);
      for (const slot of b.slots()) this.slotWatch(slot, false);
      return;
    }
    const h = this.n.pollWatch(b.pollFd, UV_READABLE, this.drive);
    if (typeof h === 'number') throw new Error(`uv_poll_start on fd ${b.pollFd} failed: ${h}`);
    this.watch = h;
    b.attached = true;
    this.watchRef = true;
    // A new uv_poll keeps Node alive; arm() drops that while the context is idle.
    this.kick();
  }

  private detachMain(): void {
    if (this.watch) this.n.pollStop(this.watch);
    if (this.attached) this.attached.attached = false;
    this.watch = null;
    this.attached = null;
  }

  private slotWatch(slot: FdSlot, removed: boolean): void {
    const fd = slot.fd;
    let w = sharedWatches.get(fd);
    const ev = removed || this.closed ? 0 : uvEvents(slot.flags);
    if (!w) {
      if (ev === 0) return;
      const h = this.n.pollWatch(fd, ev, () => this.fanOut(fd));
      if (typeof h === 'number') throw new Error(`uv_poll_start on fd ${fd} failed: ${h}`);
      w = { h, users: new Map(), events: ev };
      sharedWatches.set(fd, w);
    }
    if (ev === 0) w.users.delete(this);
    else w.users.set(this, ev);
    let union = 0;
    for (const e of w.users.values()) union |= e;
    if (union === 0) {
      // Stop before the fd may be closed: libuv must not poll a closed fd.
      this.n.pollStop(w.h);
      sharedWatches.delete(fd);
    } else if (union !== w.events) {
      w.events = union;
      this.n.pollUpdate(w.h, union);
    }
  }

  private fanOut(fd: number): void {
    const w = sharedWatches.get(fd);
    if (!w) return;
    for (const d of [...w.users.keys()]) d.run();
  }

  kick(): void {
    if (this.kickQueued || this.running || this.closed) return;
    this.kickQueued = true;
    microtask(this.onKick);
  }

  private run(): void {
    if (this.running || this.closed) return;
    this.immediate = null;
    this.running = true;
    this.inlineReaps = 0;
    this.ctx.backend.drainWake?.();
    try {
      for (let i = 0; i < BUDGET; i++) if (!this.ctx.loopOnce(0)) break;
    } finally {
      this.running = false;
    }
    this.arm();
  }

  /** Arms Node-side wake-ups for what the context still holds. */
  private arm(): void {
    const ctx = this.ctx;
    if (this.closed) return;
    // Queued io_uring submissions (re-armed polls, other layers' ops) must reach the kernel before Node sleeps.
    // What completed during the submission is dispatched now: a round through Node's loop (its
    // epoll_wait, the eventfd) costs more than most such ops.
    try {
      ctx.backend.flush?.(this.inlineReaps++ < INLINE_REAPS);
    } catch (err) {
      // io_uring_enter refused (ENOMEM, say): the SQEs stay queued for the next
      // flush. This runs as a microtask (kick), where a throw would end the process.
      ctx.report(err, FLUSH_SITE);
    }
    if (!ctx.haveEvents()) {
      this.clearTimer();
      this.setRef(false);
      // Promise jobs may still add events (an awaiting handler): decide after them.
      if (this.waiters.length && !this.idleCheck) this.idleCheck = setImmediate(this.checkIdle);
      return;
    }
    this.attachBackend();
    this.setRef(true);
    if (ctx.immediates.head || ctx.backend.hasPending()) {
      if (!this.immediate) this.immediate = setImmediate(this.drive);
      return;
    }
    const t = ctx.timers.head;
    if (!t) return this.clearTimer();
    if (t.due !== this.timerDue) {
      this.clearTimer();
      this.timerDue = t.due;
      this.timer = setTimeout(this.driveTimer, Math.max(0, Math.ceil(t.due - performance.now())));
    }
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerDue = Infinity;
  }

  private setRef(on: boolean): void {
    if (!this.watch || this.watchRef === on) return;
    this.watchRef = on;
    this.n.pollRef(this.watch, on);
  }

  loopWait(): Promise<number> {
    if (!this.ctx.haveEvents()) return Promise.resolve(0);
    return new Promise((resolve) => {
      this.waiters.push(() => resolve(0));
      this.kick();
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearTimer();
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = null;
    this.detachMain();
    for (const [fd, w] of [...sharedWatches]) {
      if (!w.users.delete(this)) continue;
      if (w.users.size === 0) {
        this.n.pollStop(w.h);
        sharedWatches.delete(fd);
      }
    }
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }
}
