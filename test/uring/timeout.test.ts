// TIMEOUT, LINK_TIMEOUT, TIMEOUT_REMOVE.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { SystemError } from '../../src/util/errors.js';
import { prepTimeout, prepTimeoutRemove, submitWithTimeout, timeout, timeoutRemove } from '../../src/uring/ops/timeout.js';
import { prepNop } from '../../src/uring/ops/nop.js';
import { prepRead } from '../../src/uring/ops/rw.js';
import { cleanup, drive, needs, pipe, ring, spinUntil } from './helpers.js';

describe('timeout', () => {
  afterEach(cleanup);

  it('TIMEOUT expires after its duration', { skip: needs('TIMEOUT') }, async () => {
    const r = ring();
    const t0 = performance.now();
    assert.equal(await drive(r, timeout(r, 30e6)), true);
    const dt = performance.now() - t0;
    assert.ok(dt >= 29 && dt < 200, `took ${dt} ms`);
    assert.equal(r.arena.allocated, 0);
  });

  it('TIMEOUT with count completes (not expired) after that many completions', { skip: needs('TIMEOUT', 'NOP') }, () => {
    const r = ring();
    let expired: boolean | null = null;
    r.submit(prepTimeout(r, 10e9, (e, x) => (expired = e ? null : x), { count: 2 }));
    r.submit(prepNop(r));
    r.submit(prepNop(r));
    spinUntil(r, () => expired !== null, 2000);
    assert.equal(expired, false);
  });

  it('LINK_TIMEOUT cancels a READ that does not finish in time', { skip: needs('LINK_TIMEOUT', 'READ') }, () => {
    const r = ring();
    const [rd] = pipe();
    let readErr: SystemError | null = null;
    let ltRes = 0;
    const op = prepRead(r, rd, Buffer.alloc(1), -1, (e) => (readErr = e));
    const lt = submitWithTimeout(r, op, 20e6, (e) => (ltRes = e ? -e.errno : 0));
    spinUntil(r, () => op.done && lt.done);
    assert.equal((readErr as SystemError | null)?.code, 'ECANCELED');
    assert.equal(ltRes, -62 /* ETIME */);
  });

  it('TIMEOUT_REMOVE cancels a pending timeout', { skip: needs('TIMEOUT', 'TIMEOUT_REMOVE') }, async () => {
    const r = ring();
    let code = '';
    const t = prepTimeout(r, 10e9, (e) => (code = e?.code ?? 'ok'));
    r.submit(t);
    assert.equal(await drive(r, timeoutRemove(r, t)), 0);
    spinUntil(r, () => t.done);
    assert.equal(code, 'ECANCELED');
    assert.throws(() => prepTimeout(r, -1), RangeError);
    assert.throws(() => prepTimeout(r, 'x' as never), TypeError);
    assert.throws(() => prepTimeoutRemove(r, prepNop(r)), TypeError);
  });
});
