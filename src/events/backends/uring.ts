/**
 * The io_uring backend: fd readiness without epoll, on the same ring that
 * other layers use for their own ops (ctx.ring).
 *
 * Level triggering: every slot with flags has a multishot POLL_ADD, which
 * posts one CQE per wake-up of the fd, and, when needed, a one-shot POLL_ADD
 * as the level check. A CQE queues the slot as ready. After its handler the
 * fd may still be ready with nothing left to wake it (the handler did not
 * read everything); such slots get their check before the loop can sleep:
 * one-shot polls ride on the next enter, which completes them at once if the
 * fd is still ready, so readiness is never lost (seed 003 §8b). Without a
 * multishot (the kernel refused it for that fd) the one-shot poll is simply
 * re-armed after every handler.
 *
 * No enter per event: the ring is set up without DEFER_TASKRUN, so a CQE is
 * posted on the way back from the syscall that woke the fd, typically a
 * handler's own write(); the next wait finds it in the CQ and dispatches it
 * without io_uring_enter (Ring.reapReady). Re-armed polls and checks wait
 * for the next enter, which comes when the CQ runs dry; while CQEs keep
 * coming, every LAZY_REAPS waits the slots that wait for a check are polled
 * with one ppoll instead, and at most LAZY_REARMS re-armed polls sit in the
 * SQ. On the ring scheme that is two syscalls per event (read, write), where
 * epoll needs three.
 *
 * Stale readiness: completions reaped in one wait are dispatched one per
 * loopOnce; once any handler ran, a queued entry's readiness is re-checked
 * (zero-timeout poll) and its flags re-read before it runs, and a POLL_ADD
 * whose mask changed is cancelled and replaced (its late CQE is ignored). A
 * CQE posted before the fd's own last handler started (it sat in the CQ
 * while a ppoll or another CQE had the fd served) is re-checked the same
 * way (Ring.postedCqes/currentCqe). What is not caught: a handler on fd A
 * that wakes fd B and then itself reads B dry leaves B's CQE looking fresh,
 * and B's handler is called once for nothing (its read gets EAGAIN), the
 * price of not entering the kernel to ask again.
 *
 * Close: a pending POLL_ADD holds a file reference (seed 003 §9b), so the
 * registry (registry.ts) calls remove(slot, closing=true) on every context
 * watching the fd before close(2), and we cancel synchronously: flush the
 * SQ (a POLL_ADD still there would reach the kernel after the close),
 * IORING_REGISTER_SYNC_CANCEL with CANCEL_FD|CANCEL_ALL, then one
 * non-blocking enter, which runs the task work that completes the cancelled
 * requests (multishot and one-shot alike) and drops their file references
 * (6.18: without CANCEL_ALL, sync cancel keeps finding the same request).
 * The peer then sees the hangup at once.
 *
 * Timers: the next timer's due time is an absolute CLOCK_MONOTONIC
 * IORING_OP_TIMEOUT in the ring, submitted only when that time changes, so
 * every wait is a plain enter(min_complete=1) without a per-call timeout:
 * exact, one wait, never doubled (seed 003 §9a), and no timer set-up per
 * event. Short caps (loopOnce(maxWaitNs)) use the enter's own timeout.
 *
 * Attached driver: pollFd is an eventfd registered with the ring (created on
 * first use; the ring fd itself does not become readable for uv_poll under
 * every setup, 6.18). The context drives ctx.ring itself; do not also
 * ring.attach() it.
 */
import { Ring } from '../../uring/ring.js';
import { CQE, OP, POLL_ADD_MULTI, TIMEOUT_FLAGS } from '../../uring/constants.js';
import { SystemError } from '../../util/errors.js';
import type { Submission } from '../../uring/op.js';
import type { SqeWriter } from '../../uring/sqe.js';
import { drainCounter, eventsNative, monoNsOf, ringWakeFd } from '../native-events.js';
import { P_ERR, P_NVAL, pollEventsFor, type Backend } from '../types.js';
import { handlerEpoch, type FdSlot } from '../fd.js';
import { clear } from '../../util/hot.js';

const ECANCELED = 125;
/** re-armed polls that may wait in the SQ while completions keep coming */
const LAZY_REARMS = 64;
/** waits answered from the CQ alone before one enters (and submits level checks) */
const LAZY_REAPS = 64;

class PollAdd implements Submission {
  stale = false;
  constructor(readonly be: UringBackend, readonly slot: FdSlot, public mask: number) {}

  prep(sqe: SqeWriter): void {
    sqe.prep(OP.POLL_ADD, this.slot.fd, 0, 0, 0);
    sqe.opFlags = this.mask; // poll32_events
  }

  complete(res: number): void {
    this.be.ownInflight--;
    this.be.ownDone++;
    this.be.polled(this, res);
  }
}

/**
 * A multishot POLL_ADD: one CQE per wake-up of the fd, armed once. It is the
 * fast path (edge-like); the one-shot PollAdd stays the level guarantee.
 */
class PollMulti implements Submission {
  stale = false;
  constructor(readonly be: UringBackend, readonly slot: FdSlot, readonly mask: number) {}

  prep(sqe: SqeWriter): void {
    sqe.prep(OP.POLL_ADD, this.slot.fd, 0, POLL_ADD_MULTI, 0);
    sqe.opFlags = this.mask;
  }

  complete(res: number, flags: number): void {
    this.be.ownDone++;
    const last = (flags & CQE.F_MORE) === 0;
    if (last) this.be.ownInflight--;
    this.be.multiPolled(this, res, last);
  }
}

/** An absolute timeout: wakes the ring wait at a timer's due time. */
class DueTimeout implements Submission {
  constructor(readonly be: UringBackend, readonly due: number, readonly addr: number) {}

  prep(sqe: SqeWriter): void {
    sqe.prep(OP.TIMEOUT, -1, this.addr, 1, 0);
    sqe.opFlags = TIMEOUT_FLAGS.ABS;
  }

  complete(): void {
    this.be.ownInflight--;
    this.be.ownDone++;
    this.be.timeoutDone(this);
  }
}

interface SlotState {
  /** the one-shot level check, in the SQ or the kernel */
  armed: PollAdd | null;
  multi: PollMulti | null;
  /** multishot refused for this fd (an error CQE): one-shot polls only */
  noMulti: boolean;
  /**
   * A handler ran and no wake-up came since: the fd may still be ready with
   * nothing left to wake the multishot, so a one-shot check goes in with the
   * next enter (in checks[]).
   */
  needsCheck: boolean;
  /** a completed, never-cancelled POLL_ADD to submit again (no allocation per event) */
  spare: PollAdd | null;
  revents: number;
  /** handlerEpoch() at which revents was observed; -1: before this fd's last handler */
  epoch: number;
  /** ring.postedCqes() when this fd's last handler started: older CQEs may be consumed */
  servedSeq: number;
  queued: boolean;
}

export class UringBackend implements Backend {
  readonly name = 'uring' as const;
  readonly ring: Ring;
  private efd = -1;
  /** @internal our own ops in the ring (polls, their cancels): not "busy" for loopWait */
  ownInflight = 0;
  /** @internal completions of our own ops, to tell them from other layers' */
  ownDone = 0;
  private armedTimeout: DueTimeout | null = null;
  /** 16-byte __kernel_timespec slots the kernel reads at submission */
  private tsMem: { view: DataView; address: number } | null = null;
  /** slots whose POLL_ADD completed, in order: ready[readyHead..readyTail) */
  private ready: (FdSlot | null)[] = [];
  private readyHead = 0;
  private readyTail = 0;
  /** slots with needsCheck set, in order */
  private checks: FdSlot[] = [];
  /** waits answered from the CQ alone since the last enter */
  private lazyReaps = 0;
  /** set by the attached driver (Backend.attached): flush() pushes only what is due, idle polls skip the enter */
  attached = false;
  /** pollChecks()' struct pollfd[] and the slot of each entry */
  private pollfds = new Int32Array(256);
  private polledSlots: (FdSlot | null)[] = [];

  constructor(ring?: Ring) {
    this.ring = ring ?? Ring.open({ entries: 256 });
    if (!this.ring.supports('POLL_ADD') || !this.ring.supports('ASYNC_CANCEL')) {
      this.ring.close();
      throw new Error('io_uring lacks POLL_ADD or ASYNC_CANCEL');
    }
  }

  get pollFd(): number {
    if (this.efd < 0) this.efd = ringWakeFd(this.ring);
    return this.efd;
  }

  drainWake(): void {
    if (this.efd >= 0) drainCounter(this.efd);
  }

  add(slot: FdSlot): void {
    slot.priv = { armed: null, multi: null, noMulti: false, needsCheck: false, spare: null, revents: 0, epoch: 0, servedSeq: 0, queued: false } satisfies SlotState;
    this.arm(slot);
    this.armMulti(slot);
  }

  update(slot: FdSlot): void {
    const st = slot.priv as SlotState;
    const mask = slot.flags ? pollEventsFor(slot.flags) : 0;
    if (!st.multi || st.multi.mask !== mask) {
      this.disarmMulti(st, true);
      this.armMulti(slot);
    }
    if (st.armed && st.armed.mask === mask) return;
    this.disarm(st, false);
    this.arm(slot);
  }

  remove(slot: FdSlot, closing: boolean): void {
    const st = slot.priv as SlotState | null;
    if (!st) return;
    this.disarm(st, !closing);
    this.disarmMulti(st, !closing);
    st.needsCheck = false;
    // The fd is about to be closed: drop every request on it now, so
    // close(2) really releases the file.
    if (closing && !this.ring.isClosed) this.ring.syncCancelFd(slot.fd);
  }

  hasPending(): boolean {
    return this.readyHead < this.readyTail;
  }

  busy(): boolean {
    return this.ring.inflight + this.ring.queued - this.ownInflight > 0;
  }

  flush(reap: boolean): void {
    if (this.ring.isClosed) return;
    if (this.attached) this.ring.flushDue();
    else this.ring.flush();
    if (reap) this.ring.reap();
  }

  wait(timeoutNs: number, dueMs: number): boolean {
    if (this.readyHead < this.readyTail && this.dispatchReady()) return true;
    if (timeoutNs > 0 && dueMs >= 0 && this.armDue(dueMs)) timeoutNs = -1;
    this.ownDone = 0;
    // Completions already posted (a handler's write woke a watched pipe, and
    // the task work ran on its way back) need no enter; the re-armed polls
    // and level checks then wait for the next one, at most LAZY_REAPS waits.
    if (this.lazyReaps >= LAZY_REAPS) {
      // Completions kept coming: fds served since then that no wake-up
      // reported may be ready all the same; one ppoll finds them, where
      // one-shot polls would stay armed and double every later CQE.
      this.lazyReaps = 0;
      if (this.pollChecks() && this.dispatchReady()) return true;
    }
    const early = this.ring.reapReady(LAZY_REARMS);
    if (early > 0) {
      this.lazyReaps++;
      if (this.dispatchReady() || early > this.ownDone) return true;
    }
    this.lazyReaps = 0;
    // Attached to Node: a poll that would find nothing is answered without
    // an enter; what is queued goes with the next due flush.
    if (timeoutNs === 0 && this.attached && this.checks.length === 0 && this.ring.pollIsIdle(LAZY_REARMS)) return false;
    this.submitChecks();
    const total = early + this.ring.wait(1, timeoutNs);
    // Completions of other layers' ops ran in that wait: that is progress too.
    return this.dispatchReady() || total > this.ownDone;
  }

  /** Makes sure a TIMEOUT op wakes us at dueMs (or earlier); false if it cannot. */
  private armDue(dueMs: number): boolean {
    const cur = this.armedTimeout;
    // An earlier pending timeout wakes us first; the loop then re-arms.
    if (cur && cur.due <= dueMs) return true;
    if (!this.tsMem) {
      const m = eventsNative().allocBuffer(4096);
      if (typeof m === 'number') return false;
      this.tsMem = { view: new DataView(m.buffer), address: m.address };
    }
    // The kernel copies the timespec when it takes the SQE, which happens in
    // this very wait: one slot is enough.
    const ns = monoNsOf(dueMs) + 1000;
    const sec = Math.floor(ns / 1e9);
    this.tsMem.view.setBigInt64(0, BigInt(sec), true);
    this.tsMem.view.setBigInt64(8, BigInt(Math.floor(ns - sec * 1e9)), true);
    const t = new DueTimeout(this, dueMs, this.tsMem.address);
    this.armedTimeout = t;
    this.ownInflight++;
    this.ring.submit(t);
    return true;
  }

  /** @internal */
  timeoutDone(t: DueTimeout): void {
    if (this.armedTimeout === t) this.armedTimeout = null;
  }

  close(): void {
    this.checks = [];
    this.ready = [];
    this.readyHead = this.readyTail = 0;
    this.ring.close(); // closes its wake-up eventfd too
    this.efd = -1;
  }

  /** @internal completion of a POLL_ADD */
  polled(sub: PollAdd, res: number): void {
    if (sub.stale) return;
    const slot = sub.slot;
    const st = slot.priv as SlotState;
    if (st.armed === sub) st.armed = null;
    st.spare = sub;
    if (slot.closed || res === -ECANCELED) return;
    this.readyNow(slot, st, res < 0 ? P_ERR | P_NVAL : res, this.ring.currentCqe);
  }

  /** @internal a CQE of a multishot POLL_ADD (last: no F_MORE, it is over) */
  multiPolled(sub: PollMulti, res: number, last: boolean): void {
    if (sub.stale) return;
    const slot = sub.slot;
    const st = slot.priv as SlotState;
    if (last && st.multi === sub) st.multi = null;
    if (slot.closed || res === -ECANCELED) return;
    if (res < 0) {
      // This fd will not do multishot: the one-shot check reports the error.
      st.noMulti = true;
      this.arm(slot);
      return;
    }
    this.readyNow(slot, st, res, this.ring.currentCqe);
    // Ended without an error (CQ overflow): arm it again.
    if (last) this.armMulti(slot);
  }

  /**
   * Queues readiness seen in CQE number `seq` (Infinity: seen just now). A
   * CQE posted before this fd's last handler started may tell of what that
   * handler consumed (it may have sat in the CQ while a ppoll or another CQE
   * had the fd served): it is re-checked before it runs.
   */
  private readyNow(slot: FdSlot, st: SlotState, revents: number, seq: number): void {
    const fresh = seq >= st.servedSeq;
    // A wake-up is on its way to a handler; after that handler, checks again.
    st.needsCheck = false;
    if (st.queued) {
      if (fresh) {
        st.revents = revents;
        st.epoch = handlerEpoch();
      }
      return;
    }
    st.revents = revents;
    st.epoch = fresh ? handlerEpoch() : -1;
    st.queued = true;
    this.ready[this.readyTail++] = slot;
  }

  /** Checks the slots waiting for one with a zero-timeout ppoll; true if any was ready. */
  private pollChecks(): boolean {
    const checks = this.checks;
    if (checks.length * 2 > this.pollfds.length) this.pollfds = new Int32Array(checks.length * 4);
    const pf = this.pollfds;
    const polled = this.polledSlots;
    let n = 0;
    for (let i = 0; i < checks.length; i++) {
      const slot = checks[i]!;
      const st = slot.priv as SlotState;
      if (!st.needsCheck) continue;
      if (slot.closed || slot.flags === 0) {
        st.needsCheck = false;
        continue;
      }
      pf[2 * n] = slot.fd;
      pf[2 * n + 1] = pollEventsFor(slot.flags);
      polled[n++] = slot;
    }
    if (n === 0) {
      clear(checks);
      return false;
    }
    // EINTR and the like: keep the list; the checks go in with the next enter.
    if (eventsNative().ppoll(pf, n, 0) < 0) return false;
    clear(checks);
    let any = false;
    for (let i = 0; i < n; i++) {
      const slot = polled[i]!;
      polled[i] = null;
      const st = slot.priv as SlotState;
      if (!st.needsCheck) continue; // listed twice
      st.needsCheck = false;
      const revents = pf[2 * i + 1]! >>> 16;
      if (revents !== 0) {
        this.readyNow(slot, st, revents, Infinity);
        any = true;
      }
    }
    return any;
  }

  /** One-shot checks for the slots that a handler served and nothing woke since. */
  private submitChecks(): void {
    const checks = this.checks;
    for (let i = 0; i < checks.length; i++) {
      const slot = checks[i]!;
      const st = slot.priv as SlotState;
      if (!st.needsCheck) continue;
      st.needsCheck = false;
      this.arm(slot);
    }
    clear(checks);
  }

  private dispatchReady(): boolean {
    while (this.readyHead < this.readyTail) {
      const slot = this.ready[this.readyHead]!;
      // Reused from the front once drained (no array length change on the hot path).
      this.ready[this.readyHead++] = null;
      if (this.readyHead === this.readyTail) this.readyHead = this.readyTail = 0;
      const st = slot.priv as SlotState;
      st.queued = false;
      if (slot.closed || slot.flags === 0) continue;
      // A handler ran since this readiness was seen: ask again.
      const revents = st.epoch === handlerEpoch() ? st.revents : slot.pollNow();
      if (revents !== 0) st.servedSeq = this.ring.postedCqes();
      const ran = revents !== 0 && slot.dispatch(revents);
      if (!slot.closed) this.afterDispatch(slot, st);
      if (ran) return true;
    }
    return false;
  }

  /**
   * After a handler: with a multishot armed, the next wake-up reports the fd
   * by itself, and only a fd that stays ready without a new wake-up needs a
   * one-shot check, submitted when the CQ runs dry (or after LAZY_REAPS waits);
   * without one, the one-shot poll is re-armed (lazily) as before.
   */
  private afterDispatch(slot: FdSlot, st: SlotState): void {
    if (st.multi === null) {
      this.arm(slot);
    } else if (!st.needsCheck && st.armed === null && slot.flags !== 0) {
      st.needsCheck = true;
      this.checks.push(slot);
    }
  }

  private armMulti(slot: FdSlot): void {
    const st = slot.priv as SlotState;
    if (st.multi || st.noMulti || slot.closed || slot.flags === 0 || this.ring.isClosed) return;
    const sub = new PollMulti(this, slot, pollEventsFor(slot.flags));
    st.multi = sub;
    this.ownInflight++;
    this.ring.submitLazy(sub);
  }

  private arm(slot: FdSlot): void {
    const st = slot.priv as SlotState;
    if (st.armed || slot.closed || slot.flags === 0 || this.ring.isClosed) return;
    let sub = st.spare;
    if (sub) {
      st.spare = null;
      sub.mask = pollEventsFor(slot.flags);
    } else {
      sub = new PollAdd(this, slot, pollEventsFor(slot.flags));
    }
    st.armed = sub;
    this.ownInflight++;
    this.ring.submitLazy(sub);
  }

  private disarm(st: SlotState, cancel: boolean): void {
    const sub = st.armed;
    if (!sub) return;
    st.armed = null;
    this.retire(sub, cancel);
  }

  private disarmMulti(st: SlotState, cancel: boolean): void {
    const sub = st.multi;
    if (!sub) return;
    st.multi = null;
    this.retire(sub, cancel);
  }

  /** Its CQEs are ignored from now on; with cancel, the kernel drops it too. */
  private retire(sub: PollAdd | PollMulti, cancel: boolean): void {
    sub.stale = true;
    if (cancel && !this.ring.isClosed) {
      this.ownInflight++;
      // Our own op too: its completion is no progress for loopOnce().
      this.ring.cancel(sub, () => {
        this.ownInflight--;
        this.ownDone++;
      });
    }
  }
}
