// NOP: promise and callback forms, Op reuse.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { nop, prepNop } from '../../src/uring/ops/nop.js';
import { cleanup, drive, needs, ring } from './helpers.js';

describe('nop', () => {
  afterEach(cleanup);
  it('completes with 0; one Op resubmitted 1000 times', { skip: needs('NOP') }, async () => {
    const r = ring({ entries: 8 });
    assert.equal(await drive(r, nop(r)), 0);
    let count = 0;
    const op = prepNop(r, (e, res) => {
      assert.equal(e, null);
      assert.equal(res, 0);
      count++;
    });
    for (let i = 0; i < 1000; i++) {
      r.submit(op);
      r.wait(1, 1e9);
    }
    assert.equal(count, 1000);
    assert.equal(r.stale, 0);
    assert.throws(() => prepNop(r, 42 as never), TypeError);
  });
});
