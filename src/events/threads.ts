/**
 * Cross-thread immediates (tevent_thread_proxy / tevent_threaded_context,
 * item 36) for Node worker threads.
 *
 * JS functions cannot cross threads, so a worker posts data and the proxy's
 * handler, owned by the context's thread, runs once per message. Each
 * worker gets its own MessageChannel (endpoint()); the wake-up is a pipe
 * the context watches like any fd, so a loop blocked in its backend (the
 * standalone driver) wakes as well as an attached one. On wake-up the
 * proxy empties the pipe first, then takes every queued message with
 * receiveMessageOnPort() and schedules one immediate per message: they run
 * one per loopOnce(), FIFO, as tevent moves threaded immediates onto its
 * immediate list. The proxy's fd counts as an event (loopWait() keeps
 * waiting for posts) until free(), which also closes the pipe; posts after
 * that are dropped (thread-sender.ts guards the fd number against reuse).
 */
import { MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { SystemError } from '../util/errors.js';
import { eventsNative } from './native-events.js';
import { FD_READ } from './types.js';
import type { EventContext } from './context.js';
import type { FdEvent } from './fd.js';
import { ALIVE, WRITERS, type ThreadEndpoint } from './thread-sender.js';

export { ThreadSender, type ThreadEndpoint } from './thread-sender.js';

const O_NONBLOCK_CLOEXEC = 0o4000 | 0o2000000;

export type ThreadMessageHandler = (msg: unknown) => void;

export class ThreadProxy {
  private readonly rfd: number;
  private readonly wfd: number;
  private fde: FdEvent | null;
  private readonly ports: MessagePort[] = [];
  private readonly drainBuf = Buffer.alloc(256);
  private readonly state = new Int32Array(new SharedArrayBuffer(8));

  constructor(readonly ctx: EventContext, private readonly handler: ThreadMessageHandler) {
    const n = eventsNative();
    const p = n.pipe2(O_NONBLOCK_CLOEXEC);
    if (typeof p === 'number') throw new SystemError('pipe2', -p);
    [this.rfd, this.wfd] = p;
    Atomics.store(this.state, ALIVE, 1);
    try {
      this.fde = ctx.addFd(this.rfd, FD_READ, () => this.wake());
      // Closing through the context silences every watcher first (a pending io_uring poll holds the file).
      this.fde.setAutoClose();
    } catch (err) {
      n.close(this.rfd);
      n.close(this.wfd);
      throw err;
    }
  }

  get freed(): boolean {
    return this.fde === null;
  }

  /** A channel for one worker: pass the result with transferList [endpoint.port]. */
  endpoint(): ThreadEndpoint {
    if (!this.fde) throw new SystemError('thread proxy', 9, 'proxy is freed');
    const ch = new MessageChannel();
    ch.port1.unref();
    this.ports.push(ch.port1);
    return { port: ch.port2, fd: this.wfd, state: this.state };
  }

  /** Stops watching; messages not yet taken are dropped, later posts go nowhere. */
  free(): void {
    const fde = this.fde;
    if (!fde) return;
    this.fde = null;
    // No sender may be between its ALIVE check and its write when either end
    // closes: with the read end gone first, such a write failed with EPIPE
    // (and threw in the worker); with the write end, the fd number could be
    // another file's by then.
    const st = this.state;
    Atomics.store(st, ALIVE, 0);
    for (let w = Atomics.load(st, WRITERS); w !== 0; w = Atomics.load(st, WRITERS)) Atomics.wait(st, WRITERS, w, 10);
    fde.free();
    eventsNative().close(this.wfd);
    for (const p of this.ports.splice(0)) p.close();
  }

  private wake(): void {
    const n = eventsNative();
    while (n.readSync(this.rfd, this.drainBuf, 0, this.drainBuf.length) > 0) {
      /* empty the pipe before looking at the ports: a post after this point wakes us again */
    }
    const ctx = this.ctx;
    const handler = this.handler;
    for (const port of this.ports) {
      for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
        const msg = m.message as unknown;
        ctx.addImmediate(() => handler(msg));
      }
    }
  }
}
