/**
 * The net.Socket transport: the fallback where io_uring is missing, and
 * the baseline the io_uring transport is measured against.
 */
import net from 'node:net';
import { frameHeader, type ListenAddress, type Listener, type Transport, type TransportConnection, type TransportOptions } from './types.js';
import { throttledLog } from '../util/log.js';

/** How long close() lets queued responses go out to a peer that does not read them (as the io_uring transport). */
const LINGER_MS = 2000;

let nextId = 1;

class NodeConnection implements TransportConnection {
  readonly id = nextId++;
  maxFrame: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  onMessage: (pdu: Buffer, release?: () => void) => void = () => {};
  onClose: (err?: Error) => void = () => {};
  private chunks: Buffer[] = [];
  private have = 0;
  private closed = false;
  private lingering: NodeJS.Timeout | null = null;
  private drainWait: { limit: number; cb: () => void } | null = null;

  constructor(private readonly sock: net.Socket, private readonly opts: TransportOptions) {
    this.maxFrame = opts.firstMaxPdu ?? opts.maxPdu;
    this.remoteAddress = sock.remoteAddress ?? '';
    this.remotePort = sock.remotePort ?? 0;
    this.localAddress = sock.localAddress ?? '';
    this.localPort = sock.localPort ?? 0;
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => this.onData(d));
    sock.on('error', (err) => {
      this.opts.log('debug', `connection ${this.id} from ${this.remoteAddress}: ${err.message}`);
    });
    sock.on('close', () => this.finish());
    // 'drain': the stream's buffer emptied after a write it could not take at once.
    sock.on('drain', () => this.checkDrained());
  }

  get pendingBytes(): number {
    return this.sock.writableLength;
  }

  onDrained(limit: number, cb: () => void): void {
    this.drainWait = { limit, cb };
    queueMicrotask(() => this.checkDrained());
  }

  /** The onDrained() waiter, once the stream's buffer is down to its limit (or the connection is gone). */
  private checkDrained(): void {
    const w = this.drainWait;
    if (!w || (this.sock.writableLength > w.limit && !this.closed)) return;
    this.drainWait = null;
    w.cb();
  }

  send(parts: readonly Buffer[], done?: () => void): void {
    if (this.closed) {
      done?.();
      return;
    }
    let len = 0;
    for (const p of parts) len += p.length;
    const hdr = frameHeader(len);
    if (len < 16384) {
      // Small responses: one write of one buffer beats several corked ones (the parts are copied: done at once).
      this.sock.write(Buffer.concat([hdr, ...parts], 4 + len));
      done?.();
      return;
    }
    this.sock.cork();
    this.sock.write(hdr);
    // The stream calls back when the last write finished or failed; libuv holds the parts until then.
    for (let i = 0; i < parts.length; i++) this.sock.write(parts[i]!, i === parts.length - 1 && done ? () => done() : undefined);
    this.sock.uncork();
  }

  pause(): void {
    this.sock.pause();
  }

  resume(): void {
    this.sock.resume();
  }

  /** Graceful: what is queued goes out, then the socket closes; a peer that does not read gets LINGER_MS for it. */
  close(): void {
    if (this.closed || this.lingering) return;
    this.lingering = setTimeout(() => this.sock.destroy(), LINGER_MS);
    this.lingering.unref();
    this.sock.end();
    this.sock.destroySoon();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.lingering) clearTimeout(this.lingering);
    this.chunks = [];
    this.checkDrained();
    this.onClose();
  }

  private onData(d: Buffer): void {
    this.chunks.push(d);
    this.have += d.length;
    while (this.have >= 4 && !this.closed) {
      const word = this.peek32();
      const type = word >>> 24;
      const len = word & 0xffffff;
      if (type === 0x85) {
        // NetBIOS session keepalive: no payload to deliver.
        this.skip(4);
        continue;
      }
      if (type !== 0 || len > this.maxFrame || len < 4) {
        this.opts.log('warn', `connection ${this.id} from ${this.remoteAddress}: bad frame (type ${type}, length ${len}, max ${this.maxFrame}${this.maxFrame < this.opts.maxPdu ? ' before logon' : ''}); disconnecting`);
        this.sock.destroy();
        return;
      }
      if (this.have < 4 + len) return;
      this.skip(4);
      const pdu = this.take(len);
      this.onMessage(pdu);
    }
  }

  /** The first four buffered bytes as a big-endian word, without joining chunks. */
  private peek32(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readUInt32BE(0);
    let word = 0;
    let got = 0;
    for (const c of this.chunks) {
      for (let i = 0; i < c.length && got < 4; i++, got++) word = word * 256 + c[i]!;
      if (got === 4) break;
    }
    return word >>> 0;
  }

  /** Drops n bytes from the front. */
  private skip(n: number): void {
    this.have -= n;
    while (n > 0) {
      const c = this.chunks[0]!;
      if (c.length <= n) {
        n -= c.length;
        this.chunks.shift();
      } else {
        this.chunks[0] = c.subarray(n);
        n = 0;
      }
    }
  }

  /** Removes n bytes from the front; no copy when they sit in one chunk. */
  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let off = 0;
      while (off < n) {
        const c = this.chunks[0]!;
        const k = Math.min(c.length, n - off);
        c.copy(out, off, 0, k);
        off += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.have -= n;
    return out;
  }
}

export function createNodeTransport(opts: TransportOptions): Transport {
  return {
    name: 'node',
    listen(addr: ListenAddress, onConnection: (c: TransportConnection) => void): Promise<Listener> {
      return new Promise((resolve, reject) => {
        const server = net.createServer((sock) => onConnection(new NodeConnection(sock, opts)));
        server.once('error', reject);
        server.listen({ host: addr.host, port: addr.port }, () => {
          server.off('error', reject);
          const logError = throttledLog((m) => opts.log('error', m));
          server.on('error', (err) => logError(`listener ${addr.host}:${addr.port}: ${err.message}`));
          const a = server.address() as net.AddressInfo;
          resolve({
            address: { host: a.address, port: a.port },
            close: () => new Promise<void>((res) => server.close(() => res())),
          });
        });
      });
    },
  };
}
