/**
 * The epoll backend, batched but stale-safe (seed 003 §5a).
 *
 * One epoll_wait fills up to `maxEvents` (events, tag) pairs in a
 * preallocated Int32Array with one native call. Only one entry is
 * dispatched per loopOnce; the rest stay queued. Before a queued entry
 * runs it is re-validated: its tag must still name a live slot (a freed or
 * re-registered fd gets a new tag, so stale user data never reaches a
 * handler) and, once any handler has run since the wait (FdSlot epoch),
 * its readiness is re-checked for the slot's current flags with a
 * zero-timeout poll of that one fd, because that handler may have consumed
 * it. Several fdes per fd share one epoll registration (user-space
 * multiplexing, item 10).
 *
 * Timer deadlines go into a CLOCK_MONOTONIC timerfd in the epoll set,
 * armed only when the next due time changes, so every wait is
 * epoll_wait(-1): cheaper than a timed wait (no per-call timeout set-up)
 * and exact to the nanosecond (seed 003 §9a).
 */
import { SystemError } from '../../util/errors.js';
import { EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD, drainCounter, eventsNative, monoNsOf, type EventsBinding } from '../native-events.js';
import { pollEventsFor, type Backend } from '../types.js';
import { handlerEpoch, type FdSlot } from '../fd.js';

const EINTR = 4;
const EEXIST = 17;
const ENOENT = 2;
const EBADF = 9;
const TIMER_TAG = 0xffffffff;
/** arm the timerfd this much after the due time: performance.now() calibration slack */
const ARM_SLACK_NS = 2000;

export interface EpollOptions {
  /** events taken per epoll_wait; 1 is tevent's model. Default 64. */
  maxEvents?: number;
  /** fault injection: make the first wait fail (tests the run-time fallback) */
  failWait?: boolean;
}

export class EpollBackend implements Backend {
  readonly name: 'epoll' | 'hybrid' = 'epoll';
  readonly pollFd: number;
  readonly ring: import('../../uring/ring.js').Ring | null = null;
  private readonly n: EventsBinding = eventsNative();
  private readonly byTag = new Map<number, FdSlot>();
  private nextTag = 1;
  private readonly out: Int32Array;
  private readonly maxEvents: number;
  private readonly stride: number;
  private batchPos = 0;
  private batchLen = 0;
  /** handlerEpoch() when the batch was taken */
  private batchEpoch = 0;
  private failWait: boolean;
  private timerFd = -1;
  private armedDue = -1;
  /** hybrid: readiness of this tag is handed to the ring instead */
  protected extraTag = 0;

  constructor(opts: EpollOptions = {}) {
    this.maxEvents = Math.max(1, Math.min(256, opts.maxEvents ?? 64));
    // The kernel writes struct epoll_event records here: events, then the u32 tag.
    this.stride = this.n.epollEventSize() >>> 2;
    this.out = new Int32Array(this.maxEvents * this.stride);
    this.failWait = opts.failWait ?? false;
    const fd = this.n.epollCreate();
    if (fd < 0) throw new SystemError('epoll_create1', -fd);
    this.pollFd = fd;
    const cap = this.n.epollBindOut(fd, this.out);
    if (cap < 0) {
      this.n.close(fd);
      throw new SystemError('epoll_create1', -cap, 'cannot bind the event buffer');
    }
    const tfd = this.n.timerfdCreate();
    if (tfd >= 0 && this.n.epollCtl(fd, EPOLL_CTL_ADD, tfd, 1, TIMER_TAG) === 0) this.timerFd = tfd;
    else if (tfd >= 0) this.n.close(tfd);
  }

  add(slot: FdSlot): void {
    slot.id = this.nextTag;
    this.nextTag = (this.nextTag + 1) >>> 0 || 1;
    this.byTag.set(slot.id, slot);
    if (slot.flags) this.ctl(slot, EPOLL_CTL_ADD);
    else slot.priv = false;
  }

  update(slot: FdSlot): void {
    if (slot.flags === 0) {
      if (slot.priv) this.del(slot);
    } else {
      this.ctl(slot, slot.priv ? EPOLL_CTL_MOD : EPOLL_CTL_ADD);
    }
  }

  remove(slot: FdSlot, _closing: boolean): void {
    this.byTag.delete(slot.id);
    if (slot.priv) this.del(slot);
  }

  hasPending(): boolean {
    return this.batchPos < this.batchLen;
  }

  wait(timeoutNs: number, dueMs: number): boolean {
    if (this.batchPos < this.batchLen && this.dispatchBatch()) return true;
    if (timeoutNs > 0 && dueMs >= 0 && this.timerFd >= 0) {
      if (dueMs !== this.armedDue) {
        const r = this.n.timerfdArm(this.timerFd, monoNsOf(dueMs) + ARM_SLACK_NS);
        if (r < 0) throw new SystemError('timerfd_settime', -r);
        this.armedDue = dueMs;
      }
      timeoutNs = -1;
    }
    if (this.failWait) {
      this.failWait = false;
      throw new SystemError('epoll_wait', 5 /* EIO */, 'fault injection (RINGSMB_EVENTS_FAIL=epoll-wait)');
    }
    const r = this.n.epollWait(this.pollFd, this.maxEvents, timeoutNs);
    if (r <= 0) {
      if (r === 0 || r === -EINTR) return false;
      throw new SystemError('epoll_wait', -r);
    }
    this.batchLen = r;
    this.batchPos = 0;
    this.batchEpoch = handlerEpoch();
    return this.dispatchBatch();
  }

  /**
   * Dispatches batch entries until a handler runs. An entry is taken as the
   * kernel reported it while no handler has run since the epoll_wait;
   * after that its readiness is re-checked for the slot's current flags.
   */
  private dispatchBatch(): boolean {
    const out = this.out;
    // Constant in the loop: it returns as soon as a handler has run.
    const fresh = handlerEpoch() === this.batchEpoch;
    while (this.batchPos < this.batchLen) {
      const i = this.batchPos++ * this.stride;
      const tag = out[i + 1]! >>> 0;
      if (tag === TIMER_TAG) {
        this.timerFired();
        continue;
      }
      if (tag === this.extraTag && tag !== 0) {
        if (this.onExtra()) return true;
        continue;
      }
      const slot = this.byTag.get(tag);
      if (!slot) continue;
      const revents = fresh ? out[i]! : slot.pollNow();
      if (revents !== 0 && slot.dispatch(revents)) return true;
    }
    return false;
  }

  private timerFired(): void {
    drainCounter(this.timerFd);
    this.armedDue = -1;
  }

  /** hybrid hook: the ring fd became readable */
  protected onExtra(): boolean {
    return false;
  }

  close(): void {
    this.byTag.clear();
    this.batchLen = this.batchPos = 0;
    this.n.epollBindOut(this.pollFd, null);
    if (this.timerFd >= 0) this.n.close(this.timerFd);
    this.timerFd = -1;
    this.n.close(this.pollFd);
  }

  private ctl(slot: FdSlot, op: number): void {
    const ev = pollEventsFor(slot.flags);
    let r = this.n.epollCtl(this.pollFd, op, slot.fd, ev, slot.id);
    if (r === -EEXIST) r = this.n.epollCtl(this.pollFd, EPOLL_CTL_MOD, slot.fd, ev, slot.id);
    else if (r === -ENOENT && op === EPOLL_CTL_MOD) r = this.n.epollCtl(this.pollFd, EPOLL_CTL_ADD, slot.fd, ev, slot.id);
    if (r < 0) throw new SystemError('epoll_ctl', -r, `fd ${slot.fd}`);
    slot.priv = true;
  }

  private del(slot: FdSlot): void {
    const r = this.n.epollCtl(this.pollFd, EPOLL_CTL_DEL, slot.fd, 0, 0);
    // An fd closed behind our back has already left the set.
    if (r < 0 && r !== -ENOENT && r !== -EBADF) throw new SystemError('epoll_ctl', -r, `fd ${slot.fd}`);
    slot.priv = false;
  }
}
