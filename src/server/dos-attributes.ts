/**
 * DOS attributes that POSIX has no place for (HIDDEN, SYSTEM, ARCHIVE,
 * TEMPORARY, OFFLINE, NOT_CONTENT_INDEXED), kept in the file's extended
 * attribute `user.ringsmb.DOSATTRIB`, as Samba keeps them in user.DOSATTRIB.
 * READONLY stays in the mode bits (no write bit for anyone), DIRECTORY,
 * SPARSE_FILE and REPARSE_POINT come from the file itself (common.ts).
 *
 * The value is 8 bytes: a version byte (1), three zero bytes, and the
 * attributes as a little-endian u32. Anything else reads as "no stored
 * attributes" and the defaults apply: ARCHIVE for a file, nothing for a
 * directory, which is also what a new file gets when nothing else is
 * asked, so the attribute is only written when it says more than that.
 */
import { FileAttributes } from '../smb2/constants.js';
import type { VfsFile, VfsStat } from '../vfs/types.js';

export const DOSATTRIB_XATTR = 'user.ringsmb.DOSATTRIB';

/** The attributes stored in the xattr. */
export const STORED_ATTRIBUTES =
  FileAttributes.HIDDEN | FileAttributes.SYSTEM | FileAttributes.ARCHIVE | FileAttributes.TEMPORARY |
  FileAttributes.OFFLINE | FileAttributes.NOT_CONTENT_INDEXED;

const VERSION = 1;
const LENGTH = 8;

export function encodeDosAttributes(attrs: number): Buffer {
  const b = Buffer.alloc(LENGTH);
  b[0] = VERSION;
  b.writeUInt32LE((attrs & STORED_ATTRIBUTES) >>> 0, 4);
  return b;
}

/** The stored attributes, or null when there are none (or the value is not ours). */
export function decodeDosAttributes(v: Buffer | null | undefined): number | null {
  if (!v || v.length !== LENGTH || v[0] !== VERSION) return null;
  return v.readUInt32LE(4) & STORED_ATTRIBUTES;
}

/** What a file has when nothing is stored: ARCHIVE for a file, nothing for a directory. */
export function defaultDosAttributes(isDirectory: boolean): number {
  return isDirectory ? 0 : FileAttributes.ARCHIVE;
}

/**
 * The stored attributes of an open file: null when none are stored, or
 * the filesystem has no user xattrs, or reading failed (the defaults then
 * apply; a listing must not fail over a decoration).
 */
export async function loadDosAttributes(file: VfsFile): Promise<number | null> {
  try {
    const pre = file.takeXattrAtOpen(DOSATTRIB_XATTR);
    return decodeDosAttributes(pre !== undefined ? pre : await file.getXattr(DOSATTRIB_XATTR));
  } catch {
    return null;
  }
}

/** statx and the stored DOS attributes of an open file, side by side: what every attributes answer needs. */
export function statWithDos(file: VfsFile): Promise<[VfsStat, number | null]> {
  return Promise.all([file.stat(), loadDosAttributes(file)]);
}

/**
 * Stores `attrs` (the storable part). A filesystem without user xattrs
 * (ENOTSUP) keeps nothing and that is not an error: the attributes then
 * read back as the defaults, as before. Other errors are thrown.
 */
export async function storeDosAttributes(file: VfsFile, attrs: number): Promise<void> {
  try {
    await file.setXattr(DOSATTRIB_XATTR, encodeDosAttributes(attrs));
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOTSUP') throw err;
  }
}
