/**
 * Timers and immediates: a due-ordered list and a FIFO, both intrusive
 * doubly-linked lists so add, free and reschedule are O(1) in the common
 * case (new timers usually go last).
 */
import type { EventSite } from './types.js';
import { formatSite, type SiteHolder } from './site.js';
import type { EventContext } from './context.js';

export type TimerHandler = (te: TimerEvent, now: number) => void;
export type ImmediateHandler = (im: ImmediateEvent) => void;

export class TimerEvent implements EventSite {
  readonly kind = 'timer' as const;
  tag = 0;
  /** due time, performance.now() milliseconds */
  due: number;
  /** @internal */ prev: TimerEvent | null = null;
  /** @internal */ next: TimerEvent | null = null;
  /** @internal */ linked = false;

  constructor(readonly ctx: EventContext, due: number, public handler: TimerHandler, private readonly siteHolder: SiteHolder | null) {
    this.due = due;
  }

  get site(): string {
    return formatSite(this.siteHolder);
  }

  get pending(): boolean {
    return this.linked;
  }

  /** Reschedules in place to now + delayMs (tevent_update_timer, item 24). */
  update(delayMs: number): void {
    this.ctx.updateTimer(this, performance.now() + Math.max(0, delayMs));
  }

  free(): void {
    this.ctx.freeTimer(this);
  }
}

export class TimerList {
  head: TimerEvent | null = null;
  tail: TimerEvent | null = null;

  /** After all entries with due <= t.due (equal due times keep insertion order, item 22). */
  insert(t: TimerEvent): void {
    let after = this.tail;
    while (after && after.due > t.due) after = after.prev;
    t.prev = after;
    t.next = after ? after.next : this.head;
    if (t.next) t.next.prev = t;
    else this.tail = t;
    if (after) after.next = t;
    else this.head = t;
    t.linked = true;
  }

  remove(t: TimerEvent): void {
    if (!t.linked) return;
    if (t.prev) t.prev.next = t.next;
    else this.head = t.next;
    if (t.next) t.next.prev = t.prev;
    else this.tail = t.prev;
    t.prev = t.next = null;
    t.linked = false;
  }
}

export class ImmediateEvent implements EventSite {
  readonly kind = 'immediate' as const;
  tag = 0;
  handler: ImmediateHandler | null = null;
  /** @internal */ prev: ImmediateEvent | null = null;
  /** @internal */ next: ImmediateEvent | null = null;
  /** @internal */ linked = false;
  /** @internal */ siteHolder: SiteHolder | null;

  constructor(readonly ctx: EventContext, siteHolder: SiteHolder | null) {
    this.siteHolder = siteHolder;
  }

  get site(): string {
    return formatSite(this.siteHolder);
  }

  get pending(): boolean {
    return this.linked;
  }

  /** (Re)schedules: an earlier scheduling is replaced (item 27). */
  schedule(handler: ImmediateHandler): void {
    this.ctx.scheduleImmediate(this, handler);
  }

  /** Cancels a pending scheduling (item 28); the object may be scheduled again. */
  cancel(): void {
    this.ctx.cancelImmediate(this);
  }

  free(): void {
    this.ctx.cancelImmediate(this);
  }
}

export class ImmediateList {
  head: ImmediateEvent | null = null;
  tail: ImmediateEvent | null = null;

  push(im: ImmediateEvent): void {
    im.prev = this.tail;
    im.next = null;
    if (this.tail) this.tail.next = im;
    else this.head = im;
    this.tail = im;
    im.linked = true;
  }

  remove(im: ImmediateEvent): void {
    if (!im.linked) return;
    if (im.prev) im.prev.next = im.next;
    else this.head = im.next;
    if (im.next) im.next.prev = im.prev;
    else this.tail = im.prev;
    im.prev = im.next = null;
    im.linked = false;
  }
}
