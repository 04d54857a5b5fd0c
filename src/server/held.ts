/**
 * How many response bytes the server holds for its clients at once, all
 * connections together.
 *
 * Each connection is bounded on its own (SmbConnection: past 64 MiB queued
 * for a client that does not read, its requests wait), but one process
 * serves everyone: 1024 connections that each ask for 8 MiB READs and never
 * read the answers held 64 MiB and more each, some 70 GiB in all (memory for
 * signed and sealed answers and on Node's net transport; pipes pinning file
 * pages for spliced ones). So past a budget for the whole server (default
 * 1 GiB, at most an eighth of the machine's memory), a connection may hold
 * only a small share on top of one READ in hand: a client that takes its
 * answers goes on one READ at a time (its queue empties, so it may always
 * start the next), one that does not keeps what it holds and gets nothing
 * more. What the server holds is then about the budget plus one READ per
 * connection.
 *
 * What a connection holds (`held`): bytes queued on its socket and READ
 * bytes being read for it. The total is summed over the connections when a
 * connection would pass its share, so the common case costs nothing and no
 * running count can drift.
 */
import { totalmem } from 'node:os';

const MiB = 1 << 20;
/** What a connection may always hold, whatever the others do. */
export const HELD_SHARE = 4 * MiB;
/** How often waiting READs look again while the server is over its budget. */
const RECHECK_MS = 5;

/** The default budget: 1 GiB, or an eighth of the memory where that is less (never under 64 MiB). */
export function defaultHeldBudget(mem = totalmem()): number {
  return Math.max(64 * MiB, Math.min(1024 * MiB, Math.floor(mem / 8)));
}

export interface Holder {
  /** bytes queued for the client plus READ bytes being read for it */
  readonly held: number;
  /** the connection has closed (a waiter for it goes at once) */
  readonly isClosed: boolean;
}

interface Waiter {
  who: Holder;
  len: number;
  go: () => void;
}

export class HeldBudget {
  private waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** READs that waited for room so far (tests, the log) */
  waited = 0;

  /**
   * `max`: the budget, bytes; `holders`: every connection; `pressure`: told
   * (throttled by the caller) when a connection is held back by the budget.
   */
  constructor(
    readonly max: number,
    private readonly holders: () => Iterable<Holder>,
    private readonly pressure: (total: number, who: Holder) => void,
  ) {}

  /** What every connection holds together. */
  total(): number {
    let t = 0;
    for (const h of this.holders()) t += h.held;
    return t;
  }

  /**
   * Whether holding `len` more bytes keeps `who` within what it may hold:
   * always when it holds nothing (a client that reads its answers always
   * gets its next READ), or within its share, or while the server as a whole
   * stays within the budget. `total` is asked only past the share.
   */
  private fits(who: Holder, len: number, total: () => number): boolean {
    const own = who.held;
    return own === 0 || own + len <= HELD_SHARE || total() + len <= this.max;
  }

  /** Whether `who` may take a READ of `len` bytes in hand now (fits); if not, the pressure hook hears of it. */
  allows(who: Holder, len: number): boolean {
    let total = -1;
    if (this.fits(who, len, () => (total = this.total()))) return true;
    this.pressure(total, who);
    return false;
  }

  /** Whether the server is over its budget (SmbConnection holds back a connection past its share then). */
  over(): boolean {
    return this.total() > this.max;
  }

  /** Resolves once allows(who, len) would say yes, or `who` is closed. */
  wait(who: Holder, len: number): Promise<void> {
    this.waited++;
    return new Promise((go) => {
      this.waiters.push({ who, len, go });
      if (!this.timer) {
        this.timer = setInterval(() => this.recheck(), RECHECK_MS);
        this.timer.unref();
      }
    });
  }

  private recheck(): void {
    let total = this.total();
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.who.isClosed || this.fits(w.who, w.len, () => total)) {
        // Counted at once: the next waiter must not take the same room.
        if (!w.who.isClosed) total += w.len;
        w.go();
      } else {
        still.push(w);
      }
    }
    this.waiters = still;
    if (still.length === 0) this.stop();
  }

  /** Lets every waiter go (the server is closing; the connections see that they are closed). */
  close(): void {
    const ws = this.waiters;
    this.waiters = [];
    this.stop();
    for (const w of ws) w.go();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
