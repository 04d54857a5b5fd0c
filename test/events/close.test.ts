// Close and lifetime: item 18 (fd3's "off" phase), several contexts on one
// fd, idle contexts, freeing events or the context from handlers, and the
// stale-readiness cases of batching backends (seed 003 §5a).
import assert from 'node:assert/strict';
import { FD_READ, FD_WRITE, watchersOf, type FdEvent } from '../../src/events/index.js';
import { ctxOf, isOpen, it, n, perBackend, pipe, socketpair, spin, write1 } from './helpers.js';

/** Non-blocking: does fd report hangup (POLLHUP or POLLRDHUP) right now? */
function peerSeesHangup(fd: number): boolean {
  return (n.pollOne(fd, 0x2001) & 0x2010) !== 0;
}

perBackend('close and lifetime', (b) => {
  it('18: auto-close of one fde silences its siblings and the peer sees EOF at once', () => {
    const ctx = ctxOf(b);
    const other = ctxOf(b);
    const [s0, s1] = socketpair();
    write1(s1);
    const calls: string[] = [];
    const sib = ['r', 'w', 'rw'].map((name, i) =>
      ctx.addFd(s0, [FD_READ, FD_WRITE, FD_READ | FD_WRITE][i]!, () => calls.push(name)),
    );
    const closer = ctx.addFd(s0, 0, () => assert.fail('flags 0'));
    closer.setAutoClose();
    other.addFd(s0, FD_READ | FD_WRITE, () => calls.push('other'));
    spin(ctx, 3);
    spin(other, 1);
    assert.equal(watchersOf(s0), 2);
    calls.length = 0;
    closer.free();
    assert.equal(isOpen(s0), false);
    // The peer sees the close at once: EOF, or ECONNRESET since s0 held unread data.
    assert.ok(peerSeesHangup(s1), 'peer sees the hangup at once');
    const v = n.readByte(s1);
    assert.ok(v === 256 || v === -104, `peer read ${v}`);
    assert.equal(watchersOf(s0), 0);
    spin(ctx, 5);
    spin(other, 5);
    assert.deepEqual(calls, []);
    for (const f of sib) f.free(); // freeing silenced fdes is harmless
  });

  it('ctx.closeFd() closes an fd watched by an idle context; the peer sees EOF at once', () => {
    const idle = ctxOf(b);
    const ctx = ctxOf(b);
    const [s0, s1] = socketpair();
    idle.addFd(s0, FD_READ, () => assert.fail('idle context fired'));
    ctx.addFd(s0, FD_READ, () => assert.fail('closed fd fired'));
    // One non-blocking pass each: with io_uring a POLL_ADD on s0 is now pending in the kernel.
    assert.equal(idle.loopOnce(0), false);
    assert.equal(ctx.loopOnce(0), false);
    ctx.closeFd(s0);
    assert.ok(peerSeesHangup(s1), 'peer sees the hangup at once (no pending POLL_ADD holds the file)');
    assert.equal(n.readByte(s1), 256);
    spin(idle, 3);
    spin(ctx, 3);
  });

  it('several contexts watching one fd each get READ', () => {
    const a = ctxOf(b);
    const c = ctxOf(b);
    const [r, w] = pipe();
    write1(w);
    let x = 0;
    let y = 0;
    a.addFd(r, FD_READ, () => x++);
    c.addFd(r, FD_READ, () => y++);
    spin(a, 2);
    spin(c, 3);
    assert.equal(x, 2);
    assert.equal(y, 3);
  });

  it('a handler freeing another ready fde: that fde never runs (stale batch entry)', () => {
    const ctx = ctxOf(b);
    const fdes: FdEvent[] = [];
    const calls: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [r, w] = pipe();
      write1(w);
      fdes.push(ctx.addFd(r, FD_READ, () => {
        calls.push(i);
        for (const f of fdes) if (f !== fdes[i]) f.free();
      }));
    }
    spin(ctx, 6);
    assert.equal(new Set(calls).size, 1, `only one fd may run: ${calls}`);
  });

  it('a freed, closed and reused fd number: the old batch entry never reaches the new fde', () => {
    const ctx = ctxOf(b);
    const fdes: FdEvent[] = [];
    const calls: string[] = [];
    for (let i = 0; i < 3; i++) {
      const [r, w] = pipe();
      write1(w);
      const f = ctx.addFd(r, FD_READ, () => {
        calls.push(`old${i}`);
        for (const g of fdes) {
          if (g === f || g.freed) continue;
          g.setAutoClose();
          g.free(); // closes its read end: the number is free again
          const [nr] = pipe(); // most likely reuses that number; the new pipe is empty
          ctx.addFd(nr, FD_READ, () => calls.push(`new${nr}`));
        }
        n.readByte(f.fd);
      });
      fdes.push(f);
    }
    spin(ctx, 5);
    assert.equal(calls.length, 1, `calls ${calls}`);
  });

  it('a handler consuming another ready blocking fd: that fd is not called (readiness re-checked)', () => {
    const ctx = ctxOf(b);
    const pipes = [pipe(), pipe(), pipe()];
    for (const [, w] of pipes) write1(w);
    const calls: number[] = [];
    pipes.forEach(([r], i) =>
      ctx.addFd(r, FD_READ, () => {
        calls.push(i);
        // drain every pipe: all the others' readiness is now stale
        for (const [rr] of pipes) if (n.fionread(rr) > 0) assert.equal(n.readByte(rr), 120);
      }),
    );
    spin(ctx, 5);
    assert.equal(calls.length, 1, `calls ${calls}`);
  });

  it('a handler changing another fde\'s flags: the new flags apply at once', () => {
    const ctx = ctxOf(b);
    const [r1, w1] = pipe();
    const [r2, w2] = pipe();
    write1(w1);
    write1(w2);
    const calls: number[] = [];
    let f2 = null as null | ReturnType<typeof ctx.addFd>;
    const f1 = ctx.addFd(r1, FD_READ, () => {
      calls.push(1);
      f2!.setFlags(0);
      f1.setFlags(0);
    });
    f2 = ctx.addFd(r2, FD_READ, () => {
      calls.push(2);
      f1.setFlags(0);
      f2!.setFlags(0);
    });
    spin(ctx, 4);
    assert.equal(calls.length, 1);
  });

  it('closing the context from an fd handler cancels every other event', () => {
    const ctx = ctxOf(b);
    const [r, w] = pipe();
    write1(w);
    let calls = 0;
    const bump = (): void => {
      calls++;
      ctx.close();
    };
    ctx.addFd(r, FD_READ, bump);
    ctx.addFd(w, FD_WRITE, bump);
    const te = ctx.addTimer(5, () => assert.fail('timer after close'));
    ctx.addImmediate(() => {});
    ctx.loopOnce();
    spin(ctx, 1);
    assert.equal(calls, 1);
    assert.equal(ctx.closed, true);
    assert.equal(te.pending, false);
    assert.equal(ctx.loopOnce(), false);
    assert.throws(() => ctx.addImmediate(() => {}), { code: 'EBADF' });
  });
});
