/**
 * The io_uring backend: fd readiness without epoll, on the same ring that
 * other layers use for their own ops (ctx.ring).
 *
 * Level triggering: every slot with flags has one one-shot POLL_ADD in
 * flight; its completion queues the slot as ready; after the handler runs
 * the POLL_ADD is re-armed, and it completes at once if the fd is still
 * ready, so readiness is never lost and keeps firing (seed 003 §8b). The
 * re-arm costs no syscall of its own: it rides on the next enter.
 *
 * Stale readiness: completions reaped in one wait are dispatched one per
 * loopOnce; once any handler ran, a queued entry's readiness is re-checked
 * (zero-timeout poll) and its flags re-read before it runs, and a POLL_ADD
 * whose mask changed is cancelled and replaced (its late CQE is ignored).
 *
 * Close: a pending POLL_ADD holds a file reference (seed 003 §9b), so the
 * registry (registry.ts) calls remove(slot, closing=true) on every context
 * watching the fd before close(2), and we cancel synchronously: flush the
 * SQ (a POLL_ADD still there would reach the kernel after the close),
 * IORING_REGISTER_SYNC_CANCEL with CANCEL_FD|CANCEL_ALL, then one
 * non-blocking enter, which with DEFER_TASKRUN is what completes the
 * cancelled requests and drops their file references (6.18: without it, and
 * without CANCEL_ALL, sync cancel keeps finding the same request). The peer
 * then sees the hangup at once.
 *
 * Timers: the next timer's due time is an absolute CLOCK_MONOTONIC
 * IORING_OP_TIMEOUT in the ring, submitted only when that time changes, so
 * every wait is a plain enter(min_complete=1) without a per-call timeout:
 * exact, one wait, never doubled (seed 003 §9a), and no timer set-up per
 * event. Short caps (loopOnce(maxWaitNs)) use the enter's own timeout.
 *
 * Attached driver: with DEFER_TASKRUN the ring fd does not become readable
 * for epoll/uv_poll when completions are pending (6.18), so pollFd is an
 * eventfd registered with the ring (created on first use). The context
 * drives ctx.ring itself; do not also ring.attach() it.
 */
import { Ring } from '../../uring/ring.js';
import { CANCEL, OP, REGISTER, TIMEOUT_FLAGS } from '../../uring/constants.js';
import { SystemError } from '../../util/errors.js';
import type { Submission } from '../../uring/op.js';
import type { SqeWriter } from '../../uring/sqe.js';
import { drainCounter, eventsNative, monoNsOf, ringWakeFd } from '../native-events.js';
import { P_ERR, P_NVAL, pollEventsFor, type Backend } from '../types.js';
import { handlerEpoch, type FdSlot } from '../fd.js';

const ECANCELED = 125;
/** re-armed polls that may wait in the SQ while completions keep coming */
const LAZY_REARMS = 64;

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
  armed: PollAdd | null;
  /** a completed, never-cancelled POLL_ADD to submit again (no allocation per event) */
  spare: PollAdd | null;
  revents: number;
  /** handlerEpoch() at which revents was observed */
  epoch: number;
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
    slot.priv = { armed: null, spare: null, revents: 0, epoch: 0, queued: false } satisfies SlotState;
    this.arm(slot);
  }

  update(slot: FdSlot): void {
    const st = slot.priv as SlotState;
    const mask = slot.flags ? pollEventsFor(slot.flags) : 0;
    if (st.armed && st.armed.mask === mask) return;
    this.disarm(st, false);
    this.arm(slot);
  }

  remove(slot: FdSlot, closing: boolean): void {
    const st = slot.priv as SlotState | null;
    if (!st) return;
    this.disarm(st, !closing);
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
    this.ring.flush();
    if (reap) this.ring.reap();
  }

  wait(timeoutNs: number, dueMs: number): boolean {
    if (this.readyHead < this.readyTail && this.dispatchReady()) return true;
    if (timeoutNs > 0 && dueMs >= 0 && this.armDue(dueMs)) timeoutNs = -1;
    this.ownDone = 0;
    // Completions already posted (a handler's write woke a watched pipe, and
    // the task work ran on its way back) need no enter; the re-armed polls
    // then wait in the SQ for the next one.
    const early = this.ring.reapReady(LAZY_REARMS);
    if (early > 0 && (this.dispatchReady() || early > this.ownDone)) return true;
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
    st.revents = res < 0 ? P_ERR | P_NVAL : res;
    st.epoch = handlerEpoch();
    if (!st.queued) {
      st.queued = true;
      this.ready[this.readyTail++] = slot;
    }
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
      const ran = revents !== 0 && slot.dispatch(revents);
      if (!slot.closed) this.arm(slot);
      if (ran) return true;
    }
    return false;
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
