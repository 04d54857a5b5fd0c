/**
 * The standalone driver: loopWait() blocks in the backend's own wait.
 * Between iterations it lets promise jobs run (every BATCH handlers, and
 * always before blocking), so async/await code inside handlers works; while
 * it blocks, Node's own loop does not run.
 */
import type { Driver, EventContext } from '../context.js';

const BATCH = 64;

export class StandaloneDriver implements Driver {
  private running = false;
  private stopped = false;

  constructor(private readonly ctx: EventContext) {}

  kick(): void {
    /* nothing to arm: loopWait() looks at the lists itself */
  }

  /** Makes a running loopWait() return after the current iteration. */
  stop(): void {
    this.stopped = true;
  }

  async loopWait(): Promise<number> {
    if (this.running) throw new Error('loopWait() is already running on this context');
    this.running = true;
    this.stopped = false;
    const ctx = this.ctx;
    try {
      let n = 0;
      while (!this.stopped) {
        if (!ctx.haveEvents()) {
          // Promise jobs may still add events (an awaiting handler): let them run first.
          await new Promise<void>((resolve) => setImmediate(resolve));
          if (this.stopped || !ctx.haveEvents()) break;
        }
        if (ctx.loopOnce(0)) {
          if (++n >= BATCH) {
            n = 0;
            await null;
          }
          continue;
        }
        // Nothing is ready: let promise jobs and Node callbacks run, then block.
        n = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (this.stopped || !ctx.haveEvents()) break;
        ctx.loopOnce();
      }
    } finally {
      this.running = false;
    }
    return 0;
  }

  close(): void {
    this.stopped = true;
  }
}
