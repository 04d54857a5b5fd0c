/**
 * The worker-thread side of a ThreadProxy (threads.ts). Kept free of the
 * native addon so a worker that only posts loads next to nothing.
 */
import { writeSync } from 'node:fs';
import type { MessagePort, TransferListItem } from 'node:worker_threads';

/** What a worker needs to post into a context of another thread; send it with transferList [endpoint.port]. */
export interface ThreadEndpoint {
  port: MessagePort;
  /** write end of the proxy's wake-up pipe (fds are process-wide) */
  fd: number;
  /**
   * Shared with the proxy: [ALIVE] is 1 until the proxy is freed, [WRITERS]
   * counts senders between their check of ALIVE and their write. The proxy
   * closes fd only once WRITERS is 0, so a late post can never write into
   * an unrelated file that reused the fd number.
   */
  state: Int32Array;
}

export const ALIVE = 0;
export const WRITERS = 1;

const ONE = Buffer.of(1);

export class ThreadSender {
  constructor(private readonly ep: ThreadEndpoint) {}

  /**
   * Queues msg for the proxy's handler, which runs as an immediate in the
   * proxy's thread (tevent_threaded_schedule_immediate). The message is in
   * the port before the wake-up byte is written, so the reader never wakes
   * to find it missing.
   */
  post(msg: unknown, transfer?: readonly TransferListItem[]): void {
    const st = this.ep.state;
    this.ep.port.postMessage(msg, transfer);
    Atomics.add(st, WRITERS, 1);
    try {
      if (Atomics.load(st, ALIVE) === 1) writeSync(this.ep.fd, ONE);
    } catch (err) {
      // A full pipe already wakes the reader.
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    } finally {
      Atomics.sub(st, WRITERS, 1);
      Atomics.notify(st, WRITERS);
    }
  }

  close(): void {
    this.ep.port.close();
  }
}
