// Wrapper contexts, items 33 and 34 of TEVENT-SEMANTICS.md Part B
// (testsuite.c `wrapper` and `free_wrapper`).
import assert from 'node:assert/strict';
import { FD_READ, createWrapper, type WrapperOps } from '../../src/events/index.js';
import { ctxOf, isOpen, it, n, perBackendDriver, socketpair, write1 } from './helpers.js';

/** Ops that log every hook call as "<hook>:<event kind>". */
function loggingOps(log: string[]): WrapperOps {
  return {
    name: 'test_wrapper',
    beforeUse: () => (log.push('before_use'), true),
    afterUse: () => log.push('after_use'),
    beforeFdHandler: (_w, _m, fde, flags) => log.push(`before:fd:${fde.fd}:${flags}`),
    afterFdHandler: (_w, _m, fde, flags) => log.push(`after:fd:${fde.fd}:${flags}`),
    beforeTimerHandler: (_w, _m, te, requested, now) => log.push(`before:timer:${te.due === requested && now >= requested}`),
    afterTimerHandler: () => log.push('after:timer'),
    beforeImmediateHandler: (_w, _m, im) => log.push(`before:immediate:${im.tag}`),
    afterImmediateHandler: () => log.push('after:immediate'),
    beforeSignalHandler: (_w, _m, _se, signo, count) => log.push(`before:signal:${signo}:${count}`),
    afterSignalHandler: () => log.push('after:signal'),
  };
}

const isHook = (s: string): boolean => /^(before|after)/.test(s);
const SIGUSR2 = 12;

perBackendDriver('wrapper contexts', (b, d) => {
  it('33: four events run from the main loop, each bracketed; push/pop_use call before/after_use: 10 hook calls', async () => {
    const ctx = ctxOf(b, d);
    const log: string[] = [];
    const w = createWrapper(ctx, loggingOps(log));
    const [s0, s1] = socketpair();
    w.addTimer(0, () => log.push('timer'));
    w.addFd(s1, FD_READ, (fde) => {
      n.readByte(s1);
      log.push('fd');
      fde.free();
    });
    const im = w.createImmediate();
    im.tag = 5;
    w.addSignal('SIGUSR2', 0, (se) => {
      log.push('signal');
      se.free();
    });
    write1(s0);
    process.kill(process.pid, 'SIGUSR2');
    w.scheduleImmediate(im, () => log.push('immediate'));

    assert.equal(w.pushUse(), true);
    assert.equal(w.main, ctx);
    w.popUse();
    assert.equal(await ctx.loopWait(), 0);

    const events = log.filter((s) => !isHook(s));
    assert.deepEqual(events.sort(), ['fd', 'immediate', 'signal', 'timer']);
    assert.equal(log.filter(isHook).length, 10);
    // Every handler sits between its own before and after hook.
    for (const [ev, before, after] of [
      ['fd', `before:fd:${s1}:${FD_READ}`, `after:fd:${s1}:${FD_READ}`],
      ['timer', 'before:timer:true', 'after:timer'],
      ['immediate', 'before:immediate:5', 'after:immediate'],
      ['signal', `before:signal:${SIGUSR2}:1`, 'after:signal'],
    ] as const) {
      const i = log.indexOf(ev);
      assert.deepEqual(log.slice(i - 1, i + 2), [before, ev, after], `${ev} bracketed in ${log.join(' ')}`);
    }
    assert.deepEqual(log.slice(0, 2), ['before_use', 'after_use']);
    // Signals first, as in tevent's loop order.
    assert.equal(log[2], `before:signal:${SIGUSR2}:1`);
  });

  it('33: events added to the main context, or im.schedule() directly, are not bracketed', () => {
    const ctx = ctxOf(b, d);
    const log: string[] = [];
    const w = createWrapper(ctx, loggingOps(log));
    const im = w.createImmediate();
    im.schedule(() => log.push('plain immediate'));
    ctx.addTimer(0, () => log.push('main timer'));
    ctx.loopOnce(0);
    ctx.loopOnce(0);
    assert.deepEqual(log, ['plain immediate', 'main timer']);
    w.free();
  });

  it('33: a refused before_use makes pushUse fail without after_use; wrappers conflict with nesting', () => {
    const ctx = ctxOf(b, d);
    const log: string[] = [];
    const w = createWrapper(ctx, { beforeUse: () => (log.push('before_use'), false), afterUse: () => log.push('after_use') });
    assert.equal(w.pushUse(), false);
    assert.throws(() => w.popUse(), { code: 'EINVAL' });
    assert.deepEqual(log, ['before_use']);
    assert.throws(() => ctx.allowNesting(), { code: 'EINVAL' });
    w.free();
    ctx.allowNesting();
    assert.throws(() => createWrapper(ctx, {}), { code: 'EINVAL' });
  });

  it('33: the after hook runs even when the handler throws', () => {
    const ctx = ctxOf(b, d);
    const log: string[] = [];
    const errors: unknown[] = [];
    ctx.onError = (err) => errors.push(err);
    const w = createWrapper(ctx, loggingOps(log));
    w.addImmediate(() => {
      log.push('immediate');
      throw new Error('boom');
    });
    ctx.loopOnce(0);
    assert.deepEqual(log, ['before:immediate:0', 'immediate', 'after:immediate']);
    assert.equal((errors[0] as Error).message, 'boom');
    // The wrapper is usable again afterwards.
    assert.equal(w.pushUse(), true);
    w.popUse();
  });

  it('34: a signal handler frees the wrapper: its pending fd, timer and immediate never run, loopWait returns 0', async () => {
    const ctx = ctxOf(b, d);
    const log: string[] = [];
    const w = createWrapper(ctx, loggingOps(log));
    const [s0, s1] = socketpair();
    const fde = w.addFd(s1, FD_READ, () => log.push('fd must not run'));
    fde.setAutoClose();
    const te = w.addTimer(0, () => log.push('timer must not run'));
    const im = w.addImmediate(() => log.push('immediate must not run'));
    let mainInHandler: unknown = 'unset';
    w.addSignal('SIGUSR2', 0, (se) => {
      log.push('signal');
      se.free();
      w.free();
      // Deferred while its own handler runs: the wrapper dies after the after hook.
      mainInHandler = w.main;
    });
    write1(s0);
    process.kill(process.pid, 'SIGUSR2');
    assert.equal(await ctx.loopWait(), 0);
    assert.deepEqual(log, [`before:signal:${SIGUSR2}:1`, 'signal', 'after:signal']);
    assert.equal(mainInHandler, null);
    assert.equal(te.pending, false);
    assert.equal(im.pending, false);
    assert.equal(fde.freed, true);
    assert.equal(ctx.haveEvents(), false);
    assert.equal(w.freed, true);
    assert.throws(() => w.addTimer(0, () => {}), { code: 'EINVAL' });
    assert.equal(w.pushUse(), false);
    // Detached, not closed: the owner's free() still honours auto-close.
    assert.equal(isOpen(s1), true);
    fde.free();
    assert.equal(isOpen(s1), false);
  });

  it('34: freeing a wrapper outside the loop cancels what it added and nothing else', async () => {
    const ctx = ctxOf(b, d);
    const ran: string[] = [];
    const w = createWrapper(ctx, {});
    const [s0, s1] = socketpair();
    w.addFd(s1, FD_READ, () => ran.push('wrapped fd'));
    const t = w.addTimer(0, () => ran.push('wrapped timer'));
    w.addImmediate(() => ran.push('wrapped immediate'));
    ctx.addImmediate(() => ran.push('main immediate'));
    write1(s0);
    w.free();
    // A timer re-armed after its wrapper died still never runs.
    t.update(0);
    assert.equal(await ctx.loopWait(), 0);
    assert.deepEqual(ran, ['main immediate']);
  });
});
