// Queues, item 41 of TEVENT-SEMANTICS.md Part B (test_tevent_trace.c
// `queue__loop`, `queue__extra`), and the queue-entry tags of item 38.
import assert from 'node:assert/strict';
import { EventQueue, type EventSite, type QueueEntry, type TraceWhat } from '../../src/events/index.js';
import { ctxOf, it, perBackendDriver } from './helpers.js';

/** Runs loopOnce(0) until it reports nothing ran; returns how many triggers each iteration saw. */
function drain(ctx: ReturnType<typeof ctxOf>, triggers: unknown[]): number[] {
  const per: number[] = [];
  for (let i = 0; i < 50; i++) {
    const before = triggers.length;
    if (!ctx.loopOnce(0)) break;
    per.push(triggers.length - before);
  }
  return per;
}

perBackendDriver('queues', (b, d) => {
  it('41: five entries on two queues: tags in add order, FIFO per queue, one trigger per loopOnce', () => {
    const ctx = ctxOf(b, d);
    let nextTag = 0;
    const trace: string[] = [];
    ctx.setTraceCallback('queue', (ev, what) => {
      const e = ev as QueueEntry;
      if (what === 'attach') e.tag = ++nextTag;
      trace.push(`${what}:${e.tag}`);
    });
    const qa = new EventQueue('a');
    const qb = new EventQueue('b');
    const order: string[] = [];
    const trigger = (e: QueueEntry, name: unknown): void => {
      order.push(`${String(name)}${e.tag}`);
      e.free();
    };
    qa.add(ctx, trigger, 'a');
    qb.add(ctx, trigger, 'b');
    qa.add(ctx, trigger, 'a');
    qb.add(ctx, trigger, 'b');
    qa.add(ctx, trigger, 'a');
    assert.equal(qa.length, 3);
    assert.equal(qb.length, 2);
    assert.deepEqual(order, [], 'nothing triggers inside add()');
    const per = drain(ctx, order);
    assert.ok(per.every((k) => k <= 1), `at most one trigger per iteration: ${per.join(',')}`);
    assert.deepEqual(order, ['a1', 'b2', 'a3', 'b4', 'a5']);
    assert.deepEqual(trace.slice(0, 5), ['attach:1', 'attach:2', 'attach:3', 'attach:4', 'attach:5']);
    for (const t of [1, 2, 3, 4, 5]) {
      const i = trace.indexOf(`before_handler:${t}`);
      assert.ok(i > 0 && trace[i + 1] === `detach:${t}`, `entry ${t}: ${trace.join(' ')}`);
    }
    assert.equal(qa.length + qb.length, 0);
  });

  it('41: a triggered entry blocks its queue until freed; the next trigger comes on a later iteration', () => {
    const ctx = ctxOf(b, d);
    const q = new EventQueue('q');
    const got: string[] = [];
    let first: QueueEntry | null = null;
    q.add(ctx, (e) => {
      got.push('first');
      first = e;
    });
    q.add(ctx, (e) => {
      got.push('second');
      e.free();
    });
    for (let i = 0; i < 5; i++) ctx.loopOnce(0);
    assert.deepEqual(got, ['first']);
    assert.equal(q.length, 2);
    first!.free();
    assert.deepEqual(got, ['first'], 'freeing does not trigger synchronously');
    ctx.loopOnce(0);
    assert.deepEqual(got, ['first', 'second']);
  });

  it('41: optimize_empty triggers synchronously on an empty queue only', () => {
    const ctx = ctxOf(b, d);
    const q = new EventQueue('q');
    const got: string[] = [];
    const e1 = q.addOptimizeEmpty(ctx, () => got.push('direct'));
    assert.deepEqual(got, ['direct']);
    assert.equal(e1.triggered, true);
    q.addOptimizeEmpty(ctx, (e) => {
      got.push('queued');
      e.free();
    });
    assert.deepEqual(got, ['direct'], 'a non-empty queue is not bypassed');
    ctx.loopOnce(0);
    assert.deepEqual(got, ['direct'], 'still blocked by the first entry');
    e1.free();
    ctx.loopOnce(0);
    assert.deepEqual(got, ['direct', 'queued']);
    // A stopped queue is not bypassed either.
    q.stop();
    q.addOptimizeEmpty(ctx, () => got.push('stopped'));
    ctx.loopOnce(0);
    assert.deepEqual(got, ['direct', 'queued']);
    q.start();
    ctx.loopOnce(0);
    assert.deepEqual(got, ['direct', 'queued', 'stopped']);
  });

  it('41: a null-trigger entry blocks the queue until freed, then the next entry runs', () => {
    const ctx = ctxOf(b, d);
    const q = new EventQueue('q');
    const trace: string[] = [];
    ctx.setTraceCallback('queue', (ev, what: TraceWhat) => trace.push(`${what}:${(ev as QueueEntry).privateData}`));
    const blocker = q.add(ctx, null, 'blocker');
    assert.equal(blocker.triggered, true);
    const got: string[] = [];
    q.addOptimizeEmpty(ctx, (e) => {
      got.push('after blocker');
      e.free();
    }, 'next');
    for (let i = 0; i < 3; i++) ctx.loopOnce(0);
    assert.deepEqual(got, []);
    blocker.free();
    ctx.loopOnce(0);
    assert.deepEqual(got, ['after blocker']);
    // The blocker never ran a handler: attach then detach, no before_handler.
    assert.deepEqual(trace, ['attach:blocker', 'attach:next', 'detach:blocker', 'before_handler:next', 'detach:next']);
  });

  it('38, 41: entries carry their own tags (0 by default); freeing the queue frees its entries untriggered', () => {
    const ctx = ctxOf(b, d);
    const q = new EventQueue('q');
    const a = q.add(ctx, null);
    const c = q.add(ctx, () => assert.fail('freed queue triggered'));
    assert.equal(c.tag, 0);
    a.tag = 7;
    c.tag = 8;
    assert.deepEqual([a.tag, c.tag], [7, 8]);
    q.free();
    assert.equal(q.length, 0);
    assert.equal(c.pending, false);
    assert.equal(ctx.loopOnce(0), false);
    assert.equal(c.tag, 8);
  });

  it('41: wait() resolves in FIFO order under loopWait', async () => {
    const ctx = ctxOf(b, d);
    const q = new EventQueue('q');
    const got: number[] = [];
    const worker = async (k: number): Promise<void> => {
      const e = await q.wait(ctx);
      got.push(k);
      await new Promise<void>((r) => ctx.addTimer(1, () => r()));
      e.free();
    };
    const all = Promise.all([worker(1), worker(2), worker(3)]);
    assert.equal(await ctx.loopWait(), 0);
    await all;
    assert.deepEqual(got, [1, 2, 3]);
  });
});

perBackendDriver('queue trace kind', (b, d) => {
  it('39, 41: queue entries appear in onTrace as kind "queue"', () => {
    const ctx = ctxOf(b, d);
    const seen: string[] = [];
    ctx.onTrace = (what: TraceWhat, ev: EventSite) => {
      if (ev.kind === 'queue') seen.push(what);
    };
    const q = new EventQueue('q');
    q.add(ctx, (e) => e.free());
    ctx.loopOnce(0);
    assert.deepEqual(seen, ['attach', 'before_handler', 'detach']);
  });
});
