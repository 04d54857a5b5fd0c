// Ring behaviour through the op builders: FIFO when the SQ is full, links, hooks, close, attach, wait timeout, personalities.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { FEAT, OP, SQE } from '../../src/uring/constants.js';
import { SystemError } from '../../src/util/errors.js';
import { Ring } from '../../src/uring/ring.js';
import type { Op } from '../../src/uring/op.js';
import { prepNop, nop } from '../../src/uring/ops/nop.js';
import { prepRead, read } from '../../src/uring/ops/rw.js';
import { prepPollAdd } from '../../src/uring/ops/poll.js';
import { prepOpenat2, O, openat2 } from '../../src/uring/ops/openat2.js';
import { prepClose } from '../../src/uring/ops/close.js';
import { cleanup, drive, fdCount, n, needs, noUring, pipe, ring, tmp } from './helpers.js';

function noCqeSkip(): string | false {
  if (noUring) return noUring;
  const r = Ring.open({ entries: 2 });
  const has = (r.features.featureBits & FEAT.CQE_SKIP) !== 0;
  r.close();
  return has ? false : 'kernel lacks IORING_FEAT_CQE_SKIP';
}

describe('ring', { skip: noUring }, () => {
  afterEach(cleanup);

  it('SQ full: 100 NOPs through a 4-entry SQ drain in submission order', () => {
    const r = ring({ entries: 4, flags: 0 });
    const order: number[] = [];
    for (let i = 0; i < 100; i++) r.submit(prepNop(r, (err) => { assert.equal(err, null); order.push(i); }));
    assert.equal(r.queued, 96);
    while (order.length < 100) r.wait(1, 1e9);
    assert.deepEqual(order, Array.from({ length: 100 }, (_, i) => i));
    assert.equal(r.inflight, 0);
  });

  it('links: a failing first op cancels the linked second with ECANCELED', () => {
    const r = ring();
    const errs: (SystemError | null)[] = [];
    const first = prepOpenat2(r, -100, '/nonexistent/ringsmb', {}, (e) => errs.push(e));
    const second = prepNop(r, (e) => errs.push(e));
    r.submitLinked([first, second]);
    while (errs.length < 2) r.wait(1, 1e9);
    assert.equal(errs[0]?.code, 'ENOENT');
    assert.equal(errs[1]?.code, 'ECANCELED');
    assert.equal(errs[1]?.errno, 125);
  });

  describe('quiet chain members (IOSQE_CQE_SKIP_SUCCESS)', { skip: noCqeSkip() }, () => {
    /** A callback that logs `name:result` (or `name:ERRNO`) into `got`. */
    const log = (got: string[], name: string) => (e: SystemError | null, res: number) => got.push(`${name}:${e?.code ?? res}`);
    /** Submits `members` as one chain and waits until `got` holds `n` lines; returns the CQEs the kernel posted meanwhile. */
    const runChain = (r: Ring, members: Op[], got: string[], n: number): number => {
      const before = r.postedCqes();
      r.submitLinked(members);
      while (got.length < n) r.wait(1, 1e9);
      return r.postedCqes() - before;
    };

    it('a chain that goes through posts one CQE; every callback runs, in chain order, with res = len', () => {
      const r = ring();
      const [rd, wr] = pipe();
      const got: string[] = [];
      const data = Buffer.from('0123456789');
      assert.equal(n.writeSync(wr, data, 0, data.length), 10);
      const a = prepRead(r, rd, Buffer.alloc(4), -1, log(got, 'a'));
      const b = prepRead(r, rd, Buffer.alloc(6), -1, log(got, 'b'));
      const c = prepNop(r, log(got, 'c'));
      a.quiet = b.quiet = true;
      const posted = runChain(r, [a, b, c], got, 3);
      assert.deepEqual(got, ['a:4', 'b:6', 'c:0']);
      assert.equal(posted, 1, 'only the last member posted a CQE');
      assert.equal(r.inflight, 0);
      // Completed silently, a member is free to go again: the same Op, quiet, in a new chain.
      const d = prepNop(r, log(got, 'd'));
      r.submitLinked([b, d]);
      assert.equal(n.writeSync(wr, data, 0, 6), 6);
      while (got.length < 5) r.wait(1, 1e9);
      assert.deepEqual(got.slice(3), ['b:6', 'd:0']);
      assert.equal(r.inflight, 0);
    });

    it('a quiet member that comes up short posts its own CQE; the rest of the chain is cancelled', () => {
      const r = ring();
      const [rd, wr] = pipe();
      // A pipe read returns what is there: 1 byte of the 8 asked for, a short read.
      assert.equal(n.writeSync(wr, Buffer.from('A'), 0, 1), 1);
      const got: string[] = [];
      const a = prepRead(r, rd, Buffer.alloc(8), -1, log(got, 'a'));
      const b = prepNop(r, log(got, 'b'));
      const c = prepNop(r, log(got, 'c'));
      a.quiet = b.quiet = true;
      const posted = runChain(r, [a, b, c], got, 3);
      assert.deepEqual(got, ['a:1', 'b:ECANCELED', 'c:ECANCELED']);
      // The kernel posts the failure only (REQ_F_SKIP_LINK_CQES); the ring cancels the rest itself.
      assert.equal(posted, 1);
      assert.equal(r.inflight, 0);
    });

    it('a chain with a loud member before its last is placed without the flag: every member posts its CQE', () => {
      const r = ring();
      const got: string[] = [];
      const q1 = prepNop(r, log(got, 'q1'));
      const x = prepOpenat2(r, -100, '/nonexistent/ringsmb', {}, log(got, 'x'));
      const q2 = prepNop(r, log(got, 'q2'));
      const y = prepNop(r, log(got, 'y'));
      q1.quiet = q2.quiet = true;
      const posted = runChain(r, [q1, x, q2, y], got, 4);
      assert.deepEqual(got, ['q1:0', 'x:ENOENT', 'q2:ECANCELED', 'y:ECANCELED']);
      assert.equal(posted, 4);
      assert.equal(r.inflight, 0);
    });

    it('a quiet member that fails reports its error, and the members after it ECANCELED', () => {
      const r = ring();
      const got: string[] = [];
      const a = prepOpenat2(r, -100, '/nonexistent/ringsmb', {}, log(got, 'a'));
      const b = prepNop(r, log(got, 'b'));
      a.quiet = true;
      runChain(r, [a, b], got, 2);
      assert.deepEqual(got, ['a:ENOENT', 'b:ECANCELED']);
      assert.equal(r.inflight, 0);
    });

    it('a quiet flag on the last member is ignored: it still posts its CQE', () => {
      const r = ring();
      const got: number[] = [];
      const a = prepNop(r, (_e, res) => got.push(res));
      a.quiet = true;
      r.submitLinked([a]);
      while (got.length < 1) r.wait(1, 1e9);
      assert.deepEqual(got, [0]);
    });
  });

  it('a hook that returns false cancels the submission (ECANCELED, never reaches the kernel)', () => {
    const r = ring();
    let got: SystemError | null | undefined;
    const op = prepNop(r, (e) => (got = e));
    op.hook = (sqe) => {
      assert.equal(sqe.opcode, OP.NOP);
      return false;
    };
    r.submit(op);
    assert.equal(got?.code, 'ECANCELED');
    assert.equal(r.inflight, 0);
  });

  it('closing a ring with ops in flight completes each callback once with ECANCELED, no fd leaks', () => {
    const before = fdCount();
    const r = ring();
    const [rd, wr] = pipe();
    const calls: string[] = [];
    r.submit(prepRead(r, rd, Buffer.alloc(8), -1, (e) => calls.push(`read:${e?.code}`)));
    r.submit(prepPollAdd(r, rd, 1, (e) => calls.push(`poll:${e?.code}`)));
    r.wait(0, 0);
    assert.equal(r.inflight, 2);
    r.close();
    assert.deepEqual(calls.sort(), ['poll:ECANCELED', 'read:ECANCELED']);
    n.close(rd);
    n.close(wr);
    assert.equal(fdCount(), before);
  });

  it('close waits for ops an io-wq worker is running: every fd an OPENAT made reaches its callback', { skip: needs('OPENAT2', 'ASYNC_CANCEL') }, () => {
    // The cancel's completion may come before those of the work it could not
    // stop; forcing the result of such an op to ECANCELED would leave its fd open.
    const dir = tmp();
    writeFileSync(join(dir, 'f'), 'x');
    for (let round = 0; round < 5; round++) {
      const before = fdCount();
      const r = ring({ entries: 256 });
      const fds: number[] = [];
      let settled = 0;
      for (let i = 0; i < 256; i++) {
        const op = prepOpenat2(r, -100, join(dir, 'f'), { flags: O.RDONLY }, (e, fd) => {
          settled++;
          if (!e) fds.push(fd);
        });
        op.flags |= SQE.ASYNC; // straight to an io-wq worker
        r.submit(op);
      }
      r.wait(0, 0);
      r.close();
      assert.equal(settled, 256, 'each op settled once');
      for (const fd of fds) n.close(fd);
      assert.equal(fdCount(), before, `round ${round}: ${fds.length} fds reported, none left behind`);
    }
  });

  it('opening and closing many rings leaks no fd', () => {
    const before = fdCount();
    for (let i = 0; i < 20; i++) {
      const r = ring({ attach: i % 2 === 0 });
      r.submit(prepNop(r));
      r.wait(1, 1e9);
      r.close();
    }
    assert.equal(fdCount(), before);
  });

  it('attached mode resolves promises from Node\'s loop', async () => {
    const r = ring({ attach: true });
    assert.equal(await nop(r), 0);
    const [rd, wr] = pipe();
    const p = read(r, rd, Buffer.alloc(4), -1);
    setTimeout(() => n.writeSync(wr, Buffer.from('abcd'), 0, 4), 10);
    assert.equal(await p, 4);
  });

  it('submitLazy: no flush of its own; goes with the next op\'s flush, or alone from the check phase', async () => {
    const r = ring({ attach: true });
    const done: string[] = [];
    r.submitLazy(prepNop(r, () => done.push('lazy1')));
    await Promise.resolve();
    await Promise.resolve();
    assert.equal(done.length, 0, 'not submitted by a microtask');
    await new Promise((res) => setImmediate(res));
    await new Promise((res) => setImmediate(res));
    assert.deepEqual(done, ['lazy1'], 'submitted from the check phase');
    r.submitLazy(prepNop(r, () => done.push('lazy2')));
    await nop(r);
    assert.deepEqual(done, ['lazy1', 'lazy2'], 'went to the kernel with the next op, ahead of it');
  });

  it('wait(1, 50 ms) returns after 50 ms, not 100', () => {
    const r = ring();
    const [rd] = pipe();
    r.submit(prepRead(r, rd, Buffer.alloc(1), -1));
    r.wait(0, 0);
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = process.hrtime.bigint();
      assert.equal(r.wait(1, 50e6), 0);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const med = times.sort((a, b) => a - b)[1]!;
    assert.ok(med >= 49 && med < 60, `waited ${times.join(', ')} ms`);
  });

  it('promise helpers throw TypeError/RangeError synchronously', () => {
    const r = ring();
    assert.throws(() => read(r, 'x' as never, Buffer.alloc(1), 0), TypeError);
    assert.throws(() => read(r, -2, Buffer.alloc(1), 0), RangeError);
    assert.throws(() => read(r, 0, 'buf' as never, 0), TypeError);
    assert.throws(() => read(r, 0, Buffer.alloc(1), -5), RangeError);
    assert.throws(() => openat2(r, -100, 'a\0b'), TypeError);
    assert.equal(r.inflight, 0);
  });

  it('personality: OPENAT2 of a root-only 0600 file as nobody fails with EACCES', { skip: process.getuid?.() !== 0 ? 'needs root to register another user\'s credentials' : needs('OPENAT2') }, async () => {
    const r = ring();
    const d = tmp();
    const f = join(d, 'secret');
    writeFileSync(f, 'x');
    chmodSync(f, 0o600);
    chmodSync(d, 0o755);
    const asRoot = await drive(r, openat2(r, -100, f));
    r.submit(prepClose(r, asRoot));
    const id = r.registerPersonalityAs(65534, 65534);
    await assert.rejects(drive(r, openat2(r, -100, f, { flags: O.RDONLY, personality: id })), (e: SystemError) => e.code === 'EACCES' && e.errno === 13);
    r.unregisterPersonality(id);
  });
});
