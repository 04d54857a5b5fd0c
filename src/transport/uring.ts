/**
 * The io_uring transport (issue 5, ARCHITECTURE decision 5): sockets driven
 * entirely by ring ops on the EventContext's ring, no libuv stream.
 *
 * - Listening: a socket made by the native layer (socket/bind/listen; Node
 *   cannot hand one out), then one multishot ACCEPT: one SQE, one CQE per
 *   connection.
 * - Receiving: one RECV at a time per connection, into a staging buffer of
 *   the connection's own; PDUs are copied out of it (they are small: headers
 *   and requests). With a provided buffer ring (opt-in, see
 *   UringTransportOptions.recvRingEntries), while no partial PDU is held the
 *   kernel picks the buffer from a ring shared by every connection
 *   (IOSQE_BUFFER_SELECT), so an idle connection holds no receive memory:
 *   PDUs are copied out of the ring buffer and it goes back at once; a
 *   partial PDU moves to own staging (made on demand, dropped when empty)
 *   and is completed by RECV into it. A PDU larger than that gets its own
 *   buffer and the rest of it is received straight into it (MSG_WAITALL), or
 *   spliced into the file it is written to, so WRITE payloads are never
 *   copied in user space. Single RECVs rather than a multishot one: a
 *   multishot RECV would go on pulling a big WRITE's payload into ring
 *   buffers before the server has decided where that PDU goes.
 * - Sending: queued parts go out with SENDMSG (one iovec per part, the
 *   4-byte direct-TCP header in front), one send in flight per connection;
 *   a short send resumes where it stopped. Big sends (signed and sealed
 *   READ data in the pooled buffers) go with SENDMSG_ZC where zero copy
 *   pays: to peers that are not on loopback (there the kernel copies
 *   anyway), until the kernel reports that it had to copy
 *   (SEND_ZC_REPORT_USAGE). The parts' `done` (which gives a pooled buffer
 *   back) then waits for the notification that the kernel let go of the
 *   pages, and for those of every zero-copy send before it.
 * - Files (sendFile): [SEND head, MSG_WAITALL|MSG_MORE] -> [SPLICE file ->
 *   pipe] -> [SPLICE pipe -> socket] (pairs repeated per pipe-full), one
 *   linked chain, no byte of file data in user space. The header already
 *   announced `length` bytes: if the file shrank under the read, a splice
 *   comes up short, the chain breaks, and the rest is sent step by step,
 *   zeros standing in for bytes the file no longer has, so the stream never
 *   loses step with the lengths it announced. Pipes come from a pool.
 */
import type { Ring } from '../uring/ring.js';
import type { Op } from '../uring/op.js';
import { MSG, SPLICE_F } from '../uring/constants.js';
import { prepAcceptMultishot } from '../uring/ops/accept.js';
import { prepSendmsg } from '../uring/ops/msg.js';
import { prepSendmsgZc } from '../uring/ops/zc.js';
import { prepRecv, prepRecvOnce, prepSend } from '../uring/ops/sendrecv.js';
import { BufRing } from '../uring/buffers.js';
import { prepSplice } from '../uring/ops/splice.js';
import { parseSockaddr, sockaddr } from '../uring/ops/connect.js';
import { requireNative, type WatchHandle } from '../native.js';
import { SystemError } from '../util/errors.js';
import { throttledLog } from '../util/log.js';
import { frameHeader, type FileRegion, type ListenAddress, type Listener, type SpliceOutcome, type SpliceSink, type Transport, type TransportConnection, type TransportOptions } from './types.js';
import { openSync } from 'node:fs';

const STAGING = 64 * 1024;
/** iovecs per SENDMSG; the kernel's UIO_MAXIEV is 1024, our msghdr block holds fewer */
const MAX_IOV = 128;
/**
 * Splice pipes hold 1 MiB (the default /proc/sys/fs/pipe-max-size, so no
 * privilege is needed): an 8 MiB READ goes as eight file -> pipe -> socket
 * steps in one chain. Pipes of a whole READ (8 MiB, where CAP_SYS_RESOURCE
 * allows) were 18% slower for one client streaming (1595 against 1920
 * MiB/s, 2 GiB gets, 8 alternating rounds each way round, 2026-12-07) and
 * slower for puts (955 against 1002); 512 KiB (1672 against 1741) and 2 MiB
 * (1788 against 1862) were slower too. Four parallel gets did better with
 * 8 MiB (2562 against 2480 MiB/s at 0.374 against 0.409 s/GiB: fewer ops),
 * but one client moving one file is the common case.
 */
const PIPE_SIZE = 1 << 20;
/** queued file sends per connection that fill a pipe before their turn (FileSend.prefill) */
const PREFILL_MAX = 4;
const ECANCELED = 125;
const EMFILE = 24;
const ENFILE = 23;
const EAGAIN = 11;
/** libuv's UV_READABLE (uv_poll events) */
const UV_READABLE = 1;
const O_NONBLOCK = 0o4000;
const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;
const F_SETPIPE_SZ = 1031;
const F_GETPIPE_SZ = 1032;
const O_CLOEXEC = 0o2000000;
const ZEROS = Buffer.alloc(64 * 1024);
const EMPTY = Buffer.alloc(0);
const ENOBUFS = 105;
/**
 * The provided buffer ring: RECV buffers shared by the connections. 4 KiB
 * holds nearly every request whole, and the head of a big WRITE (header and
 * fixed part: enough to decide where its data goes) without pulling more of
 * its data through user space; bigger PDUs are completed in own staging.
 * 256 of them: 1 MiB, which stays in cache.
 */
const RECV_RING_ENTRIES = 256;
const RECV_RING_SIZE = 4096;
/** buffer group ids for the transports' rings (one group per transport, several transports may share a ring) */
let nextBgid = 0x5200;
/** Sends at least this big may go zero-copy (below it the notification costs more than the copy). */
const ZC_MIN = 64 * 1024;

/** When the transport sends with SENDMSG_ZC (UringTransportOptions.sendZc). */
export type SendZcMode = 'auto' | 'always' | 'never';

function isLoopback(host: string): boolean {
  return host.startsWith('127.') || host === '::1' || host.startsWith('::ffff:127.');
}

/** Ops that must complete before a socket's fd may be closed. */
const LINGER_MS = 2000;
/** UringTransportOptions.recvDeferMs */
const RECV_DEFER_MS = 20;

function check(what: string, r: number): number {
  if (r < 0) throw new SystemError(what, -r);
  return r;
}

/** Pipes for splicing, sized once and reused (a pipe with bytes left in it is closed, never reused). */
export class PipePool {
  private free: [number, number][] = [];
  created = 0;
  private closed = false;
  size = 0;

  take(): [number, number] {
    const p = this.free.pop();
    if (p) return p;
    const fds = requireNative().pipe2(O_CLOEXEC);
    if (typeof fds === 'number') throw new SystemError('pipe2', -fds);
    // PIPE_SIZE, else (a lower pipe-max-size) what the pipe has.
    const got = requireNative().fcntlInt(fds[1], F_SETPIPE_SZ, PIPE_SIZE);
    this.size = got > 0 ? got : requireNative().fcntlInt(fds[1], F_GETPIPE_SZ, 0);
    this.created++;
    return fds;
  }

  give(p: [number, number], clean: boolean): void {
    if (clean && !this.closed && this.free.length < 64) this.free.push(p);
    else {
      requireNative().close(p[0]);
      requireNative().close(p[1]);
      this.created--;
    }
  }

  get idle(): number {
    return this.free.length;
  }

  close(): void {
    this.closed = true;
    for (const p of this.free) {
      requireNative().close(p[0]);
      requireNative().close(p[1]);
      this.created--;
    }
    this.free = [];
  }
}

type SendItem =
  | { kind: 'bytes'; buf: Buffer; done?: () => void }
  | { kind: 'file'; head: Buffer[]; region: FileRegion; done: (err: Error | null, fileBytes: number) => void; send?: FileSend };

let nextId = 1_000_000;

class UringConnection implements TransportConnection {
  readonly id = nextId++;
  maxFrame: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  onMessage: (pdu: Buffer, release?: () => void, spliced?: SpliceOutcome) => void = () => {};
  onLargeMessage?: (head: Buffer, total: number) => SpliceSink | null;
  /** a large PDU's tail going socket -> pipe -> file; no RECV meanwhile */
  private spliceIn: SpliceIn | null = null;
  onClose: (err?: Error) => void = () => {};

  /** where frame() reads: a ring buffer just received (`ringBid` >= 0), or `own` */
  private staging: Buffer = EMPTY;
  private ringBid = -1;
  /** the connection's own staging buffer, while it holds a partial PDU */
  private own: Buffer | null = null;
  private start = 0;
  private end = 0;
  /** a PDU too big for the staging buffer, being received in place */
  private big: Buffer | null = null;
  private bigRelease: (() => void) | undefined = undefined;
  private bigFill = 0;
  /** send completions whose bytes a failed SENDMSG may still read: run once the socket is finished */
  private orphanDones: (() => void)[] = [];
  private recvOp: Op | null = null;
  /** recvOp was issued with MSG_DONTWAIT: it completes at once and never waits on the socket */
  private recvOnce = false;
  /** recvOp is being cancelled because a file send took the socket */
  private recvCancelling = false;
  /**
   * A FileSend holds the socket. Its splices run on io-wq workers, and each
   * holds the socket lock while it pushes a pipe-full into TCP. A RECV from
   * the main thread meanwhile (issued inline, or retried from task work when
   * data arrives) sleeps in lock_sock until the worker lets go, and the whole
   * event loop sleeps with it: perf on 6.18 counted 125 to 545 stalls of
   * 45-70 us per 2 GiB get (256 READs) with one smbclient, and 259 of
   * ~250 us with four clients.
   * So while one runs no RECV waits on the socket: one armed before is
   * cancelled when the send starts (a WAITALL receive into a big PDU's
   * buffer is left alone: its partial bytes would be lost), and each end of
   * a send issues one RECV with MSG_DONTWAIT, which takes what came in
   * meanwhile or fails with EAGAIN, never waiting. UringTransportOptions.recvDeferMs bounds it.
   */
  private fileActive = false;
  /** a RECV was due while fileActive: it goes out when the send ends (or the defer timer fires) */
  private recvDeferred = false;
  private deferTimer: NodeJS.Timeout | null = null;
  private deferTimerArmed = false;
  private deferredAt = 0;
  private paused = false;
  /** the buffer ring ran out under our last RECV: the next one goes to own staging */
  private ringDry = false;

  private queue: SendItem[] = [];
  private queuedBytes = 0;
  /** @internal queued file sends holding a prefilled pipe (FileSend counts itself in and out) */
  prefilled = 0;
  private drainWait: { limit: number; cb: () => void } | null = null;
  private sendBusy = false;
  /** whether big sends go zero-copy on this connection now */
  private zc: boolean;
  private readonly directSend: boolean;
  /** a direct send found the socket buffer full: byte sends go through the ring until one of them completes */
  private socketFull = false;
  /** whether the next bytes are waited for with libuv's epoll and taken with recv(2) (directRecv) */
  private directRecv: boolean;
  /** libuv's readiness watch on the socket (made on first use) */
  private watch: WatchHandle | null = null;
  /** the watch is started in libuv */
  private watchOn = false;
  /** a receive is due by the watch (what an armed RECV op is otherwise) */
  private watching = false;
  private readonly onReadable = (): void => {
    // Called by libuv, where a throw would end the process (a ring completion's is logged).
    try {
      this.readable();
    } catch (err) {
      this.t.opts.log('error', `connection ${this.id} from ${this.remoteAddress}: receive: ${(err as Error)?.stack ?? err}`);
      this.destroy();
    }
  };
  /** zero-copy sends whose notification is due, oldest first, with the `done`s their bytes completed */
  private zcPending: { dones: (() => void)[]; notified: boolean }[] = [];

  private closing = false;
  /** destroy() ran: every op on the socket was cancelled, and none may start again */
  private destroyed = false;
  private finished = false;
  private inflight = 0;
  private lingerTimer: NodeJS.Timeout | null = null;

  constructor(readonly fd: number, private readonly ring: Ring, private readonly t: UringTransport) {
    this.maxFrame = t.opts.firstMaxPdu ?? t.opts.maxPdu;
    requireNative().setsockoptInt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
    const sa = Buffer.alloc(128);
    const peer = requireNative().sockName(fd, true, sa);
    const p = peer > 0 ? parseSockaddr(sa.subarray(0, peer)) : { host: '', port: 0 };
    const local = requireNative().sockName(fd, false, sa);
    const l = local > 0 ? parseSockaddr(sa.subarray(0, local)) : { host: '', port: 0 };
    this.remoteAddress = p.host;
    this.remotePort = p.port;
    this.localAddress = l.host;
    this.localPort = l.port;
    const mode = t.sendZc;
    this.zc = mode === 'always' || (mode === 'auto' && !isLoopback(this.remoteAddress));
    this.directSend = t.directSend;
    this.directRecv = t.directRecv;
  }

  get pendingBytes(): number {
    return this.queuedBytes;
  }

  onDrained(limit: number, cb: () => void): void {
    this.drainWait = { limit, cb };
    queueMicrotask(() => this.checkDrained());
  }

  /** Bytes leave the send queue: the onDrained() waiter is told (on a later turn) once it is down to its limit. */
  private unqueued(n: number): void {
    this.queuedBytes -= n;
    const w = this.drainWait;
    if (w && this.queuedBytes <= w.limit) queueMicrotask(() => this.checkDrained());
  }

  /** The onDrained() waiter, once the queue is down to its limit (or the connection is going). */
  private checkDrained(): void {
    const w = this.drainWait;
    if (!w || (this.queuedBytes > w.limit && !this.closing)) return;
    this.drainWait = null;
    w.cb();
  }

  /** Starts receiving; called once the server has set onMessage. */
  start0(): void {
    queueMicrotask(() => this.recv());
  }

  // ---- receive ----

  /**
   * Arms the next RECV. `once`: with MSG_DONTWAIT, to take what arrived while a
   * file send held the socket without waiting there (see fileActive); `force`:
   * even though a file send holds the socket (the defer timer).
   */
  private recv(once = false, force = false): void {
    // ringBid: still framing from a ring buffer (receivedInto calls back here when done).
    if (this.recvOp || this.watching || this.paused || this.closing || this.spliceIn || this.ringBid >= 0) return;
    if (this.fileActive && !once && !force) return this.deferRecv();
    const dontwait = once ? MSG.DONTWAIT : 0;
    let op: Op;
    const ringBufs = this.start === this.end && !this.ringDry ? this.t.recvRing() : null;
    if (!this.big && !ringBufs && !once && !this.fileActive && this.directRecv && this.watchReadable()) return;
    this.watchOff();
    if (this.big) {
      // WAITALL never with DONTWAIT: an EAGAIN after part of the bytes would lose them.
      op = prepRecv(this.ring, this.fd, this.big, (err, n) => this.received(err, n), {
        offset: this.bigFill, length: this.big.length - this.bigFill, flags: once ? dontwait : MSG.WAITALL,
      });
    } else if (ringBufs) {
      op = prepRecvOnce(this.ring, this.fd, ringBufs, (err, bid, n, _more, view) => this.receivedInto(ringBufs, err, bid, n, view), { flags: dontwait });
    } else {
      op = prepRecv(this.ring, this.fd, this.receiveInto(), (err, n) => this.received(err, n), { offset: this.end, length: STAGING - this.end, flags: dontwait });
    }
    this.recvOp = op;
    this.recvOnce = once;
    this.inflight++;
    // The next request usually follows our answer to this one: the receive
    // goes to the kernel with that answer's send (one io_uring_enter for both).
    this.ring.submitLazy(op);
  }

  private deferRecv(): void {
    if (!this.recvDeferred) this.deferredAt = performance.now();
    this.recvDeferred = true;
    if (this.deferTimerArmed) return;
    this.deferTimerArmed = true;
    if (this.deferTimer) this.deferTimer.refresh();
    else {
      this.deferTimer = setTimeout(() => this.deferExpired(), this.t.recvDeferMs);
      this.deferTimer.unref();
    }
  }

  private deferExpired(): void {
    this.deferTimerArmed = false;
    if (!this.recvDeferred) return;
    // The timer was armed for an earlier deferral: this one waits its own time (so at most twice that).
    if (performance.now() - this.deferredAt < this.t.recvDeferMs) {
      this.deferTimerArmed = true;
      this.deferTimer!.refresh();
      return;
    }
    this.recvDeferred = false;
    if (this.fileActive) this.t.stats.recvDeferExpired++;
    this.recv(false, true);
  }

  /** A RECV ended (data, EAGAIN, cancel or error): forget it. */
  private recvEnded(): boolean {
    this.recvOp = null;
    this.inflight--;
    const cancelled = this.recvCancelling;
    this.recvCancelling = false;
    return cancelled;
  }

  /** The own staging buffer, made on demand (frame() then reads from it). */
  private ownStaging(): Buffer {
    if (!this.own) this.own = Buffer.allocUnsafe(STAGING);
    this.staging = this.own;
    return this.own;
  }

  /** The own staging buffer, a partial PDU at its end moved to the front: the next bytes go at `end`. */
  private receiveInto(): Buffer {
    const own = this.ownStaging();
    if (this.start > 0 && this.end === STAGING) this.compact();
    return own;
  }

  /** A RECV from the buffer ring completed: frame from the ring buffer, keep a partial PDU in own staging, give the buffer back. */
  private receivedInto(bufs: BufRing, err: SystemError | null, bid: number, n: number, view: Buffer | null): void {
    try {
      if (view && n > 0 && !this.closing) {
        this.ringDry = false;
        this.t.stats.recvRing++;
        this.staging = view;
        this.ringBid = bid;
        this.start = 0;
        this.end = n;
        this.recvEnded();
        this.frame();
        this.keepPartial();
        this.recv();
        return;
      }
    } finally {
      if (bid >= 0) bufs.recycle(bid);
    }
    if (err?.errno === ENOBUFS) {
      // Every ring buffer is out: this receive goes to own staging.
      this.ringDry = true;
      this.t.stats.recvRingDry++;
      err = null;
      this.recvEnded();
      if (this.closing) return this.maybeFinish();
      return this.recv();
    }
    this.received(err, n);
  }

  /** What frame() left of a ring buffer (a partial PDU) moves to own staging; the ring buffer is given back after. */
  private keepPartial(): void {
    if (this.ringBid < 0) return;
    this.ringBid = -1;
    const left = this.end - this.start;
    if (left > 0 && !this.big && !this.spliceIn && !this.closing) {
      const ringBuf = this.staging;
      ringBuf.copy(this.ownStaging(), 0, this.start, this.end);
      this.start = 0;
      this.end = left;
    } else {
      this.start = this.end = 0;
      this.staging = EMPTY;
      this.own = null;
    }
  }

  private compact(): void {
    this.staging.copy(this.staging, 0, this.start, this.end);
    this.end -= this.start;
    this.start = 0;
  }

  private received(err: SystemError | null, n: number): void {
    this.took(err, n, this.recvEnded());
  }

  /**
   * Waits for the next bytes with libuv's epoll (one uv_poll per socket)
   * instead of a RECV op; false when libuv will not watch the socket (the
   * caller arms a RECV). Why: a RECV that waits completes by task work,
   * which interrupts Node's epoll_wait (EINTR), posts the CQE, signals the
   * ring's eventfd, and Node's loop then reads that eventfd before it
   * reaches the completion, and the next RECV needs an io_uring_enter of its
   * own: 4 syscalls a request where epoll reporting the socket and one
   * recv(2) take 2 (smbtorture smb2.bench.echo; see bench/README.md). Not
   * while a file send holds the socket (fileActive: recv(2) would sleep on
   * the socket lock its splice workers take), and not for the tail of a big
   * PDU, which the ring receives into its own buffer or splices to a file.
   */
  private watchReadable(): boolean {
    if (!this.watch) {
      const h = requireNative().pollWatch(this.fd, UV_READABLE, this.onReadable);
      if (typeof h === 'number') {
        this.t.opts.log('debug', `connection ${this.id}: uv_poll on socket ${this.fd} failed (${h}): receiving through the ring`);
        this.directRecv = false;
        return false;
      }
      this.watch = h;
      this.watchOn = true;
      // uv_poll_init made the socket non-blocking; the ring's SPLICE into it must block (on
      // an io-wq worker) rather than fail with EAGAIN. recv(2) and sendv pass MSG_DONTWAIT.
      requireNative().fcntlFlags(this.fd, 0, O_NONBLOCK);
    } else if (!this.watchOn) {
      if (requireNative().pollUpdate(this.watch, UV_READABLE) < 0) return false;
      this.watchOn = true;
    }
    this.watching = true;
    return true;
  }

  /** Stops libuv's watch (kept for the next watchReadable). */
  private watchOff(): void {
    this.watching = false;
    if (this.watchOn && this.watch) requireNative().pollUpdate(this.watch, 0);
    this.watchOn = false;
  }

  /** libuv reported the socket readable: what recv(2) takes goes where a RECV's bytes go. */
  private readable(): void {
    if (!this.watching || this.closing) return this.watchOff();
    const r = requireNative().recvSync(this.fd, this.receiveInto(), this.end, STAGING - this.end);
    if (r === -EAGAIN) return;
    this.t.stats.directRecvs++;
    // The watch stays on: took() ends in recv(), which keeps it or arms a RECV op instead.
    this.watching = false;
    this.took(r < 0 ? new SystemError('recv', -r) : null, r < 0 ? 0 : r, false);
    if (!this.watching) this.watchOff();
  }

  private took(err: SystemError | null, n: number, cancelled: boolean): void {
    if (this.closing) return this.maybeFinish();
    if (err) {
      // EAGAIN: a MSG_DONTWAIT receive found nothing; ECANCELED after our own cancel: a file send took the socket.
      if (err.errno === EAGAIN || (cancelled && err.errno === ECANCELED)) return this.recv();
      if (err.errno !== ECANCELED) this.t.opts.log('debug', `connection ${this.id} from ${this.remoteAddress}: ${err.message}`);
      return this.destroy();
    }
    if (n === 0) return this.destroy(); // peer closed
    if (this.big) {
      this.bigFill += n;
      if (this.bigFill === this.big.length) {
        const pdu = this.big;
        const release = this.bigRelease;
        this.big = null;
        this.bigRelease = undefined;
        this.deliver(pdu, release);
      }
    } else {
      this.end += n;
      this.frame();
      this.ringDry = false;
      // Nothing partial left: the next RECV takes a ring buffer, and own staging goes.
      if (this.start === this.end && !this.big && this.t.recvRing()) {
        this.own = null;
        this.staging = EMPTY;
      }
    }
    this.recv();
  }

  /** Cuts complete PDUs out of the staging buffer (MS-SMB2 2.1: 0x00 + 24-bit length). */
  private frame(): void {
    while (!this.closing && this.end - this.start >= 4) {
      const word = this.staging.readUInt32BE(this.start);
      const type = word >>> 24;
      const len = word & 0xffffff;
      if (type === 0x85) {
        this.start += 4; // NetBIOS keepalive
        continue;
      }
      if (type !== 0 || len > this.maxFrame || len < 4) {
        this.t.opts.log('warn', `connection ${this.id} from ${this.remoteAddress}: bad frame (type ${type}, length ${len}, max ${this.maxFrame}${this.maxFrame < this.t.opts.maxPdu ? ' before logon' : ''}); disconnecting`);
        this.destroy();
        return;
      }
      const have = this.end - this.start - 4;
      if (have >= len) {
        const pdu = Buffer.allocUnsafe(len);
        this.staging.copy(pdu, 0, this.start + 4, this.start + 4 + len);
        this.start += 4 + len;
        this.deliver(pdu);
        continue;
      }
      if (4 + len > STAGING) {
        // Too big to stage. The receiver may take the rest straight into a file (an unsigned WRITE's data).
        if (this.onLargeMessage) {
          // A view for the decision; copied out of the staging buffer only when the splice is taken.
          const staged = this.staging.subarray(this.start + 4, this.end);
          let sink: SpliceSink | null = null;
          try {
            sink = this.onLargeMessage(staged, len);
          } catch (err) {
            // A bug in the decision, not the peer's: logged, and the PDU comes into memory as any other.
            this.t.opts.log('error', `connection ${this.id}: large message handler threw: ${(err as Error).stack ?? err}`);
          }
          if (sink) {
            const head = Buffer.from(staged);
            this.start = this.end = 0;
            this.spliceIn = new SpliceIn(this, head, len, sink);
            this.spliceIn.step();
            return;
          }
        }
        // Else the rest goes straight into its own buffer, pooled where there is one free.
        const d = this.t.opts.pool?.take(len);
        const big = d ? d.buf : Buffer.allocUnsafe(len);
        this.bigRelease = d?.release;
        this.staging.copy(big, 0, this.start + 4, this.end);
        this.big = big;
        this.bigFill = have;
        this.start = this.end = 0;
        return;
      }
      break;
    }
    if (this.start === this.end) this.start = this.end = 0;
    else if (STAGING - this.start < 4 + 0x10000 && this.start > 0) this.compact();
  }

  /** @internal SpliceIn is done: the head goes up with the outcome, and receiving goes on. */
  spliceDone(s: SpliceIn, head: Buffer, outcome: SpliceOutcome): void {
    if (this.spliceIn !== s) return;
    this.spliceIn = null;
    if (this.closing) return this.maybeFinish();
    this.t.stats.spliceInBytes += outcome.written;
    this.deliver(head, undefined, outcome);
    this.recv();
  }

  /** @internal the socket end failed under a SpliceIn (peer gone) */
  spliceFailed(s: SpliceIn, err: Error | null): void {
    if (this.spliceIn !== s) return;
    this.spliceIn = null;
    if (err && (err as SystemError).errno !== ECANCELED) this.t.opts.log('debug', `connection ${this.id} from ${this.remoteAddress}: receive into file: ${err.message}`);
    this.destroy();
  }

  private deliver(pdu: Buffer, release?: () => void, spliced?: SpliceOutcome): void {
    try {
      this.onMessage(pdu, release, spliced);
    } catch (err) {
      this.t.opts.log('error', `connection ${this.id}: message handler threw: ${(err as Error).stack ?? err}`);
      this.destroy();
    }
  }

  pause(): void {
    this.paused = true;
    this.watchOff();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.recv();
  }

  // ---- send ----

  send(parts: readonly Buffer[], done?: () => void): void {
    if (this.closing) {
      done?.();
      return;
    }
    let len = 0;
    for (const p of parts) len += p.length;
    const hdr = frameHeader(len);
    this.queue.push({ kind: 'bytes', buf: hdr });
    for (const p of parts) if (p.length) this.queue.push({ kind: 'bytes', buf: p });
    // The last item carries `done`: it leaves the queue once every part before it has.
    if (done) (this.queue[this.queue.length - 1] as { done?: () => void }).done = done;
    this.queuedBytes += 4 + len;
    this.pump();
  }

  sendFile(head: readonly Buffer[], region: FileRegion): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.closing) return reject(new SystemError('sendFile', 32 /* EPIPE */, 'connection closed'));
      let len = region.length;
      for (const p of head) len += p.length;
      let hdr: Buffer;
      try {
        hdr = frameHeader(len);
      } catch (err) {
        return reject(err);
      }
      const item: SendItem & { kind: 'file' } = { kind: 'file', head: [hdr, ...head], region, done: (err, n) => (err ? reject(err) : resolve(n)) };
      item.send = new FileSend(this, item);
      // A few queued sends fill their pipes ahead; the rest take one when their turn comes, so a
      // client that lets answers pile up cannot make the connection hold a pipe (two fds) for each.
      if (this.prefilled < PREFILL_MAX) item.send.prefill();
      this.queue.push(item);
      this.queuedBytes += 4 + len;
      this.pump();
    });
  }

  private pump(): void {
    if (this.sendBusy || this.finished || this.queue.length === 0) return;
    const first = this.queue[0]!;
    if (first.kind === 'file') {
      this.queue.shift();
      this.sendBusy = true;
      this.fileActive = true;
      // An armed RECV would wait on the socket the send's workers lock (see fileActive).
      if (this.recvOp && !this.recvOnce && !this.big && !this.recvCancelling) {
        this.recvCancelling = true;
        this.t.stats.recvCancelledForFile++;
        this.ring.cancel(this.recvOp);
      } else if (this.watching) {
        // No recv(2) while the send's workers take the socket lock: the receive waits for the send's end.
        this.watchOff();
        this.deferRecv();
      }
      first.send!.start();
      return;
    }
    const bufs: Buffer[] = [];
    let bytes = 0;
    for (const it of this.queue) {
      if (it.kind !== 'bytes' || bufs.length === MAX_IOV) break;
      bufs.push(it.buf);
      bytes += it.buf.length;
    }
    const zc = this.zc && bytes >= ZC_MIN;
    if (!zc && this.directSend && !this.socketFull) return this.sendDirect(bufs, bytes);
    this.sendBusy = true;
    this.inflight++;
    if (zc) return this.sendZc(bufs);
    const op = prepSendmsg(this.ring, this.fd, bufs, (err, n) => this.sent(err, n), { flags: MSG.NOSIGNAL });
    this.ring.submit(op);
  }

  /**
   * One non-blocking sendmsg(2) on this thread. A ring SENDMSG to a socket
   * with room runs the same copy inline, during the io_uring_enter, and then
   * posts a CQE whose eventfd signal costs Node's loop another turn (an
   * epoll_wait, a read of the eventfd, a pass through the context) for
   * nothing; an echo measured 7 syscalls a request that way against 6
   * (smbtorture smb2.bench.echo). Whatever does not go at once (a full
   * socket buffer) goes through the ring, which waits for room, and so
   * does every send after it until that ring send completes (socketFull).
   */
  private sendDirect(bufs: Buffer[], bytes: number): void {
    const r = requireNative().sendv(this.fd, bufs, 0);
    if (r < 0 && r !== -EAGAIN) return this.sendFailed(new SystemError('sendmsg', -r));
    if (r > 0) {
      this.t.stats.directSends++;
      // `done`s may send again: pump returns at once while busy, and the pump below sends that.
      this.sendBusy = true;
      this.consumed(r);
      this.sendBusy = false;
    }
    if (r < bytes) {
      this.t.stats.directSendsDeferred++;
      this.socketFull = true;
    }
    this.pump();
    this.maybeFinish();
  }

  /**
   * SENDMSG_ZC: the result CQE says how many bytes went (the queue moves on
   * at once), the notification that the kernel no longer reads the pages;
   * only then, and after every earlier zero-copy send's notification, do the
   * completed parts' `done`s run.
   */
  private sendZc(bufs: Buffer[]): void {
    const entry = { dones: [] as (() => void)[], notified: false };
    this.zcPending.push(entry);
    let final = false;
    const settle = (): void => {
      if (final) return;
      final = true;
      this.inflight--;
      entry.notified = true;
      while (this.zcPending.length && this.zcPending[0]!.notified) for (const d of this.zcPending.shift()!.dones) d();
      this.opSettled();
    };
    const op = prepSendmsgZc(this.ring, this.fd, bufs, (err, n, notif, more, copied) => {
      if (notif) {
        this.t.stats.zcSends++;
        if (copied) {
          this.t.stats.zcCopied++;
          // The kernel copied after all (no scatter-gather on the route): plain sends are cheaper.
          if (this.t.sendZc === 'auto') this.zc = false;
        }
        return settle();
      }
      this.sendBusy = false;
      this.socketFull = false;
      if (err) {
        if (!more) settle();
        if (err.errno === EAGAIN) return this.pump();
        return this.sendFailed(err);
      }
      this.consumed(n, entry.dones);
      if (!more) settle();
      this.pump();
      this.maybeFinish();
    }, { flags: MSG.NOSIGNAL, reportUsage: true });
    this.ring.submit(op);
  }

  private sent(err: SystemError | null, n: number): void {
    this.inflight--;
    this.sendBusy = false;
    this.socketFull = false;
    if (err) {
      if (err.errno === EAGAIN) return this.pump();
      return this.sendFailed(err);
    }
    this.consumed(n);
    this.pump();
    this.maybeFinish();
  }

  /** Drops n sent bytes from the front of the queue; the finished parts' `done`s run now, or go to `held`. */
  private consumed(n: number, held?: (() => void)[]): void {
    this.unqueued(n);
    while (n > 0) {
      const it = this.queue[0] as SendItem & { kind: 'bytes' };
      if (it.buf.length <= n) {
        n -= it.buf.length;
        this.queue.shift();
        if (!it.done) continue;
        // Behind a zero-copy send still due its notification, a plain send's memory waits too.
        if (held) held.push(it.done);
        else if (this.zcPending.length) this.zcPending[this.zcPending.length - 1]!.dones.push(it.done);
        else it.done();
      } else {
        it.buf = it.buf.subarray(n);
        n = 0;
      }
    }
  }

  /** @internal FileSend reports back here */
  fileDone(item: SendItem & { kind: 'file' }, err: Error | null, fileBytes: number, total: number): void {
    this.sendBusy = false;
    this.fileActive = false;
    this.unqueued(total);
    item.done(err, fileBytes);
    if (err) return this.sendFailed(err);
    if (this.recvDeferred) {
      this.recvDeferred = false;
      // Ahead of the next send's SQEs: if a file send follows, once and without waiting.
      const nextIsFile = this.queue.length > 0 && this.queue[0]!.kind === 'file';
      if (nextIsFile) this.t.stats.recvDontwait++;
      this.recv(nextIsFile);
    }
    this.pump();
    this.maybeFinish();
  }

  private sendFailed(err: Error): void {
    if ((err as SystemError).errno !== ECANCELED) this.t.opts.log('debug', `connection ${this.id} from ${this.remoteAddress}: send: ${err.message}`);
    this.failQueue(err);
    this.destroy();
  }

  private failQueue(err: Error): void {
    const q = this.queue;
    this.queue = [];
    this.unqueued(this.queuedBytes);
    for (const it of q) {
      if (it.kind === 'file') it.send!.abort(err);
      else if (it.done) this.orphanDones.push(it.done);
    }
  }

  // ---- ops accounting for FileSend ----
  /** @internal */ get ringRef(): Ring { return this.ring; }
  /** @internal a file send stops here instead of going on with a socket nobody reads */
  get isDestroyed(): boolean { return this.destroyed; }
  /** @internal */ get pipes(): PipePool { return this.t.pipes; }
  /** @internal */ get stats(): UringTransportStats { return this.t.stats; }
  /** @internal */ opStarted(): void { this.inflight++; }
  /** @internal */ opEnded(): void { this.inflight--; }

  // ---- close ----

  /** Graceful: stop reading, let queued sends go out (for a while), then close. */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    if (this.recvOp) this.ring.cancel(this.recvOp);
    this.watchOff();
    this.spliceIn?.abandon(); // no more reading: a PDU half received into a file is dropped
    if (this.queue.length || this.sendBusy) {
      this.lingerTimer = setTimeout(() => this.destroy(), LINGER_MS);
      this.lingerTimer.unref();
    }
    this.maybeFinish();
  }

  /** At once: cancel everything on the socket. */
  destroy(): void {
    this.closing = true;
    this.destroyed = true;
    this.watchOff();
    this.failQueue(new SystemError('send', 104 /* ECONNRESET */, 'connection closed'));
    this.spliceIn?.abandon();
    if (!this.finished && this.inflight > 0 && !this.ring.isClosed) {
      try {
        this.ring.syncCancelFd(this.fd);
      } catch (err) {
        // ETIME: an op on the socket would not cancel within the timeout (a splice
        // stuck on a hung file). Its completion still comes, and finishes the close.
        this.t.opts.log('warn', `connection ${this.id} from ${this.remoteAddress}: cancel: ${(err as Error).message}`);
      }
    }
    this.maybeFinish(true);
  }

  private maybeFinish(force = false): void {
    if (this.finished || !this.closing) return;
    if (!force && (this.queue.length > 0 || this.sendBusy)) return;
    if (this.inflight > 0 && !this.ring.isClosed) {
      if (this.recvOp) this.ring.cancel(this.recvOp);
      return; // the last completion calls back here
    }
    this.finished = true;
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    if (this.deferTimer) clearTimeout(this.deferTimer);
    // libuv must not watch a closed fd.
    if (this.watch) requireNative().pollStop(this.watch);
    this.watch = null;
    this.watchOn = this.watching = false;
    requireNative().close(this.fd);
    // No op on this socket is left: memory a failed send held may be reused now.
    const dones = this.orphanDones;
    this.orphanDones = [];
    for (const d of dones) d();
    this.bigRelease?.();
    this.bigRelease = undefined;
    this.big = null;
    this.spliceIn?.abandon();
    this.spliceIn = null;
    this.t.connections.delete(this);
    this.onClose();
  }

  /** @internal completions after close arrive here */
  opSettled(): void {
    if (this.closing) this.maybeFinish();
  }
}

/**
 * One file send: the linked chain for the whole region, then (only if a
 * link broke) a step-by-step finish from wherever it stopped.
 */
class FileSend {
  private pipe: [number, number] | null = null;
  private headLeft: number;
  private head: Buffer[];
  /** file bytes moved into the pipe, and out of it into the socket */
  private intoPipe = 0;
  private outOfPipe = 0;
  /** zeros sent in place of bytes the file no longer had */
  private zeros = 0;
  private outstanding = 0;
  private failed: Error | null = null;
  private eof = false;
  private readonly total: number;

  /** the send reached the head of the connection's queue */
  private atHead = false;
  private aborted = false;
  private finished = false;
  /** the first chain has been submitted (later steps go one at a time) */
  private chained = false;
  /** counted in the connection's prefilled sends */
  private counted = false;

  constructor(private readonly c: UringConnection, private readonly item: SendItem & { kind: 'file' }) {
    this.head = item.head.slice();
    this.headLeft = 0;
    for (const h of this.head) this.headLeft += h.length;
    this.total = this.headLeft + item.region.length;
  }

  /**
   * At enqueue: the first pipe-full moves file -> pipe now, while earlier
   * responses are still going out (the pipe holds page references, not
   * copies). Nothing reaches the socket before start().
   */
  prefill(): void {
    if (this.item.region.length === 0) return;
    try {
      this.pipe = this.c.pipes.take();
    } catch (err) {
      this.failed = err as Error;
      return;
    }
    this.c.prefilled++;
    this.counted = true;
    const ring = this.c.ringRef;
    const { fd, offset, length } = this.item.region;
    this.outstanding = 1;
    this.c.opStarted();
    ring.submit(prepSplice(ring, fd, offset, this.pipe[1], -1, Math.min(this.c.pipes.size, length), (e, n) => this.onIn(e, n)));
  }

  /** At the head of the queue: the socket is ours until finish(). */
  start(): void {
    this.uncount();
    this.atHead = true;
    if (this.outstanding === 0) this.next();
  }

  /**
   * One linked chain from wherever the prefill left off: [SEND head] ->
   * [SPLICE pipe -> socket] -> ([SPLICE file -> pipe] -> [SPLICE pipe ->
   * socket])... A short link breaks the chain; next() then finishes step by step.
   */
  private chain(): void {
    this.chained = true;
    if (!this.pipe && this.item.region.length > 0) {
      try {
        this.pipe = this.c.pipes.take();
      } catch (err) {
        return this.finish(err as Error);
      }
    }
    const ring = this.c.ringRef;
    const { fd, offset, length } = this.item.region;
    const chunk = this.c.pipes.size;
    const ops: Op[] = [];
    const more = (last: boolean): number => (last ? 0 : SPLICE_F.MORE);
    if (this.headLeft > 0) {
      const headBuf = this.head.length === 1 ? this.head[0]! : Buffer.concat(this.head);
      ops.push(prepSend(ring, this.c.fd, headBuf, (e, n) => this.onHead(e, n), { flags: MSG.WAITALL | MSG.NOSIGNAL | (length > 0 ? MSG.MORE : 0) }));
    }
    const inPipe = this.intoPipe - this.outOfPipe;
    if (inPipe > 0) {
      ops.push(prepSplice(ring, this.pipe![0], -1, this.c.fd, -1, inPipe, (e, n) => this.onOut(e, n), { flags: more(this.intoPipe >= length) }));
    }
    if (!this.eof) {
      for (let done = this.intoPipe; done < length; done += chunk) {
        const k = Math.min(chunk, length - done);
        ops.push(prepSplice(ring, fd, offset + done, this.pipe![1], -1, k, (e, n) => this.onIn(e, n)));
        ops.push(prepSplice(ring, this.pipe![0], -1, this.c.fd, -1, k, (e, n) => this.onOut(e, n), { flags: more(done + k >= length) }));
      }
    }
    if (ops.length === 0) return this.next();
    if (ops.length > ring.features.sqEntries) return this.stepwise();
    // One CQE for the whole chain when it goes through: every member but the last posts
    // none on success (each is full-length or fails the link), so an 8 MiB READ over
    // 1 MiB pipes posts one CQE instead of 17.
    for (let i = 0; i < ops.length - 1; i++) ops[i]!.quiet = true;
    this.outstanding = ops.length;
    for (let i = 0; i < ops.length; i++) this.c.opStarted();
    ring.submitLinked(ops);
  }

  private settle(e: SystemError | null): void {
    this.c.opEnded();
    if (e && e.errno !== ECANCELED && !this.failed) this.failed = e;
    if (--this.outstanding === 0) this.next();
  }

  private onHead(e: SystemError | null, n: number): void {
    if (!e) this.headSent(n);
    this.settle(e);
  }

  private headSent(n: number): void {
    this.headLeft -= n;
    while (n > 0) {
      const h = this.head[0]!;
      if (h.length <= n) {
        n -= h.length;
        this.head.shift();
      } else {
        this.head[0] = h.subarray(n);
        n = 0;
      }
    }
  }

  private onIn(e: SystemError | null, n: number): void {
    if (!e) {
      this.intoPipe += n;
      if (n === 0) this.eof = true;
    }
    this.settle(e);
  }

  private onOut(e: SystemError | null, n: number): void {
    if (!e) this.outOfPipe += n;
    this.settle(e);
  }

  /** After the prefill, the chain or a step: wait for the head, done, failed, or go on. */
  private next(): void {
    if (!this.atHead) return; // prefilled; start() comes when earlier sends are out
    // Cancelled by destroy(): the completions say ECANCELED, as a chain's broken links do, but going
    // on would put a splice on a socket whose peer does not read, waiting forever (holding its pipe
    // and its file open: the file's CLOSE would wait for it).
    if (this.c.isDestroyed) this.failed ??= new SystemError('send', 104 /* ECONNRESET */, 'connection closed');
    if (this.failed) return this.finish(this.failed);
    if (!this.chained) return this.chain();
    const len = this.item.region.length;
    if (this.headLeft === 0 && this.outOfPipe + this.zeros === len) return this.finish(null);
    this.stepwise();
  }

  /** One op at a time from the current state; each completion calls next(). */
  private stepwise(): void {
    const ring = this.c.ringRef;
    const { fd, offset, length } = this.item.region;
    this.outstanding = 1;
    this.c.opStarted();
    if (this.headLeft > 0) {
      const headBuf = this.head.length === 1 ? this.head[0]! : Buffer.concat(this.head);
      ring.submit(prepSend(ring, this.c.fd, headBuf, (e, n) => this.onHead(e, n), { flags: MSG.NOSIGNAL | MSG.MORE }));
      return;
    }
    if (this.intoPipe > this.outOfPipe) {
      const k = this.intoPipe - this.outOfPipe;
      ring.submit(prepSplice(ring, this.pipe![0], -1, this.c.fd, -1, k, (e, n) => this.onOut(e, n)));
      return;
    }
    if (!this.eof && this.intoPipe < length) {
      const k = Math.min(this.c.pipes.size, length - this.intoPipe);
      ring.submit(prepSplice(ring, fd, offset + this.intoPipe, this.pipe![1], -1, k, (e, n) => this.onIn(e, n)));
      return;
    }
    // The file ended before the announced length: zeros keep the stream in step.
    const k = Math.min(ZEROS.length, length - this.intoPipe - this.zeros);
    ring.submit(prepSend(ring, this.c.fd, ZEROS, (e, n) => {
      if (!e) this.zeros += n;
      this.settle(e);
    }, { length: k, flags: MSG.NOSIGNAL }));
  }

  /** No longer one of the connection's prefilled sends waiting for their turn. */
  private uncount(): void {
    if (!this.counted) return;
    this.counted = false;
    this.c.prefilled--;
  }

  /** Dropped from the queue before its turn (the connection failed). */
  abort(err: Error): void {
    this.uncount();
    this.aborted = true;
    this.failed ??= err;
    this.atHead = true;
    if (this.outstanding === 0) this.finish(this.failed);
  }

  private finish(err: Error | null): void {
    if (this.finished) return;
    this.finished = true;
    if (this.aborted) {
      if (this.pipe) this.c.pipes.give(this.pipe, false);
      this.pipe = null;
      this.item.done(err, 0);
      this.c.opSettled();
      return;
    }
    const st = this.c.stats;
    st.filesSent++;
    st.splicedBytes += this.outOfPipe;
    st.zeroPadBytes += this.zeros;
    if (this.pipe) this.c.pipes.give(this.pipe, err === null && this.intoPipe === this.outOfPipe);
    this.pipe = null;
    this.c.fileDone(this.item, err, this.outOfPipe, this.total);
    this.c.opSettled();
  }
}

/**
 * The tail of a large PDU, socket -> pipe -> file (ARCHITECTURE, hot paths:
 * "WRITE: RECV header -> SPLICE socket->pipe | SPLICE pipe->file"). Two ops
 * overlap on one pipe: a fill (SPLICE from the socket: what has arrived, at
 * most what the PDU still owes) and a drain (SPLICE of exactly the bytes the
 * fills reported into the file, at the next position). The kernel serialises
 * the two on the pipe's lock; the fill blocks in its worker when the pipe is
 * full and the drain makes room, so while bytes are in the pipe a drain is
 * always under way and nothing can wait forever. Should the file refuse
 * (ENOSPC, EFBIG, EIO), the rest of the PDU is still read off the socket,
 * into /dev/null, so the stream stays framed and the request gets its error.
 * The socket failing (peer gone) ends the connection.
 */
class SpliceIn {
  /** PDU bytes not yet taken off the socket */
  private remaining: number;
  /** bytes the fills put in the pipe that no drain has taken yet (a drain under way included) */
  private inPipe = 0;
  private written = 0;
  private error: Error | null = null;
  private pipe: [number, number] | null = null;
  private fillOp: Op | null = null;
  private drainBusy = false;
  private over = false;
  /** /dev/null, where the rest goes once the file refused a write (opened then, closed at the end) */
  private devNull = -1;

  constructor(private readonly c: UringConnection, private readonly head: Buffer, private readonly total: number, private readonly sink: SpliceSink) {
    this.remaining = total - head.length;
  }

  private get busy(): boolean {
    return this.fillOp !== null || this.drainBusy;
  }

  step(): void {
    if (this.over) return;
    if (!this.pipe) {
      try {
        this.pipe = this.c.pipes.take();
      } catch (err) {
        return this.fail(err as Error);
      }
    }
    const ring = this.c.ringRef;
    if (!this.drainBusy && this.inPipe > 0) {
      const toFile = this.error === null;
      if (!toFile && this.devNull < 0) this.devNull = openSync('/dev/null', 'w');
      const out = toFile ? this.sink.fd : this.devNull;
      const pos = toFile ? this.sink.position + this.written : -1;
      this.drainBusy = true;
      this.c.opStarted();
      ring.submit(prepSplice(ring, this.pipe[0], -1, out, pos, this.inPipe, (e, n) => this.drained(e, n, toFile)));
    }
    if (this.fillOp === null && this.remaining > 0) {
      this.c.opStarted();
      const k = Math.min(this.c.pipes.size, this.remaining);
      this.fillOp = prepSplice(ring, this.c.fd, -1, this.pipe[1], -1, k, (e, n) => this.filled(e, n));
      ring.submit(this.fillOp);
    }
    if (!this.busy && this.remaining === 0) this.finish();
  }

  private filled(e: SystemError | null, n: number): void {
    this.fillOp = null;
    this.c.opEnded();
    if (this.over) return this.late();
    if (e && e.errno === EAGAIN) return this.step();
    if (e || n === 0) return this.fail(e);
    this.remaining -= n;
    this.inPipe += n;
    this.step();
  }

  private drained(e: SystemError | null, n: number, toFile: boolean): void {
    this.drainBusy = false;
    this.c.opEnded();
    if (this.over) return this.late();
    if (e && e.errno === EAGAIN) return this.step();
    if (e || n === 0) {
      if (!toFile) return this.fail(e ?? new SystemError('splice', 5 /* EIO */, '/dev/null took nothing'));
      this.error = e ?? new SystemError('splice', 28 /* ENOSPC */, 'the file took nothing');
      return this.step();
    }
    this.inPipe -= n;
    if (toFile) this.written += n;
    this.step();
  }

  /** A completion after abandon(): the last one gives back what was held. */
  private late(): void {
    if (!this.busy) this.giveBack();
    this.c.opSettled();
  }

  /** Nothing is under way any more: the pipe (closed if it may hold bytes), /dev/null and the sink go. */
  private giveBack(): void {
    if (this.pipe) this.c.pipes.give(this.pipe, this.inPipe === 0);
    this.pipe = null;
    this.closeNull();
    this.sink.release();
  }

  private closeNull(): void {
    if (this.devNull >= 0) requireNative().close(this.devNull);
    this.devNull = -1;
  }

  private finish(): void {
    this.over = true;
    this.giveBack();
    this.c.spliceDone(this, this.head, { total: this.total, written: this.written, error: this.error });
  }

  private fail(err: Error | null): void {
    this.abandon();
    this.c.spliceFailed(this, err);
  }

  /**
   * The connection is going. A fill waiting on the socket is cancelled (a
   * cancel by fd would miss it: a SPLICE's file is the pipe); what we hold
   * is given back once nothing is under way, so the sink's fd is never
   * closed under a drain.
   */
  abandon(): void {
    if (this.over) return;
    this.over = true;
    if (this.fillOp) this.c.ringRef.cancel(this.fillOp);
    if (!this.busy) this.giveBack();
  }
}

export interface UringTransportStats {
  /** sendFile calls finished (sent or failed) */
  filesSent: number;
  /** file bytes that went file -> pipe -> socket */
  splicedBytes: number;
  /** zeros sent for bytes a shrinking file no longer had */
  zeroPadBytes: number;
  /** RECVs that took their buffer from the shared buffer ring */
  recvRing: number;
  /** RECVs that found the shared buffer ring empty (ENOBUFS) and went to the connection's own buffer */
  recvRingDry: number;
  /** SENDMSG_ZC sends whose notification came */
  zcSends: number;
  /** of those, the ones the kernel reported it copied */
  zcCopied: number;
  /** PDU bytes that went socket -> pipe -> file (WRITE data) */
  spliceInBytes: number;
  /** armed RECVs cancelled because a file send took the socket (UringConnection.fileActive) */
  recvCancelledForFile: number;
  /** MSG_DONTWAIT RECVs issued between two file sends */
  recvDontwait: number;
  /** RECVs armed anyway because a file send held the socket longer than recvDeferMs */
  recvDeferExpired: number;
  /** byte sends that went with one sendmsg(2) on the loop thread (directSend) */
  directSends: number;
  /** of the direct attempts, those the socket did not take in full (EAGAIN or short): the rest went through the ring */
  directSendsDeferred: number;
  /** receives taken with recv(2) after libuv reported the socket readable (directRecv) */
  directRecvs: number;
}

export interface UringTransportOptions extends TransportOptions {
  ring: Ring;
  /**
   * auto (default): zero-copy sends to peers off loopback, while the kernel
   * does not report copying; always: to every peer (tests); never. The
   * environment variable RINGSMB_SEND_ZC gives the default.
   */
  sendZc?: SendZcMode;
  /**
   * Buffers of 4 KiB in a shared RECV buffer ring (a power of two, 256 with
   * RINGSMB_RECV_RING=on). Default 0: none, each connection receives into a
   * 64 KiB buffer of its own. The ring saves that memory per idle connection
   * but, measured on 2026-12-05, cost about 25% more server CPU per small
   * request (smbtorture path-contention at one connection: 230-270 us per
   * CREATE + CLOSE against 180-220 us), with the same syscalls: the time is
   * in the kernel's buffer-select receive. So it is opt-in.
   */
  recvRingEntries?: number;
  /**
   * How long a connection may go without a RECV while a file send holds its
   * socket (UringConnection.fileActive), in ms; default 20. Past it the RECV
   * is armed anyway, so that a peer which writes a big request before it
   * reads our answer cannot deadlock against us.
   */
  recvDeferMs?: number;
  /**
   * Byte sends (not files, not zero-copy) first try one non-blocking
   * sendmsg(2) on the loop thread and use the ring only for what the socket
   * does not take at once (UringConnection.sendDirect). Default true;
   * RINGSMB_DIRECT_SEND=off gives false (every send a ring SENDMSG).
   */
  directSend?: boolean;
  /**
   * A connection waiting for its next request lets libuv's epoll watch the
   * socket and takes the bytes with recv(2), instead of keeping a RECV op
   * armed (UringConnection.watchReadable); big PDUs, the receive between
   * two file sends and the shared buffer ring stay on the ring. Default
   * true; RINGSMB_DIRECT_RECV=off gives false.
   */
  directRecv?: boolean;
}

/** The ops this transport needs from the probe. */
export const URING_TRANSPORT_OPS = ['ACCEPT', 'RECV', 'SEND', 'SENDMSG', 'SPLICE', 'ASYNC_CANCEL'] as const;

export class UringTransport implements Transport {
  readonly name = 'uring' as const;
  readonly pipes = new PipePool();
  readonly connections = new Set<UringConnection>();
  readonly stats: UringTransportStats = { filesSent: 0, splicedBytes: 0, zeroPadBytes: 0, spliceInBytes: 0, recvRing: 0, recvRingDry: 0, zcSends: 0, zcCopied: 0, recvCancelledForFile: 0, recvDontwait: 0, recvDeferExpired: 0, directSends: 0, directSendsDeferred: 0, directRecvs: 0 };
  /** the zero-copy mode in force ('never' when the ring lacks SENDMSG_ZC) */
  readonly sendZc: SendZcMode;
  readonly recvDeferMs: number;
  readonly directSend: boolean;
  readonly directRecv: boolean;

  constructor(readonly opts: UringTransportOptions) {
    for (const op of URING_TRANSPORT_OPS) {
      if (!opts.ring.supports(op)) throw new Error(`io_uring lacks ${op}`);
    }
    const env = process.env.RINGSMB_SEND_ZC;
    const mode = opts.sendZc ?? (env === 'always' || env === 'never' || env === 'auto' ? env : 'auto');
    this.sendZc = opts.ring.supports('SENDMSG_ZC') ? mode : 'never';
    this.recvDeferMs = opts.recvDeferMs ?? RECV_DEFER_MS;
    this.directSend = opts.directSend ?? process.env.RINGSMB_DIRECT_SEND !== 'off';
    this.directRecv = opts.directRecv ?? process.env.RINGSMB_DIRECT_RECV !== 'off';
  }

  listen(addr: ListenAddress, onConnection: (c: TransportConnection) => void): Promise<Listener> {
    const ring = this.opts.ring;
    let fd: number;
    try {
      fd = check(`listen ${addr.host}:${addr.port}`, requireNative().tcpListen(sockaddr(addr.host, addr.port), 511));
    } catch (err) {
      return Promise.reject(err);
    }
    const sa = Buffer.alloc(128);
    const n = requireNative().sockName(fd, false, sa);
    const bound = n > 0 ? parseSockaddr(sa.subarray(0, n)) : { host: addr.host, port: addr.port };
    let closed = false;
    let acceptOp: Op | null = null;
    let onStopped: (() => void) | null = null;
    const logAccept = throttledLog((m) => this.opts.log('warn', m));
    // One fd held back (libuv does the same): when accept fails for want of fds, it is let go so
    // that the client waiting in the backlog can be taken and closed at once (a clean disconnect,
    // not a hang until it times out), then taken again.
    const openSpare = (): number => {
      try {
        return openSync('/dev/null', 'r');
      } catch {
        return -1;
      }
    };
    let spare = openSpare();
    let shedding = false;
    const arm = (): void => {
      if (closed) return;
      acceptOp = prepAcceptMultishot(ring, fd, (err, cfd, more) => {
        let freed = false;
        if (err) {
          if ((err.errno === EMFILE || err.errno === ENFILE) && !closed && spare >= 0) {
            requireNative().close(spare);
            spare = -1;
            shedding = true;
            freed = true;
          }
          if (err.errno !== ECANCELED && !closed) logAccept(`listener ${bound.host}:${bound.port}: accept: ${err.message}${shedding ? ' (the process is out of fds: clients that connect meanwhile are disconnected at once)' : ''}`);
        } else if (closed) {
          requireNative().close(cfd);
        } else if (shedding) {
          requireNative().close(cfd);
          spare = openSpare();
          if (spare >= 0) shedding = false;
        } else {
          const c = new UringConnection(cfd, ring, this);
          this.connections.add(c);
          onConnection(c);
          c.start0();
        }
        if (!more) {
          acceptOp = null;
          if (closed) onStopped?.();
          // EMFILE and friends end the multishot; try again shortly rather than spin
          // (at once when the spare fd was just let go for the waiting client).
          else setTimeout(arm, err && !freed ? 100 : 0).unref();
        }
      });
      ring.submit(acceptOp);
    };
    arm();
    return Promise.resolve({
      address: bound,
      close: () =>
        new Promise<void>((resolve) => {
          if (closed) return resolve();
          closed = true;
          const done = (): void => {
            requireNative().close(fd);
            if (spare >= 0) requireNative().close(spare);
            spare = -1;
            resolve();
          };
          if (!acceptOp || ring.isClosed) return done();
          onStopped = done;
          ring.cancel(acceptOp);
        }),
    });
  }

  private ringBufs: BufRing | null | undefined = undefined;

  /**
   * The provided buffer ring the connections RECV from, registered on first
   * use when asked for (recvRingEntries, RINGSMB_RECV_RING=on); null (and
   * connections use their own buffers) otherwise or when the kernel refuses
   * it (before 5.19).
   */
  recvRing(): BufRing | null {
    if (this.ringBufs !== undefined) return this.ringBufs;
    this.ringBufs = null;
    const entries = this.opts.recvRingEntries ?? (process.env.RINGSMB_RECV_RING === 'on' ? RECV_RING_ENTRIES : 0);
    if (entries === 0) return null;
    try {
      this.ringBufs = BufRing.register(this.opts.ring, { bgid: nextBgid, entries, size: RECV_RING_SIZE });
      nextBgid = nextBgid === 0xffff ? 0x5200 : nextBgid + 1;
    } catch (err) {
      this.opts.log('info', `transport: no provided buffer ring for RECV (${(err as Error).message}); each connection receives into its own buffer`);
    }
    return this.ringBufs;
  }

  /** Closes idle pipes (after the listeners and connections are gone). */
  close(): void {
    for (const c of [...this.connections]) c.destroy();
    this.pipes.close();
    // With no connection left, no RECV can still name the buffer group.
    if (this.ringBufs && this.connections.size === 0) {
      this.ringBufs.dispose();
      this.ringBufs = null;
    }
  }
}

export function createUringTransport(opts: UringTransportOptions): UringTransport {
  return new UringTransport(opts);
}
