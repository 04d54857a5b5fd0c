/**
 * The hybrid backend: epoll for fd readiness (close(2) releases the file,
 * level triggering by the kernel), with the ring's fd in the epoll set so
 * generic io_uring completions (other layers' ops on ctx.ring) are reaped
 * on the same loop. This is the design the seed's maintainer settled on
 * (seed 003 §9b: "register the io_uring fd with epoll"). With
 * DEFER_TASKRUN the ring fd itself does not wake epoll (6.18), so an
 * eventfd registered with the ring stands in for it.
 */
import { Ring } from '../../uring/ring.js';
import { EPOLL_CTL_ADD, drainCounter, eventsNative, ringWakeFd } from '../native-events.js';
import { SystemError } from '../../util/errors.js';
import { EpollBackend, type EpollOptions } from './epoll.js';

const RING_TAG = 0xfffffffe;

export class HybridBackend extends EpollBackend {
  override readonly name = 'hybrid' as const;
  override readonly ring: Ring;
  private readonly efd: number;
  private ringTurn = true;

  constructor(opts: EpollOptions & { ringEntries?: number } = {}, ring?: Ring) {
    super(opts);
    try {
      // Woken through epoll by the ring's eventfd, whatever the driver.
      this.ring = ring ?? Ring.open({ entries: opts.ringEntries ?? 256, wakeups: 'eventfd' });
    } catch (err) {
      super.close();
      throw err;
    }
    const n = eventsNative();
    let efd = -1;
    try {
      efd = ringWakeFd(this.ring);
      const r = n.epollCtl(this.pollFd, EPOLL_CTL_ADD, efd, 1, RING_TAG);
      if (r < 0) throw new SystemError('epoll_ctl', -r, 'ring eventfd');
    } catch (err) {
      this.ring.close(); // closes its wake-up eventfd too
      super.close();
      throw err;
    }
    this.efd = efd;
    this.extraTag = RING_TAG;
  }

  override wait(timeoutNs: number, dueMs: number): boolean {
    // Other layers' ops in the ring: submit what is queued and dispatch what
    // completed (one non-blocking enter); that is this iteration's work.
    // Turns alternate with epoll, so a busy ring never starves fd events.
    if (this.ringTurn && this.ring.inflight + this.ring.queued > 0 && this.ring.wait(0, 0) > 0) {
      this.ringTurn = false;
      return true;
    }
    this.ringTurn = true;
    return super.wait(timeoutNs, dueMs);
  }

  protected override onExtra(): boolean {
    // Runs deferred task work (DEFER_TASKRUN) and dispatches the completions.
    drainCounter(this.efd);
    // Completions of other layers' ops count as progress (the loop ran something).
    return this.ring.wait(0, 0) > 0;
  }

  busy(): boolean {
    return this.ring.inflight > 0 || this.ring.queued > 0;
  }

  flush(reap: boolean): void {
    if (this.ring.isClosed) return;
    this.ring.flush();
    if (reap) this.ring.reap();
  }

  override close(): void {
    super.close();
    this.ring.close(); // closes its wake-up eventfd too
  }
}
