/**
 * The completion-based ring (cf. event-bench raw-uring-rw): on ctx.ring a
 * 1-byte READ op per pipe is always outstanding; its completion submits a
 * 1-byte WRITE op to the next pipe and re-arms the READ, so io_uring_enter
 * is the only syscall. Needs a backend with a ring (uring, hybrid).
 */
import { createEventContext, type BackendChoice, type DriverName } from '../../src/events/index.js';
import { OP } from '../../src/uring/constants.js';
import type { Submission } from '../../src/uring/op.js';
import type { SqeWriter } from '../../src/uring/sqe.js';
import { eventsNative } from '../../src/events/native-events.js';
import type { Pipe, Result } from './run.js';

interface RwState {
  events: number;
  held: number;
  writesInFlight: number;
  stopping: boolean;
}

class ReadSub implements Submission {
  next: WriteSub | null = null;
  constructor(readonly st: RwState, readonly ring: { submit(s: Submission): void }, readonly fd: number, readonly addr: number) {}
  prep(sqe: SqeWriter): void {
    sqe.prep(OP.READ, this.fd, this.addr, 1, 0);
  }
  complete(res: number): void {
    const st = this.st;
    if (res !== 1) return;
    if (st.stopping) {
      st.held++;
      return;
    }
    st.events++;
    st.writesInFlight++;
    this.ring.submit(new WriteSub(st, this.next!.fd, this.next!.addr));
    this.ring.submit(this);
  }
}

class WriteSub implements Submission {
  constructor(readonly st: RwState, readonly fd: number, readonly addr: number) {}
  prep(sqe: SqeWriter): void {
    sqe.prep(OP.WRITE, this.fd, this.addr, 1, 0);
  }
  complete(res: number): void {
    this.st.writesInFlight--;
    if (res !== 1) this.st.held++;
  }
}

export async function runRw(
  o: { backend: BackendChoice; driver: DriverName; seconds: number },
  pipes: Pipe[],
): Promise<Result> {
  const ctx = createEventContext({ backend: o.backend, driver: o.driver, captureSites: false });
  const ring = ctx.ring;
  if (!ring) {
    ctx.close();
    throw new Error(`scheme rw needs a ring (backend uring or hybrid), got ${o.backend}`);
  }
  const mem = eventsNative().allocBuffer(4096);
  if (typeof mem === 'number') throw new Error(`allocBuffer ${mem}`);
  new Uint8Array(mem.buffer).fill(116);
  const st: RwState = { events: 0, held: 0, writesInFlight: 0, stopping: false };
  const N = pipes.length;
  const reads = pipes.map((p, i) => new ReadSub(st, ring, p.r, mem.address + i));
  const writeTargets = pipes.map((p) => new WriteSub(st, p.w, mem.address + 4095));
  reads.forEach((r, i) => (r.next = writeTargets[(i + 1) % N]!));
  for (const r of reads) ring.submit(r);
  let finished = false;
  let waits = 0;
  const t0 = performance.now();
  ctx.addTimer(o.seconds * 1000, () => {
    finished = true;
    st.stopping = true;
    if (o.driver === 'node') ctx.close();
  });
  if (o.driver === 'node') {
    await ctx.loopWait();
  } else {
    while (!finished) {
      ctx.loopOnce();
      waits++;
    }
  }
  const secs = (performance.now() - t0) / 1000;
  ctx.close(); // cancels the pending READs; completes the WRITEs
  void mem;
  return { events: st.events, calls: st.events, waits, secs, spurious: 0, heldInFlight: st.held + st.writesInFlight };
}
