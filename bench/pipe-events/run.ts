/**
 * pipe events/s through ringsmb's EventContext, on the exact schemes of
 * /work/shared/tools/event-bench (see its pipe_events.c header):
 *
 *   ring   N blocking pipes, T tokens; the READ handler of pipe i reads 1
 *          byte and writes 1 byte to pipe (i+1) % N
 *   speed1 one pipe; READ handler reads 1 byte (counted), WRITE handler on
 *          the write end writes 1 byte
 *   rw     ring, completion-based: a 1-byte READ op per pipe is always
 *          outstanding on ctx.ring; its completion submits a 1-byte WRITE
 *          op to the next pipe and re-arms the READ (cf. raw-uring-rw)
 *   net    ring through Node net.Socket({fd, onread}) on the same pipes
 *          (what a Node program gets today; cf. node-onread)
 *
 * Usage: node dist/bench/pipe-events/run.js --backend poll|epoll|uring|hybrid
 *          --pipes N --tokens T --seconds D [--scheme ring|speed1|rw|net]
 *          [--driver standalone|node]
 * Prints one key=value line in event-bench's format.
 */
import net from 'node:net';
import { createEventContext, FD_READ, FD_WRITE, type BackendChoice, type DriverName, type EventContext } from '../../src/events/index.js';
import { eventsNative } from '../../src/events/native-events.js';
import { runRw } from './rw.js';

interface Opts {
  backend: BackendChoice;
  driver: DriverName;
  scheme: 'ring' | 'speed1' | 'rw' | 'net';
  pipes: number;
  tokens: number;
  seconds: number;
}

export interface Pipe {
  r: number;
  w: number;
}

export interface Result {
  events: number;
  calls: number;
  waits: number;
  secs: number;
  spurious: number;
  heldInFlight?: number;
}

const n = eventsNative();
const O_CLOEXEC = 0o2000000;

function parse(argv: string[]): Opts {
  const o: Opts = { backend: 'epoll', driver: 'standalone', scheme: 'ring', pipes: 1, tokens: 1, seconds: 3 };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i]!;
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`missing value for ${k}`);
    if (k === '--backend') o.backend = v as BackendChoice;
    else if (k === '--driver') o.driver = v as DriverName;
    else if (k === '--scheme') o.scheme = v as Opts['scheme'];
    else if (k === '--pipes') o.pipes = Number(v);
    else if (k === '--tokens') o.tokens = Number(v);
    else if (k === '--seconds') o.seconds = Number(v);
    else throw new Error(`unknown option ${k}`);
  }
  if (o.scheme === 'speed1') {
    o.pipes = 1;
    o.tokens = 0;
  }
  if (!(o.pipes >= 1 && o.pipes <= 4096)) throw new RangeError('--pipes must be 1..4096');
  if (o.scheme !== 'speed1' && !(o.tokens >= 1 && o.tokens <= o.pipes)) throw new RangeError('--tokens must be 1..N');
  if (!(o.seconds > 0)) throw new RangeError('--seconds must be > 0');
  return o;
}

function makePipes(o: Opts): Pipe[] {
  const p: Pipe[] = [];
  for (let i = 0; i < o.pipes; i++) {
    const r = n.pipe2(O_CLOEXEC);
    if (typeof r === 'number') throw new Error(`pipe2: ${r}`);
    p.push({ r: r[0], w: r[1] });
  }
  for (let i = 0; i < o.tokens; i++) if (n.writeByte(p[i]!.w, 116) !== 1) throw new Error('prime write');
  return p;
}

/** Runs the context until a timer at +D; standalone: while (!finished) loopOnce(). */
async function runFor(ctx: EventContext, o: Opts, driver: DriverName): Promise<{ secs: number; waits: number }> {
  let finished = false;
  let waits = 0;
  const t0 = performance.now();
  ctx.addTimer(o.seconds * 1000, () => {
    finished = true;
    if (driver === 'node') ctx.close();
  });
  if (driver === 'node') {
    await ctx.loopWait();
  } else {
    while (!finished) {
      ctx.loopOnce();
      waits++;
    }
  }
  return { secs: (performance.now() - t0) / 1000, waits };
}

async function ring(o: Opts, pipes: Pipe[]): Promise<Result> {
  const ctx = createEventContext({ backend: o.backend, driver: o.driver, captureSites: false });
  let events = 0;
  let spurious = 0;
  const N = pipes.length;
  for (let i = 0; i < N; i++) {
    const rfd = pipes[i]!.r;
    const wnext = pipes[(i + 1) % N]!.w;
    ctx.addFd(rfd, FD_READ, () => {
      if (n.readByte(rfd) !== 116) {
        spurious++;
        return;
      }
      n.writeByte(wnext, 116);
      events++;
    });
  }
  const { secs, waits } = await runFor(ctx, o, o.driver);
  ctx.close();
  return { events, calls: events + spurious, waits, secs, spurious };
}

async function speed1(o: Opts, pipes: Pipe[]): Promise<Result> {
  const ctx = createEventContext({ backend: o.backend, driver: o.driver, captureSites: false });
  let reads = 0;
  let writes = 0;
  const { r, w } = pipes[0]!;
  ctx.addFd(r, FD_READ, () => {
    n.readByte(r);
    reads++;
  });
  ctx.addFd(w, FD_WRITE, () => {
    n.writeByte(w, 116);
    writes++;
  });
  const { secs, waits } = await runFor(ctx, o, o.driver);
  ctx.close();
  return { events: reads, calls: reads + writes, waits, secs, spurious: 0 };
}

/** Node net.Socket with onread on the same pipes (cf. event-bench node-onread). */
async function netRing(o: Opts, pipes: Pipe[]): Promise<Result> {
  const N = pipes.length;
  const writers = pipes.map((p) => new net.Socket({ fd: p.w, readable: false, writable: true }));
  let events = 0;
  let calls = 0;
  const readers: net.Socket[] = [];
  for (let i = 0; i < N; i++) {
    const next = writers[(i + 1) % N]!;
    const s = new net.Socket({
      fd: pipes[i]!.r,
      readable: true,
      writable: false,
      onread: {
        buffer: Buffer.alloc(65536),
        callback: (nread: number, buf: Buffer) => {
          calls++;
          events += nread;
          next.write(Buffer.from(buf.subarray(0, nread)));
          return true;
        },
      },
    } as net.SocketConstructorOpts);
    readers.push(s);
  }
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, o.seconds * 1000));
  const secs = (performance.now() - t0) / 1000;
  // Stop reading; bytes already taken by a callback were forwarded with write(),
  // which Node may still hold queued: count them as in flight.
  for (const s of readers) s.pause();
  await new Promise((resolve) => setImmediate(resolve));
  let queued = 0;
  for (const w of writers) queued += w.writableLength;
  return { events, calls, waits: 0, secs, spurious: 0, heldInFlight: queued };
}

function check(o: Opts, pipes: Pipe[], r: Result): string {
  if (o.scheme === 'speed1') return r.events > 0 ? 'ok' : 'failed';
  let total = r.heldInFlight ?? 0;
  for (const p of pipes) total += n.fionread(p.r);
  return total === o.tokens ? 'ok' : `failed(bytes=${total})`;
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const pipes = makePipes(o);
  let r: Result;
  let impl: string;
  if (o.scheme === 'net') {
    r = await netRing(o, pipes);
    impl = 'node-net-onread';
  } else {
    r = o.scheme === 'ring' ? await ring(o, pipes) : o.scheme === 'speed1' ? await speed1(o, pipes) : await runRw(o, pipes);
    impl = `ringsmb-${o.backend}${o.scheme === 'rw' ? '-rw' : ''}${o.driver === 'node' ? '-node' : ''}`;
  }
  const scheme = o.scheme === 'speed1' ? 'speed1' : 'ring';
  console.log(
    `impl=${impl} scheme=${scheme} n=${o.pipes} t=${o.tokens} secs=${r.secs.toFixed(4)} events=${r.events} ` +
      `eps=${(r.events / r.secs).toFixed(1)} calls=${r.calls} waits=${r.waits} spurious=${r.spurious} check=${check(o, pipes, r)}`,
  );
  process.exit(0);
}

main().catch((err) => {
  console.error('pipe-events:', err);
  process.exit(2);
});
