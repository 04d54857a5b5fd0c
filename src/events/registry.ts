/**
 * Process-wide registry of the fd slots of every context.
 *
 * Closing an fd through any context (auto-close, ctx.closeFd) first
 * silences every slot on that fd number in every context: backends drop
 * their registrations, and a pending io_uring POLL_ADD (which holds a file
 * reference, seed 003 §9b) is cancelled synchronously, so close(2) really
 * releases the file and the peer sees the hangup at once (item 18).
 */
import { SystemError } from '../util/errors.js';
import { eventsNative } from './native-events.js';
import type { FdSlot } from './fd.js';

const slotsByFd = new Map<number, Set<FdSlot>>();

export function registerSlot(slot: FdSlot): void {
  let set = slotsByFd.get(slot.fd);
  if (!set) slotsByFd.set(slot.fd, (set = new Set()));
  set.add(slot);
}

export function unregisterSlot(slot: FdSlot): void {
  const set = slotsByFd.get(slot.fd);
  if (!set) return;
  set.delete(slot);
  if (set.size === 0) slotsByFd.delete(slot.fd);
}

/** How many contexts watch fd (for tests and diagnostics). */
export function watchersOf(fd: number): number {
  return slotsByFd.get(fd)?.size ?? 0;
}

/** Silences every watcher of fd in the process, then close(2)s it. */
export function closeWatchedFd(fd: number): void {
  const set = slotsByFd.get(fd);
  if (set) {
    slotsByFd.delete(fd);
    for (const slot of [...set]) slot.ctx.silenceSlot(slot);
  }
  const r = eventsNative().close(fd);
  if (r < 0) throw new SystemError('close', -r);
}
