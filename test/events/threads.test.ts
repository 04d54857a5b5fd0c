// Threads and processes, items 36 and 37 of TEVENT-SEMANTICS.md Part B
// (testsuite.c `multi_tevent_threaded*`, `tevent_cached_getpid`).
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { spawnSync } from 'node:child_process';
import { Worker, isMainThread, threadId } from 'node:worker_threads';
import { ThreadProxy, ThreadSender, type BackendName, type DriverName, type EventContext } from '../../src/events/index.js';
import { O_NONBLOCK, ctxOf, it, n, perBackendDriver, pipe, skipReason } from './helpers.js';

const eventsUrl = new URL('../../src/events/index.js', import.meta.url).href;
const senderUrl = new URL('../../src/events/thread-sender.js', import.meta.url).href;

/** A worker that posts `count` messages {w, i} through the endpoint it was given, then ends. */
const POSTER = `
const { workerData } = require('node:worker_threads');
import(workerData.senderUrl).then(({ ThreadSender }) => {
  const s = new ThreadSender(workerData.ep);
  for (let i = 0; i < workerData.count; i++) s.post({ w: workerData.id, i });
});
`;

/** A worker with its own context and proxy: asks the main thread, waits for the reply in its own loop. */
const ASKER = `
const { workerData, parentPort, threadId } = require('node:worker_threads');
(async () => {
  const ev = await import(workerData.eventsUrl);
  const ctx = ev.createEventContext({ backend: workerData.backend, driver: workerData.driver });
  const replies = [];
  const proxy = new ev.ThreadProxy(ctx, (msg) => { replies.push(msg); proxy.free(); });
  const back = proxy.endpoint();
  new ev.ThreadSender(workerData.ep).post({ id: workerData.id, reply: back }, [back.port]);
  const rc = await ctx.loopWait();
  parentPort.postMessage({ rc, replies, pid: ctx.pid, threadId });
  ctx.close();
})().catch((err) => parentPort.postMessage({ error: String(err && err.stack || err) }));
`;

/** A sender caught between its check of the proxy and its write (ThreadSender.post, by hand), while free() runs. */
const RACER = `
const { workerData, parentPort } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const { state, fd, ctl } = workerData;
Atomics.add(state, 1, 1); // WRITERS
const alive = Atomics.load(state, 0); // ALIVE
Atomics.store(ctl, 0, 1);
Atomics.notify(ctl, 0);
Atomics.wait(ctl, 1, 0, 2000); // until free() starts
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30); // and is well inside it
let err = null;
try { if (alive === 1) writeSync(fd, Buffer.of(1)); } catch (e) { err = e.code; }
Atomics.sub(state, 1, 1);
Atomics.notify(state, 1);
parentPort.postMessage({ alive, err });
`;

function exited(w: Worker): Promise<number> {
  return new Promise((resolve, reject) => {
    w.once('error', reject);
    w.once('exit', resolve);
  });
}

interface Got {
  msgs: { w: number; i: number }[];
  inMain: boolean[];
}

/** `workers` threads post `each` messages into ctx; resolves with what the proxy's handler saw. */
async function fanIn(ctx: EventContext, workers: number, each: number): Promise<Got> {
  const got: Got = { msgs: [], inMain: [] };
  const total = workers * each;
  const proxy = new ThreadProxy(ctx, (msg) => {
    got.msgs.push(msg as { w: number; i: number });
    got.inMain.push(isMainThread && threadId === 0);
    if (got.msgs.length === total) {
      proxy.free();
      guard.free();
    }
  });
  // Never hang: give up after 30 s (the assertions below then fail).
  const guard = ctx.addTimer(30_000, () => proxy.free());
  const ends: Promise<number>[] = [];
  for (let id = 0; id < workers; id++) {
    const ep = proxy.endpoint();
    const w = new Worker(POSTER, { eval: true, workerData: { ep, id, count: each, senderUrl }, transferList: [ep.port] });
    ends.push(exited(w));
  }
  assert.equal(await ctx.loopWait(), 0);
  assert.deepEqual(await Promise.all(ends), new Array(workers).fill(0));
  return got;
}

function checkFanIn(got: Got, workers: number, each: number): void {
  assert.equal(got.msgs.length, workers * each);
  assert.ok(got.inMain.every(Boolean), 'every handler ran in the main thread');
  for (let id = 0; id < workers; id++) {
    const mine = got.msgs.filter((m) => m.w === id).map((m) => m.i);
    assert.deepEqual(mine, [...Array(each).keys()], `worker ${id}: FIFO, nothing lost`);
  }
}

perBackendDriver('threads', (b, d) => {
  it('36: 10 workers x 10 posts all arrive as immediates in the main thread, FIFO per worker (after reinitialise)', async () => {
    const ctx = ctxOf(b, d);
    ctx.addTimer(60_000, () => assert.fail('detached by reinitialise'));
    ctx.reinitialise();
    checkFanIn(await fanIn(ctx, 10, 10), 10, 10);
  });

  it('36: each message runs as its own immediate (tevent moves threaded immediates onto its immediate list)', async () => {
    const ctx = ctxOf(b, d);
    const trace: string[] = [];
    ctx.onTrace = (what, ev) => trace.push(`${ev.kind}:${what}`);
    const seenAfter: string[] = [];
    let k = 0;
    const proxy = new ThreadProxy(ctx, () => {
      seenAfter.push(trace[trace.length - 1]!);
      if (++k === 5) proxy.free();
    });
    const ep = proxy.endpoint();
    const w = new Worker(POSTER, { eval: true, workerData: { ep, id: 0, count: 5, senderUrl }, transferList: [ep.port] });
    const end = exited(w);
    assert.equal(await ctx.loopWait(), 0);
    assert.equal(await end, 0);
    assert.deepEqual(seenAfter, new Array(5).fill('immediate:before_handler'));
    // One wake-up can carry several messages, but never runs one inside the fd handler.
    assert.ok(trace.filter((t) => t === 'immediate:before_handler').length === 5);
  });

  it('36: request/reply: each worker\'s own context receives the main thread\'s reply', async () => {
    const ctx = ctxOf(b, d);
    const N = 4;
    let answered = 0;
    const proxy = new ThreadProxy(ctx, (msg) => {
      const m = msg as { id: number; reply: ConstructorParameters<typeof ThreadSender>[0] };
      new ThreadSender(m.reply).post(`pong ${m.id}`);
      if (++answered === N) proxy.free();
    });
    const results: Promise<{ rc: number; replies: string[]; pid: number; threadId: number; error?: string }>[] = [];
    for (let id = 0; id < N; id++) {
      const ep = proxy.endpoint();
      const w = new Worker(ASKER, { eval: true, workerData: { ep, id, eventsUrl, backend: b, driver: d }, transferList: [ep.port] });
      results.push(new Promise((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      }));
    }
    assert.equal(await ctx.loopWait(), 0);
    const res = await Promise.all(results);
    res.forEach((r, id) => {
      assert.equal(r.error, undefined);
      assert.equal(r.rc, 0);
      assert.deepEqual(r.replies, [`pong ${id}`]);
      // 37: a thread of this process sees this process's pid.
      assert.equal(r.pid, process.pid);
      assert.notEqual(r.threadId, 0);
    });
  });

  it('36: a post racing free() (past its check of the proxy, before its write) writes into a pipe still open: never EPIPE', async () => {
    const ctx = ctxOf(b, d);
    const proxy = new ThreadProxy(ctx, () => {});
    const ep = proxy.endpoint();
    // ctl[0]: the worker passed its check; ctl[1]: free() is about to start.
    const ctl = new Int32Array(new SharedArrayBuffer(8));
    const w = new Worker(RACER, { eval: true, workerData: { state: ep.state, fd: ep.fd, ctl } });
    // Listened for now: a worker that exits while the loop is busy has its last message
    // drained during its 'exit' handling, right before 'exit', with no turn in between.
    const end = exited(w);
    const done = new Promise<{ alive: number; err: string | null }>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    for (let i = 0; i < 500 && Atomics.load(ctl, 0) === 0; i++) await new Promise((r) => setTimeout(r, 2));
    assert.equal(Atomics.load(ctl, 0), 1, 'the worker is between its check and its write');
    Atomics.store(ctl, 1, 1);
    Atomics.notify(ctl, 1);
    proxy.free(); // waits for the worker's write
    const got = await done;
    assert.equal(got.alive, 1);
    assert.equal(got.err, null, 'the write found the pipe open');
    assert.equal(await end, 0);
    ep.port.close();
  });

  it('36: a post after free() is dropped and never writes into a file that reused the fd number', () => {
    const ctx = ctxOf(b, d);
    let ran = 0;
    const proxy = new ThreadProxy(ctx, () => ran++);
    const ep = proxy.endpoint();
    proxy.free();
    const [r, w] = pipe(O_NONBLOCK);
    const reused = w === ep.fd || r === ep.fd;
    const sender = new ThreadSender(ep);
    sender.post('late');
    sender.close();
    assert.ok(n.readByte(r) < 0, `nothing written (fd ${ep.fd} reused: ${reused})`);
    assert.equal(ctx.loopOnce(0), false);
    assert.equal(ran, 0);
    assert.equal(ctx.haveEvents(), false);
  });

  it('37: ctx.pid is process.pid; a child process gets its own', () => {
    const ctx = ctxOf(b, d);
    assert.equal(ctx.pid, process.pid);
    const script = `
      import { createEventContext } from ${JSON.stringify(eventsUrl)};
      const ctx = createEventContext({ backend: ${JSON.stringify(b)}, driver: ${JSON.stringify(d)} });
      console.log(JSON.stringify({ ctxPid: ctx.pid, pid: process.pid, ppid: process.ppid }));
      ctx.close();
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 10_000, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const child = JSON.parse(r.stdout) as { ctxPid: number; pid: number; ppid: number };
    assert.equal(child.ctxPid, child.pid);
    assert.notEqual(child.pid, process.pid);
    assert.equal(child.ppid, process.pid);
  });
});

// tevent's multi_tevent_threaded: 100 threads. Worker start-up costs tens of
// ms each on a shared machine, so this runs once, on the server's default backend.
const big: BackendName = skipReason('uring') ? 'epoll' : 'uring';
for (const d of ['standalone', 'node'] as DriverName[]) {
  describe(`threads: 100 workers [${big}/${d}]`, () => {
    it('36: one post from each of 100 workers, all delivered in the main thread', async () => {
      const ctx = ctxOf(big, d);
      try {
        checkFanIn(await fanIn(ctx, 100, 1), 100, 1);
      } finally {
        ctx.close();
      }
    });
  });
}
