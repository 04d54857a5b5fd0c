// syncCancelFd cancels every request on an fd and delivers the completions before returning (DEFER_TASKRUN included).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ring } from '../../src/uring/ring.js';
import { prepRead } from '../../src/uring/ops/rw.js';
import { prepPollAdd } from '../../src/uring/ops/poll.js';
import { requireNative } from '../../src/native.js';
import { uringAvailability } from '../../src/uring/features.js';

const avail = uringAvailability();
test('syncCancelFd returns and completes every pending op on the fd once, with ECANCELED', { skip: avail.available ? false : avail.reason ?? 'no io_uring' }, () => {
  const n = requireNative();
  const [r, w] = n.pipe2(0) as [number, number];
  const ring = Ring.open({ entries: 8 });
  try {
    const codes: string[] = [];
    ring.submit(prepRead(ring, r, Buffer.alloc(4), -1, (err) => codes.push(err ? err.code : 'ok')));
    ring.submit(prepPollAdd(ring, r, 1, (err) => codes.push(err ? err.code : 'ok')));
    ring.flush();
    assert.equal(ring.inflight, 2);
    ring.syncCancelFd(r);
    assert.deepEqual(codes.sort(), ['ECANCELED', 'ECANCELED']);
    assert.equal(ring.inflight, 0);
    assert.equal(ring.syncCancelFd(r), 0, 'nothing left to cancel');
  } finally {
    ring.close();
    n.close(r);
    n.close(w);
  }
});
