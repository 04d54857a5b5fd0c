/**
 * ringsmb's event loop: tevent semantics on poll, epoll, io_uring or both.
 *
 *   const ctx = createEventContext({ backend: 'auto', driver: 'node' });
 *   const fde = ctx.addFd(fd, FD_READ, (fde, flags) => { ... });
 *
 * 'auto' takes uring where the kernel allows it, else epoll, else poll, and
 * falls back at run time when a backend fails (tevent's "standard").
 * RINGSMB_EVENTS_FAIL=uring,epoll (comma list; also 'epoll-wait') makes
 * those backends fail, so CI runs the fallback paths.
 */
import { EventContext } from './context.js';
import { PollBackend } from './backends/poll.js';
import { EpollBackend } from './backends/epoll.js';
import { UringBackend } from './backends/uring.js';
import { HybridBackend } from './backends/hybrid.js';
import { StandaloneDriver } from './drivers/standalone.js';
import { NodeDriver } from './drivers/node.js';
import { SystemError } from '../util/errors.js';
import { Ring } from '../uring/ring.js';
import type { Backend, BackendChoice, BackendName, DriverName } from './types.js';

export { EventContext } from './context.js';
export { FdEvent, type FdHandler } from './fd.js';
export { TimerEvent, ImmediateEvent, type TimerHandler, type ImmediateHandler } from './timer.js';
export { SignalEvent, SA_SIGINFO, SA_RESETHAND, SA_RESTART, type SignalHandler, type SignalInfo } from './signal.js';
export { watchersOf } from './registry.js';
export { WrapperContext, createWrapper, type WrapperOps } from './wrapper.js';
export { EventQueue, QueueEntry, type QueueTrigger } from './queue.js';
export { ThreadProxy, ThreadSender, type ThreadEndpoint, type ThreadMessageHandler } from './threads.js';
export * from './types.js';

export interface EventContextOptions {
  /** default 'auto' */
  backend?: BackendChoice;
  /** default 'node' (attached to Node's loop) */
  driver?: DriverName;
  /** epoll/hybrid: events taken per wait (default 64) */
  maxEvents?: number;
  /** capture creation sites (default true) */
  captureSites?: boolean;
  /** uring/hybrid: SQ entries of the context's ring (default 256; CQ twice that). Small rings are for tests: every layer on ctx.ring must cope with a full SQ. */
  ringEntries?: number;
}

/** How each backend is made (tevent's backend list). */
const factories = new Map<BackendName, (opts: EventContextOptions) => Backend>([
  ['poll', () => new PollBackend()],
  ['epoll', (o) => new EpollBackend({ maxEvents: o.maxEvents ?? 64, failWait: injected().has('epoll-wait') })],
  // Without DEFER_TASKRUN (eventfd wake-ups, features.ts), the kernel posts a readiness CQE
  // on the way back from whatever syscall made the fd ready, often the handler's own write,
  // so the backend can reap it without an io_uring_enter (Ring.reapReady); the attached
  // driver sleeps outside the ring and needs the eventfd anyway. A/B on pipe-events, ring
  // N=64: 146k -> 218k events/s against DEFER_TASKRUN with one enter per wait.
  ['uring', (o) => new UringBackend(Ring.open({ entries: o.ringEntries ?? 256, wakeups: 'eventfd' }))],
  ['hybrid', (o) => new HybridBackend({ maxEvents: o.maxEvents ?? 64, ringEntries: o.ringEntries })],
]);

function injected(): Set<string> {
  return new Set((process.env.RINGSMB_EVENTS_FAIL ?? '').split(',').map((s) => s.trim()).filter(Boolean));
}

const AUTO_ORDER: BackendName[] = ['uring', 'epoll', 'poll'];

/** Why each backend was or was not taken, for the one start-up log line. */
export const backendNotes: string[] = [];

function make(name: BackendName, opts: EventContextOptions): Backend {
  if (injected().has(name)) throw new SystemError(`${name} backend setup`, 38 /* ENOSYS */, `fault injection (RINGSMB_EVENTS_FAIL)`);
  const f = factories.get(name);
  if (!f) throw new SystemError(`${name} backend setup`, 38, 'backend not available in this build');
  return f(opts);
}

function makeFrom(order: BackendName[], opts: EventContextOptions): Backend {
  let last: unknown = null;
  for (const name of order) {
    try {
      return make(name, opts);
    } catch (err) {
      backendNotes.push(`${name}: ${(err as Error).message}`);
      last = err;
    }
  }
  throw last ?? new Error('no event backend available');
}

export function createEventContext(opts: EventContextOptions = {}): EventContext {
  const choice = opts.backend ?? 'auto';
  const backend = choice === 'auto' ? makeFrom(AUTO_ORDER, opts) : make(choice, opts);
  const ctx = new EventContext(backend);
  if (opts.captureSites === false) ctx.captureSites = false;
  if (backend.ring) {
    const ring = backend.ring;
    ring.onError = (err) => ctx.report(err, { kind: 'fd', site: 'io_uring completion callback' });
  }
  if (choice === 'auto') {
    ctx.fallback = (failed, err) => {
      const i = AUTO_ORDER.indexOf(failed.name as BackendName);
      if (i < 0 || i + 1 >= AUTO_ORDER.length) return null;
      backendNotes.push(`${failed.name} failed at run time: ${(err as Error).message}`);
      return makeFrom(AUTO_ORDER.slice(i + 1), opts);
    };
  }
  ctx.driver = (opts.driver ?? 'node') === 'node' ? new NodeDriver(ctx) : new StandaloneDriver(ctx);
  // Other layers' ops queued outside the loop still reach the kernel.
  if (backend.ring) backend.ring.ownerKick = () => ctx.driver?.kick();
  return ctx;
}

/** Which backends can be created here (for tests and the CLI). */
export function availableBackends(): BackendName[] {
  const out: BackendName[] = [];
  for (const name of factories.keys()) {
    try {
      make(name, {}).close();
      out.push(name);
    } catch {
      /* not here */
    }
  }
  return out;
}
