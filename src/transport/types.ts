/**
 * Transports move SMB2 PDUs over TCP (direct TCP, MS-SMB2 2.1: a 4-byte
 * header, zero then a 24-bit big-endian length). They never parse SMB;
 * the server never opens sockets. `node` uses net.Socket; `uring` (the
 * io_uring data path) implements the same interface.
 */
import type { DataPool } from '../uring/data-pool.js';

/** A region of an open file to send after a header without copying it through user space. */
export interface FileRegion {
  fd: number;
  offset: number;
  length: number;
  /** Called once the region has been sent or abandoned (the fd may be closed then). */
  release?: () => void;
}

/** Where the tail of a large PDU goes instead of memory (see TransportConnection.onLargeMessage). */
export interface SpliceSink {
  /** a file descriptor of the receiver's own (a dup), written at `position` onwards */
  fd: number;
  position: number;
  /** called once when the transport no longer uses fd */
  release(): void;
}

/** How the tail of a large PDU went into its sink: bytes written, and the first error (the rest was read and dropped). */
export interface SpliceOutcome {
  /** the PDU's whole length (head plus tail) */
  total: number;
  written: number;
  error: Error | null;
}

export interface TransportConnection {
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /**
   * One complete PDU, without its 4-byte header. The callee owns the buffer,
   * except when `release` is given: then the buffer is pooled memory
   * (a big WRITE's body, say), and the callee calls release() once, when
   * it no longer needs the bytes.
   */
  onMessage: (pdu: Buffer, release?: () => void, spliced?: SpliceOutcome) => void;
  /**
   * Transports that can splice from the socket ask this when a PDU is larger
   * than their receive staging: `head` is its first bytes as received (at
   * least the SMB2 header and a request's fixed part, in practice up to
   * 64 KiB), `total` its length. A sink makes the transport move the
   * remaining total - head.length bytes socket -> pipe -> file (io_uring
   * SPLICE, never through user space) and then deliver `head` alone with
   * `spliced` set; null receives the PDU into memory as usual. Called
   * synchronously, with nothing of the PDU handled yet; `head` is only valid
   * during the call (the delivered head is a copy).
   */
  onLargeMessage?: (head: Buffer, total: number) => SpliceSink | null;
  /** Called once, when the connection is gone. */
  onClose: (err?: Error) => void;
  /**
   * Sends one PDU made of `parts`, in order with every other send. `done`,
   * when given, is called once when the transport no longer reads the parts
   * (sent, or the connection failed and nothing can read them any more), so
   * pooled memory can be given back.
   */
  send(parts: readonly Buffer[], done?: () => void): void;
  /**
   * Sends one PDU made of `head` followed by `region.length` bytes of a file,
   * in order with every other send, without the data passing through user
   * space (io_uring SPLICE). Bytes the file no longer has when they are sent
   * go out as zeros, so the stream keeps the length the PDU announced.
   * Resolves with the file bytes sent. Only transports that can splice have it.
   */
  sendFile?(head: readonly Buffer[], region: FileRegion): Promise<number>;
  /**
   * Largest PDU accepted now; a larger length closes the connection.
   * TransportOptions.firstMaxPdu until the server raises it (at logon).
   */
  maxFrame: number;
  /** Bytes queued and not yet taken by the kernel. */
  readonly pendingBytes: number;
  /**
   * Calls `cb` once, when pendingBytes has come down to `limit` or below
   * (on a later turn if it is there already) or the connection is gone.
   * One waiter at a time: a second call replaces the first.
   */
  onDrained(limit: number, cb: () => void): void;
  /** Stops delivering messages until resume(). */
  pause(): void;
  resume(): void;
  close(): void;
}

export interface ListenAddress {
  host: string;
  port: number;
}

export interface Listener {
  readonly address: ListenAddress;
  close(): Promise<void>;
}

export interface TransportOptions {
  /** Largest PDU accepted; a larger length closes the connection. */
  maxPdu: number;
  /** Largest PDU a new connection may send until its maxFrame is raised (default maxPdu). */
  firstMaxPdu?: number;
  /** Where PDUs too big for the receive staging buffer go (handed out with a release); none: allocated per PDU. */
  pool?: DataPool | null;
  log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
}

export interface Transport {
  readonly name: 'node' | 'uring';
  listen(addr: ListenAddress, onConnection: (c: TransportConnection) => void): Promise<Listener>;
}

/** Largest PDU a direct-TCP frame can carry: StreamProtocolLength is 24 bits (MS-SMB2 2.1). */
export const MAX_FRAME = 0xffffff;

/**
 * The 4-byte direct-TCP header for a PDU of `len` bytes. A longer PDU would
 * wrap the 24-bit length and desynchronise the stream, so it is refused.
 */
export function frameHeader(len: number): Buffer {
  if (len > MAX_FRAME) throw new RangeError(`a PDU of ${len} bytes does not fit a direct-TCP frame (at most ${MAX_FRAME})`);
  const hdr = Buffer.allocUnsafe(4);
  hdr.writeUInt32BE(len, 0);
  return hdr;
}
