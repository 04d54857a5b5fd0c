// fd event items 5-17 and 19 of TEVENT-SEMANTICS.md Part B.
import assert from 'node:assert/strict';
import { FD_ERROR, FD_READ, FD_WRITE, type FdEvent } from '../../src/events/index.js';
import { ctxOf, isOpen, it, n, O_NONBLOCK, perBackend, pipe, socketpair, spin, write1 } from './helpers.js';

const F_SETPIPE_SZ = 1031;

perBackend('fd events', (b) => {
  it('5: level-triggered: an unconsumed readable fd fires again and again', () => {
    const ctx = ctxOf(b);
    const [r, w] = pipe();
    write1(w);
    let calls = 0;
    ctx.addFd(r, FD_READ, () => calls++);
    assert.equal(spin(ctx, 10), 10);
    assert.equal(calls, 10);
  });

  it('6: flags passed = requested ∩ ready, both bits in one call', () => {
    const ctx = ctxOf(b);
    const [s0, s1] = socketpair();
    write1(s1);
    const seen: number[] = [];
    const wOnly: number[] = [];
    const both = ctx.addFd(s0, FD_READ | FD_WRITE, (_f, flags) => seen.push(flags));
    ctx.addFd(s0, FD_WRITE, (_f, flags) => wOnly.push(flags));
    spin(ctx, 4);
    assert.ok(seen.length >= 1 && seen.every((f) => f === (FD_READ | FD_WRITE)));
    assert.ok(wOnly.length >= 1 && wOnly.every((f) => f === FD_WRITE));
    n.readByte(s0);
    seen.length = 0;
    spin(ctx, 4);
    assert.ok(seen.length >= 1 && seen.every((f) => f === FD_WRITE));
    both.free();
  });

  it('7: setFlags takes effect at once, also inside a handler', () => {
    const ctx = ctxOf(b);
    const [s0] = socketpair();
    const calls: number[] = [];
    const fde = ctx.addFd(s0, FD_WRITE, (f, flags) => {
      calls.push(flags);
      f.setFlags(0);
    });
    spin(ctx, 5);
    assert.deepEqual(calls, [FD_WRITE]);
    assert.equal(fde.getFlags(), 0);
    fde.setFlags(FD_WRITE);
    fde.flags = FD_READ; // WRITE -> READ before the next iteration: not readable, so silent
    spin(ctx, 3);
    assert.deepEqual(calls, [FD_WRITE]);
  });

  it('8, 17: a flags-0 fde never fires but auto-closes its fd when freed', () => {
    const ctx = ctxOf(b);
    const [r, w] = pipe();
    write1(w);
    const fde = ctx.addFd(r, 0, () => assert.fail('flags 0 fired'));
    fde.setAutoClose();
    spin(ctx, 3);
    assert.ok(isOpen(r));
    fde.free();
    assert.equal(isOpen(r), false);
    fde.free(); // twice is harmless
  });

  it('9: fair rotation among fdes on one fd and across fds', () => {
    const ctx = ctxOf(b);
    const [r, w] = pipe();
    write1(w);
    const calls: string[] = [];
    for (const name of ['a', 'b', 'c']) ctx.addFd(r, FD_READ, () => calls.push(name));
    spin(ctx, 6);
    assert.deepEqual(calls, ['a', 'b', 'c', 'a', 'b', 'c']);
    const ctx2 = ctxOf(b);
    const got: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [pr, pw] = pipe();
      write1(pw);
      ctx2.addFd(pr, FD_READ, () => got.push(i));
    }
    spin(ctx2, 12);
    for (let i = 0; i < 4; i++) assert.equal(got.filter((x) => x === i).length, 3, `fd ${i} served 3 times: ${got}`);
  });

  it('10: several fdes per fd; one whose flags miss the ready set is not called', () => {
    const ctx = ctxOf(b);
    const [s0] = socketpair();
    let reads = 0;
    let writes = 0;
    ctx.addFd(s0, FD_READ, () => reads++);
    ctx.addFd(s0, FD_WRITE, () => writes++);
    spin(ctx, 5);
    assert.equal(reads, 0);
    assert.equal(writes, 5);
  });

  it('11: READ on a write end and WRITE on a read end never fire', () => {
    const ctx = ctxOf(b);
    const [r, w] = pipe();
    const bad = (): void => assert.fail('wrong direction fired');
    ctx.addFd(w, FD_READ, bad);
    ctx.addFd(r, FD_WRITE, bad);
    let rd = 0;
    ctx.addFd(r, FD_READ, () => {
      n.readByte(r);
      rd++;
    });
    ctx.addFd(w, FD_WRITE, () => write1(w));
    spin(ctx, 50);
    assert.ok(rd > 10);
  });

  it('12: byte-exact streaming, WRITE returns after the reader drains', () => {
    const ctx = ctxOf(b);
    const [r, w] = pipe(O_NONBLOCK);
    assert.ok(n.fcntlInt(w, F_SETPIPE_SZ, 8192) >= 8192);
    let sent = 0;
    const wfde = ctx.addFd(w, FD_WRITE, () => {
      if (n.writeByte(w, sent & 0xff) === 1) sent++;
    });
    let idle = 0;
    while (idle < 3) idle = ctx.loopOnce(0) ? 0 : idle + 1;
    assert.ok(sent >= 4096, `filled ${sent}`);
    wfde.setFlags(0);
    let got = 0;
    const rfde = ctx.addFd(r, FD_READ, () => {
      const v = n.readByte(r);
      assert.equal(v, got & 0xff);
      got++;
    });
    while (got < sent) assert.equal(ctx.loopOnce(0), true);
    rfde.free();
    wfde.setFlags(FD_WRITE);
    assert.equal(ctx.loopOnce(0), true);
    assert.equal(sent, got + 1);
  });

  it('12b: a token passed around rings of 1 and 64 pipes is never dispatched where it is not', () => {
    // Readiness from the fast paths (a CQE reaped without waiting, multishot
    // wake-ups, batched epoll events, periodic level checks) must never run a
    // READ handler on a pipe whose byte an earlier handler already took.
    for (const size of [1, 64]) {
      const ctx = ctxOf(b);
      const ring = Array.from({ length: size }, () => pipe(O_NONBLOCK));
      let moved = 0;
      let spurious = 0;
      ring.forEach(([r], i) => {
        ctx.addFd(r, FD_READ, () => {
          const v = n.readByte(r);
          if (v < 0 || v === 256) {
            spurious++;
            return;
          }
          assert.equal(n.writeByte(ring[(i + 1) % size]![1], v), 1);
          moved++;
        });
      });
      write1(ring[0]![1]);
      for (let k = 0; k < 5000; k++) assert.equal(ctx.loopOnce(0), true, `event ${k} of ring ${size}`);
      assert.equal(spurious, 0, `ring ${size}: ${spurious} spurious calls`);
      assert.equal(moved, 5000);
    }
  });

  it('13: busy fds do not starve a timer (never early, < 50 ms late)', () => {
    const ctx = ctxOf(b);
    for (let i = 0; i < 8; i++) {
      const [s0] = socketpair();
      ctx.addFd(s0, FD_WRITE, () => {});
    }
    const t0 = performance.now();
    let at = -1;
    ctx.addTimer(30, () => (at = performance.now() - t0));
    while (at < 0) ctx.loopOnce();
    assert.ok(at >= 30 && at < 80, `fired after ${at} ms`);
  });

  it('14: hangup is reported as READ and read() returns EOF', () => {
    const ctx = ctxOf(b);
    const [s0, s1] = socketpair();
    let eof = false;
    ctx.addFd(s0, FD_READ, (f, flags) => {
      assert.equal(flags, FD_READ);
      eof = n.readByte(s0) === 256;
      f.free();
    });
    n.close(s1);
    ctx.loopOnce();
    assert.equal(eof, true);
  });

  it('15, 16: FD_ERROR gets READ|WRITE|ERROR on hangup; WRITE-only fdes lose WRITE silently', () => {
    const ctx = ctxOf(b);
    const [s0, s1] = socketpair();
    const got: number[] = [];
    const errFde = ctx.addFd(s1, FD_READ | FD_WRITE | FD_ERROR, (_f, flags) => got.push(flags));
    const wOnly = ctx.addFd(s1, FD_WRITE, () => assert.fail('WRITE-only fde called on hangup'));
    n.close(s0);
    spin(ctx, 4);
    assert.ok(got.length >= 2);
    assert.ok(got.every((f) => f === (FD_READ | FD_WRITE | FD_ERROR)), `flags ${got}`);
    assert.equal(wOnly.getFlags(), 0);
    errFde.free();
  });

  it('19: freeing an fde inside its own handler detaches it at once', () => {
    const ctx = ctxOf(b);
    const [r, w] = pipe();
    write1(w);
    let calls = 0;
    ctx.addFd(r, FD_READ, (f: FdEvent) => {
      calls++;
      f.free();
      assert.equal(f.freed, true);
    });
    spin(ctx, 3);
    assert.equal(calls, 1);
  });
});
