// POLL_ADD one-shot and multishot, POLL_REMOVE by target.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { POLL } from '../../src/uring/constants.js';
import { pollAdd, pollRemove, prepPollAdd, prepPollMultishot } from '../../src/uring/ops/poll.js';
import { cleanup, drive, n, needs, pipe, ring, socketpair, spinUntil } from './helpers.js';

describe('poll', () => {
  afterEach(cleanup);

  it('one-shot POLL_ADD reports POLLIN once data arrives', { skip: needs('POLL_ADD') }, async () => {
    const r = ring();
    const [rd, wr] = pipe();
    const p = pollAdd(r, rd, POLL.IN);
    r.wait(0, 0);
    n.writeSync(wr, Buffer.from('x'), 0, 1);
    assert.equal((await drive(r, p)) & POLL.IN, POLL.IN);
  });

  it('multishot POLL_ADD delivers several CQEs with F_MORE', { skip: needs('POLL_ADD', 'POLL_REMOVE') }, async () => {
    const r = ring();
    const [a, b] = socketpair();
    const got: boolean[] = [];
    const errs: string[] = [];
    const op = prepPollMultishot(r, b, POLL.IN, (err, ev, more) => {
      if (err) return void errs.push(err.code);
      assert.equal(ev & POLL.IN, POLL.IN);
      got.push(more);
    });
    r.submit(op);
    const one = Buffer.alloc(1);
    for (let i = 0; i < 3; i++) {
      n.writeSync(a, one, 0, 1);
      const k = got.length;
      spinUntil(r, () => got.length > k);
      n.readSync(b, one, 0, 1);
    }
    assert.ok(got.length >= 3 && got.every((m) => m));
    assert.equal(op.done, false, 'still armed');
    assert.equal(await drive(r, pollRemove(r, op)), 0);
    spinUntil(r, () => op.done);
    assert.deepEqual(errs, ['ECANCELED']);
  });

  it('POLL_REMOVE cancels a pending poll with ECANCELED', { skip: needs('POLL_ADD', 'POLL_REMOVE') }, async () => {
    const r = ring();
    const [rd] = pipe();
    let code = '';
    const op = prepPollAdd(r, rd, POLL.IN, (e) => (code = e?.code ?? 'ok'));
    r.submit(op);
    assert.equal(await drive(r, pollRemove(r, op)), 0);
    spinUntil(r, () => op.done);
    assert.equal(code, 'ECANCELED');
    await assert.rejects(drive(r, pollRemove(r, op)), (e: Error & { code: string }) => e.code === 'ENOENT');
    assert.throws(() => prepPollAdd(r, rd, -1), RangeError);
  });
});
