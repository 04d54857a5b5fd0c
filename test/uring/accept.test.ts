// SOCKET + CONNECT to a loopback listener, ACCEPT one-shot and multishot.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import net from 'node:net';
import type { SystemError } from '../../src/util/errors.js';
import { accept, prepAcceptMultishot } from '../../src/uring/ops/accept.js';
import { connect, prepConnect, sockaddr } from '../../src/uring/ops/connect.js';
import { AF, SOCK, socket } from '../../src/uring/ops/socket.js';
import { recv, send } from '../../src/uring/ops/sendrecv.js';
import { cleanup, drive, isOpen, listenFd, n, needs, ring, spinUntil, track } from './helpers.js';

describe('socket/connect/accept', () => {
  afterEach(cleanup);

  it('sockaddr builds sockaddr_in and sockaddr_in6', () => {
    assert.deepEqual([...sockaddr('127.0.0.1', 445)], [2, 0, 1, 189, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    const s6 = sockaddr('::1', 8080);
    assert.equal(s6.length, 28);
    assert.equal(s6.readUInt16LE(0), 10);
    assert.equal(s6.readUInt16BE(2), 8080);
    assert.equal(s6[23], 1);
    assert.deepEqual([...sockaddr('fe80::1:2%3', 1).subarray(8, 28)], [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 3, 0, 0, 0]);
    assert.deepEqual([...sockaddr('::ffff:1.2.3.4', 1).subarray(18, 24)], [0xff, 0xff, 1, 2, 3, 4]);
    assert.throws(() => sockaddr('localhost', 1), TypeError);
    assert.throws(() => sockaddr('1.2.3.4', 70000), RangeError);
  });

  it('CONNECT to a node:net server, then SEND', { skip: needs('SOCKET', 'CONNECT', 'SEND') }, async () => {
    const r = ring({ attach: true });
    const got: Buffer[] = [];
    const srv = net.createServer((c) => c.on('data', (d) => got.push(d)));
    await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
    try {
      const port = (srv.address() as net.AddressInfo).port;
      const fd = track(await socket(r, AF.INET, SOCK.STREAM));
      assert.equal(await connect(r, fd, '127.0.0.1', port), 0);
      assert.equal(await send(r, fd, Buffer.from('over uring')), 10);
      for (let i = 0; i < 100 && Buffer.concat(got).length < 10; i++) await new Promise((res) => setTimeout(res, 5));
      assert.equal(Buffer.concat(got).toString(), 'over uring');
      n.close(fd);
    } finally {
      srv.close();
    }
  });

  it('CONNECT to a closed port fails with ECONNREFUSED', { skip: needs('SOCKET', 'CONNECT') }, async () => {
    const r = ring();
    const { fd: l, port } = await listenFd();
    n.close(l);
    const fd = track(await drive(r, socket(r, AF.INET, SOCK.STREAM)));
    await assert.rejects(drive(r, connect(r, fd, '127.0.0.1', port)), (e: SystemError) => e.code === 'ECONNREFUSED');
    assert.equal(r.arena.allocated, 0);
    assert.throws(() => prepConnect(r, fd, 'nohost', 1), TypeError);
  });

  it('one-shot ACCEPT returns a connected fd', { skip: needs('SOCKET', 'CONNECT', 'ACCEPT', 'RECV', 'SEND') }, async () => {
    const r = ring();
    const { fd: l, port } = await listenFd();
    const pa = accept(r, l);
    const c = track(await drive(r, socket(r, AF.INET, SOCK.STREAM)));
    await drive(r, connect(r, c, '127.0.0.1', port));
    const s = track(await drive(r, pa));
    assert.ok(isOpen(s));
    await drive(r, send(r, c, Buffer.from('ping')));
    const b = Buffer.alloc(4);
    assert.equal(await drive(r, recv(r, s, b)), 4);
    assert.equal(b.toString(), 'ping');
  });

  it('multishot ACCEPT delivers one CQE per connection with F_MORE', { skip: needs('SOCKET', 'CONNECT', 'ACCEPT') }, async () => {
    const r = ring();
    const { fd: l, port } = await listenFd();
    const fds: number[] = [];
    const mores: boolean[] = [];
    const op = prepAcceptMultishot(r, l, (err, fd, more) => {
      if (!err) fds.push(track(fd));
      mores.push(more);
    });
    r.submit(op);
    for (let i = 0; i < 3; i++) {
      const c = track(await drive(r, socket(r, AF.INET, SOCK.STREAM)));
      await drive(r, connect(r, c, '127.0.0.1', port));
    }
    spinUntil(r, () => fds.length === 3);
    assert.deepEqual(mores, [true, true, true]);
    assert.equal(new Set(fds).size, 3);
    r.cancel(op);
    spinUntil(r, () => op.done);
    assert.equal(mores[mores.length - 1], false);
  });
});
