// Trace callbacks per kind (item 42) and reinitialise() (item 40) of
// TEVENT-SEMANTICS.md Part B (test_tevent_trace.c `get_set_*`, `*__reset`).
import assert from 'node:assert/strict';
import {
  EventQueue, FD_READ, TRACE_KINDS, createWrapper,
  type EventSite, type EventTraceCallback, type TraceWhat,
} from '../../src/events/index.js';
import { ctxOf, isOpen, it, perBackendDriver, pipe, write1 } from './helpers.js';

perBackendDriver('trace callbacks', (b, d) => {
  it('42: every kind\'s getter returns exactly what was set, null/null by default', () => {
    const ctx = ctxOf(b, d);
    assert.deepEqual([...TRACE_KINDS], ['fd', 'timer', 'immediate', 'signal', 'queue']);
    for (const kind of TRACE_KINDS) {
      assert.deepEqual(ctx.getTraceCallback(kind), { callback: null, privateData: null }, kind);
      const cb: EventTraceCallback = () => {};
      const pvt = { kind };
      ctx.setTraceCallback(kind, cb, pvt);
      const got = ctx.getTraceCallback(kind);
      assert.equal(got.callback, cb);
      assert.equal(got.privateData, pvt);
      ctx.setTraceCallback(kind, null, null);
      assert.deepEqual(ctx.getTraceCallback(kind), { callback: null, privateData: null }, kind);
    }
    assert.equal(ctx.onTrace, null);
    assert.throws(() => ctx.getTraceCallback('bogus' as never), RangeError);
  });

  it('42: each kind\'s callback sees only its kind, with its private data; onTrace still sees all', () => {
    const ctx = ctxOf(b, d);
    const perKind: string[] = [];
    const all: string[] = [];
    for (const kind of TRACE_KINDS) {
      ctx.setTraceCallback(kind, (ev, what, pvt) => perKind.push(`${String(pvt)}<-${ev.kind}:${what}`), kind.toUpperCase());
    }
    const hook = (what: TraceWhat, ev: EventSite): void => void all.push(`${ev.kind}:${what}`);
    ctx.onTrace = hook;
    assert.equal(ctx.onTrace, hook);
    const [r, w] = pipe();
    write1(w);
    ctx.addFd(r, FD_READ, (f) => f.free());
    ctx.addTimer(0, () => {});
    ctx.addImmediate(() => {});
    ctx.addSignal('SIGUSR2', 0, () => {}).free();
    new EventQueue('q').add(ctx, (e) => e.free());
    for (let i = 0; i < 6; i++) ctx.loopOnce(0);
    for (const s of perKind) {
      const [pvt, rest] = s.split('<-');
      assert.equal(pvt!.toLowerCase(), rest!.split(':')[0], s);
    }
    // The queue's own immediate is traced as an immediate, its entry as a queue entry.
    for (const kind of TRACE_KINDS) {
      const mine = perKind.filter((s) => s.startsWith(kind.toUpperCase() + '<-')).map((s) => s.split('<-')[1]);
      assert.deepEqual(mine, all.filter((s) => s.startsWith(kind + ':')), kind);
      assert.ok(mine.includes(`${kind}:attach`) && mine.includes(`${kind}:detach`), `${kind}: ${mine.join(' ')}`);
    }
    // Clearing the per-kind callbacks leaves onTrace alone.
    for (const kind of TRACE_KINDS) ctx.setTraceCallback(kind, null);
    all.length = 0;
    perKind.length = 0;
    ctx.addImmediate(() => {});
    ctx.loopOnce(0);
    assert.deepEqual(perKind, []);
    assert.deepEqual(all, ['immediate:attach', 'immediate:before_handler', 'immediate:detach']);
  });
});

perBackendDriver('reinitialise', (b, d) => {
  it('40: detaches every pending event without running it; tags survive; events can be re-armed', () => {
    const ctx = ctxOf(b, d);
    const log: string[] = [];
    ctx.onTrace = (what, ev) => log.push(`${ev.kind}:${what}`);
    const [r, w] = pipe();
    write1(w);
    const fde = ctx.addFd(r, FD_READ, () => log.push('fd ran'));
    fde.setAutoClose();
    fde.tag = 1;
    const te = ctx.addTimer(0, () => log.push('timer ran'));
    te.tag = 2;
    const im = ctx.addImmediate(() => log.push('immediate ran'));
    im.tag = 3;
    const se = ctx.addSignal('SIGUSR2', 0, () => log.push('signal ran'));
    se.tag = 4;
    const wrapper = createWrapper(ctx, {});
    log.length = 0;

    ctx.reinitialise();
    assert.deepEqual(log.sort(), ['fd:detach', 'immediate:detach', 'signal:detach', 'timer:detach']);
    assert.equal(ctx.haveEvents(), false);
    assert.equal(ctx.loopOnce(0), false);
    assert.deepEqual([fde.tag, te.tag, im.tag, se.tag], [1, 2, 3, 4]);
    assert.equal(te.pending, false);
    assert.equal(im.pending, false);
    // Wrappers die with the old state (tevent clears their main_ev).
    assert.equal(wrapper.main, null);
    assert.equal(wrapper.pushUse(), false);

    // Freeing after reinitialise: no second DETACH, auto-close still closes.
    log.length = 0;
    assert.equal(isOpen(r), true);
    fde.free();
    te.free();
    im.free();
    se.free();
    assert.equal(log.length, 0, log.join(' '));
    assert.equal(isOpen(r), false);

    // The context and its timer/immediate objects work again, tags kept.
    te.update(0);
    im.schedule(() => log.push('immediate again'));
    ctx.loopOnce(0);
    ctx.loopOnce(0);
    assert.deepEqual(log.filter((s) => !s.includes(':')), ['immediate again', 'timer ran']);
    assert.deepEqual([te.tag, im.tag], [2, 3]);
  });

  it('40: loopWait after reinitialise returns 0 at once; new events run', async () => {
    const ctx = ctxOf(b, d);
    ctx.addTimer(10_000, () => assert.fail('detached timer ran'));
    ctx.reinitialise();
    const t0 = performance.now();
    assert.equal(await ctx.loopWait(), 0);
    assert.ok(performance.now() - t0 < 1000);
    let ran = false;
    ctx.addTimer(1, () => (ran = true));
    assert.equal(await ctx.loopWait(), 0);
    assert.equal(ran, true);
  });
});
