// SEND_ZC and SENDMSG_ZC: result CQE with F_MORE, then the F_NOTIF notification.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { prepSendZc, prepSendmsgZc, sendZc } from '../../src/uring/ops/zc.js';
import { accept } from '../../src/uring/ops/accept.js';
import { connect } from '../../src/uring/ops/connect.js';
import { AF, SOCK, socket } from '../../src/uring/ops/socket.js';
import { recv } from '../../src/uring/ops/sendrecv.js';
import type { Ring } from '../../src/uring/ring.js';
import { cleanup, drive, listenFd, needs, ring, spinUntil, track } from './helpers.js';

async function tcpPair(r: Ring): Promise<[number, number]> {
  const { fd: l, port } = await listenFd();
  const pa = accept(r, l);
  const c = track(await drive(r, socket(r, AF.INET, SOCK.STREAM)));
  await drive(r, connect(r, c, '127.0.0.1', port));
  return [c, track(await drive(r, pa))];
}

describe('send_zc', () => {
  afterEach(cleanup);

  it('SEND_ZC: result then notification; the buffer stays referenced until the notification', { skip: needs('SEND_ZC', 'SOCKET', 'CONNECT', 'ACCEPT', 'RECV') }, async () => {
    const r = ring();
    const [c, s] = await tcpPair(r);
    const buf = Buffer.from('zero copy payload');
    const events: string[] = [];
    let keptAtResult: unknown = null;
    let copied: boolean | null = null;
    const op = prepSendZc(r, c, buf, (err, res, notif, more, cp) => {
      assert.equal(err, null);
      if (!notif) {
        events.push(`result:${res}:${more}`);
        keptAtResult = op.keep;
      } else {
        events.push('notif');
        copied = cp;
      }
    }, { reportUsage: true });
    r.submit(op);
    spinUntil(r, () => op.done);
    assert.deepEqual(events, [`result:${buf.length}:true`, 'notif']);
    assert.equal(keptAtResult, buf, 'buffer referenced between result and notification');
    assert.equal(op.keep, null, 'released after the notification');
    assert.equal(copied, true, 'loopback copies, and REPORT_USAGE says so');
    const out = Buffer.alloc(buf.length);
    assert.equal(await drive(r, recv(r, s, out)), buf.length);
    assert.equal(out.toString(), 'zero copy payload');
    assert.equal(await drive(r, sendZc(r, c, Buffer.from('again'))), 5);
  });

  it('SENDMSG_ZC with two iovecs', { skip: needs('SENDMSG_ZC', 'SOCKET', 'CONNECT', 'ACCEPT', 'RECV') }, async () => {
    const r = ring();
    const [c, s] = await tcpPair(r);
    const seen: boolean[] = [];
    const op = prepSendmsgZc(r, c, [Buffer.from('ab'), Buffer.from('cd')], (err, _res, notif) => {
      assert.equal(err, null);
      seen.push(notif);
    });
    r.submit(op);
    spinUntil(r, () => op.done);
    assert.deepEqual(seen, [false, true]);
    const out = Buffer.alloc(4);
    assert.equal(await drive(r, recv(r, s, out)), 4);
    assert.equal(out.toString(), 'abcd');
    assert.equal(r.arena.allocated, 0);
    assert.throws(() => prepSendZc(r, c, Buffer.alloc(1), undefined as never), TypeError);
  });
});
