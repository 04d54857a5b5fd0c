/**
 * fd events and the per-fd slot that multiplexes them.
 *
 * A context keeps one FdSlot per fd number; all fdes on that fd live in the
 * slot in rotation order (tevent's EEXIST multiplexing, done in user space
 * from the start). Backends register the slot once with the union of the
 * flags and hand readiness back through FdSlot.dispatch().
 */
import { FD_ERROR, FD_READ, FD_WRITE, P_BAD, P_IN, P_NVAL, P_OUT, pollEventsFor, type EventSite } from './types.js';
import { formatSite, type SiteHolder } from './site.js';
import { eventsNative } from './native-events.js';
import type { EventContext } from './context.js';

/**
 * Bumped after every handler of every context. Readiness a backend saw at
 * an older epoch may have been consumed since (a handler read that fd) and
 * must be re-checked with FdSlot.pollNow() before it is dispatched.
 */
let epoch = 0;

export function handlerEpoch(): number {
  return epoch;
}

/** @internal the core calls this after each handler */
export function handlerRan(): void {
  epoch++;
}

export type FdHandler = (fde: FdEvent, flags: number) => void;

export class FdEvent implements EventSite {
  readonly kind = 'fd' as const;
  /** caller's uint64-ish tag (tevent item 38); 0 by default */
  tag = 0;
  autoClose = false;
  /** @internal */ slot: FdSlot | null = null;
  /** @internal taken off the loop by reinitialise() or a freed wrapper, not yet freed (auto-close pending) */
  detached = false;
  /** @internal */ flagsValue: number;
  /** @internal */ siteHolder: SiteHolder | null;

  constructor(
    readonly ctx: EventContext,
    readonly fd: number,
    flags: number,
    public handler: FdHandler,
    site: SiteHolder | null,
  ) {
    this.flagsValue = flags;
    this.siteHolder = site;
  }

  get site(): string {
    return formatSite(this.siteHolder);
  }

  get flags(): number {
    return this.flagsValue;
  }

  set flags(f: number) {
    this.setFlags(f);
  }

  getFlags(): number {
    return this.flagsValue;
  }

  /** Takes effect at once, also from inside a handler (item 7). */
  setFlags(f: number): void {
    f &= FD_READ | FD_WRITE | FD_ERROR;
    if (f === this.flagsValue) return;
    this.flagsValue = f;
    const slot = this.slot;
    if (slot && !slot.closed) slot.recompute();
  }

  /** Freeing this fde will close(2) the fd (item 17). */
  setAutoClose(on = true): void {
    this.autoClose = on;
  }

  get freed(): boolean {
    return this.slot === null;
  }

  free(): void {
    this.ctx.freeFd(this);
  }
}

export class FdSlot {
  readonly fdes: FdEvent[] = [];
  /** union of the fdes' flags as last told to the backend */
  flags = 0;
  /** set when the fd was closed through a context: silent forever */
  closed = false;
  /** backend-private: epoll data tag, poll array index, uring state */
  id = 0;
  index = -1;
  priv: unknown = null;
  /** the context's own signal wake-up pipe: not counted as an event */
  internal = false;

  constructor(readonly ctx: EventContext, readonly fd: number) {}

  recompute(): void {
    let u = 0;
    const f = this.fdes;
    for (let i = 0; i < f.length; i++) u |= f[i]!.flagsValue;
    if (u !== this.flags) {
      const old = this.flags;
      this.flags = u;
      this.ctx.slotChanged(this, old);
    }
  }

  /** Current readiness for the slot's flags (0: none or no flags), for readiness seen at an older epoch. */
  pollNow(): number {
    if (this.flags === 0) return 0;
    const r = eventsNative().pollOne(this.fd, pollEventsFor(this.flags));
    return r > 0 ? r : 0;
  }

  /**
   * Runs the first fde (in rotation order) whose flags meet `revents`, with
   * flags = requested ∩ ready (items 6, 9, 10, 14-16). Returns whether a
   * handler ran.
   */
  dispatch(revents: number): boolean {
    const fdes = this.fdes;
    for (let i = 0; i < fdes.length; i++) {
      const fde = fdes[i]!;
      const req = fde.flagsValue;
      if (req === 0) continue;
      let f = 0;
      if (revents & (P_BAD | P_NVAL)) {
        if ((req & (FD_READ | FD_ERROR)) === 0) {
          // WRITE-only fdes are not told about hangup: drop WRITE (item 16).
          fde.setFlags(req & ~FD_WRITE);
          continue;
        }
        f = FD_READ | FD_ERROR;
      }
      if (revents & P_IN) f |= FD_READ;
      if (revents & P_OUT) f |= FD_WRITE;
      f &= req;
      if (f === 0) continue;
      if (fdes.length > 1) {
        fdes.splice(i, 1);
        fdes.push(fde);
      }
      this.ctx.runFd(fde, f);
      return true;
    }
    return false;
  }
}
