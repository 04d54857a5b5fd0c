// ASYNC_CANCEL by op, by fd, all.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { SystemError } from '../../src/util/errors.js';
import { cancel, cancelAll, cancelFd, prepCancel } from '../../src/uring/ops/cancel.js';
import { prepRead } from '../../src/uring/ops/rw.js';
import { POLL } from '../../src/uring/constants.js';
import { prepPollAdd } from '../../src/uring/ops/poll.js';
import { cleanup, drive, needs, pipe, ring, spinUntil } from './helpers.js';

describe('async_cancel', () => {
  afterEach(cleanup);

  it('by op: the READ completes with ECANCELED; a finished op gives ENOENT', { skip: needs('ASYNC_CANCEL', 'READ') }, async () => {
    const r = ring();
    const [rd] = pipe();
    let code = '';
    const op = prepRead(r, rd, Buffer.alloc(1), -1, (e) => (code = e?.code ?? 'ok'));
    r.submit(op);
    assert.equal(await drive(r, cancel(r, op)), 0);
    spinUntil(r, () => op.done);
    assert.equal(code, 'ECANCELED');
    await assert.rejects(drive(r, cancel(r, op)), (e: SystemError) => e.code === 'ENOENT');
    assert.throws(() => prepCancel(r, {} as never), TypeError);
  });

  it('by fd and all: counts what was cancelled', { skip: needs('ASYNC_CANCEL', 'READ', 'POLL_ADD') }, async () => {
    const r = ring();
    const [a] = pipe();
    const [b] = pipe();
    const codes: string[] = [];
    const cb = (e: SystemError | null): void => void codes.push(e?.code ?? 'ok');
    r.submit(prepRead(r, a, Buffer.alloc(1), -1, cb));
    r.submit(prepPollAdd(r, a, POLL.IN, cb));
    r.submit(prepRead(r, b, Buffer.alloc(1), -1, cb));
    r.wait(0, 0);
    assert.equal(await drive(r, cancelFd(r, a)), 2);
    spinUntil(r, () => codes.length === 2);
    assert.equal(await drive(r, cancelAll(r)), 1);
    spinUntil(r, () => codes.length === 3);
    assert.deepEqual(codes, ['ECANCELED', 'ECANCELED', 'ECANCELED']);
    assert.equal(await drive(r, cancelAll(r)), 0, 'nothing left to cancel');
  });
});
