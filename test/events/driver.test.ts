// Drivers: the attached driver lives beside Node's own I/O; the standalone
// driver blocks in the backend; backend selection and fault injection.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createEventContext, FD_READ, FD_WRITE } from '../../src/events/index.js';
import { prepNop } from '../../src/uring/ops/nop.js';
import { ctxOf, it, n, perBackend, perBackendDriver, pipe, sleepMs, write1 } from './helpers.js';

perBackend('attached driver', (b) => {
  it('fd events run from Node\'s loop beside setTimeout and promises, without loopWait', async () => {
    const ctx = ctxOf(b, 'node');
    const [r, w] = pipe();
    const got: number[] = [];
    const fde = ctx.addFd(r, FD_READ, () => got.push(n.readByte(r)));
    setTimeout(() => write1(w, 1), 5);
    setTimeout(() => write1(w, 2), 15);
    await sleepMs(40);
    assert.deepEqual(got, [1, 2]);
    fde.free();
  });

  it('two attached contexts watching one fd both get READ', async () => {
    const a = ctxOf(b, 'node');
    const c = ctxOf(b, 'node');
    const [r, w] = pipe();
    let x = 0;
    let y = 0;
    const fa = a.addFd(r, FD_READ, (f) => {
      x++;
      f.free();
    });
    const fc = c.addFd(r, FD_READ, (f) => {
      y++;
      f.free();
    });
    write1(w);
    await sleepMs(20);
    assert.deepEqual([x, y], [1, 1]);
    assert.ok(fa.freed && fc.freed);
  });

  it('a submission the kernel refuses (io_uring_enter fails) is reported through onError, and the loop goes on', { skip: b === 'poll' || b === 'epoll' ? 'no ring' : false }, async () => {
    const ctx = ctxOf(b, 'node');
    const seen: { err: unknown; site: string }[] = [];
    ctx.onError = (err, ev) => void seen.push({ err, site: ev.site });
    const backend = ctx.backend as { flush?: (reap: boolean) => void };
    const real = backend.flush!.bind(backend);
    let fail = true;
    backend.flush = (reap) => {
      if (fail) {
        fail = false;
        throw Object.assign(new Error('io_uring_enter failed: ENOMEM (injected)'), { code: 'ENOMEM' });
      }
      real(reap);
    };
    const got: string[] = [];
    ctx.addImmediate(() => got.push('first'));
    await sleepMs(10);
    assert.equal(seen.length, 1, 'reported once');
    assert.match(String((seen[0]!.err as Error).message), /ENOMEM/);
    assert.match(seen[0]!.site, /attached driver/);
    ctx.addTimer(5, () => got.push('timer'));
    await sleepMs(30);
    assert.deepEqual(got, ['first', 'timer'], 'events still run');
  });

  it('timers and immediates fire from Node\'s loop', async () => {
    const ctx = ctxOf(b, 'node');
    const got: string[] = [];
    ctx.addTimer(10, () => got.push('timer'));
    ctx.addImmediate(() => got.push('immediate'));
    await sleepMs(30);
    assert.deepEqual(got, ['immediate', 'timer']);
  });

  it('ring ops that finish at submission are dispatched before Node\'s loop turns, yet a long chain of them yields to it', { skip: b === 'poll' || b === 'epoll' ? 'no ring' : false }, async () => {
    const ctx = ctxOf(b, 'node');
    const ring = ctx.ring!;
    // One op from a promise continuation: its completion is there when the submission returns.
    let one = false;
    await Promise.resolve();
    ring.submit(prepNop(ring, () => (one = true)));
    for (let i = 0; i < 20 && !one; i++) await null;
    assert.equal(one, true, 'done within the promise jobs that follow the submission');
    // A chain where each completion submits the next: Node's own callbacks still get their turn.
    let count = 0;
    let atImmediate = -1;
    const chainDone = new Promise<void>((res) => {
      const next = (): void => {
        if (++count === 2000) return res();
        ring.submit(prepNop(ring, next));
      };
      ring.submit(prepNop(ring, next));
    });
    setImmediate(() => (atImmediate = count));
    await chainDone;
    assert.ok(atImmediate >= 0 && atImmediate < 2000, `setImmediate ran in the middle of the chain (at ${atImmediate})`);
  });

  it('an idle context does not keep the process alive', () => {
    const script = `
      import { createEventContext, FD_READ } from ${JSON.stringify(new URL('../../src/events/index.js', import.meta.url).href)};
      const ctx = createEventContext({ backend: ${JSON.stringify(b)}, driver: 'node' });
      const [r] = (await import(${JSON.stringify(new URL('../../src/native.js', import.meta.url).href)})).requireNative().pipe2(0);
      ctx.addFd(r, 0, () => {});
      setTimeout(() => {}, 10);
    `;
    const t0 = performance.now();
    const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 5000 });
    assert.equal(res.status, 0, String(res.stderr));
    assert.ok(performance.now() - t0 < 4000);
  });
});

perBackendDriver('drivers', (b, d) => {
  it('speed1 shape: read and write handlers alternate, 2 iterations per read', async () => {
    const ctx = ctxOf(b, d);
    const [r, w] = pipe();
    let reads = 0;
    let writes = 0;
    ctx.addFd(r, FD_READ, () => {
      n.readByte(r);
      if (++reads === 1000) ctx.close();
    });
    ctx.addFd(w, FD_WRITE, () => {
      write1(w);
      writes++;
    });
    await ctx.loopWait();
    assert.equal(reads, 1000);
    assert.ok(writes >= 1000 && writes <= 1001, `writes ${writes}`);
  });
});

describe('backend selection', () => {
  const self = fileURLToPath(import.meta.url);
  it('auto takes the first backend that works; RINGSMB_EVENTS_FAIL forces the fallback', () => {
    const name = (fail: string): string => {
      const r = spawnSync(process.execPath, [self], { env: { ...process.env, RINGSMB_EVENTS_FAIL: fail, EVENTS_PRINT_BACKEND: '1' } });
      return String(r.stdout).trim();
    };
    assert.equal(name('uring,epoll'), 'poll');
    const viaEpoll = name('uring');
    assert.equal(viaEpoll, 'epoll');
    assert.equal(name('uring,epoll-wait'), 'poll', 'run-time failure of epoll falls back to poll');
  });

  it('an explicit backend that fails throws', () => {
    process.env.RINGSMB_EVENTS_FAIL = 'epoll';
    try {
      assert.throws(() => createEventContext({ backend: 'epoll' }), { code: 'ENOSYS' });
    } finally {
      delete process.env.RINGSMB_EVENTS_FAIL;
    }
  });
});

if (process.env.EVENTS_PRINT_BACKEND) {
  // Child mode for the selection test: run one event through 'auto', print the backend.
  const ctx = createEventContext({ backend: 'auto', driver: 'standalone' });
  const [r, w] = pipe();
  write1(w);
  let ok = false;
  ctx.addFd(r, FD_READ, (f) => {
    n.readByte(r);
    ok = true;
    f.free();
  });
  while (!ok) ctx.loopOnce();
  process.stdout.write(ctx.backendName + '\n');
  ctx.close();
  process.exit(0);
}

perBackendDriver('ctx.ring', (b, d) => {
  it('other layers\' io_uring ops complete on the same loop; loopWait waits for them', async () => {
    const ctx = ctxOf(b, d);
    if (b === 'poll' || b === 'epoll') {
      assert.equal(ctx.ring, null);
      return;
    }
    const ring = ctx.ring!;
    const { Op } = await import('../../src/uring/op.js');
    const { OP } = await import('../../src/uring/constants.js');
    const [r, w] = pipe();
    const mem = n.allocBuffer(4096);
    assert.notEqual(typeof mem, 'number');
    const { address, buffer } = mem as { address: number; buffer: ArrayBuffer };
    let got = -1;
    const op = new Op(OP.READ, (err, res) => {
      assert.equal(err, null);
      got = res === 1 ? new Uint8Array(buffer)[0]! : -2;
    });
    op.fd = r;
    op.addr = address;
    op.len = 1;
    ring.submit(op);
    let fdCalls = 0;
    const [r2, w2] = pipe();
    write1(w2);
    ctx.addFd(r2, FD_READ, (f) => {
      fdCalls++;
      n.readByte(r2);
      f.free();
    });
    // The standalone driver blocks Node's timers while it waits: write at once there.
    if (d === 'standalone') write1(w, 77);
    else setTimeout(() => write1(w, 77), 20);
    await ctx.loopWait();
    assert.equal(got, 77);
    assert.equal(fdCalls, 1);
  });
});
