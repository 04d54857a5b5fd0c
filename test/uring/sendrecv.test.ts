// SEND/RECV on socketpairs, and multishot RECV with a provided buffer ring.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { MSG } from '../../src/uring/constants.js';
import { BufRing } from '../../src/uring/buffers.js';
import { prepRecvMultishot, recv, send } from '../../src/uring/ops/sendrecv.js';
import { cleanup, drive, n, needs, ring, socketpair, spinUntil } from './helpers.js';

describe('send/recv', () => {
  afterEach(cleanup);

  it('SEND then RECV, and MSG_WAITALL waits for the whole buffer', { skip: needs('SEND', 'RECV') }, async () => {
    const r = ring();
    const [a, b] = socketpair();
    assert.equal(await drive(r, send(r, a, Buffer.from('hello'))), 5);
    const buf = Buffer.alloc(10);
    assert.equal(await drive(r, recv(r, b, buf)), 5);
    assert.equal(buf.toString('utf8', 0, 5), 'hello');
    const p = recv(r, b, buf, { flags: MSG.WAITALL });
    r.wait(0, 0);
    n.writeSync(a, Buffer.from('12345'), 0, 5);
    r.wait(0, 10e6);
    n.writeSync(a, Buffer.from('67890'), 0, 5);
    assert.equal(await drive(r, p), 10);
    assert.equal(buf.toString(), '1234567890');
  });

  it('multishot RECV delivers several CQEs with buffer ids and views, no copy', { skip: needs('RECV') }, () => {
    const r = ring();
    const [a, b] = socketpair();
    const br = BufRing.register(r, { bgid: 1, entries: 4, size: 64 });
    const seen: { bid: number; text: string; more: boolean; ours: boolean }[] = [];
    const op = prepRecvMultishot(r, b, br, (err, bid, len, more, view) => {
      assert.equal(err, null);
      if (view) seen.push({ bid, text: view.toString('utf8', 0, len), more, ours: view.buffer === br.memory.buffer });
      else seen.push({ bid, text: '', more, ours: false });
      if (bid >= 0) br.recycle(bid);
    });
    r.submit(op);
    for (const s of ['one', 'two', 'three']) {
      n.writeSync(a, Buffer.from(s), 0, s.length);
      const k = seen.length;
      spinUntil(r, () => seen.length > k);
    }
    assert.deepEqual(seen.map((s) => s.text), ['one', 'two', 'three']);
    assert.ok(seen.every((s) => s.more && s.ours && s.bid >= 0 && s.bid < 4));
    n.close(a);
    spinUntil(r, () => op.done);
    const last = seen[seen.length - 1]!;
    assert.equal(last.more, false);
    assert.equal(last.text, '');
    br.dispose();
  });

  it('multishot RECV ends with ENOBUFS when the buffer ring runs dry', { skip: needs('RECV') }, () => {
    const r = ring();
    const [a, b] = socketpair();
    const br = BufRing.register(r, { bgid: 2, entries: 2, size: 4 });
    const errs: string[] = [];
    let count = 0;
    const op = prepRecvMultishot(r, b, br, (err) => (err ? errs.push(err.code) : count++));
    r.submit(op);
    n.writeSync(a, Buffer.from('abcdefghijkl'), 0, 12);
    spinUntil(r, () => op.done);
    assert.equal(count, 2);
    assert.deepEqual(errs, ['ENOBUFS']);
    br.dispose();
  });
});
