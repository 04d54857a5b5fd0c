/**
 * Named streams ("alternate data streams", MS-FSCC 2.1.5.3 / MS-FSA 2.1.1.3:
 * `file:name:$DATA`), kept in the file's extended attributes the way Samba's
 * vfs_streams_xattr keeps them, so that a share Samba served keeps its
 * streams here and the other way round:
 *
 *   name:  user.DosStream.<stream name>:$DATA   (the name as created; looked up case-insensitively)
 *   value: the stream's bytes and one trailing NUL byte
 *
 * Extended attributes travel with the file through rename, hard links,
 * `cp -a`, `rsync -X` and `tar --xattrs`, and go with its last link, so a
 * stream can never outlive or stray from its file. The price is size: Linux
 * caps one attribute at 64 KiB (so a stream at 65535 bytes), and ext4
 * without ea_inode holds about 3 KiB of attributes per file in all. A write
 * past what the filesystem holds fails with DISK_FULL and a log line; the
 * stream keeps what it had. A share may turn streams off (`ringsmb streams = no`).
 *
 * A stream open (Open.stream set) is an open of its file, path and all: share
 * modes and caching are the stream's own, but deleting the file or renaming
 * it meets the stream's opens (MS-FSA 2.1.5.1.2, 2.1.5.14.11; create.ts,
 * set-info.ts, server.ts closeOpen). Its VfsFile is a StreamFile: the data
 * calls work on the attribute, the rest (times, attributes, descriptor, the
 * fd it holds) on the file itself. The data path never splices a stream
 * (its fd is the file's).
 */
import { NtStatus } from '../smb2/status.js';
import { smbPathToRel } from './errno.js';
import type { VfsDirEntry, VfsFile, VfsStat, SetTimes } from '../vfs/types.js';

export const STREAM_XATTR_PREFIX = 'user.DosStream.';
export const STREAM_XATTR_SUFFIX = ':$DATA';
/** XATTR_SIZE_MAX (64 KiB) less the trailing NUL. */
export const MAX_STREAM_SIZE = 65535;
/** XATTR_NAME_MAX. */
const MAX_XATTR_NAME = 255;

/** What a CREATE or rename name says about streams. */
export interface StreamPath {
  /** the file's share-relative path, '/'-separated */
  rel: string;
  /** the named stream, as written; null for the file's unnamed data stream */
  stream: string | null;
  /** the name spelt out the unnamed data stream (`file::$DATA`) */
  explicitData: boolean;
}

/**
 * A CREATE name (or a durable reconnect's): `base:stream[:type]` where the
 * share keeps streams (MS-FSCC 2.1.5.3, 2.1.5.4), else a plain path (errno.ts
 * smbPathToRel: `::$DATA` is dropped, any other ':' is invalid). Any character
 * but NUL, '\', '/' and ':' may name a stream, wildcards and control characters
 * included (smbtorture smb2.streams.names2); the only type is $DATA, in any
 * case; an empty type (`file:stream:`) is invalid. `file::$DATA` is the file.
 */
export function parseCreateName(name: string, streams: boolean): StreamPath | number {
  const lastSep = Math.max(name.lastIndexOf('\\'), name.lastIndexOf('/'));
  const colon = streams ? name.indexOf(':', lastSep + 1) : -1;
  if (colon < 0) {
    const rel = smbPathToRel(name);
    return typeof rel === 'number' ? rel : { rel, stream: null, explicitData: false };
  }
  const rel = smbPathToRel(name.slice(0, colon));
  if (typeof rel === 'number') return rel;
  const spec = splitStreamSpec(name.slice(colon + 1));
  if (!spec) return NtStatus.OBJECT_NAME_INVALID;
  const { stream, type } = spec;
  if (type !== undefined && !isDataType(type)) return NtStatus.OBJECT_NAME_INVALID;
  if (stream === '') return type === undefined ? NtStatus.OBJECT_NAME_INVALID : { rel, stream: null, explicitData: true };
  if (!validStreamName(stream)) return NtStatus.OBJECT_NAME_INVALID;
  return { rel, stream, explicitData: false };
}

/** `name[:type]`, what follows a stream's ':'; null for more than one more ':'. */
export function splitStreamSpec(spec: string): { stream: string; type: string | undefined } | null {
  const parts = spec.split(':');
  if (parts.length > 2) return null;
  return { stream: parts[0]!, type: parts[1] };
}

/** The one stream type, in any case (an empty one is not it). */
export function isDataType(type: string): boolean {
  return type.toUpperCase() === '$DATA';
}

/** A stream name that this store can hold: legal characters, and an attribute name within XATTR_NAME_MAX. */
export function validStreamName(stream: string): boolean {
  if (/[\\/:\x00]/.test(stream) || stream.length > 255) return false;
  return Buffer.byteLength(streamXattr(stream)) <= MAX_XATTR_NAME;
}

export function streamXattr(stream: string): string {
  return STREAM_XATTR_PREFIX + stream + STREAM_XATTR_SUFFIX;
}

/** How streams compare: case-insensitively, as NTFS names do. */
export function streamKey(stream: string): string {
  return stream.toUpperCase();
}

export function sameStream(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  return a === b || streamKey(a) === streamKey(b);
}

/** What a stream of `size` bytes reports as its allocation: whole 4 KiB units. */
export function streamAllocationSize(size: bigint): bigint {
  return (size + 4095n) & ~4095n;
}

/** Bytes of a stored value: all but the trailing NUL (an empty value, from another tool, is an empty stream). */
function dataLength(v: Buffer): number {
  return v.length > 0 ? v.length - 1 : 0;
}

export interface StreamInfo {
  /** as stored */
  name: string;
  size: number;
}

/** The stream an extended attribute holds, or null when it holds none. */
function streamOfXattr(x: string): string | null {
  if (!x.startsWith(STREAM_XATTR_PREFIX) || !x.endsWith(STREAM_XATTR_SUFFIX)) return null;
  const name = x.slice(STREAM_XATTR_PREFIX.length, -STREAM_XATTR_SUFFIX.length);
  return name === '' ? null : name;
}

/** The names (as stored) of the file's named streams. */
async function streamNames(file: VfsFile): Promise<string[]> {
  const out: string[] = [];
  for (const x of await file.listXattr()) {
    const name = streamOfXattr(x);
    if (name !== null) out.push(name);
  }
  return out;
}

/** The named streams of a file, by its attribute names (listxattr) and values. */
export async function listStreams(file: VfsFile): Promise<StreamInfo[]> {
  const out: StreamInfo[] = [];
  for (const name of await streamNames(file)) {
    const v = await file.getXattr(streamXattr(name));
    if (v) out.push({ name, size: dataLength(v) });
  }
  return out;
}

/** The stored name of the file's stream called `stream` in any case, or null. */
export async function findStream(file: VfsFile, stream: string): Promise<string | null> {
  const key = streamKey(stream);
  return (await streamNames(file)).find((name) => streamKey(name) === key) ?? null;
}

/** Removes every named stream of the file (an overwrite replaces them all, MS-FSA 2.1.5.1.2.1). */
export async function removeAllStreams(file: VfsFile): Promise<void> {
  for (const name of await streamNames(file)) await file.removeXattr(streamXattr(name)).catch(() => undefined);
}

function sysErr(code: string, message: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

/** Read-modify-write of one stream at a time, per file and stream: two WRITEs in flight must not lose one another. */
const locks = new Map<string, Promise<unknown>>();

function serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = locks.get(key) ?? Promise.resolve();
  const next = prev.then(fn, fn);
  const tail = next.catch(() => undefined);
  locks.set(key, tail);
  void tail.then(() => {
    if (locks.get(key) === tail) locks.delete(key);
  });
  return next;
}

/**
 * An open named stream as a VfsFile (see the file comment). `base` is the
 * file's own VfsFile, which this one owns and closes.
 */
export class StreamFile implements VfsFile {
  readonly isDirectory = false;
  readonly statAtOpen: VfsStat;

  constructor(
    readonly base: VfsFile,
    /**
     * the stream's name as stored; changes only by rename (set-info.ts), to
     * null when the stream became the file's unnamed one: the data calls then
     * go to the file (read-only: `base` was opened for reading)
     */
    public stream: string | null,
    /** this open made the stream */
    readonly created: boolean,
    size: number,
    private readonly onFull: (message: string) => void,
  ) {
    this.statAtOpen = withSize(base.statAtOpen, size);
  }

  get fd(): number {
    return this.base.fd;
  }

  private get lockKey(): string {
    const st = this.base.statAtOpen;
    return `${st.dev}:${st.ino}:${streamKey(this.stream ?? '')}`;
  }

  private async value(): Promise<Buffer> {
    return (await this.base.getXattr(streamXattr(this.stream!))) ?? Buffer.alloc(1);
  }

  /** A stream of `len` bytes past what an attribute holds: a log line and EFBIG (DISK_FULL), before anything is allocated. */
  private fits(len: number, what: string): void {
    if (len <= MAX_STREAM_SIZE) return;
    this.onFull(`stream "${this.stream}": ${what} is past the ${MAX_STREAM_SIZE} bytes an extended attribute holds`);
    throw sysErr('EFBIG', 'stream larger than an extended attribute holds');
  }

  /** Stores `v`, the stream's bytes and the trailing NUL (see resized). */
  private async store(v: Buffer): Promise<void> {
    try {
      await this.base.setXattr(streamXattr(this.stream!), v);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ENOSPC' || code === 'E2BIG') {
        this.onFull(`stream "${this.stream}" (${v.length - 1} bytes): the filesystem has no room for it among the file's extended attributes`);
        throw sysErr('ENOSPC', 'no room for the stream in the extended attributes');
      }
      throw err;
    }
  }

  takeXattrAtOpen(name: string): Buffer | null | undefined {
    return this.base.takeXattrAtOpen(name);
  }

  async read(buf: Buffer, bufOff: number, len: number, pos: number | bigint): Promise<number> {
    if (this.stream === null) return this.base.read(buf, bufOff, len, pos);
    const v = await this.value();
    const size = dataLength(v);
    const p = Number(pos);
    if (p >= size) return 0;
    return v.copy(buf, bufOff, p, Math.min(size, p + len));
  }

  write(buf: Buffer, bufOff: number, len: number, pos: number | bigint): Promise<number> {
    if (this.stream === null) return this.base.write(buf, bufOff, len, pos);
    return serialized(this.lockKey, async () => {
      const p = Number(pos);
      this.fits(p + len, `a write up to byte ${p + len}`);
      const v = await this.value();
      const out = resized(v, Math.max(dataLength(v), p + len));
      buf.copy(out, p, bufOff, bufOff + len);
      await this.store(out);
      return len;
    });
  }

  async stat(): Promise<VfsStat> {
    if (this.stream === null) return this.base.stat();
    const [st, v] = await Promise.all([this.base.stat(), this.value()]);
    return withSize(st, dataLength(v));
  }

  truncate(len: number | bigint): Promise<void> {
    if (this.stream === null) return this.base.truncate(len);
    return serialized(this.lockKey, async () => {
      const n = Number(len);
      this.fits(n, `a size of ${n} bytes`);
      await this.store(resized(await this.value(), n));
    });
  }

  async allocate(len: number | bigint, opts?: { keepSize?: boolean }): Promise<void> {
    if (this.stream === null) return this.base.allocate(len, opts);
    // Nothing to reserve in an attribute; only say when it could never hold that much.
    if (Number(len) > MAX_STREAM_SIZE) throw sysErr('ENOSPC', 'stream larger than an extended attribute holds');
  }

  punchHole(offset: number | bigint, length: number | bigint): Promise<void> {
    if (this.stream === null) return this.base.punchHole(offset, length);
    return serialized(this.lockKey, async () => {
      const v = await this.value();
      const size = dataLength(v);
      const from = Math.min(Number(offset), size);
      const to = Math.min(Number(offset) + Number(length), size);
      if (to <= from) return;
      v.fill(0, from, to);
      await this.store(v);
    });
  }

  sync(dataOnly?: boolean): Promise<void> {
    return this.base.sync(dataOnly);
  }

  setTimes(t: SetTimes): Promise<void> {
    return this.base.setTimes(t);
  }

  setMode(mode: number): Promise<void> {
    return this.base.setMode(mode);
  }

  readdir(): Promise<VfsDirEntry[]> {
    return Promise.reject(sysErr('ENOTDIR', 'a stream is not a directory'));
  }

  readdirNames(): Promise<string[]> {
    return Promise.reject(sysErr('ENOTDIR', 'a stream is not a directory'));
  }

  getXattr(name: string): Promise<Buffer | null> {
    return this.base.getXattr(name);
  }

  setXattr(name: string, value: Buffer, opts?: { create?: boolean; replace?: boolean }): Promise<void> {
    return this.base.setXattr(name, value, opts);
  }

  removeXattr(name: string): Promise<void> {
    return this.base.removeXattr(name);
  }

  listXattr(): Promise<string[]> {
    return this.base.listXattr();
  }

  hold(): () => void {
    return this.base.hold();
  }

  close(): Promise<void> {
    return this.base.close();
  }
}

/**
 * A stored value (read for this call, so ours to change) at `len` bytes and
 * the trailing NUL: itself or a view of it where it is long enough, else a
 * zero-filled copy. A write or truncate then copies the stream once, not twice.
 */
function resized(v: Buffer, len: number): Buffer {
  if (v.length > len) {
    const out = v.subarray(0, len + 1);
    out[len] = 0;
    return out;
  }
  const out = Buffer.alloc(len + 1);
  v.copy(out, 0, 0, dataLength(v));
  return out;
}

/** The file a VfsFile is about: the stream's file, or itself. */
export function fileOf(file: VfsFile): VfsFile {
  return file instanceof StreamFile ? file.base : file;
}

function withSize(st: VfsStat, size: number): VfsStat {
  const n = BigInt(size);
  return { ...st, size: n, allocSize: streamAllocationSize(n), isDirectory: false };
}

/**
 * Opens (or makes) the named stream `stream` of the open file `base`
 * (CREATE, MS-FSA 2.1.5.1): OBJECT_NAME_COLLISION when `exclusive` finds
 * it, OBJECT_NAME_NOT_FOUND when it is missing and may not be made; an
 * existing stream is emptied with `truncate` (overwrite, supersede).
 */
export async function openStream(
  base: VfsFile,
  stream: string,
  how: { create: boolean; exclusive: boolean; truncate: boolean },
  onFull: (message: string) => void,
): Promise<StreamFile | number> {
  const found = await findStream(base, stream);
  if (found !== null && how.exclusive) return NtStatus.OBJECT_NAME_COLLISION;
  if (found === null && !how.create) return NtStatus.OBJECT_NAME_NOT_FOUND;
  const name = found ?? stream;
  let size = 0;
  if (found === null) await base.setXattr(streamXattr(name), Buffer.alloc(1), { create: true });
  else if (how.truncate) await base.setXattr(streamXattr(name), Buffer.alloc(1));
  else size = dataLength((await base.getXattr(streamXattr(name))) ?? Buffer.alloc(0));
  return new StreamFile(base, name, found === null, size, onFull);
}

/** What deletePending() looks at on each open of a path. */
export interface StreamOpenFlags {
  readonly stream: string | null;
  readonly pendingDelete: boolean;
  readonly deleteFile: boolean;
}

/**
 * Whether a new open of `stream` (null: the file) meets a pending delete
 * (MS-FSA 2.1.5.1.2): the file's, which every stream shares, or that of
 * the same stream.
 */
export function deletePending(opens: Iterable<StreamOpenFlags>, stream: string | null): boolean {
  for (const o of opens) {
    if (o.deleteFile || (o.pendingDelete && o.stream === null)) return true;
    if (stream !== null && o.pendingDelete && sameStream(o.stream, stream)) return true;
  }
  return false;
}
