/**
 * tevent_queue: FIFO serialisation of work on event contexts (item 41).
 *
 * An entry waits until it reaches the head of its queue; then its trigger
 * runs from an immediate of the entry's context, so at most one trigger per
 * loopOnce(). A triggered entry stays at the head, blocking the queue,
 * until it is freed (in tevent the entry lives as long as its request);
 * freeing it schedules the next trigger. An entry without a trigger is a
 * pure blocker. addOptimizeEmpty() triggers at once, inside the call, when
 * the queue is empty and running. Entries carry their own tags and are
 * traced as kind 'queue': ATTACH when added, BEFORE_HANDLER before the
 * trigger, DETACH when freed.
 */
import type { EventSite } from './types.js';
import { captureSite, formatSite, type SiteHolder } from './site.js';
import type { EventContext } from './context.js';
import type { ImmediateEvent } from './timer.js';

export type QueueTrigger = (entry: QueueEntry, privateData: unknown) => void;

export class QueueEntry implements EventSite {
  readonly kind = 'queue' as const;
  /** separate from the tags of the queue's own immediate (item 38) */
  tag = 0;
  /** the trigger ran (or there is none): the entry blocks the queue until freed */
  triggered: boolean;
  /** @internal */ prev: QueueEntry | null = null;
  /** @internal */ next: QueueEntry | null = null;
  /** @internal */ queue: EventQueue | null;

  constructor(
    queue: EventQueue,
    readonly ctx: EventContext,
    readonly trigger: QueueTrigger | null,
    readonly privateData: unknown,
    private readonly siteHolder: SiteHolder | null,
  ) {
    this.queue = queue;
    this.triggered = trigger === null;
  }

  get site(): string {
    return formatSite(this.siteHolder);
  }

  /** still in its queue (waiting, or triggered and blocking) */
  get pending(): boolean {
    return this.queue !== null;
  }

  /** Leaves the queue; the next entry's trigger is scheduled if this one was at the head. */
  free(): void {
    this.queue?.remove(this);
  }
}

export class EventQueue {
  private head: QueueEntry | null = null;
  private tail: QueueEntry | null = null;
  private count = 0;
  private isRunning = true;
  /** the immediate that runs the head's trigger, on the head entry's context */
  private im: ImmediateEvent | null = null;
  private readonly runHead = (): void => this.triggerHead();

  constructor(readonly name: string) {}

  get length(): number {
    return this.count;
  }

  get running(): boolean {
    return this.isRunning;
  }

  /** tevent_queue_add_entry: trigger runs once the entry reaches the head (null: a blocker). */
  add(ctx: EventContext, trigger: QueueTrigger | null, privateData: unknown = null): QueueEntry {
    return this.addInternal(ctx, trigger, privateData, false, this.add);
  }

  /** tevent_queue_add_optimize_empty: on an empty running queue, the trigger runs before this returns. */
  addOptimizeEmpty(ctx: EventContext, trigger: QueueTrigger | null, privateData: unknown = null): QueueEntry {
    return this.addInternal(ctx, trigger, privateData, true, this.addOptimizeEmpty);
  }

  /**
   * tevent_queue_wait_send: resolves when the entry reaches the head; free
   * it to let the queue go on. Never resolves if the queue is freed first.
   */
  wait(ctx: EventContext): Promise<QueueEntry> {
    return new Promise((resolve) => this.add(ctx, (e) => resolve(e)));
  }

  start(): void {
    if (this.isRunning) return;
    this.isRunning = true;
    this.schedule();
  }

  /** Triggers stop until start(); an entry already triggered stays at the head. */
  stop(): void {
    this.isRunning = false;
  }

  /** Frees every entry (none is triggered) and stops the queue. */
  free(): void {
    this.isRunning = false;
    while (this.head) this.remove(this.head);
    this.im?.cancel();
    this.im = null;
  }

  /** @internal */
  remove(e: QueueEntry): void {
    if (e.queue !== this) return;
    e.queue = null;
    if (e.prev) e.prev.next = e.next;
    else this.head = e.next;
    if (e.next) e.next.prev = e.prev;
    else this.tail = e.prev;
    e.prev = e.next = null;
    this.count--;
    e.ctx.trace('detach', e);
    this.schedule();
  }

  private addInternal(ctx: EventContext, trigger: QueueTrigger | null, privateData: unknown, direct: boolean, api: (...a: never[]) => unknown): QueueEntry {
    if (ctx.closed) throw new Error('event context is closed');
    const e = new QueueEntry(this, ctx, trigger, privateData, ctx.captureSites ? captureSite(api) : null);
    const wasEmpty = this.count === 0;
    e.prev = this.tail;
    if (this.tail) this.tail.next = e;
    else this.head = e;
    this.tail = e;
    this.count++;
    ctx.trace('attach', e);
    if (direct && wasEmpty && this.isRunning && !e.triggered) {
      this.runTrigger(e);
      return e;
    }
    this.schedule();
    return e;
  }

  /** Arms the immediate for the head's trigger, unless it already ran or the queue is stopped. */
  private schedule(): void {
    const h = this.head;
    if (!this.isRunning || !h || h.triggered || h.ctx.closed) return;
    if (this.im && this.im.ctx !== h.ctx) {
      this.im.cancel();
      this.im = null;
    }
    if (!this.im) this.im = h.ctx.createImmediate();
    if (!this.im.pending) this.im.schedule(this.runHead);
  }

  private triggerHead(): void {
    const h = this.head;
    if (!this.isRunning || !h || h.triggered) return;
    this.runTrigger(h);
  }

  private runTrigger(e: QueueEntry): void {
    e.triggered = true;
    e.ctx.trace('before_handler', e);
    e.trigger!(e, e.privateData);
  }
}
