/**
 * Directory change notification state of one open (MS-SMB2 3.3.5.19,
 * 3.3.4.4; MS-FSA 2.1.5.10). The first CHANGE_NOTIFY on a directory open
 * starts a watch that lives as long as the open, so changes between two
 * requests are kept for the next one, as Windows does.
 *
 * The watch is inotify (fs.watch) on /proc/self/fd/N of the open's own
 * directory fd: the kernel follows that link to the very directory the
 * open resolved beneath the share root, so a path swapped for a symlink
 * afterwards cannot point the watch outside the share (decision 6).
 * fs.watch reports "rename" (a name came or went) and "change" (content or
 * metadata): a rename is reported as ADDED or REMOVED after checking
 * whether the name exists. More than fits the client's buffer, or a
 * watch that failed, is answered with STATUS_NOTIFY_ENUM_DIR: "enumerate
 * the directory again" (3.3.4.4).
 */
import { watch, type FSWatcher } from 'node:fs';
import { utf16 } from '../smb2/wire.js';
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
export const NotifyAction = { ADDED: 1, REMOVED: 2, MODIFIED: 3 } as const;

const NAME_BITS = NotifyFilter.FILE_NAME | NotifyFilter.DIR_NAME;
const CHANGE_BITS = NotifyFilter.ATTRIBUTES | NotifyFilter.SIZE | NotifyFilter.LAST_WRITE | NotifyFilter.LAST_ACCESS |
  NotifyFilter.CREATION | NotifyFilter.EA | NotifyFilter.SECURITY;
/** events queued while no request waits, before the open says "enumerate again" instead */
const MAX_QUEUED = 1024;

export type NotifyResult = { overflow: true } | { overflow: false; changes: FileNotifyInformation[] };

interface Waiter {
  filter: number;
  resolve: (r: NotifyResult | 'closed') => void;
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

export class DirWatch {
  /** by path below the watched directory ('' is the watched directory itself) */
  private readonly watchers = new Map<string, FSWatcher>();
  private queue: { kind: 'rename' | 'change'; name: string }[] = [];
  private overflow = false;
  private waiter: Waiter | null = null;
  private closed = false;
  private flushTimer: NodeJS.Timeout | null = null;
  /** directories (paths below the watched one) to look at: watch them and what is below */
  private toWalk: string[] = [];
  private walking = false;
  private treeFull = false;

  /**
   * @param fd the open's directory fd
   * @param tree for WATCH_TREE: the directories below are watched too, found
   *   by walking them on the VFS (asynchronously, so a big tree does not hold
   *   the loop as Node's recursive fs.watch did: its walk of every file is
   *   synchronous, 350 ms for 10,000 files here), and directories that appear
   *   later are added as they come
   * @param exists whether a share-relative name below the watched directory exists now (for ADDED/REMOVED)
   */
  constructor(fd: number, private readonly tree: TreeAccess | null, private readonly exists: (name: string) => Promise<boolean>, private readonly log: (m: string) => void) {
    try {
      // The kernel follows /proc/self/fd/N to the very directory of the open (see above).
      this.watchers.set('', this.watchOne('', `/proc/self/fd/${fd}`));
    } catch (err) {
      log(`change notify watch: ${(err as Error).message}`);
      this.overflow = true;
    }
    if (tree) this.walkLater('');
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
      this.event(kind as 'rename' | 'change', name === null ? null : rel ? `${rel}/${String(name)}` : String(name));
    });
    w.on('error', (err) => {
      if (rel !== '') return this.unwatch(rel);
      this.log(`change notify watch: ${err.message}`);
      this.overflow = true;
      this.kick();
    });
    return w;
  }

  /** Stops watching a directory that went (or moved) and everything below it. */
  private unwatch(rel: string): void {
    for (const [path, w] of this.watchers) {
      if (path === rel || path.startsWith(`${rel}/`)) {
        w.close();
        this.watchers.delete(path);
      }
    }
  }

  private walkLater(rel: string): void {
    // A storm of new names (an unpacked archive) queues at most this many looks; past it the
    // client is told to enumerate again, as when events overflow.
    if (this.toWalk.length >= MAX_TREE_DIRS) {
      this.overflow = true;
      return;
    }
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
          dir = await this.tree!.openDir(rel);
          if (this.closed) break;
          if (rel !== '') {
            if (this.watchers.has(rel)) continue;
            if (this.watchers.size > MAX_TREE_DIRS) {
              if (!this.treeFull) this.log(`change notify: more than ${MAX_TREE_DIRS} directories below; changes deeper than those watched are not reported`);
              this.treeFull = true;
              this.toWalk = [];
              break;
            }
            this.watchers.set(rel, this.watchOne(rel, `/proc/self/fd/${dir.fd}`));
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

  private event(kind: 'rename' | 'change', name: string | Buffer | null): void {
    if (this.closed) return;
    if (name === null) {
      this.overflow = true;
    } else if (this.queue.length >= MAX_QUEUED) {
      this.overflow = true;
      this.queue = [];
    } else {
      this.queue.push({ kind, name: String(name) });
    }
    // A name came or went below a WATCH_TREE: a directory that came is watched, one that went is let go.
    if (this.tree && kind === 'rename' && name !== null && !this.treeFull) this.walkLater(String(name));
    this.kick();
  }

  /** Answers a waiting request shortly after the first event, so a burst goes out together. */
  private kick(): void {
    if (!this.waiter || this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      void this.answer();
    }, 20);
  }

  private async answer(): Promise<void> {
    const w = this.waiter;
    if (!w) return;
    if (this.overflow) {
      this.overflow = false;
      this.queue = [];
      this.waiter = null;
      return w.resolve({ overflow: true });
    }
    const events = this.queue;
    this.queue = [];
    const changes: FileNotifyInformation[] = [];
    for (const e of events) {
      const name = e.name.split('/').join('\\');
      if (e.kind === 'change') {
        if (w.filter & CHANGE_BITS) changes.push({ action: NotifyAction.MODIFIED, fileName: name });
      } else if (w.filter & NAME_BITS) {
        changes.push({ action: (await this.exists(e.name)) ? NotifyAction.ADDED : NotifyAction.REMOVED, fileName: name });
      }
    }
    if (this.waiter !== w) return; // cancelled while checking
    if (changes.length === 0) return; // nothing this request asked for: keep waiting
    this.waiter = null;
    w.resolve({ overflow: false, changes });
  }

  /**
   * Waits for the next changes this filter selects. Resolves 'closed' when
   * the open is closed (the caller answers STATUS_NOTIFY_CLEANUP).
   */
  next(filter: number): { result: Promise<NotifyResult | 'closed'>; cancel: () => void } {
    let resolveFn!: (r: NotifyResult | 'closed') => void;
    const result = new Promise<NotifyResult | 'closed'>((r) => (resolveFn = r));
    if (this.closed) {
      resolveFn('closed');
      return { result, cancel: () => {} };
    }
    // One request waits at a time per open; a second replaces nothing, it queues behind (rare).
    const w: Waiter = { filter, resolve: resolveFn };
    this.waiter = w;
    if (this.overflow || this.queue.length) this.kick();
    return {
      result,
      cancel: () => {
        if (this.waiter === w) this.waiter = null;
      },
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    this.toWalk = [];
    if (this.flushTimer) clearTimeout(this.flushTimer);
    const w = this.waiter;
    this.waiter = null;
    w?.resolve('closed');
  }
}

/** Bytes the FILE_NOTIFY_INFORMATION chain takes (MS-FSCC 2.7.1: 12 + name, 4-aligned except the last). */
export function notifyInfoSize(list: readonly FileNotifyInformation[]): number {
  let n = 0;
  list.forEach((e, i) => {
    const len = 12 + utf16(e.fileName).length;
    n += i === list.length - 1 ? len : (len + 3) & ~3;
  });
  return n;
}
