/**
 * Signals, tevent style: a native handler only records (counters and a
 * small siginfo queue per signal in shared memory) and writes a byte to a
 * wake-up pipe; handlers run from the loop (items 29-32). One hub per
 * process fans deliveries out to the signal events of every context.
 */
import { constants as osConstants } from 'node:os';
import { SystemError, check } from '../util/errors.js';
import { eventsNative } from './native-events.js';
import type { EventSite } from './types.js';
import { formatSite, type SiteHolder } from './site.js';
import type { EventContext } from './context.js';

export const SA_SIGINFO = 4;
export const SA_RESTART = 0x10000000;
export const SA_RESETHAND = 0x80000000 | 0;

const SIG_MAX = 65;
const SIG_Q = 64;
const SIG_INFO = 1 + SIG_MAX;

export interface SignalInfo {
  signo: number;
  code: number;
  pid: number;
  uid: number;
  value: number;
}

export type SignalHandler = (se: SignalEvent, signo: number, count: number, info: SignalInfo | null) => void;

export class SignalEvent implements EventSite {
  readonly kind = 'signal' as const;
  tag = 0;
  /** @internal */ pending = 0;
  /** @internal */ infos: SignalInfo[] = [];
  /** @internal */ active = true;

  constructor(
    readonly ctx: EventContext,
    readonly signo: number,
    readonly saFlags: number,
    public handler: SignalHandler,
    private readonly siteHolder: SiteHolder | null,
  ) {}

  get site(): string {
    return formatSite(this.siteHolder);
  }

  free(): void {
    this.ctx.freeSignal(this);
  }
}

export function signalNumber(sig: number | string): number {
  if (typeof sig === 'number') return sig;
  const n = (osConstants.signals as Record<string, number>)[sig];
  if (n === undefined) throw new RangeError(`unknown signal ${sig}`);
  return n;
}

class SignalHub {
  readonly words: Int32Array;
  readonly wakeFd: number;
  private seenTotal: number;
  private readonly seen = new Int32Array(SIG_MAX);
  private readonly events: Set<SignalEvent>[] = [];
  private readonly drainBuf = Buffer.alloc(64);

  constructor() {
    const r = eventsNative().signalInit();
    if (typeof r === 'number') throw new SystemError('pipe2', -r);
    this.words = new Int32Array(r.words);
    this.wakeFd = r.fd;
    this.seenTotal = this.words[0]!;
  }

  add(se: SignalEvent): void {
    const s = se.signo;
    let set = this.events[s];
    if (!set) set = this.events[s] = new Set();
    if (set.size === 0) {
      this.seen[s] = this.words[1 + s]!;
      // SA_RESETHAND is ours to honour (per event); the kernel keeps our handler.
      check('sigaction', eventsNative().signalAction(s, 1, (se.saFlags & ~SA_RESETHAND) | SA_RESTART));
    }
    set.add(se);
  }

  remove(se: SignalEvent): void {
    const set = this.events[se.signo];
    if (!set || !set.delete(se)) return;
    if (set.size === 0) eventsNative().signalAction(se.signo, 0, 0);
  }

  /** Cheap when nothing arrived: one array read. */
  collect(): void {
    if (this.words[0] === this.seenTotal) return;
    this.drain();
    this.take();
  }

  /**
   * The wake-up pipe is readable: empty it whatever the counters say (a
   * signal handled on another thread may write its byte after a collect()
   * already ran), then take what arrived.
   */
  wake(): void {
    this.drain();
    if (this.words[0] !== this.seenTotal) this.take();
  }

  /** Hands the deliveries since the last take to the signal events. */
  private take(): void {
    const w = this.words;
    this.seenTotal = w[0]!;
    for (let s = 1; s < SIG_MAX; s++) {
      const now = w[1 + s]!;
      const n = (now - this.seen[s]!) | 0;
      if (n === 0) continue;
      const first = this.seen[s]!;
      this.seen[s] = now;
      const set = this.events[s];
      if (!set || set.size === 0) continue;
      const infos: SignalInfo[] = [];
      for (let k = Math.max(0, n - SIG_Q); k < n; k++) {
        const o = SIG_INFO + (s * SIG_Q + (((first + k) >>> 0) % SIG_Q)) * 4;
        infos.push({ signo: s, code: w[o]!, pid: w[o + 1]!, uid: w[o + 2]!, value: w[o + 3]! });
      }
      for (const se of set) {
        se.pending += n;
        for (const i of infos) se.infos.push(i);
        se.ctx.signalArrived();
      }
    }
  }

  private drain(): void {
    const n = eventsNative();
    while (n.readSync(this.wakeFd, this.drainBuf, 0, 64) > 0) {
      /* empty the wake-up pipe */
    }
  }
}

let hub: SignalHub | null = null;

export function signalHub(): SignalHub {
  if (!hub) hub = new SignalHub();
  return hub;
}

/** Runs one event's pending deliveries (SA_SIGINFO: one call per delivery; SA_RESETHAND: frees it after one). */
export function runSignalEvent(se: SignalEvent, call: (se: SignalEvent, count: number, info: SignalInfo | null) => void): void {
  const count = se.pending;
  const infos = se.infos;
  se.pending = 0;
  se.infos = [];
  if (se.saFlags & SA_SIGINFO) {
    for (let i = 0; i < infos.length && se.active; i++) {
      call(se, 1, infos[i]!);
      if (se.saFlags & SA_RESETHAND) se.free();
    }
    return;
  }
  call(se, count, null);
  if (se.saFlags & SA_RESETHAND) se.free();
}
