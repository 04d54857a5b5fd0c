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

export class DirWatch {
  private watcher: FSWatcher | null = null;
  private queue: { kind: 'rename' | 'change'; name: string }[] = [];
  private overflow = false;
  private waiter: Waiter | null = null;
  private closed = false;
  private flushTimer: NodeJS.Timeout | null = null;

  /**
   * @param fd the open's directory fd
   * @param exists whether a share-relative name below the watched directory exists now (for ADDED/REMOVED)
   */
  constructor(fd: number, recursive: boolean, private readonly exists: (name: string) => Promise<boolean>, log: (m: string) => void) {
    try {
      this.watcher = watch(`/proc/self/fd/${fd}`, { recursive, persistent: false }, (kind, name) => this.event(kind as 'rename' | 'change', name));
      this.watcher.on('error', (err) => {
        log(`change notify watch: ${err.message}`);
        this.overflow = true;
        this.kick();
      });
    } catch (err) {
      log(`change notify watch: ${(err as Error).message}`);
      this.overflow = true;
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
    this.watcher?.close();
    this.watcher = null;
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
