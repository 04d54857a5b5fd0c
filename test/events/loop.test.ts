// Loop items 1-4 of TEVENT-SEMANTICS.md Part B, plus error reporting.
import assert from 'node:assert/strict';
import { FD_READ, FD_WRITE } from '../../src/events/index.js';
import { ctxOf, it, perBackend, perBackendDriver, pipe, write1, n } from './helpers.js';

perBackend('loop', (b) => {
  it('1: one handler per loopOnce (read and write both ready)', () => {
    const ctx = ctxOf(b);
    const [r, w] = pipe();
    write1(w);
    const calls: string[] = [];
    ctx.addFd(r, FD_READ, () => calls.push('r'));
    ctx.addFd(w, FD_WRITE, () => calls.push('w'));
    for (let i = 0; i < 6; i++) {
      const before = calls.length;
      assert.equal(ctx.loopOnce(), true);
      assert.equal(calls.length, before + 1);
    }
    assert.ok(calls.includes('r') && calls.includes('w'));
  });

  it('2: order is signals, immediate, timer, fd', () => {
    const ctx = ctxOf(b);
    const [r, w] = pipe();
    write1(w);
    const order: string[] = [];
    ctx.addFd(r, FD_READ, (fde) => {
      order.push('fd');
      fde.free();
    });
    ctx.addTimer(0, () => order.push('timer'));
    ctx.addImmediate(() => order.push('immediate'));
    const se = ctx.addSignal('SIGUSR2', 0, () => order.push('signal'));
    process.kill(process.pid, 'SIGUSR2');
    for (let i = 0; i < 4; i++) ctx.loopOnce();
    assert.deepEqual(order, ['signal', 'immediate', 'timer', 'fd']);
    se.free();
  });

  it('3: loopOnce with nothing registered returns at once; flags-0 fdes do not count', () => {
    const ctx = ctxOf(b);
    const t0 = performance.now();
    assert.equal(ctx.loopOnce(), false);
    const [r] = pipe();
    ctx.addFd(r, 0, () => assert.fail('flags 0 must not fire'));
    assert.equal(ctx.haveEvents(), false);
    assert.equal(ctx.loopOnce(), false);
    assert.ok(performance.now() - t0 < 100);
  });

  it('4: nesting loopOnce in a handler throws ELOOP unless allowNesting()', () => {
    const ctx = ctxOf(b);
    let code = '';
    ctx.addImmediate(() => {
      try {
        ctx.loopOnce(0);
      } catch (err) {
        code = (err as { code: string }).code;
      }
    });
    ctx.loopOnce();
    assert.equal(code, 'ELOOP');
    ctx.allowNesting();
    let inner = false;
    ctx.addImmediate(() => {
      ctx.addImmediate(() => (inner = true));
      ctx.loopOnce(0);
    });
    ctx.loopOnce();
    assert.equal(inner, true);
  });

  it('a throwing handler is reported with its creation site and the loop goes on', () => {
    const ctx = ctxOf(b);
    const seen: { err: unknown; site: string; kind: string }[] = [];
    ctx.onError = (err, ev) => seen.push({ err, site: ev.site, kind: ev.kind });
    ctx.addImmediate(() => {
      throw new Error('boom');
    });
    let after = false;
    ctx.addImmediate(() => (after = true));
    ctx.loopOnce();
    ctx.loopOnce();
    assert.equal(seen.length, 1);
    assert.equal((seen[0]!.err as Error).message, 'boom');
    assert.equal(seen[0]!.kind, 'immediate');
    assert.match(seen[0]!.site, /loop\.test\.js:\d+/);
    assert.equal(after, true);
  });

  it('adding a closed fd fails with EBADF', () => {
    const ctx = ctxOf(b);
    const [r, w] = pipe();
    n.close(r);
    n.close(w);
    assert.throws(() => ctx.addFd(r, FD_READ, () => {}), { code: 'EBADF' });
  });
});

perBackendDriver('loopWait', (b, d) => {
  it('3: loopWait returns 0 once no events are left', async () => {
    const ctx = ctxOf(b, d);
    const got: string[] = [];
    const [r, w] = pipe();
    ctx.addFd(r, 0, () => assert.fail('flags 0'));
    const im = ctx.addImmediate(() => got.push('im'));
    ctx.addTimer(5, () => {
      got.push('timer');
      write1(w);
    });
    ctx.addFd(r, FD_READ, (fde) => {
      n.readByte(r);
      got.push('fd');
      fde.free();
    });
    assert.equal(await ctx.loopWait(), 0);
    assert.deepEqual(got, ['im', 'timer', 'fd']);
    assert.equal(im.pending, false);
    assert.equal(await ctx.loopWait(), 0);
  });

  it('async/await inside handlers makes progress', async () => {
    const ctx = ctxOf(b, d);
    const steps: number[] = [];
    const run = async (): Promise<void> => {
      for (let i = 0; i < 3; i++) {
        await new Promise<void>((res) => ctx.addImmediate(() => res()));
        steps.push(i);
      }
    };
    const p = run();
    await ctx.loopWait();
    await p;
    assert.deepEqual(steps, [0, 1, 2]);
  });
});
