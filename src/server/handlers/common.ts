/** Helpers the file command handlers share: FileId lookup, attributes, times. */
import { defaultDosAttributes, storableAttributes } from '../dos-attributes.js';
import { Dialect, FileAttributes, HeaderFlags } from '../../smb2/constants.js';
import { channelSequence } from '../../smb2/header.js';
import { NtStatus } from '../../smb2/status.js';
import { unixNsToFiletime } from '../../smb2/fscc/time.js';
import { FILE_ID_ANY, MalformedError, type FileId } from '../../smb2/wire.js';
import type { VfsFile, VfsStat } from '../../vfs/types.js';
import { errnoToStatus, type ErrnoOptions } from '../errno.js';
import type { RequestContext } from '../context.js';
import type { Open } from '../state.js';
import { isSparse } from '../fsctl/sparse.js';
import { refusedWhenStale, sequenceRequest } from '../replay.js';

/** Largest offset + length a READ or WRITE may reach (MS-FSA 2.1.5.2/2.1.5.3: a signed 64-bit offset). */
const MAX_OFFSET = 0x7fffffffffffffffn;

/**
 * The Open a request's FileId names (MS-SMB2 3.3.5.2.7.2 for related compounds:
 * all-ones means the FileId of the previous request). STATUS_FILE_CLOSED when it
 * does not exist or belongs to another session or tree. Records it for the next
 * related request.
 */
export function lookupOpen(ctx: RequestContext, id: FileId): Open | number {
  let open: Open | null | undefined;
  const related = id.persistent === FILE_ID_ANY.persistent && id.volatile === FILE_ID_ANY.volatile;
  if (related) {
    open = ctx.related.open;
    if (!open) return NtStatus.FILE_CLOSED;
  } else {
    open = ctx.server.state.opens.get(id.volatile);
    if (!open || open.persistentId !== id.persistent) return NtStatus.FILE_CLOSED;
  }
  if (open.closed || open.tree !== ctx.tree || open.tree.session !== ctx.session) return NtStatus.FILE_CLOSED;
  ctx.related.open = open;
  // The handle named outright: the client had its CREATE's answer, which no replay gets again (a
  // related request may follow a lost one).
  if (!related && open.replay?.answer) open.replay.answer = null;
  if (ctx.conn.negotiated!.dialect >= Dialect.SMB300 && !ctx.sequenced) {
    const csn = channelSequence(ctx.hdr);
    if (sequenceRequest(open, csn, (ctx.hdr.flags & HeaderFlags.REPLAY_OPERATION) !== 0)) ctx.sequenced = open;
    else if (refusedWhenStale(ctx.hdr.command)) {
      ctx.server.log.debug(`connection ${ctx.conn.id}: channel sequence ${csn} is behind the open's ${open.channelSequence}: FILE_NOT_AVAILABLE`);
      return NtStatus.FILE_NOT_AVAILABLE;
    }
  }
  return open;
}

/** Runs a decoder; malformed input is STATUS_INVALID_PARAMETER. */
export function decodeOr<T>(fn: () => T): T | number {
  try {
    return fn();
  } catch (err) {
    if (err instanceof MalformedError || err instanceof RangeError) return NtStatus.INVALID_PARAMETER;
    throw err;
  }
}

/** errnoToStatus with the server's logger wired in. */
export function fsStatus(ctx: RequestContext, err: unknown, opts: Omit<ErrnoOptions, 'log'> = {}): number {
  return errnoToStatus(err, { ...opts, log: (m) => ctx.server.log.warn(`connection ${ctx.conn.id}: ${m}`) });
}

/** FileAttributes for a file (MS-FSCC 2.6). */
/**
 * The attributes SMB reports: the stored DOS attributes (dos-attributes.ts;
 * null: none stored, the defaults apply) with what the file itself says
 * (directory, read-only mode, symlink, sparse).
 */
export function fileAttributes(st: VfsStat, dos: number | null = null): number {
  let a = storableAttributes(dos ?? defaultDosAttributes(st.isDirectory), st.isDirectory);
  if (st.isDirectory) a |= FileAttributes.DIRECTORY;
  if (isReadOnly(st)) a |= FileAttributes.READONLY;
  if (st.isSymlink) a |= FileAttributes.REPARSE_POINT;
  if (isSparse(st)) a |= FileAttributes.SPARSE_FILE;
  return a || FileAttributes.NORMAL;
}

/** No write permission for anyone: FILE_ATTRIBUTE_READONLY (directories ignore it on Windows). */
export function isReadOnly(st: VfsStat): boolean {
  return !st.isDirectory && (st.mode & 0o222) === 0;
}

/**
 * Why the file cannot be marked for deletion (MS-FSA 2.1.5.1.2.1, 2.1.5.14.3):
 * a read-only file (CANNOT_DELETE) or a non-empty directory (DIRECTORY_NOT_EMPTY);
 * null when it can.
 */
export async function deleteRefusal(file: VfsFile, st: VfsStat): Promise<number | null> {
  if (isReadOnly(st)) return NtStatus.CANNOT_DELETE;
  if (st.isDirectory && (await file.readdirNames()).length > 0) return NtStatus.DIRECTORY_NOT_EMPTY;
  return null;
}

/** A READ or WRITE range beyond what a signed 64-bit offset can address. */
export function beyondMaxOffset(offset: bigint, length: number): boolean {
  return offset > MAX_OFFSET || offset + BigInt(length) > MAX_OFFSET;
}

/** NTFS's largest file, 16 TiB less 64 KiB (smbtorture's MAXFILESIZE): no write starts at or past it. */
export const MAX_FILE_OFFSET = 0xfffffff0000n;

/**
 * Why a WRITE of `length` bytes at `offset` is refused before any byte moves,
 * or null: a range past a signed 64-bit offset, or data starting at or past
 * MAX_FILE_OFFSET, is INVALID_PARAMETER, as Windows answers (smbtorture
 * smb2.rw.invalid). Linux files are sparse, so a write just below it is made.
 */
export function writeRangeRefusal(offset: bigint, length: number): number | null {
  if (beyondMaxOffset(offset, length)) return NtStatus.INVALID_PARAMETER;
  if (length > 0 && offset >= MAX_FILE_OFFSET) return NtStatus.INVALID_PARAMETER;
  return null;
}

export interface FileTimes {
  creationTime: bigint;
  lastAccessTime: bigint;
  lastWriteTime: bigint;
  changeTime: bigint;
}

/** FILETIMEs from stat; no birth time falls back to the earlier of mtime and ctime. */
export function fileTimes(st: VfsStat): FileTimes {
  const birth = st.birthtimeNs ?? (st.mtimeNs < st.ctimeNs ? st.mtimeNs : st.ctimeNs);
  return {
    creationTime: unixNsToFiletime(birth),
    lastAccessTime: unixNsToFiletime(st.atimeNs),
    lastWriteTime: unixNsToFiletime(st.mtimeNs),
    changeTime: unixNsToFiletime(st.ctimeNs),
  };
}

export function endOfFile(st: VfsStat): bigint {
  return st.isDirectory ? 0n : st.size;
}

export function allocationSize(st: VfsStat): bigint {
  return st.isDirectory ? 0n : st.allocSize;
}

/** The parent of a share-relative path ('' for the root and its children). */
export function parentPath(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}

/** The Open's path in SMB form for FileNameInformation: '\dir\file'. */
export function smbName(path: string): string {
  return '\\' + path.replace(/\//g, '\\');
}
