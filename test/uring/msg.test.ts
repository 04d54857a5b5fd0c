// SENDMSG/RECVMSG with iovecs in arena memory.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { MSG } from '../../src/uring/constants.js';
import { recvmsg, sendmsg, prepSendmsg } from '../../src/uring/ops/msg.js';
import { cleanup, drive, n, needs, ring, socketpair } from './helpers.js';

describe('sendmsg/recvmsg', () => {
  afterEach(cleanup);
  it('gathers on send and scatters on receive with MSG_WAITALL', { skip: needs('SENDMSG', 'RECVMSG') }, async () => {
    const r = ring();
    const [a, b] = socketpair();
    const x = Buffer.alloc(3);
    const y = Buffer.alloc(6);
    const p = recvmsg(r, b, [x, y], { flags: MSG.WAITALL });
    r.wait(0, 0);
    assert.equal(await drive(r, sendmsg(r, a, [Buffer.from('abcd')])), 4);
    r.wait(0, 5e6);
    n.writeSync(a, Buffer.from('efghi'), 0, 5);
    assert.equal(await drive(r, p), 9);
    assert.equal(x.toString() + y.toString(), 'abcdefghi');
    assert.equal(r.arena.allocated, 0);
    assert.throws(() => prepSendmsg(r, a, []), RangeError);
    assert.throws(() => prepSendmsg(r, a, [1 as never]), TypeError);
  });
});
