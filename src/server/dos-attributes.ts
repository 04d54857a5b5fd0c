/**
 * DOS attributes that POSIX has no place for (HIDDEN, SYSTEM, ARCHIVE,
 * TEMPORARY, OFFLINE, NOT_CONTENT_INDEXED), kept in the file's extended
 * attribute `user.ringsmb.DOSATTRIB`, as Samba keeps them in user.DOSATTRIB.
 * A file's READONLY stays in the mode bits (no write bit for anyone; a
 * directory's is stored, storableAttributes), DIRECTORY,
 * SPARSE_FILE and REPARSE_POINT come from the file itself (common.ts).
 *
 * The value is 8 bytes: a version byte (1), three zero bytes, and the
 * attributes as a little-endian u32. Anything else reads as "no stored
 * attributes" and the defaults apply: ARCHIVE for a file, nothing for a
 * directory, which is also what a new file gets when nothing else is
 * asked, so the attribute is only written when it says more than that.
 *
 * Version 2 (16 bytes) adds the creation time a client set (SET_INFO basic,
 * MS-FSA 2.1.5.14.2), as the FILETIME the client sent (100 ns units since
 * 1601, a little-endian u64: nanoseconds since 1970 in an i64 end in 2262,
 * and clients set later times; smbtorture smb2.timestamps): Linux cannot set a file's birth time, so a stored one
 * stands in for it (as Samba keeps create_time in user.DOSATTRIB). Files
 * whose creation time nobody set keep version 1, and their birth time.
 */
import { FileAttributes } from '../smb2/constants.js';
import { filetimeToUnixNs, unixNsToFiletime } from '../smb2/fscc/time.js';
import type { VfsFile, VfsStat } from '../vfs/types.js';

export const DOSATTRIB_XATTR = 'user.ringsmb.DOSATTRIB';

/** The attributes stored in the xattr. */
export const STORED_ATTRIBUTES =
  FileAttributes.HIDDEN | FileAttributes.SYSTEM | FileAttributes.ARCHIVE | FileAttributes.TEMPORARY |
  FileAttributes.OFFLINE | FileAttributes.NOT_CONTENT_INDEXED;

/** What the value holds: a directory's READONLY beside the rest (storableAttributes says whose). */
const KEPT_ATTRIBUTES = STORED_ATTRIBUTES | FileAttributes.READONLY;

/**
 * What of `attrs` the xattr keeps for a file or a directory: a directory's
 * READONLY too. Its mode cannot say it (a directory without write bits
 * refuses new names, which READONLY on Windows does not), and Windows keeps
 * it as a mark (Explorer sets it on customized folders; smbtorture smb2.winattr).
 * A file's READONLY is its mode's.
 */
export function storableAttributes(attrs: number, isDirectory: boolean): number {
  return attrs & (STORED_ATTRIBUTES | (isDirectory ? FileAttributes.READONLY : 0));
}

const VERSION = 1;
const LENGTH = 8;
const VERSION_TIMES = 2;
const LENGTH_TIMES = 16;

/** `createNs`: a creation time a client set, kept in version 2; null: none (version 1). */
export function encodeDosAttributes(attrs: number, createNs: bigint | null = null): Buffer {
  const b = Buffer.alloc(createNs === null ? LENGTH : LENGTH_TIMES);
  b[0] = createNs === null ? VERSION : VERSION_TIMES;
  b.writeUInt32LE((attrs & KEPT_ATTRIBUTES) >>> 0, 4);
  if (createNs !== null) b.writeBigUInt64LE(unixNsToFiletime(createNs), 8);
  return b;
}

function ours(v: Buffer | null | undefined): v is Buffer {
  return !!v && ((v.length === LENGTH && v[0] === VERSION) || (v.length === LENGTH_TIMES && v[0] === VERSION_TIMES));
}

/** The stored attributes and creation time in one value (null each where it holds none, both where the value is not ours). */
export function decodeDosInfo(v: Buffer | null | undefined): DosInfo {
  if (!ours(v)) return { attrs: null, createNs: null };
  return { attrs: v.readUInt32LE(4) & KEPT_ATTRIBUTES, createNs: v[0] === VERSION_TIMES ? filetimeToUnixNs(v.readBigUInt64LE(8)) : null };
}

/** `st` with the stored creation time, where there is one, as its birth time (what fileTimes answers). */
export function withCreateTime(st: VfsStat, createNs: bigint | null): VfsStat {
  return createNs === null ? st : { ...st, birthtimeNs: createNs };
}

/** The stored attributes and creation time of an open file (the prefetched value if the open read one). */
export interface DosInfo {
  attrs: number | null;
  createNs: bigint | null;
}

/** What a file has when nothing is stored: ARCHIVE for a file, nothing for a directory. */
export function defaultDosAttributes(isDirectory: boolean): number {
  return isDirectory ? 0 : FileAttributes.ARCHIVE;
}

/**
 * The stored attributes and creation time of an open file: nulls when none
 * are stored, or the filesystem has no user xattrs, or reading failed (the
 * defaults then apply; a listing must not fail over a decoration).
 */
export async function loadDosInfo(file: VfsFile): Promise<DosInfo> {
  try {
    const pre = file.takeXattrAtOpen(DOSATTRIB_XATTR);
    return decodeDosInfo(pre !== undefined ? pre : await file.getXattr(DOSATTRIB_XATTR));
  } catch {
    return { attrs: null, createNs: null };
  }
}

/**
 * statx and the stored DOS attributes of an open file, side by side: what
 * every attributes answer needs; a stored creation time is the stat's birth time.
 */
export async function statWithDos(file: VfsFile): Promise<[VfsStat, number | null]> {
  const [st, info] = await Promise.all([file.stat(), loadDosInfo(file)]);
  return [withCreateTime(st, info.createNs), info.attrs];
}

/**
 * Stores `attrs` (the storable part). A filesystem without user xattrs
 * (ENOTSUP) keeps nothing and that is not an error: the attributes then
 * read back as the defaults, as before. Other errors are thrown.
 */
export async function storeDosAttributes(file: VfsFile, attrs: number, createNs: bigint | null = null): Promise<void> {
  try {
    await file.setXattr(DOSATTRIB_XATTR, encodeDosAttributes(attrs, createNs));
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOTSUP') throw err;
  }
}

/**
 * Changes the stored attributes, the creation time, or both, keeping what
 * is stored of the other (SET_INFO basic). Attributes never stored are the
 * defaults (`isDirectory`); setting a creation time takes version 2.
 */
export async function updateDosInfo(file: VfsFile, isDirectory: boolean, change: { attrs?: number; createNs?: bigint }): Promise<void> {
  const cur = await loadDosInfo(file);
  const attrs = change.attrs ?? cur.attrs ?? defaultDosAttributes(isDirectory);
  await storeDosAttributes(file, storableAttributes(attrs, isDirectory), change.createNs ?? cur.createNs);
}
