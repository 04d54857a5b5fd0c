/** Helpers the file command handlers share: FileId lookup, attributes, times. */
import { FileAttributes } from '../../smb2/constants.js';
import { NtStatus } from '../../smb2/status.js';
import { unixNsToFiletime } from '../../smb2/fscc/time.js';
import { MalformedError, type FileId } from '../../smb2/wire.js';
import type { VfsStat } from '../../vfs/types.js';
import { errnoToStatus, type ErrnoOptions } from '../errno.js';
import type { RequestContext } from '../context.js';
import type { Open } from '../state.js';

const ALL_ONES = 0xffffffffffffffffn;

/**
 * The Open a request's FileId names (MS-SMB2 3.3.5.2.7.2 for related compounds:
 * all-ones means the FileId of the previous request). STATUS_FILE_CLOSED when it
 * does not exist or belongs to another session or tree. Records it for the next
 * related request.
 */
export function lookupOpen(ctx: RequestContext, id: FileId): Open | number {
  let open: Open | null | undefined;
  if (id.persistent === ALL_ONES && id.volatile === ALL_ONES) {
    open = ctx.related.open;
    if (!open) return NtStatus.FILE_CLOSED;
  } else {
    open = ctx.server.state.opens.get(id.volatile);
    if (!open || open.persistentId !== id.persistent) return NtStatus.FILE_CLOSED;
  }
  if (open.closed || open.tree !== ctx.tree || open.tree.session !== ctx.session) return NtStatus.FILE_CLOSED;
  ctx.related.open = open;
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
export function fileAttributes(st: VfsStat): number {
  let a = 0;
  if (st.isDirectory) a |= FileAttributes.DIRECTORY;
  else a |= FileAttributes.ARCHIVE;
  // No write permission for anyone: READONLY (directories ignore it on Windows).
  if (!st.isDirectory && (st.mode & 0o222) === 0) a |= FileAttributes.READONLY;
  if (st.isSymlink) a |= FileAttributes.REPARSE_POINT;
  return a || FileAttributes.NORMAL;
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

/** The Open's path in SMB form for FileNameInformation: '\dir\file'. */
export function smbName(path: string): string {
  return '\\' + path.replace(/\//g, '\\');
}
