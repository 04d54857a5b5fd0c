/**
 * Case-insensitive names on a case-sensitive filesystem.
 *
 * Windows and macOS clients expect NTFS names: `README.TXT` opens
 * `readme.txt`, a CREATE of `Foo` where `foo` exists is a collision, and a
 * name keeps the case it was made with (MS-FSA 2.1.5.1: names compare
 * case-insensitively unless the open asks for POSIX semantics, which SMB2
 * cannot). Linux compares bytes. As Samba does ("case sensitive = auto"), a
 * name the kernel does not find as spelt is looked up again in its
 * directory's listing, compared the NTFS way ({@link foldName}).
 *
 * A name that exists as spelt costs nothing here: CREATE tries it first and
 * comes here only on ENOENT (handlers/create.ts). A miss needs the listing
 * of the directory, which this cache keeps per directory, exact:
 *
 * - each listed directory has an inotify watch on its inode, set before it
 *   is listed; a name created, removed or moved in or out of it, by this
 *   server or anything else, is queued by the kernel in the syscall that
 *   made the change, and the queue is read (one non-blocking read) before
 *   every use of a listing, so a listing is never behind a change that has
 *   completed. Changes queued while the listing is taken are applied after
 *   it, in order: the last change to a name decides, so what the listing
 *   already saw is not undone;
 * - the path still leading to the inode listed is checked on each use (the
 *   directory is opened and its inode compared), since a directory renamed
 *   or replaced above it sends that inode no event.
 *
 * A lookup is thus an open and statx of the directory and one read, and a
 * directory is listed once however many names are made in it (Samba scans
 * the directory for every new name). Without inotify (or past the watches
 * it grants) a directory is listed on every lookup, as on Samba.
 *
 * Not covered: two clients creating `Foo` and `FOO` at the same moment both
 * miss, and two files are made, as on Samba.
 */
import { requireNative, type NativeBinding } from '../native.js';
import type { ShareRoot, VfsFile } from '../vfs/types.js';
import { splitParent } from '../vfs/confine.js';
import { decodeName } from '../vfs/linux.js';

/** Directories kept at most (one inotify watch each), and names across them (the least recently used go first). */
const MAX_DIRS = 128;
const MAX_NAMES = 200_000;

const IN_MOVED_FROM = 0x40, IN_MOVED_TO = 0x80, IN_CREATE = 0x100, IN_DELETE = 0x200;
const IN_DELETE_SELF = 0x400, IN_MOVE_SELF = 0x800, IN_UNMOUNT = 0x2000, IN_Q_OVERFLOW = 0x4000, IN_IGNORED = 0x8000;
const IN_ONLYDIR = 0x01000000;
const WATCH_MASK = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
const EVENT_HEADER = 16;
const EAGAIN = 11;

let upcase: Uint16Array | null = null;

/**
 * A name as NTFS compares it: each UTF-16 unit upper-cased on its own (the
 * volume's upcase table maps one unit to one unit; `ß` stays `ß`, where
 * String.toUpperCase would make it `SS`). ASCII names take the short way.
 */
export function foldName(name: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(name)) return name.toUpperCase();
  const table = (upcase ??= buildUpcase());
  let out = '';
  for (let i = 0; i < name.length; i++) out += String.fromCharCode(table[name.charCodeAt(i)]!);
  return out;
}

function buildUpcase(): Uint16Array {
  const t = new Uint16Array(65536);
  for (let c = 0; c < 65536; c++) {
    const u = String.fromCharCode(c).toUpperCase();
    t[c] = u.length === 1 ? u.charCodeAt(0) : c;
  }
  return t;
}

type Op = { add: boolean; name: string };

class Listing {
  /** folded name -> the names on disk that fold to it (more than one only where a tool outside made them) */
  private readonly names = new Map<string, string | string[]>();
  count = 0;
  /**
   * The path led to this directory when last checked, and every directory above it that is kept
   * has been kept since (false once one of them went: the path may lead elsewhere now, unseen).
   */
  verified = true;
  /** changes queued while the listing is being taken (null once it is) */
  private early: Op[] | null = [];

  /**
   * @param plain no symbolic link on the path (opened with RESOLVE_NO_SYMLINKS): with its
   * directories' listings kept too, any change of what the path leads to is an event
   */
  constructor(readonly dir: string, readonly ino: bigint, readonly dev: bigint, readonly wd: number, readonly plain: boolean) {}

  /** The directory's names as read; the changes that came meanwhile are applied after them. */
  fill(list: string[]): void {
    for (const name of list) this.add(name);
    const early = this.early ?? [];
    this.early = null;
    for (const op of early) this.apply(op);
  }

  /** Filled: the names are read (until then it is kept only to queue changes). */
  get ready(): boolean {
    return this.early === null;
  }

  apply(op: Op): void {
    if (this.early) this.early.push(op);
    else if (op.add) this.add(op.name);
    else this.remove(op.name);
  }

  /** The name on disk that `name` folds to; the exact one where there are several. */
  lookup(name: string): string | null {
    const had = this.names.get(foldName(name));
    if (had === undefined) return null;
    if (typeof had === 'string') return had;
    return had.includes(name) ? name : had[0]!;
  }

  private add(name: string): void {
    const key = foldName(name);
    const had = this.names.get(key);
    if (had === undefined) this.names.set(key, name);
    else if (typeof had === 'string') {
      if (had === name) return;
      this.names.set(key, [had, name]);
    } else if (!had.includes(name)) had.push(name);
    else return;
    this.count++;
  }

  private remove(name: string): void {
    const key = foldName(name);
    const had = this.names.get(key);
    if (had === undefined) return;
    if (typeof had === 'string') {
      if (had !== name) return;
      this.names.delete(key);
    } else {
      const i = had.indexOf(name);
      if (i < 0) return;
      had.splice(i, 1);
      if (had.length === 1) this.names.set(key, had[0]!);
    }
    this.count--;
  }
}

function join(parent: string, name: string): string {
  return parent === '' ? name : `${parent}/${name}`;
}

export class CaseNames {
  /** by directory path on disk, least recently used first */
  private readonly dirs = new Map<string, Listing>();
  private readonly byWd = new Map<number, Listing>();
  private names = 0;
  /** listings being checked or taken, so that concurrent misses in one directory share the work */
  private readonly pending = new Map<string, Promise<Listing | null>>();
  /** the inotify fd: made at the first listing (fs.inotify.max_user_instances, 128 by default, is per user); -1 before, or without one */
  private fd = -1;
  private fdTried = false;
  private readonly buf = Buffer.allocUnsafe(64 * 1024);
  private readonly native: NativeBinding;
  private warned = false;
  /** what lookups cost, for tests and the bench */
  readonly stats = { lookups: 0, listings: 0 };

  constructor(private readonly root: ShareRoot, private readonly log: (msg: string) => void = () => {}) {
    this.native = requireNative();
  }

  /**
   * `rel` as it is on disk: the longest part of it that exists in some case
   * takes the case it has there; what follows stays as given (a name to
   * create). Where a directory holds the name as spelt, that one.
   */
  async resolve(rel: string): Promise<string> {
    if (rel === '') return rel;
    this.stats.lookups++;
    const { parent, name } = splitParent(rel);
    let dir = parent;
    let listing = await this.listing(dir);
    if (listing === null) {
      if (dir === '') return rel;
      const real = await this.resolve(dir);
      if (real === dir) return rel; // the directory is not there in any case
      dir = real;
      listing = await this.listing(dir);
      if (listing === null) return join(dir, name);
    }
    return join(dir, listing.lookup(name) ?? name);
  }

  /** The inotify fd (-1 without one), for tests that ask the kernel about its watches. */
  get watchFd(): number {
    return this.fd;
  }

  get cachedDirectories(): number {
    return this.dirs.size;
  }

  close(): void {
    if (this.fd >= 0) this.native.close(this.fd);
    this.fd = -1;
    this.fdTried = true;
    this.dirs.clear();
    this.byWd.clear();
    this.names = 0;
  }

  /**
   * What the listing of `rel`'s directory says of it, without a syscall but
   * the read of the queued changes: `rel` itself ('exact'), the name on disk
   * it has in another case, 'absent', or null when that listing is not kept
   * (or cannot be trusted without opening the directory).
   */
  known(rel: string): 'exact' | 'absent' | { onDisk: string } | null {
    if (rel === '') return null;
    const { parent, name } = splitParent(rel);
    if (!this.dirs.has(parent)) return null; // nothing to ask: no read of the queue either
    this.drain();
    const l = this.trusted(parent);
    if (!l) return null;
    const found = l.lookup(name);
    if (found === null) return 'absent';
    return found === name ? 'exact' : { onDisk: join(parent, found) };
  }

  /**
   * The kept listing of `dir` when nothing can have changed where its path
   * leads unseen: the path has no symbolic link, and the listings of every
   * directory above it were kept, with their watches, since a directory open
   * last checked it (a rename, removal or replacement of a name on the path
   * is then an event that drops the listing of the directory it named, and
   * the listings below lose that check: `verified`). Those are marked used.
   */
  private trusted(dir: string): Listing | null {
    const l = this.dirs.get(dir);
    if (!l || !l.ready || !l.plain || !l.verified) return null;
    for (let p = dir; p !== '';) {
      p = splitParent(p).parent;
      const up = this.dirs.get(p);
      if (!up || !up.verified) return null;
    }
    this.used(dir);
    return l;
  }

  private listing(dir: string): Promise<Listing | null> {
    this.drain();
    const t = this.trusted(dir);
    if (t) return Promise.resolve(t);
    const inFlight = this.pending.get(dir);
    if (inFlight) return inFlight;
    const p = this.take(dir).finally(() => this.pending.delete(dir));
    this.pending.set(dir, p);
    return p;
  }

  /** The directory's listing, kept or taken now; null when it is not a directory that can be listed. */
  private async take(dir: string): Promise<Listing | null> {
    let f: VfsFile;
    let plain = true;
    try {
      try {
        f = await this.root.open(dir, { read: false, write: false, directory: 'must', followSymlinks: false });
      } catch (err) {
        if ((err as { code?: string }).code !== 'ELOOP') throw err;
        plain = false;
        f = await this.root.open(dir, { read: false, write: false, directory: 'must' });
      }
    } catch {
      this.forget(dir);
      return null;
    }
    try {
      const st = f.statAtOpen;
      this.drain();
      const kept = this.dirs.get(dir);
      if (kept && kept.ino === st.ino && kept.dev === st.dev && kept.plain === plain) {
        kept.verified = true;
        this.used(dir);
        return kept;
      }
      this.forget(dir);
      // The watch before the listing: a change after it is queued, one before it is listed.
      const wd = this.watch(f.fd);
      const l = new Listing(dir, st.ino, st.dev, wd, plain);
      if (wd >= 0) {
        const other = this.byWd.get(wd);
        if (other) this.drop(other, false); // the same inode under another path: one path per watch
        this.byWd.set(wd, l);
        this.dirs.set(dir, l);
        this.used(dir);
        // Those below were checked while it was not kept: what their paths went through is not known.
        const prefix = dir === '' ? '' : `${dir}/`;
        for (const x of this.dirs.values()) if (x !== l && x.dir.startsWith(prefix)) x.verified = false;
      }
      let list: string[];
      try {
        list = await f.readdirNames();
      } catch (err) {
        this.forget(dir);
        throw err;
      }
      this.stats.listings++;
      l.fill(list);
      if (this.dirs.get(dir) === l) {
        this.names += l.count;
        this.evict();
      }
      return l;
    } catch {
      return null;
    } finally {
      await f.close().catch(() => undefined);
    }
  }

  /** Marks `dir` used, and the kept directories above it after it: the Map's order is the eviction order, least recently used first, and a directory goes after those below it. */
  private used(dir: string): void {
    for (let p: string | null = dir; p !== null; p = p === '' ? null : splitParent(p).parent) {
      const x = this.dirs.get(p);
      if (!x) continue;
      this.dirs.delete(p);
      this.dirs.set(p, x);
    }
  }

  private watch(dirfd: number): number {
    if (!this.fdTried) {
      this.fdTried = true;
      const fd = this.native.inotifyInit();
      if (fd < 0) this.warn(`no inotify instance (errno ${-fd}; fs.inotify.max_user_instances is shared with every program of this user)`);
      else this.fd = fd;
    }
    if (this.fd < 0) return -1;
    const wd = this.native.inotifyAddWatch(this.fd, Buffer.from(`/proc/self/fd/${dirfd}/\0`), WATCH_MASK);
    if (wd < 0) this.warn(`an inotify watch was refused (errno ${-wd}; fs.inotify.max_user_watches is shared with every program of this user)`);
    return wd;
  }

  private warn(why: string): void {
    if (this.warned) return;
    this.warned = true;
    this.log(`case-insensitive names: ${why}; directories without a watch are listed on every lookup of a name not found as spelt`);
  }

  /** Applies every queued change. */
  private drain(): void {
    if (this.fd < 0) return;
    for (;;) {
      const n = this.native.readSync(this.fd, this.buf, 0, this.buf.length);
      if (n === -EAGAIN || n === 0) return;
      if (n < 0) {
        this.forgetAll();
        return;
      }
      for (let at = 0; at + EVENT_HEADER <= n;) {
        const wd = this.buf.readInt32LE(at);
        const mask = this.buf.readUInt32LE(at + 4);
        const len = this.buf.readUInt32LE(at + 12);
        const raw = this.buf.subarray(at + EVENT_HEADER, at + EVENT_HEADER + len);
        at += EVENT_HEADER + len;
        this.event(wd, mask, raw);
      }
    }
  }

  private event(wd: number, mask: number, raw: Buffer): void {
    if (mask & IN_Q_OVERFLOW) {
      this.forgetAll();
      return;
    }
    const l = this.byWd.get(wd);
    if (!l) return;
    if (mask & (IN_IGNORED | IN_DELETE_SELF | IN_UNMOUNT | IN_MOVE_SELF)) {
      this.drop(l, (mask & IN_MOVE_SELF) !== 0);
      return;
    }
    const end = raw.indexOf(0);
    const name = decodeName(end < 0 ? raw : raw.subarray(0, end));
    if (name === null) return; // not UTF-8: no SMB name, never listed
    const before = l.count;
    if (mask & (IN_CREATE | IN_MOVED_TO)) l.apply({ add: true, name });
    else if (mask & (IN_DELETE | IN_MOVED_FROM)) l.apply({ add: false, name });
    if (this.dirs.get(l.dir) === l) this.names += l.count - before;
    // A name that a kept listing's path goes through was removed, moved or replaced (or made
    // anew: a symbolic link, say): that listing, and those below it, may no longer be what the path leads to.
    const below = join(l.dir, name);
    if (this.dirs.has(below)) this.forget(below);
  }

  private forget(dir: string): void {
    const l = this.dirs.get(dir);
    if (l) this.drop(l, true);
  }

  /**
   * Lets a listing go. Those below it stay, unverified: with it gone, nothing
   * says where their paths lead until a directory open checks them again.
   */
  private drop(l: Listing, unwatch: boolean): void {
    if (this.dirs.get(l.dir) === l) {
      this.dirs.delete(l.dir);
      this.names -= l.count;
      const prefix = l.dir === '' ? '' : `${l.dir}/`;
      for (const x of this.dirs.values()) if (x.dir.startsWith(prefix)) x.verified = false;
    }
    if (l.wd >= 0 && this.byWd.get(l.wd) === l) {
      this.byWd.delete(l.wd);
      if (unwatch && this.fd >= 0) this.native.inotifyRmWatch(this.fd, l.wd);
    }
  }

  private forgetAll(): void {
    for (const l of [...this.dirs.values()]) this.drop(l, true);
  }

  private evict(): void {
    for (const l of this.dirs.values()) {
      if (this.dirs.size <= MAX_DIRS && this.names <= MAX_NAMES) break;
      // The newest listing stays even when it alone is over the bound: it is what the caller holds.
      if (this.dirs.size === 1) break;
      this.drop(l, true);
    }
  }
}
