/**
 * The poll backend: ppoll(2) over a pollfd array laid out in an Int32Array
 * (struct pollfd is {int fd; short events; short revents}, so word 2i is
 * the fd and word 2i+1 is events | revents << 16) and passed to C as is.
 * One slot per fd; dispatch scans from the slot after the last one served,
 * so every ready fd gets its turn (fair rotation, item 9).
 */
import { SystemError } from '../../util/errors.js';
import { eventsNative, type EventsBinding } from '../native-events.js';
import { pollEventsFor, type Backend } from '../types.js';
import type { FdSlot } from '../fd.js';

const EINTR = 4;

export class PollBackend implements Backend {
  readonly name = 'poll' as const;
  readonly pollFd = -1;
  readonly ring = null;
  /** told about every slot change (the attached driver's uv_poll per fd) */
  watcher: ((slot: FdSlot, removed: boolean) => void) | null = null;
  private readonly n: EventsBinding = eventsNative();
  private order: FdSlot[] = [];
  private pfds = new Int32Array(64);
  private dirty = false;
  private next = 0;

  add(slot: FdSlot): void {
    slot.index = this.order.length;
    this.order.push(slot);
    this.grow();
    this.setEntry(slot);
    this.watcher?.(slot, false);
  }

  update(slot: FdSlot): void {
    if (slot.index >= 0) this.setEntry(slot);
    this.watcher?.(slot, false);
  }

  remove(slot: FdSlot, _closing: boolean): void {
    if (slot.index < 0) return;
    this.order[slot.index] = null as unknown as FdSlot;
    this.pfds[slot.index * 2] = -1;
    this.pfds[slot.index * 2 + 1] = 0;
    slot.index = -1;
    this.dirty = true;
    this.watcher?.(slot, true);
  }

  hasPending(): boolean {
    return false;
  }

  /** All slots, for the attached driver. */
  slots(): readonly FdSlot[] {
    this.compact();
    return this.order;
  }

  wait(timeoutNs: number, _dueMs: number): boolean {
    this.compact();
    const count = this.order.length;
    const r = this.n.ppoll(this.pfds, count, timeoutNs);
    if (r < 0) {
      if (r === -EINTR) return false;
      throw new SystemError('ppoll', -r);
    }
    if (r === 0) return false;
    return this.dispatch(count);
  }

  private dispatch(count: number): boolean {
    const p = this.pfds;
    const start = this.next < count ? this.next : 0;
    for (let k = 0; k < count; k++) {
      let i = start + k;
      if (i >= count) i -= count;
      const revents = p[i * 2 + 1]! >>> 16;
      if (revents === 0) continue;
      const slot = this.order[i];
      if (!slot) continue;
      // Mark it consumed: a handler that reads another fd must not see this entry again.
      p[i * 2 + 1] = p[i * 2 + 1]! & 0xffff;
      if (slot.dispatch(revents)) {
        this.next = i + 1;
        return true;
      }
    }
    return false;
  }

  close(): void {
    this.order = [];
    this.watcher = null;
  }

  private setEntry(slot: FdSlot): void {
    const i = slot.index * 2;
    this.pfds[i] = slot.flags ? slot.fd : -1;
    this.pfds[i + 1] = pollEventsFor(slot.flags);
  }

  private grow(): void {
    if (this.order.length * 2 <= this.pfds.length) return;
    const n = new Int32Array(this.pfds.length * 2);
    n.set(this.pfds);
    this.pfds = n;
  }

  private compact(): void {
    if (!this.dirty) return;
    this.dirty = false;
    const live = this.order.filter((s) => s !== null);
    this.order = live;
    for (let i = 0; i < live.length; i++) {
      live[i]!.index = i;
      this.setEntry(live[i]!);
    }
    this.next = 0;
  }
}
