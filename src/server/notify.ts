/**
 * Directory change notification (MS-SMB2 3.3.5.19, 3.3.4.4; MS-FSA 2.1.4.1,
 * 2.1.5.10). The first CHANGE_NOTIFY on a directory open starts a watch that
 * lives as long as the open: its CompletionFilter, WATCH_TREE flag and
 * buffer size stay those of that first request, as on Windows, and changes
 * between two requests are kept for the next one.
 *
 * Changes come from two places:
 * - the server's own operations (CREATE, close with delete, rename, SET_INFO,
 *   writes), posted to the NotifyHub with the exact action and filter bits
 *   MS-FSA gives them (ADDED/REMOVED/OLD_NAME/NEW_NAME/MODIFIED);
 * - everything else (a local process changing the share), seen through
 *   inotify (fs.watch) on /proc/self/fd/N of the open's own directory fd:
 *   the kernel follows that link to the very directory the open resolved
 *   beneath the share root, so a path swapped for a symlink afterwards cannot
 *   point the watch outside the share (decision 6). fs.watch only says
 *   "rename" (a name came or went) or "change", so such a change is ADDED or
 *   REMOVED after checking whether the name exists, or MODIFIED. The kernel's
 *   echo of the server's own operations is dropped: a kernel event is looked
 *   at KERNEL_DELAY_MS after it came, and one for a path the server changed
 *   within OWN_WINDOW_MS is not reported again.
 *
 * A waiting request is answered as soon as a change it selects is there.
 * More than fits the buffer, or a watch that failed, is answered with
 * STATUS_NOTIFY_ENUM_DIR: "enumerate the directory again" (3.3.4.4).
 */
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import type { FileNotifyInformation } from '../smb2/commands/change-notify.js';
import type { VfsFile } from '../vfs/types.js';

/** CompletionFilter bits (MS-SMB2 2.2.35) */
export const NotifyFilter = {
  FILE_NAME: 0x001, DIR_NAME: 0x002, ATTRIBUTES: 0x004, SIZE: 0x008, LAST_WRITE: 0x010,
  LAST_ACCESS: 0x020, CREATION: 0x040, EA: 0x080, SECURITY: 0x100,
  STREAM_NAME: 0x200, STREAM_SIZE: 0x400, STREAM_WRITE: 0x800,
} as const;
export const WATCH_TREE = 0x0001;

/** FILE_NOTIFY_INFORMATION actions (MS-FSCC 2.7.1) */
export const NotifyAction = {
  ADDED: 1, REMOVED: 2, MODIFIED: 3, RENAMED_OLD_NAME: 4, RENAMED_NEW_NAME: 5,
  ADDED_STREAM: 6, REMOVED_STREAM: 7, MODIFIED_STREAM: 8,
} as const;

const NAME_BITS = NotifyFilter.FILE_NAME | NotifyFilter.DIR_NAME;
const CHANGE_BITS = NotifyFilter.ATTRIBUTES | NotifyFilter.SIZE | NotifyFilter.LAST_WRITE | NotifyFilter.LAST_ACCESS |
  NotifyFilter.CREATION | NotifyFilter.EA | NotifyFilter.SECURITY;
/** changes kept while no request waits, before the open says "enumerate again" instead */
const MAX_QUEUED = 1024;
/** how long a kernel event waits before it is looked at, so the server's own post of the same change is there first */
const KERNEL_DELAY_MS = 100;
/** a kernel event this close in time to the server's own change of the same path is that change's echo */
const OWN_WINDOW_MS = 1000;
/** paths a share's marks are swept past, and the most it keeps */
const TOUCHED_SWEEP = 4096;
const TOUCHED_MAX = 16384;

export type NotifyResult = { overflow: true } | { overflow: false; changes: FileNotifyInformation[] };
/** How a wait ends: changes, the handle closed, or its directory to be deleted. */
export type NotifyEnd = NotifyResult | 'closed' | 'deleted';

interface Waiter {
  resolve: (r: NotifyEnd) => void;
}

/** The name bit of a name change: DIR_NAME for a directory, FILE_NAME otherwise. */
export function nameBit(isDirectory: boolean): number {
  return isDirectory ? NotifyFilter.DIR_NAME : NotifyFilter.FILE_NAME;
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/**
 * Where the server's own changes meet the watches: one per server. A post
 * goes to every watch of the same share whose directory holds the path, or
 * holds it further down for a WATCH_TREE, and is remembered for a moment so
 * the kernel's report of the same change is not given twice.
 */
export class NotifyHub {
  /**
   * inotify watches the whole server may hold. The kernel's limit
   * (fs.inotify.max_user_watches) is the user's, shared with every other
   * process it runs: the server takes at most half of it, and no more than
   * 65536, however many clients ask for tree watches. Past it, directories
   * are not watched for changes made outside the server; the server's own
   * changes are still reported. Settable (tests).
   */
  kernelWatchBudget = defaultKernelWatchBudget();
  private kernelWatches = 0;
  private budgetLoggedAt = 0;
  private readonly watches = new Map<object, Set<DirWatch>>();
  /** per share with watches: share-relative path -> when the server last changed it */
  private readonly touched = new Map<object, Map<string, number>>();

  add(share: object, w: DirWatch): void {
    let set = this.watches.get(share);
    if (!set) this.watches.set(share, (set = new Set()));
    set.add(w);
  }

  remove(share: object, w: DirWatch): void {
    const set = this.watches.get(share);
    if (!set?.delete(w) || set.size > 0) return;
    this.watches.delete(share);
    this.touched.delete(share);
  }

  /** Takes one inotify watch from the budget; false (and a log line, at most one a minute) when it is spent. */
  takeKernelWatch(log: (m: string) => void): boolean {
    if (this.kernelWatches < this.kernelWatchBudget) {
      this.kernelWatches++;
      return true;
    }
    const now = Date.now();
    if (now - this.budgetLoggedAt >= 60_000) {
      this.budgetLoggedAt = now;
      log(`change notify: all ${this.kernelWatchBudget} inotify watches of the server are in use; directories past them are not watched for changes made outside the server`);
    }
    return false;
  }

  releaseKernelWatch(): void {
    this.kernelWatches--;
  }

  /** inotify watches held now. */
  get kernelWatchesInUse(): number {
    return this.kernelWatches;
  }

  /** The server changed `path` (share-relative, '/' separated) in a way MS-FSA reports as `action` under `filter`. */
  post(share: object, path: string, action: number, filter: number): void {
    const set = this.watches.get(share);
    if (!set) return;
    this.touch(share, path);
    const parent = parentOf(path);
    for (const w of set) {
      const base = w.base;
      if (parent === base || (w.recursive && (base === '' || parent.startsWith(`${base}/`)))) w.deliver(action, filter, base === '' ? path : path.slice(base.length + 1));
    }
  }

  /** The server changed `path` without a change to report (a write; reported at close): its kernel echo is dropped. */
  touch(share: object, path: string): void {
    if (!this.watches.has(share)) return;
    let m = this.touched.get(share);
    if (!m) this.touched.set(share, (m = new Map()));
    const now = Date.now();
    if (m.size >= TOUCHED_SWEEP) {
      // In time order (re-inserted last below): the old ones go, and past the bound the oldest
      // anyway (a write storm over many names; a dropped mark only lets an echo through).
      for (const [p, t] of m) {
        if (now - t <= OWN_WINDOW_MS && m.size < TOUCHED_MAX) break;
        m.delete(p);
      }
    }
    m.delete(path);
    m.set(path, now);
  }

  /** Whether a kernel event for `path` that came at `at` is the echo of the server's own change. */
  isOwn(share: object, path: string, at: number): boolean {
    const t = this.touched.get(share)?.get(path);
    return t !== undefined && Math.abs(t - at) <= OWN_WINDOW_MS;
  }
}

function defaultKernelWatchBudget(): number {
  try {
    const n = Number(readFileSync('/proc/sys/fs/inotify/max_user_watches', 'utf8').trim());
    if (Number.isFinite(n) && n > 0) return Math.max(1, Math.min(65536, Math.floor(n / 2)));
  } catch {
    // No /proc here: a modest budget.
  }
  return 4096;
}

/**
 * Directories one WATCH_TREE watches below its own, one inotify watch each
 * (the kernel's fs.inotify.max_user_watches is shared by the whole user).
 * Past it, deeper changes are not seen: one log line says so.
 */
export const MAX_TREE_DIRS = 4096;

/** How a WATCH_TREE reaches the directories below the watched one. */
export interface TreeAccess {
  /** Opens a directory by its path below the watched one ('/' separated; '' is the watched one), following no symlink. */
  openDir(rel: string): Promise<VfsFile>;
}

/** What a watch is, fixed by the first CHANGE_NOTIFY on the open. */
export interface WatchSpec {
  /** the open's directory fd */
  fd: number;
  /** the share the open is on (the hub's key) */
  share: object;
  /** the directory's share-relative path */
  base: string;
  filter: number;
  /** the first request's OutputBufferLength: no answer is ever larger */
  maxBuffer: number;
  /**
   * for WATCH_TREE: the directories below are watched too, found by walking
   * them on the VFS (asynchronously, so a big tree does not hold the loop as
   * Node's recursive fs.watch did: its walk of every file is synchronous,
   * 350 ms for 10,000 files here), and directories that appear later are
   * added as they come
   */
  tree: TreeAccess | null;
  /** whether a share-relative path exists now (for a kernel ADDED/REMOVED) */
  exists: (path: string) => Promise<boolean>;
  log: (m: string) => void;
}

export class DirWatch {
  readonly base: string;
  readonly recursive: boolean;
  readonly maxBuffer: number;
  private readonly filter: number;
  /** by path below the watched directory ('' is the watched directory itself) */
  private readonly watchers = new Map<string, FSWatcher>();
  private queue: FileNotifyInformation[] = [];
  private overflow = false;
  /** requests waiting, answered in the order they came (smbtorture smb2.notify.double) */
  private waiters: Waiter[] = [];
  private closed = false;
  private answerQueued = false;
  /** kernel events not looked at yet, with when they came */
  private kernel: { kind: 'rename' | 'change'; name: string; at: number }[] = [];
  private kernelTimer: NodeJS.Timeout | null = null;
  /** directories (paths below the watched one) to look at: watch them and what is below */
  private toWalk: string[] = [];
  private walking = false;
  private treeFull = false;

  constructor(private readonly hub: NotifyHub, private readonly spec: WatchSpec) {
    this.base = spec.base;
    this.recursive = spec.tree !== null;
    this.filter = spec.filter;
    this.maxBuffer = spec.maxBuffer;
    hub.add(spec.share, this);
    try {
      // The kernel follows /proc/self/fd/N to the very directory of the open (see above).
      if (!this.addWatch('', `/proc/self/fd/${spec.fd}`)) this.treeFull = true;
    } catch (err) {
      spec.log(`change notify watch: ${(err as Error).message}`);
      this.overflow = true;
    }
    if (spec.tree && !this.treeFull) this.walkLater('');
  }

  /** Watches a directory if the server's budget has a watch left (NotifyHub.kernelWatchBudget). */
  private addWatch(rel: string, fdPath: string): boolean {
    if (!this.hub.takeKernelWatch(this.spec.log)) return false;
    try {
      this.watchers.set(rel, this.watchOne(rel, fdPath));
      return true;
    } catch (err) {
      this.hub.releaseKernelWatch();
      throw err;
    }
  }

  /**
   * One inotify watch on a directory fd's /proc link. The trailing slash
   * matters: for the directory's own removal or move, libuv names the event
   * after the watched path's last component, which without it would be the
   * fd's number, reported as a change to a file of that name.
   */
  private watchOne(rel: string, fdPath: string): FSWatcher {
    const w = watch(`${fdPath}/`, { persistent: false }, (kind, name) => {
      if (name === '') {
        // The directory itself went or moved: its parent's watch reports that by name.
        if (rel !== '') this.unwatch(rel);
        return;
      }
      this.kernelEvent(kind as 'rename' | 'change', name === null ? null : rel ? `${rel}/${String(name)}` : String(name));
    });
    w.on('error', (err) => {
      if (rel !== '') return this.unwatch(rel);
      this.spec.log(`change notify watch: ${err.message}`);
      this.setOverflow();
    });
    return w;
  }

  /** Stops watching a directory that went (or moved) and everything below it. */
  private unwatch(rel: string): void {
    for (const [path, w] of this.watchers) if (path === rel || path.startsWith(`${rel}/`)) this.dropWatch(path, w);
  }

  private walkLater(rel: string): void {
    // A storm of new names (an unpacked archive) queues at most this many looks; past it the
    // client is told to enumerate again, as when events overflow.
    if (this.toWalk.length >= MAX_TREE_DIRS) return this.setOverflow();
    this.toWalk.push(rel);
    if (!this.walking) void this.walk();
  }

  /**
   * Watches each directory queued and queues the directories in it, one
   * at a time on the VFS's own threads; symlinks are never followed (the
   * opens refuse them), so the walk stays in the share and ends.
   */
  private async walk(): Promise<void> {
    this.walking = true;
    try {
      while (this.toWalk.length && !this.closed) {
        const rel = this.toWalk.shift()!;
        let dir: VfsFile | null = null;
        try {
          dir = await this.spec.tree!.openDir(rel);
          if (this.closed) break;
          if (rel !== '') {
            if (this.watchers.has(rel)) continue;
            if (this.watchers.size > MAX_TREE_DIRS) {
              if (!this.treeFull) this.spec.log(`change notify: more than ${MAX_TREE_DIRS} directories below; changes deeper than those watched are not reported`);
              this.treeFull = true;
              this.toWalk = [];
              break;
            }
            if (!this.addWatch(rel, `/proc/self/fd/${dir.fd}`)) {
              this.treeFull = true;
              this.toWalk = [];
              break;
            }
          }
          for (const e of await dir.readdir()) {
            if (e.stat.isDirectory && !e.stat.isSymlink) this.toWalk.push(rel ? `${rel}/${e.name}` : e.name);
          }
        } catch {
          // Gone, not a directory (a file that came), a symlink, or out of watches: nothing to watch there.
          if (rel !== '') this.unwatch(rel);
        } finally {
          await dir?.close().catch(() => {});
        }
      }
    } finally {
      this.walking = false;
    }
  }

  private kernelEvent(kind: 'rename' | 'change', name: string | null): void {
    if (this.closed) return;
    if (name === null) return this.setOverflow();
    // A name came or went below a WATCH_TREE: a directory that came is watched, one that went is let go.
    if (this.recursive && kind === 'rename' && !this.treeFull) this.walkLater(name);
    if (this.kernel.length >= MAX_QUEUED) return this.setOverflow();
    this.kernel.push({ kind, name, at: Date.now() });
    this.kernelTimer ??= setTimeout(() => {
      this.kernelTimer = null;
      void this.lookAtKernel();
    }, KERNEL_DELAY_MS);
  }

  /** Kernel events that are not the server's own, as changes (see the file's comment). */
  private async lookAtKernel(): Promise<void> {
    const share = this.spec.share;
    const pathOf = (name: string): string => (this.base === '' ? name : `${this.base}/${name}`);
    const events = this.kernel.filter((e) => !this.hub.isOwn(share, pathOf(e.name), e.at));
    this.kernel = [];
    // Whether each name is there, all looked up before any is delivered: one answer carries the batch.
    const there = await Promise.all(events.map((e) => (e.kind === 'rename' ? this.spec.exists(pathOf(e.name)) : false)));
    events.forEach((e, i) => {
      if (e.kind === 'change') this.deliver(NotifyAction.MODIFIED, CHANGE_BITS, e.name);
      else this.deliver(there[i] ? NotifyAction.ADDED : NotifyAction.REMOVED, NAME_BITS, e.name);
    });
  }

  private setOverflow(): void {
    this.overflow = true;
    this.queue = [];
    this.answerSoon();
  }

  /** A change `name` (below the watched directory, '/' separated) that MS-FSA reports under `filter`. */
  deliver(action: number, filter: number, name: string): void {
    if (this.closed || (filter & this.filter) === 0 || this.overflow) return;
    if (this.queue.length >= MAX_QUEUED) return this.setOverflow();
    this.queue.push({ action, fileName: name.split('/').join('\\') });
    this.answerSoon();
  }

  /** Answers the first waiting request once the changes of this turn of the loop are in. */
  private answerSoon(): void {
    if (this.answerQueued || this.waiters.length === 0 || (!this.overflow && this.queue.length === 0)) return;
    this.answerQueued = true;
    setImmediate(() => {
      this.answerQueued = false;
      const w = this.waiters.shift();
      if (!w) return;
      if (this.overflow) {
        this.overflow = false;
        this.queue = [];
        return w.resolve({ overflow: true });
      }
      if (this.queue.length === 0) {
        this.waiters.unshift(w);
        return;
      }
      const changes = coalesce(this.queue);
      this.queue = [];
      w.resolve({ overflow: false, changes });
    });
  }

  /**
   * Waits for the next changes. Resolves 'closed' when the open is closed
   * (the caller answers STATUS_NOTIFY_CLEANUP).
   */
  next(): { result: Promise<NotifyEnd>; cancel: () => void } {
    let resolveFn!: (r: NotifyEnd) => void;
    const result = new Promise<NotifyEnd>((r) => (resolveFn = r));
    if (this.closed) {
      resolveFn('closed');
      return { result, cancel: () => {} };
    }
    const w: Waiter = { resolve: resolveFn };
    this.waiters.push(w);
    this.answerSoon();
    return {
      result,
      cancel: () => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
      },
    };
  }

  /**
   * The directory is to be deleted once its last handle closes: requests
   * waiting end (the caller answers STATUS_DELETE_PENDING, as Windows and
   * Samba do; smbtorture smb2.notify.rmdir1-4).
   */
  deletePending(): void {
    this.endWaits('deleted');
  }

  private endWaits(how: 'closed' | 'deleted'): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.resolve(how);
  }

  /** Lets one directory's inotify watch go, back to the server's budget. */
  private dropWatch(path: string, w: FSWatcher): void {
    w.close();
    this.watchers.delete(path);
    this.hub.releaseKernelWatch();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.hub.remove(this.spec.share, this);
    for (const [path, w] of this.watchers) this.dropWatch(path, w);
    this.toWalk = [];
    this.kernel = [];
    if (this.kernelTimer) clearTimeout(this.kernelTimer);
    this.endWaits('closed');
  }
}

/** Back-to-back reports of the same action on the same name say nothing more: one is kept (as Samba does). */
function coalesce(list: FileNotifyInformation[]): FileNotifyInformation[] {
  return list.filter((e, i) => i === 0 || e.action !== list[i - 1]!.action || e.fileName !== list[i - 1]!.fileName);
}
