/**
 * The io_uring transport against real sockets: framing, ordering, the
 * spliced file send (including a file that shrinks under it), a client
 * that vanishes mid-send, and no fd left behind.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { randomBytes, createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync, appendFileSync, openSync, closeSync, ftruncateSync, readdirSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEventContext, type EventContext } from '../../src/events/index.js';
import { createUringTransport, type UringTransport, type UringTransportOptions } from '../../src/transport/uring.js';
import type { Listener, TransportConnection } from '../../src/transport/types.js';
import { uringAvailability } from '../../src/uring/features.js';
import { startServer, smbclient, smbclientPath } from '../interop/harness.js';

const avail = uringAvailability();
const skip = avail.available ? false : `io_uring unavailable: ${avail.reason}`;

function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Reads direct-TCP frames from a socket. */
class FrameReader {
  private buf = Buffer.alloc(0);
  private waiters: ((f: Buffer | null) => void)[] = [];
  private frames: Buffer[] = [];
  closed = false;
  constructor(readonly sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (;;) {
        if (this.buf.length < 4) break;
        const len = this.buf.readUInt32BE(0) & 0xffffff;
        if (this.buf.length < 4 + len) break;
        this.push(this.buf.subarray(4, 4 + len));
        this.buf = this.buf.subarray(4 + len);
      }
    });
    sock.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w(null);
    });
    sock.on('error', () => {});
  }
  private push(f: Buffer): void {
    const w = this.waiters.shift();
    if (w) w(f);
    else this.frames.push(f);
  }
  next(): Promise<Buffer | null> {
    const f = this.frames.shift();
    if (f) return Promise.resolve(f);
    if (this.closed) return Promise.resolve(null);
    return new Promise((r) => this.waiters.push(r));
  }
}

function frame(payload: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(payload.length, 0);
  return Buffer.concat([h, payload]);
}

describe('transport/uring', { skip }, () => {
  let ctx: EventContext;
  let t: UringTransport;
  let listener: Listener;
  let dir: string;
  const logs: string[] = [];
  let onConn: (c: TransportConnection) => void = () => {};
  let fdsBefore = 0;

  before(async () => {
    fdsBefore = fdCount();
    dir = mkdtempSync(join(tmpdir(), 'ringsmb-transport-'));
    ctx = createEventContext({ backend: 'auto', driver: 'node' });
    assert.ok(ctx.ring, 'the auto backend has a ring here');
    // With the shared RECV buffer ring (opt-in): the framing tests run through it; the server tests use the default.
    t = createUringTransport({ ring: ctx.ring!, maxPdu: 4 << 20, log: (l, m) => logs.push(`${l} ${m}`), recvRingEntries: 256 });
    listener = await t.listen({ host: '127.0.0.1', port: 0 }, (c) => onConn(c));
  });

  after(async () => {
    await listener.close();
    t.close();
    ctx.close();
    rmSync(dir, { recursive: true, force: true });
    // Give libuv a turn to drop its watch of the ring's eventfd.
    await new Promise((r) => setImmediate(r));
    assert.equal(fdCount(), fdsBefore, 'every socket, pipe and ring fd is closed');
  });

  function connect(): Promise<{ sock: net.Socket; r: FrameReader; server: TransportConnection }> {
    return new Promise((resolve) => {
      let server: TransportConnection | null = null;
      let sock: net.Socket | null = null;
      const done = () => server && sock && resolve({ sock, r: new FrameReader(sock), server });
      onConn = (c) => {
        server = c;
        done();
      };
      const s = net.connect(listener.address.port, '127.0.0.1', () => {
        sock = s;
        done();
      });
    });
  }

  test('a destroy whose synchronous cancel times out (ETIME) logs it and still closes once the op on the socket settles', async () => {
    const { sock, server } = await connect();
    const ring = ctx.ring!;
    const real = ring.syncCancelFd.bind(ring);
    let calls = 0;
    ring.syncCancelFd = () => {
      calls++;
      throw Object.assign(new Error('io_uring_register(SYNC_CANCEL) failed: ETIME (injected)'), { code: 'ETIME', errno: 62 });
    };
    const closed = new Promise<void>((res) => (server.onClose = () => res()));
    const peerClosed = new Promise<void>((res) => sock.on('close', () => res()));
    try {
      // The connection's RECV is in flight: destroy() cancels it synchronously first.
      assert.doesNotThrow(() => (server as unknown as { destroy(): void }).destroy());
    } finally {
      ring.syncCancelFd = real;
    }
    assert.equal(calls, 1);
    assert.ok(logs.some((l) => /^warn .*cancel: .*ETIME/.test(l)), logs.join('\n'));
    await closed;
    await peerClosed;
  });

  /** A transport of its own on the suite's ring (options differ), one client connected, and a close that waits for its connections. */
  async function ownTransport(opts: Partial<UringTransportOptions>, onConn: (c: TransportConnection) => void = () => {}) {
    const tr = createUringTransport({ ring: ctx.ring!, maxPdu: 4 << 20, log: (l, m) => logs.push(`${l} ${m}`), ...opts });
    let server: TransportConnection | null = null;
    const l = await tr.listen({ host: '127.0.0.1', port: 0 }, (c) => {
      server = c;
      onConn(c);
    });
    const close = async (): Promise<void> => {
      await l.close();
      for (let i = 0; i < 100 && tr.connections.size > 0; i++) await new Promise((res) => setTimeout(res, 10));
      tr.close();
    };
    const sock = await new Promise<net.Socket>((res) => {
      const so = net.connect(l.address.port, '127.0.0.1', () => res(so));
    });
    for (let i = 0; i < 100 && !server; i++) await new Promise((res) => setTimeout(res, 5));
    return { tr, sock, server: server as TransportConnection | null, close };
  }

  test('reports the peer and local addresses', async () => {
    const { sock, server } = await connect();
    assert.equal(server.remoteAddress, '127.0.0.1');
    assert.equal(server.remotePort, sock.localPort);
    assert.equal(server.localPort, listener.address.port);
    sock.destroy();
  });

  test('frames PDUs of every size however the bytes arrive, and sends in order', async () => {
    const { sock, r, server } = await connect();
    server.onMessage = (pdu) => server.send([Buffer.from('echo:'), Buffer.from(pdu)]);
    const small = [randomBytes(4), randomBytes(100), randomBytes(70000)];
    const big = randomBytes(3 << 20); // larger than the staging buffer: received in place
    const all = Buffer.concat([...small.map(frame), frame(big)]);
    // Dribble the first part byte by byte, then the rest in odd chunks.
    for (let i = 0; i < 10; i++) sock.write(all.subarray(i, i + 1));
    for (let i = 10; i < all.length; i += 65521) sock.write(all.subarray(i, Math.min(all.length, i + 65521)));
    for (const want of [...small, big]) {
      const got = await r.next();
      assert.ok(got);
      assert.equal(got.subarray(0, 5).toString(), 'echo:');
      assert.ok(got.subarray(5).equals(want), `payload of ${want.length} bytes comes back intact`);
    }
    if (t.recvRing()) assert.ok(t.stats.recvRing > 0, 'receives took buffers from the shared ring');
    sock.destroy();
  });

  for (const directRecv of [true, false]) {
    test(`receives (directRecv ${directRecv}): ${directRecv ? "libuv's epoll watches an idle connection and recv(2) takes the bytes" : 'every receive a RECV op'}; PDUs of every size however they arrive, in order`, async () => {
      const { tr, sock, close } = await ownTransport({ directRecv }, (c) => {
        c.onMessage = (pdu) => c.send([Buffer.from('echo:'), Buffer.from(pdu)]);
      });
      try {
        const r = new FrameReader(sock);
        const small = [randomBytes(4), randomBytes(100), randomBytes(70000)];
        const big = randomBytes(3 << 20);
        const all = Buffer.concat([...small.map(frame), frame(big)]);
        for (let i = 0; i < 10; i++) {
          sock.write(all.subarray(i, i + 1));
          await new Promise((res) => setTimeout(res, 1));
        }
        for (let i = 10; i < all.length; i += 65521) sock.write(all.subarray(i, Math.min(all.length, i + 65521)));
        for (const want of [...small, big]) {
          const got = await r.next();
          assert.ok(got && got.subarray(5).equals(want), `payload of ${want.length} bytes comes back intact`);
        }
        if (directRecv) assert.ok(tr.stats.directRecvs >= 10, `byte by byte: each one a recv(2) (${tr.stats.directRecvs})`);
        else assert.equal(tr.stats.directRecvs, 0);
        // A peer that closes is seen through the watch too: the server side ends.
        sock.destroy();
        for (let i = 0; i < 200 && tr.connections.size > 0; i++) await new Promise((res) => setTimeout(res, 5));
        assert.equal(tr.connections.size, 0, 'the connection ended when its peer closed');
      } finally {
        await close();
      }
    });
  }

  for (const directSend of [true, false]) {
    test(`byte sends (directSend ${directSend}): ${directSend ? 'one sendmsg where the socket has room, the ring for what a full socket does not take' : 'every one a ring SENDMSG'}; in order, each done once and in order`, async () => {
      const { tr, sock, server, close } = await ownTransport({ directSend });
      try {
        assert.ok(server, 'the server side of the connection');
        const conn = server as TransportConnection;
        // The client does not read yet: 40 frames of 256 KiB overfill both socket buffers.
        sock.pause();
        const payloads = Array.from({ length: 40 }, (_, i) => randomBytes((256 << 10) + i));
        const dones: number[] = [];
        for (let i = 0; i < payloads.length; i++) {
          const p = payloads[i]!;
          conn.send([p.subarray(0, 1000), p.subarray(1000)], () => dones.push(i));
        }
        await new Promise((res) => setTimeout(res, 50));
        assert.ok(dones.length < payloads.length, 'a full socket holds the later sends back');
        const r = new FrameReader(sock);
        sock.resume();
        for (let i = 0; i < payloads.length; i++) {
          const got = await r.next();
          assert.ok(got && got.equals(payloads[i]!), `frame ${i}: ${payloads[i]!.length} bytes intact and in order`);
        }
        for (let i = 0; i < 100 && dones.length < payloads.length; i++) await new Promise((res) => setTimeout(res, 5));
        assert.deepEqual(dones, payloads.map((_, i) => i), 'every done ran once, in send order');
        if (directSend) {
          assert.ok(tr.stats.directSends > 0, 'sends went with sendmsg(2) on the loop thread');
          assert.ok(tr.stats.directSendsDeferred > 0, 'the full socket sent the rest through the ring');
        } else {
          assert.equal(tr.stats.directSends, 0, 'no direct send when it is off');
        }
        sock.destroy();
      } finally {
        await close();
      }
    });
  }

  test('a shared RECV ring of 2 buffers and 12 clients sending at once: the rest fall back to their own buffers, every byte in order', async (tc) => {
    const small = createUringTransport({ ring: ctx.ring!, maxPdu: 4 << 20, log: (l, m) => logs.push(`${l} ${m}`), recvRingEntries: 2 });
    if (!small.recvRing()) return tc.skip('the kernel has no provided buffer rings (5.19+)');
    const l2 = await small.listen({ host: '127.0.0.1', port: 0 }, (c) => {
      c.onMessage = (pdu) => c.send([Buffer.from(pdu)]);
    });
    try {
      const socks = await Promise.all(Array.from({ length: 12 }, () => new Promise<net.Socket>((res) => {
        const so = net.connect(l2.address.port, '127.0.0.1', () => res(so));
      })));
      // Give the server's RECVs time to be armed, then let every client send in the same instant.
      await new Promise((res) => setTimeout(res, 50));
      const payloads = socks.map((_, i) => [randomBytes(100 + i), randomBytes(70000 + i), randomBytes(64 + i)]);
      const readers = socks.map((so) => new FrameReader(so));
      socks.forEach((so, i) => so.write(Buffer.concat(payloads[i]!.map(frame))));
      for (let i = 0; i < socks.length; i++) {
        for (const want of payloads[i]!) {
          const got = await readers[i]!.next();
          assert.ok(got && got.equals(want), `client ${i}: ${want.length} bytes back intact and in order; got ${got?.length} ${got?.subarray(0, 8).toString('hex')} want ${want.subarray(0, 8).toString('hex')}; ${logs.slice(-3).join(' | ')}`);
        }
      }
      assert.ok(small.stats.recvRing > 0, 'the ring served receives');
      assert.ok(small.stats.recvRingDry > 0, `the ring ran dry under 12 clients at once (${small.stats.recvRing} ring receives)`);
      for (const so of socks) so.destroy();
    } finally {
      await l2.close();
      for (let i = 0; i < 100 && small.connections.size > 0; i++) await new Promise((res) => setTimeout(res, 10));
      small.close();
    }
  });

  test('a bad frame type or length ends the connection with a log line', async () => {
    const { sock, r, server } = await connect();
    let closed = false;
    server.onClose = () => (closed = true);
    const bad = Buffer.from([0x01, 0, 0, 4, 1, 2, 3, 4]);
    sock.write(bad);
    assert.equal(await r.next(), null, 'the server hangs up');
    await new Promise((res) => setTimeout(res, 20));
    assert.ok(closed, 'onClose ran');
    assert.ok(logs.some((l) => l.includes('bad frame (type 1')), 'the reason is logged');
  });

  /** A file of `size` random bytes opened r+, and a connected client: the set-up of the file-change tests. */
  async function fileAndClient(name: string, size: number) {
    const data = randomBytes(size);
    const path = join(dir, name);
    writeFileSync(path, data);
    const fd = openSync(path, 'r+');
    return { data, path, fd, ...(await connect()) };
  }

  test('sendFile splices a region byte for byte, in order with other sends', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 123);
    const path = join(dir, 'region');
    writeFileSync(path, data);
    const fd = openSync(path, 'r');
    const { sock, r, server } = await connect();
    const before = t.stats.splicedBytes;
    server.send([Buffer.from('first')]);
    const sent = server.sendFile!([Buffer.from('head')], { fd, offset: 1000, length: data.length - 1000 });
    server.send([Buffer.from('last')]);
    assert.equal((await r.next())!.toString(), 'first');
    const f = (await r.next())!;
    assert.equal(f.subarray(0, 4).toString(), 'head');
    assert.ok(f.subarray(4).equals(data.subarray(1000)), 'the file bytes, exactly');
    assert.equal((await r.next())!.toString(), 'last');
    assert.equal(await sent, data.length - 1000);
    assert.equal(t.stats.splicedBytes - before, data.length - 1000, 'the bytes went by splice');
    closeSync(fd);
    sock.destroy();
  });

  test('a file that shrank under the send is padded with zeros and the stream stays in step', async () => {
    const { data, fd, sock, r, server } = await fileAndClient('shrinks', 2 * 1024 * 1024);
    const pad0 = t.stats.zeroPadBytes;
    // The length was fixed (as READ does from the size) before the file shrank.
    const announced = data.length;
    ftruncateSync(fd, 700_000);
    const sent = server.sendFile!([Buffer.from('H')], { fd, offset: 0, length: announced });
    server.send([Buffer.from('next')]);
    const f = (await r.next())!;
    assert.equal(f.length, 1 + announced, 'the frame has the announced length');
    assert.ok(f.subarray(1, 1 + 700_000).equals(data.subarray(0, 700_000)), 'what the file still had');
    assert.ok(f.subarray(1 + 700_000).equals(Buffer.alloc(announced - 700_000)), 'zeros for the rest');
    assert.equal((await r.next())!.toString(), 'next', 'the following PDU is intact');
    assert.equal(await sent, 700_000);
    assert.equal(t.stats.zeroPadBytes - pad0, announced - 700_000);
    closeSync(fd);
    sock.destroy();
  });

  test('a file that grows under a blocked send: exactly the announced bytes go out, the stream stays in step', async () => {
    const { data, path, fd, sock, r, server } = await fileAndClient('grows', 6 * 1024 * 1024);
    sock.pause(); // the splice fills the socket and waits
    const sent = server.sendFile!([Buffer.from('H')], { fd, offset: 0, length: data.length });
    server.send([Buffer.from('next')]);
    await new Promise((res) => setTimeout(res, 50));
    appendFileSync(path, randomBytes(3 * 1024 * 1024));
    sock.resume();
    const f = (await r.next())!;
    assert.equal(f.length, 1 + data.length, 'the frame has the announced length, not the new size');
    assert.ok(f.subarray(1).equals(data), 'the bytes that were there, exactly');
    assert.equal((await r.next())!.toString(), 'next', 'the following PDU is intact');
    assert.equal(await sent, data.length);
    closeSync(fd);
    sock.destroy();
  });

  test('a file truncated while its splice is blocked on the socket is padded with zeros; the stream stays in step', async () => {
    const { data, fd, sock, r, server } = await fileAndClient('truncated-mid', 12 * 1024 * 1024);
    const pad0 = t.stats.zeroPadBytes;
    sock.pause();
    const sent = server.sendFile!([Buffer.from('H')], { fd, offset: 0, length: data.length });
    server.send([Buffer.from('next')]);
    // Let the splice fill the socket and the pipe, then cut the file under it (page aligned).
    await new Promise((res) => setTimeout(res, 100));
    const cut = 1024 * 1024;
    ftruncateSync(fd, cut);
    sock.resume();
    const f = (await r.next())!;
    assert.equal(f.length, 1 + data.length, 'the frame has the announced length');
    const body = f.subarray(1);
    assert.ok(body.subarray(0, cut).equals(data.subarray(0, cut)), 'what the file kept');
    // Past the cut, each byte is the file's old byte or a zero: pages already in the pipe or the
    // socket keep their old bytes, except the part of a large folio past the new EOF, which the
    // truncation zeroes in place (ext4 on 6.18 zeroes [1 MiB, 2 MiB) here and still sends
    // [2 MiB, 4 MiB) as it was); what the file no longer had is padded with zeros. Never bytes
    // from anywhere else, never a shorter frame. (Why splice is never used under signing: the
    // signature would not match bytes that change after it was computed.)
    let foreign = -1;
    for (let i = cut; i < body.length && foreign < 0; i++) if (body[i] !== 0 && body[i] !== data[i]) foreign = i;
    assert.equal(foreign, -1, 'past the cut only old bytes or zeros');
    const n = await sent;
    assert.ok(n >= cut && n < data.length, `the file gave ${n} bytes, then the send noticed the cut`);
    assert.equal(t.stats.zeroPadBytes - pad0, data.length - n, 'the rest was padded, and counted');
    assert.ok(body.subarray(n).equals(Buffer.alloc(data.length - n)), 'the padding is zeros');
    assert.equal((await r.next())!.toString(), 'next', 'the following PDU is intact');
    closeSync(fd);
    sock.destroy();
  });

  test('a client that disconnects in the middle of a splice leaks nothing', async () => {
    const path = join(dir, 'large');
    const fd0 = openSync(path, 'w+');
    ftruncateSync(fd0, 256 * 1024 * 1024); // sparse: reads as zeros
    const fds = fdCount();
    const { sock, server } = await connect();
    let closed = false;
    const gone = new Promise<void>((res) => (server.onClose = () => { closed = true; res(); }));
    sock.pause(); // the client reads nothing: the splice blocks on a full socket
    const sent = server.sendFile!([Buffer.from('H')], { fd: fd0, offset: 0, length: 200 * 1024 * 1024 }).then(
      (n) => ({ ok: true, n }),
      (e: Error) => ({ ok: false, n: 0, e }),
    );
    await new Promise((res) => setTimeout(res, 100));
    sock.destroy();
    const res = await sent;
    await gone;
    assert.ok(closed);
    assert.equal(res.ok, false, 'the send fails rather than hanging');
    closeSync(fd0);
    await new Promise((r) => setTimeout(r, 20));
    // Pipes may stay pooled (a pipe with bytes left is closed, never reused).
    assert.ok(fdCount() <= fds - 1 + t.pipes.idle, `fds back to ${fds - 1} + pooled pipes (now ${fdCount()})`);
  });
  /** A transport of its own (recvDeferMs differs), one client, and a server that answers "go!!" with a file send of `data`. */
  async function deferSetup(recvDeferMs: number, name: string) {
    const { tr: t2, sock, server, close } = await ownTransport({ recvDeferMs });
    const data = randomBytes(12 << 20); // more than the socket buffers and a pipe hold: the send blocks on a paused client
    const path = join(dir, name);
    writeFileSync(path, data);
    const fd = openSync(path, 'r');
    const r = new FrameReader(sock);
    const seen: string[] = [];
    /** for each message seen, whether the file send had ended by then */
    const afterFile: boolean[] = [];
    let sent: Promise<number> | null = null;
    const c = server as TransportConnection;
    c.onMessage = (pdu) => {
      const m = pdu.toString();
      seen.push(m);
      afterFile.push(t2.stats.filesSent > 0);
      if (m === 'go!!') sent = c.sendFile!([Buffer.from('F')], { fd, offset: 0, length: data.length });
      else c.send([Buffer.from(`echo:${m}`)]);
    };
    const cleanup = async () => {
      sock.destroy();
      closeSync(fd);
      await close();
    };
    return { t2, sock, r, data, seen, afterFile, sent: () => sent!, cleanup };
  }

  test('while a file send holds the socket no RECV waits on it (its workers lock the socket): what the peer sent meanwhile is taken when the send ends, in order', async () => {
    const s = await deferSetup(60_000, 'defer-hold');
    s.sock.pause(); // the send fills the socket and blocks
    s.sock.write(frame(Buffer.from('go!!')));
    await new Promise((res) => setTimeout(res, 100));
    s.sock.write(Buffer.concat([frame(Buffer.from('msg1')), frame(Buffer.from('msg2'))]));
    await new Promise((res) => setTimeout(res, 200));
    assert.deepEqual(s.seen, ['go!!'], 'nothing received while the file send holds the socket');
    assert.equal(s.t2.stats.filesSent, 0, 'the send is still blocked');
    s.sock.resume();
    const f = (await s.r.next())!;
    assert.equal(f.length, 1 + s.data.length);
    assert.ok(f.subarray(1).equals(s.data), 'the file bytes, exactly');
    assert.equal((await s.r.next())!.toString(), 'echo:msg1');
    assert.equal((await s.r.next())!.toString(), 'echo:msg2');
    assert.equal(await s.sent(), s.data.length);
    assert.deepEqual(s.seen, ['go!!', 'msg1', 'msg2']);
    assert.deepEqual(s.afterFile, [false, true, true], 'msg1 and msg2 were received after the send ended');
    assert.equal(s.t2.stats.recvDeferExpired, 0);
    await s.cleanup();
  });

  test('a file send blocked longer than recvDeferMs: the RECV is armed anyway, so a peer that writes before it reads is heard', async () => {
    const s = await deferSetup(30, 'defer-expire');
    s.sock.pause();
    s.sock.write(frame(Buffer.from('go!!')));
    await new Promise((res) => setTimeout(res, 50));
    s.sock.write(frame(Buffer.from('msg1')));
    const t0 = Date.now();
    while (!s.seen.includes('msg1') && Date.now() - t0 < 3000) await new Promise((res) => setTimeout(res, 5));
    assert.deepEqual(s.seen, ['go!!', 'msg1']);
    assert.deepEqual(s.afterFile, [false, false], 'msg1 received while the send is still blocked');
    assert.ok(s.t2.stats.recvDeferExpired >= 1, 'by the defer timer');
    s.sock.resume();
    const f = (await s.r.next())!;
    assert.ok(f.subarray(1).equals(s.data), 'the file bytes, exactly');
    assert.equal((await s.r.next())!.toString(), 'echo:msg1', 'its answer comes after the file, in order');
    assert.equal(await s.sent(), s.data.length);
    await s.cleanup();
  });

  test('onLargeMessage: the tail of a big PDU goes socket -> pipe -> file; the head comes with the outcome; a refusing file keeps the stream in step', async () => {
    const { sock, server } = await connect();
    const path = join(dir, 'sink.bin');
    const fd = openSync(path, 'w+');
    const roPath = join(dir, 'readonly.bin');
    writeFileSync(roPath, '');
    const ro = openSync(roPath, 'r'); // splicing into it fails: the error case
    const released: number[] = [];
    let useRo = false;
    server.onLargeMessage = (head, total) => {
      assert.ok(head.length >= 16 && head.length < total);
      const target = useRo ? ro : fd;
      return { fd: target, position: 0, release: () => released.push(target) };
    };
    const got: { pdu: Buffer; spliced?: { total: number; written: number; error: Error | null } }[] = [];
    let wake: () => void = () => {};
    server.onMessage = (pdu, _release, spliced) => {
      got.push({ pdu: Buffer.from(pdu), spliced });
      wake();
    };
    const until = (n: number) => new Promise<void>((res) => {
      wake = () => got.length >= n && res();
      wake();
    });
    const big = randomBytes(3 * 1024 * 1024 + 5);
    sock.write(frame(big));
    await until(1);
    const one = got[0]!;
    assert.ok(one.spliced, 'delivered as spliced');
    assert.equal(one.spliced.total, big.length);
    assert.equal(one.spliced.error, null);
    assert.equal(one.pdu.length + one.spliced.written, big.length);
    assert.deepEqual(one.pdu, big.subarray(0, one.pdu.length), 'the head is the first bytes');
    assert.ok(readFileSync(path).equals(big.subarray(one.pdu.length)), 'the tail is in the file, byte for byte');
    assert.deepEqual(released, [fd]);
    // A file that refuses: the rest is read off the socket anyway, and the next PDU frames right.
    useRo = true;
    const small = randomBytes(100);
    sock.write(Buffer.concat([frame(randomBytes(2 * 1024 * 1024)), frame(small)]));
    await until(3);
    assert.ok(got[1]!.spliced?.error, 'the error is reported');
    assert.equal(got[1]!.spliced!.written, 0);
    assert.deepEqual(got[2]!.pdu, small, 'the stream stayed in step');
    assert.equal(got[2]!.spliced, undefined);
    assert.deepEqual(released, [fd, ro]);
    // Gone in the middle: the connection closes, the sink is released, nothing leaks.
    useRo = false;
    const fds = fdCount();
    const closed = new Promise<void>((res) => (server.onClose = () => res()));
    const h = Buffer.alloc(4);
    h.writeUInt32BE(3 * 1024 * 1024, 0);
    sock.write(Buffer.concat([h, randomBytes(1024 * 1024)]));
    await new Promise((r) => setTimeout(r, 50));
    sock.destroy();
    await closed;
    assert.equal(got.length, 3, 'the cut PDU is never delivered');
    assert.deepEqual(released, [fd, ro, fd]);
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(fdCount() <= fds - 1 + t.pipes.idle, `fds back to ${fds - 1} + pooled pipes (now ${fdCount()})`);
    closeSync(fd);
    closeSync(ro);
  });

  test('onLargeMessage: the server ending a connection whose PDU is half received cancels the splice waiting on the socket', async () => {
    const { sock, server } = await connect();
    const path = join(dir, 'half.bin');
    const fd = openSync(path, 'w+');
    const released: number[] = [];
    server.onLargeMessage = () => ({ fd, position: 0, release: () => released.push(fd) });
    let delivered = 0;
    server.onMessage = () => delivered++;
    const closed = new Promise<void>((res) => (server.onClose = () => res()));
    const h = Buffer.alloc(4);
    h.writeUInt32BE(3 * 1024 * 1024, 0);
    // A third of the PDU, then silence: the client stays connected.
    sock.write(Buffer.concat([h, randomBytes(1024 * 1024)]));
    await new Promise((r) => setTimeout(r, 50));
    server.close();
    const timeout = new Promise<string>((res) => setTimeout(() => res('timeout'), 3000).unref());
    assert.equal(await Promise.race([closed.then(() => 'closed'), timeout]), 'closed', 'onClose comes although the peer sends nothing more');
    assert.equal(delivered, 0);
    assert.deepEqual(released, [fd], 'the sink is released once');
    sock.destroy();
    closeSync(fd);
  });
});

describe('server on the io_uring transport', { skip: skip || (!smbclientPath() && 'smbclient not installed') }, () => {
  test('unsigned READs are spliced, signed ones copied; both byte for byte', async () => {
    const srv = await startServer({ transport: 'uring', signing: 'enabled' });
    try {
      const t = srv.server.transport as UringTransport;
      assert.equal(t.name, 'uring');
      const data = randomBytes(5 * 1024 * 1024 + 7);
      writeFileSync(join(srv.dir, 'data.bin'), data);
      const want = createHash('sha256').update(data).digest('hex');
      const out = join(srv.dir, 'out.bin');
      const before = t.stats.splicedBytes;
      let r = await smbclient(srv.port, `get data.bin ${out}`, ['--client-protection=off']);
      assert.equal(r.code, 0, r.out);
      assert.equal(createHash('sha256').update(readFileSync(out)).digest('hex'), want);
      assert.equal(t.stats.splicedBytes - before, data.length, 'every byte went by splice');
      const mid = t.stats.splicedBytes;
      r = await smbclient(srv.port, `get data.bin ${out}`, ['--client-protection=sign', '-m', 'SMB3_11']);
      assert.equal(r.code, 0, r.out);
      assert.equal(createHash('sha256').update(readFileSync(out)).digest('hex'), want);
      assert.equal(t.stats.splicedBytes, mid, 'signed responses are never spliced');
    } finally {
      await srv.stop();
    }
  });

  test('zero-copy sends (RINGSMB_SEND_ZC=always): signed and sealed READs byte for byte, every pooled buffer back after the notifications', async (tc) => {
    const saved = process.env.RINGSMB_SEND_ZC;
    process.env.RINGSMB_SEND_ZC = 'always';
    let srv;
    try {
      srv = await startServer({ transport: 'uring', signing: 'enabled' });
    } finally {
      if (saved === undefined) delete process.env.RINGSMB_SEND_ZC;
      else process.env.RINGSMB_SEND_ZC = saved;
    }
    try {
      const t = srv.server.transport as UringTransport;
      if (t.sendZc === 'never') return tc.skip('the kernel lacks IORING_OP_SENDMSG_ZC');
      assert.equal(t.sendZc, 'always');
      const data = randomBytes(9 * 1024 * 1024 + 5);
      writeFileSync(join(srv.dir, 'zc.bin'), data);
      const want = createHash('sha256').update(data).digest('hex');
      const out = join(srv.dir, 'zc-out.bin');
      for (const prot of ['sign', 'encrypt']) {
        const before = t.stats.zcSends;
        const r = await smbclient(srv.port, `get zc.bin ${out}`, [`--client-protection=${prot}`, '-m', 'SMB3_11']);
        assert.equal(r.code, 0, r.out);
        assert.equal(createHash('sha256').update(readFileSync(out)).digest('hex'), want, `${prot}: byte for byte`);
        assert.ok(t.stats.zcSends > before, `${prot}: the READ data went by SENDMSG_ZC`);
      }
      // Loopback: the kernel copies what it delivers locally, and says so.
      assert.equal(t.stats.zcCopied, t.stats.zcSends);
      for (let i = 0; i < 50 && srv.server.dataPool.stats.out > 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(srv.server.dataPool.stats.out, 0, 'every pooled buffer was given back');
    } finally {
      await srv.stop();
    }
  });

  test('zero copy is off by default on loopback (auto: the kernel would copy)', async () => {
    const srv = await startServer({ transport: 'uring', signing: 'enabled' });
    try {
      const t = srv.server.transport as UringTransport;
      const data = randomBytes(2 * 1024 * 1024);
      writeFileSync(join(srv.dir, 'nozc.bin'), data);
      const r = await smbclient(srv.port, `get nozc.bin ${join(srv.dir, 'nozc-out.bin')}`, ['--client-protection=sign', '-m', 'SMB3_11']);
      assert.equal(r.code, 0, r.out);
      assert.equal(t.stats.zcSends, 0);
    } finally {
      await srv.stop();
    }
  });

  test('unsigned WRITEs are spliced socket -> pipe -> file, signed ones received into memory; both byte for byte', async () => {
    const srv = await startServer({ transport: 'uring', signing: 'enabled' });
    try {
      const t = srv.server.transport as UringTransport;
      const data = randomBytes(6 * 1024 * 1024 + 13);
      const src = join(srv.dir, 'src.bin');
      writeFileSync(src, data);
      const want = createHash('sha256').update(data).digest('hex');
      const before = t.stats.spliceInBytes;
      let r = await smbclient(srv.port, `put ${src} up1.bin`, ['--client-protection=off', '-m', 'SMB3_11']);
      assert.equal(r.code, 0, r.out);
      assert.equal(createHash('sha256').update(readFileSync(join(srv.dir, 'up1.bin'))).digest('hex'), want);
      const spliced = t.stats.spliceInBytes - before;
      assert.ok(spliced > data.length / 2, `most of the data went by splice (${spliced} of ${data.length})`);
      const mid = t.stats.spliceInBytes;
      r = await smbclient(srv.port, `put ${src} up2.bin`, ['--client-protection=sign', '-m', 'SMB3_11']);
      assert.equal(r.code, 0, r.out);
      assert.equal(createHash('sha256').update(readFileSync(join(srv.dir, 'up2.bin'))).digest('hex'), want);
      assert.equal(t.stats.spliceInBytes, mid, 'signed requests are never spliced');
      assert.equal(t.pipes.idle, t.pipes.created, 'every pipe is back in the pool');
    } finally {
      await srv.stop();
    }
  });
});

describe('server on a ring whose SQ is full all the time', { skip: skip || (!smbclientPath() && 'smbclient not installed') }, () => {
  test('a 4-entry SQ: spliced, signed and sealed READs and WRITEs byte for byte, with 4 clients at once; no fd, pipe or buffer left out', async () => {
    const fds0 = fdCount();
    const events = createEventContext({ backend: 'uring', driver: 'node', ringEntries: 4 });
    assert.equal(events.ring!.features.sqEntries, 4);
    const srv = await startServer({ transport: 'uring', vfs: 'uring', signing: 'enabled', events });
    try {
      const t = srv.server.transport as UringTransport;
      assert.equal(t.name, 'uring');
      const data = randomBytes(7 * 1024 * 1024 + 11);
      writeFileSync(join(srv.dir, 'full.bin'), data);
      const want = createHash('sha256').update(data).digest('hex');
      const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
      const spliced0 = t.stats.splicedBytes;
      const spliceIn0 = t.stats.spliceInBytes;
      const runs = ['off', 'sign', 'encrypt', 'off'].map(async (prot, i) => {
        const out = join(srv.dir, `out-${i}.bin`);
        let r = await smbclient(srv.port, `get full.bin ${out}`, [`--client-protection=${prot}`, '-m', 'SMB3_11']);
        assert.equal(r.code, 0, r.out);
        assert.equal(sha(out), want, `get, ${prot}: byte for byte`);
        r = await smbclient(srv.port, `put ${out} up-${i}.bin`, [`--client-protection=${prot}`, '-m', 'SMB3_11']);
        assert.equal(r.code, 0, r.out);
        assert.equal(sha(join(srv.dir, `up-${i}.bin`)), want, `put, ${prot}: byte for byte`);
      });
      await Promise.all(runs);
      assert.ok(t.stats.splicedBytes - spliced0 >= 2 * data.length, 'the unprotected READs were spliced');
      assert.ok(t.stats.spliceInBytes - spliceIn0 > data.length, 'the unprotected WRITEs were spliced');
      for (let i = 0; i < 50 && srv.server.dataPool.stats.out > 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(srv.server.dataPool.stats.out, 0, 'every pooled buffer was given back');
      assert.equal(t.pipes.idle, t.pipes.created, 'every pipe is back in the pool');
    } finally {
      await srv.stop();
      events.close();
    }
    await new Promise((r) => setImmediate(r));
    assert.equal(fdCount(), fds0, 'every socket, pipe, file and ring fd is closed');
  });
});

describe('transport choice', () => {
  test('auto takes io_uring when the kernel allows it, net.Socket when not (RINGSMB_URING=off)', async () => {
    const srv = await startServer();
    try {
      assert.equal(srv.server.transport.name, avail.available ? 'uring' : 'node');
      const r = smbclientPath() ? await smbclient(srv.port, 'ls') : null;
      if (r) assert.equal(r.code, 0, r.out);
    } finally {
      await srv.stop();
    }
  });
});
