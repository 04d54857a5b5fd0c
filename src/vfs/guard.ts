/**
 * Keeps an fd number from being closed under operations still in flight.
 *
 * After close(2) the kernel reuses the number at once; a read queued on the
 * threadpool (or the ring) with a stale number would then touch another
 * client's file. So close() first refuses new operations (EBADF), waits for
 * the running ones, and only then releases the fd.
 */
import { SystemError, errnoOf } from '../util/errors.js';

const EBADF = errnoOf('EBADF');

export class FdGuard {
  private inflight = 0;
  private closing: Promise<void> | null = null;
  private idle: (() => void) | null = null;

  constructor(private readonly what: string) {}

  /** Runs fn while the fd is guaranteed open; EBADF once close() was called. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closing) throw new SystemError(this.what, EBADF, 'handle closed');
    this.inflight++;
    try {
      return await fn();
    } finally {
      if (--this.inflight === 0 && this.idle) this.idle();
    }
  }

  /**
   * Counts as an operation in flight until the returned function is called
   * (once; later calls do nothing): for a use of the fd that outlives one
   * call, such as a READ answer the transport splices from it when its turn
   * comes. EBADF once close() was called.
   */
  hold(): () => void {
    if (this.closing) throw new SystemError(this.what, EBADF, 'handle closed');
    this.inflight++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      if (--this.inflight === 0 && this.idle) this.idle();
    };
  }

  /** Waits for in-flight operations, then runs release once; idempotent. */
  close(release: () => Promise<void> | void): Promise<void> {
    if (!this.closing) {
      const drained = this.inflight === 0 ? Promise.resolve()
        : new Promise<void>((resolve) => { this.idle = resolve; });
      this.closing = drained.then(release);
    }
    return this.closing;
  }
}
