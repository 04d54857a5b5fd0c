/** SET_INFO (MS-SMB2 3.3.5.21): basic, rename, link, disposition, end of file, allocation, position, mode. */
import { randomBytes } from 'node:crypto';
import { decodeSetInfoRequest, encodeSetInfoResponse } from '../../smb2/commands/set-info.js';
import { decodeSecurityDescriptor } from '../../smb2/security.js';
import { bareDirs, defaultDescriptor, loadDescriptor, mergeDescriptor, SecInfo, storeDescriptor } from '../ntacl.js';
import { DispositionFlags, FileAttributes, FileInfoClass as F, InfoType, ShareAccess } from '../../smb2/constants.js';
import { NtStatus } from '../../smb2/status.js';
import * as fscc from '../../smb2/fscc/index.js';
import type { SetTimes } from '../../vfs/types.js';
import { Access } from '../access.js';
import { errorReply, type Reply, type RequestContext } from '../context.js';
import { smbPathToRel } from '../errno.js';
import { splitParent } from '../../vfs/confine.js';
import type { Open } from '../state.js';
import { decodeOr, deleteRefusal, fsStatus, isReadOnly, lookupOpen, parentPath } from './common.js';
import { updateDosInfo } from '../dos-attributes.js';
import { fileOf, findStream, isDataType, sameStream, splitStreamSpec, streamXattr, validStreamName, type StreamFile } from '../streams.js';
import { breakHandleCaching, breakReadCaching } from '../oplock.js';
import { awaitBreaks } from '../create-caching.js';
import { NotifyAction, NotifyFilter, nameBit } from '../notify.js';

const OK: Reply = { status: NtStatus.SUCCESS, body: encodeSetInfoResponse() };

/** FileModeInformation bits a client may set (MS-FSCC 2.4.26). */
const MODE_SETTABLE = 0x00000002 | 0x00000004 | 0x00000010 | 0x00000020;

export async function handleSetInfo(ctx: RequestContext): Promise<Reply> {
  const req = decodeOr(() => decodeSetInfoRequest(ctx.msg));
  if (typeof req === 'number') return errorReply(req);
  const open = lookupOpen(ctx, req.fileId);
  if (typeof open === 'number') return errorReply(open);
  if (req.buffer.length > ctx.conn.negotiated!.maxTransact) return errorReply(NtStatus.INVALID_PARAMETER);
  if (open.pipe || !open.file) return errorReply(NtStatus.INVALID_PARAMETER);
  if (ctx.tree!.share.readOnly) return errorReply(NtStatus.ACCESS_DENIED);
  try {
    switch (req.infoType) {
      case InfoType.FILE: {
        const r = decodeOr(() => setFileInfo(ctx, open, req.fileInfoClass, req.buffer));
        if (typeof r === 'number') return errorReply(r);
        const st = await r;
        return st === NtStatus.SUCCESS ? OK : errorReply(st);
      }
      case InfoType.SECURITY: {
        const st = await setSecurity(ctx, open, req.additionalInformation, req.buffer);
        return st === NtStatus.SUCCESS ? OK : errorReply(st);
      }
      case InfoType.FILESYSTEM:
        return errorReply(NtStatus.NOT_SUPPORTED);
      case InfoType.QUOTA:
        return errorReply(NtStatus.NOT_SUPPORTED);
      default:
        return errorReply(NtStatus.INVALID_PARAMETER);
    }
  } catch (err) {
    return errorReply(fsStatus(ctx, err));
  }
}

function has(open: Open, mask: number): boolean {
  return (open.grantedAccess & mask) !== 0;
}

/** Decoding happens synchronously (MalformedError -> INVALID_PARAMETER); the returned promise does the work. */
function setFileInfo(ctx: RequestContext, open: Open, cls: number, buf: Buffer): Promise<number> {
  switch (cls) {
    case F.FileBasicInformation: {
      const i = fscc.decodeFileBasicInformation(buf);
      return setBasic(ctx, open, i);
    }
    case F.FileRenameInformation:
    case F.FileRenameInformationEx:
      return rename(ctx, open, fscc.decodeFileRenameInformation(buf));
    case F.FileLinkInformation:
      return link(ctx, open, fscc.decodeFileLinkInformation(buf));
    case F.FileDispositionInformation:
      return disposition(ctx, open, fscc.decodeFileDispositionInformation(buf).deletePending);
    case F.FileDispositionInformationEx: {
      const { flags } = fscc.decodeFileDispositionInformationEx(buf);
      return disposition(ctx, open, (flags & DispositionFlags.DELETE) !== 0);
    }
    case F.FileEndOfFileInformation:
      return endOfFile(ctx, open, fscc.decodeFileEndOfFileInformation(buf).endOfFile);
    case F.FileAllocationInformation:
      return allocation(ctx, open, fscc.decodeFileAllocationInformation(buf).allocationSize);
    case F.FilePositionInformation: {
      const pos = fscc.decodeFilePositionInformation(buf).currentByteOffset;
      if (pos < 0n) return Promise.resolve(NtStatus.INVALID_PARAMETER);
      open.position = Number(pos);
      return Promise.resolve(NtStatus.SUCCESS);
    }
    case F.FileModeInformation: {
      const { mode } = fscc.decodeFileModeInformation(buf);
      if (mode & ~MODE_SETTABLE) return Promise.resolve(NtStatus.INVALID_PARAMETER);
      open.mode = mode;
      return Promise.resolve(NtStatus.SUCCESS);
    }
    case F.FileFullEaInformation:
      return Promise.resolve(NtStatus.EAS_NOT_SUPPORTED);
    case F.FileValidDataLengthInformation:
    case F.FileShortNameInformation:
      return Promise.resolve(NtStatus.NOT_SUPPORTED);
    default:
      return Promise.resolve(NtStatus.INVALID_INFO_CLASS);
  }
}

/**
 * MS-FSCC 2.4.7: a time of 0 leaves it alone; -1 stops automatic updates and -2
 * resumes them (both leave the value alone here). Linux cannot set a creation
 * time: a set one is stored beside the DOS attributes (dos-attributes.ts) and
 * answered from then on; the change time cannot be set. Attributes: 0 leaves them alone; DIRECTORY on a file is invalid;
 * HIDDEN, SYSTEM, ARCHIVE, TEMPORARY, OFFLINE and NOT_CONTENT_INDEXED are stored
 * (dos-attributes.ts; NORMAL alone clears them), READONLY sets or clears the
 * write bits of the mode.
 */
async function setBasic(ctx: RequestContext, open: Open, i: fscc.FileBasicInformation): Promise<number> {
  if (!has(open, Access.FILE_WRITE_ATTRIBUTES)) return NtStatus.ACCESS_DENIED;
  if (i.fileAttributes & FileAttributes.DIRECTORY && !open.isDirectory) return NtStatus.INVALID_PARAMETER;
  // MS-FSA 2.1.5.14.2: a directory cannot be marked temporary.
  if (i.fileAttributes & FileAttributes.TEMPORARY && open.isDirectory) return NtStatus.INVALID_PARAMETER;
  const settable = (ft: bigint) => ft !== 0n && !fscc.isSpecialFiletime(ft);
  const t: SetTimes = {};
  if (settable(i.lastAccessTime)) t.atimeNs = fscc.filetimeToUnixNs(i.lastAccessTime);
  if (settable(i.lastWriteTime)) t.mtimeNs = fscc.filetimeToUnixNs(i.lastWriteTime);
  if (t.atimeNs !== undefined || t.mtimeNs !== undefined) await open.file!.setTimes(t);
  const createNs = settable(i.creationTime) ? fscc.filetimeToUnixNs(i.creationTime) : undefined;
  if (i.fileAttributes !== 0 || createNs !== undefined) {
    const base = fileOf(open.file!);
    await updateDosInfo(base, base.isDirectory, { attrs: i.fileAttributes !== 0 ? i.fileAttributes : undefined, createNs });
  }
  if (i.fileAttributes !== 0) await setReadOnly(open, (i.fileAttributes & FileAttributes.READONLY) !== 0);
  // Change notify: what was set (MS-FSA 2.1.5.14.2), nothing when nothing was.
  const changed = (i.fileAttributes !== 0 ? NotifyFilter.ATTRIBUTES : 0) | (createNs !== undefined ? NotifyFilter.CREATION : 0) |
    (t.atimeNs !== undefined ? NotifyFilter.LAST_ACCESS : 0) | (t.mtimeNs !== undefined ? NotifyFilter.LAST_WRITE : 0);
  if (changed) changedFile(ctx, open, changed);
  return NtStatus.SUCCESS;
}

/** Change notify: the open's file was MODIFIED as `filter` says. */
function changedFile(ctx: RequestContext, open: Open, filter: number): void {
  ctx.server.notify.post(open.tree.share, open.path, NotifyAction.MODIFIED, filter);
}

/**
 * READONLY on a file is the mode without write bits (common.ts isReadOnly):
 * setting it drops every write bit, clearing it gives the owner write
 * again. Directories ignore it, as on Windows.
 */
async function setReadOnly(open: Open, readOnly: boolean): Promise<void> {
  const st = await open.file!.stat();
  if (st.isDirectory || st.isSymlink) return;
  const mode = st.mode & 0o7777;
  const next = readOnly ? mode & ~0o222 : (mode & 0o222) === 0 ? mode | 0o200 : mode;
  if (next !== mode) await open.file!.setMode(next);
}

/** File opens of the same share whose path is `path` or, with `below`, under it. */
function opensAt(ctx: RequestContext, open: Open, path: string, below = false): Open[] {
  return ctx.server.state.opensAt(open.tree.share, path, below);
}

/**
 * A rename's or link's target as it is on disk: on a case-insensitive share
 * (case-names.ts) its directories, and an existing file it names in another
 * case, take the case they have there. `caseOnly`: the target is the file
 * itself in another case (`a` to `A`), which renames it to the new spelling.
 */
async function onDiskTarget(open: Open, to: string | number): Promise<{ to: string; caseOnly: boolean } | number> {
  const names = open.tree.share.names;
  if (typeof to === 'number' || !names) return typeof to === 'number' ? to : { to, caseOnly: false };
  const real = await names.resolve(to);
  if (real !== open.path) return { to: real, caseOnly: false };
  const dir = parentPath(real);
  const name = splitParent(to).name;
  return { to: dir === '' ? name : `${dir}/${name}`, caseOnly: true };
}

function targetPath(info: fscc.FileRenameInformation): string | number {
  // MS-SMB2 2.2.39 / 3.3.5.21.1: RootDirectory must be zero; the name is relative to the share root.
  if (info.rootDirectory !== 0n) return NtStatus.INVALID_PARAMETER;
  if (info.fileName.startsWith(':')) return NtStatus.NOT_SUPPORTED; // a stream: only a rename names one (renameStream)
  const to = smbPathToRel(info.fileName);
  if (to === '') return NtStatus.OBJECT_NAME_INVALID;
  return to;
}

/**
 * A rename also changes the parent directory: another open of it that holds DELETE
 * access, or reads/writes it without sharing delete, refuses the rename with
 * SHARING_VIOLATION (Windows, smbtorture rename.*_delete_access*).
 */
function parentBlocksRename(ctx: RequestContext, open: Open, from: string): boolean {
  for (const o of opensAt(ctx, open, parentPath(from))) {
    if (o === open || !o.isDirectory) continue;
    if (o.grantedAccess & Access.DELETE) return true;
    const uses = o.grantedAccess & (Access.FILE_READ_DATA | Access.FILE_EXECUTE | Access.FILE_WRITE_DATA | Access.FILE_APPEND_DATA);
    if (uses && !(o.shareAccess & ShareAccess.DELETE)) return true;
  }
  return false;
}

async function rename(ctx: RequestContext, open: Open, info: fscc.FileRenameInformation): Promise<number> {
  if (!has(open, Access.DELETE)) return NtStatus.ACCESS_DENIED;
  if (info.rootDirectory !== 0n) return NtStatus.INVALID_PARAMETER;
  if (info.fileName.startsWith(':') && open.tree.share.streams) return renameStream(ctx, open, info);
  // A stream's handle renaming its file (a path, not ':name'): Windows answers SHARING_VIOLATION
  // (the stream's own open holds the file; smbtorture smb2.streams.rename2).
  if (open.stream !== null) return NtStatus.SHARING_VIOLATION;
  if (open.path === '') return NtStatus.ACCESS_DENIED;
  const named = await onDiskTarget(open, targetPath(info));
  if (typeof named === 'number') return named;
  const { to, caseOnly } = named;
  const from = open.path;
  if (to === from) return NtStatus.SUCCESS;
  if (to.startsWith(from + '/')) return NtStatus.INVALID_PARAMETER; // a directory into itself
  if (parentBlocksRename(ctx, open, from)) return NtStatus.SHARING_VIOLATION;
  // A directory with open files below it cannot be renamed (MS-FSA 2.1.5.14.11, as Windows: ACCESS_DENIED);
  // nor can a file or directory one of whose streams is open (smbtorture smb2.streams.basefile-rename-with-open-stream).
  if (opensAt(ctx, open, from, open.isDirectory).some((o) => o !== open && (o.path !== from || o.stream !== null))) return NtStatus.ACCESS_DENIED;
  const root = open.tree.share.root!;
  if (info.replaceIfExists && !caseOnly) {
    // MS-FSA 2.1.5.14.11: an existing directory is never replaced.
    const existing = await root.stat(to).catch(() => null);
    if (existing?.isDirectory) return NtStatus.ACCESS_DENIED;
    // A READONLY file is not replaced (Windows: unless FILE_RENAME_IGNORE_READONLY_ATTRIBUTE, which
    // FileRenameInformation cannot ask for).
    if (existing && isReadOnly(existing)) return NtStatus.ACCESS_DENIED;
    // Replacing a file someone has open: Windows refuses with ACCESS_DENIED too.
    if (opensAt(ctx, open, to).length > 0) return NtStatus.ACCESS_DENIED;
  }
  // Other clients' handle caching of the file goes first, waiting for their acknowledgments.
  for (let round = 0; round < 16; round++) {
    const waits = breakHandleCaching(ctx.server, open);
    if (waits.length === 0) break;
    if (await awaitBreaks(ctx, waits)) return NtStatus.CANCELLED;
    if (open.closed) return NtStatus.FILE_CLOSED;
  }
  try {
    await root.rename(from, to, { replace: info.replaceIfExists });
  } catch (err) {
    // A non-empty directory in the way is a name collision here, not DIRECTORY_NOT_EMPTY.
    if ((err as { code?: string }).code === 'ENOTEMPTY') return NtStatus.OBJECT_NAME_COLLISION;
    return fsStatus(ctx, err, { parentMissing: to.includes('/') });
  }
  // Every open of the file, or below the directory, follows the rename; so does what is known of
  // the share's directories without a descriptor (ntacl.ts bareDirs: the old path may now name another).
  for (const o of opensAt(ctx, open, from, true)) ctx.server.state.opens.move(o, to + o.path.slice(from.length));
  if (open.isDirectory) bareDirs.forget(open.tree.share);
  notifyRename(ctx, open.tree.share, from, to, open.isDirectory);
  return NtStatus.SUCCESS;
}

/**
 * A stream rename (MS-FSA 2.1.5.15.11.1; the new name is `:name[:$DATA]`,
 * `::$DATA` for the file's unnamed stream). The target stream, when it
 * exists, is replaced only with ReplaceIfExists, while nobody has it open,
 * and while it is empty (INVALID_PARAMETER otherwise, as Windows); the
 * unnamed stream takes a named one's data only while it is empty itself.
 * The file's own data is not moved into a named stream (NOT_SUPPORTED).
 */
async function renameStream(ctx: RequestContext, open: Open, info: fscc.FileRenameInformation): Promise<number> {
  const spec = splitStreamSpec(info.fileName.slice(1));
  if (!spec || info.fileName.endsWith(':')) return NtStatus.INVALID_PARAMETER;
  const { stream: name, type } = spec;
  if (name === '' && type === undefined) return NtStatus.INVALID_PARAMETER;
  if (type !== undefined && !isDataType(type)) return NtStatus.OBJECT_TYPE_MISMATCH;
  if (name !== '' && !validStreamName(name)) return NtStatus.INVALID_PARAMETER;
  const target = name === '' ? null : name;
  const src = open.stream;
  const file = open.file as StreamFile;
  if (src === null) return target === null ? NtStatus.SUCCESS : NtStatus.NOT_SUPPORTED;
  const base = file.base;
  const others = opensAt(ctx, open, open.path).filter((o) => o !== open);
  // Other handles of the stream would be left naming what is gone.
  if (others.some((o) => sameStream(o.stream, src))) return NtStatus.SHARING_VIOLATION;
  const value = (await base.getXattr(streamXattr(src))) ?? Buffer.alloc(1);
  if (target === null) {
    if (base.isDirectory) return NtStatus.INVALID_PARAMETER; // a directory has no unnamed data stream
    if ((await base.stat()).size > 0n) return info.replaceIfExists ? NtStatus.INVALID_PARAMETER : NtStatus.OBJECT_NAME_COLLISION;
    if (others.some((o) => o.stream === null && o.grantedAccess & (Access.FILE_READ_DATA | Access.FILE_WRITE_DATA | Access.FILE_APPEND_DATA))) return NtStatus.SHARING_VIOLATION;
    const data = value.subarray(0, Math.max(0, value.length - 1));
    const w = await open.tree.share.root!.open(open.path, { read: false, write: true, directory: 'mustNot' });
    try {
      for (let done = 0; done < data.length; ) done += await w.write(data, done, data.length - done, done);
    } finally {
      await w.close();
    }
    await base.removeXattr(streamXattr(src));
    file.stream = null;
    ctx.server.notify.post(open.tree.share, `${open.path}:${src}`, NotifyAction.REMOVED_STREAM, NotifyFilter.STREAM_NAME);
    changedFile(ctx, open, NotifyFilter.SIZE | NotifyFilter.LAST_WRITE);
    return NtStatus.SUCCESS;
  }
  const existing = await findStream(base, target);
  if (existing !== null && !sameStream(existing, src)) {
    if (!info.replaceIfExists) return NtStatus.OBJECT_NAME_COLLISION;
    if (others.some((o) => sameStream(o.stream, existing))) return NtStatus.SHARING_VIOLATION;
    const v = await base.getXattr(streamXattr(existing));
    if (v && v.length > 1) return NtStatus.INVALID_PARAMETER;
  }
  if (target === src) return NtStatus.SUCCESS;
  // The new name is written before the old goes: a failure in between leaves both, never neither.
  await base.setXattr(streamXattr(target), value);
  if (existing !== null && existing !== target && existing !== src) await base.removeXattr(streamXattr(existing));
  await base.removeXattr(streamXattr(src));
  file.stream = target;
  ctx.server.state.files.rekey(open, base.statAtOpen.dev, base.statAtOpen.ino);
  ctx.server.notify.post(open.tree.share, `${open.path}:${src}`, NotifyAction.RENAMED_OLD_NAME, NotifyFilter.STREAM_NAME);
  ctx.server.notify.post(open.tree.share, `${open.path}:${target}`, NotifyAction.RENAMED_NEW_NAME, NotifyFilter.STREAM_NAME);
  return NtStatus.SUCCESS;
}

/**
 * Change notify for a rename (MS-FSA 2.1.5.14.11): OLD_NAME then NEW_NAME
 * within one directory, REMOVED then ADDED across two; a file also shows
 * its attributes and creation time MODIFIED under the new name, as Windows
 * reports it (and Samba copies; smbtorture smb2.notify.mask-change).
 */
function notifyRename(ctx: RequestContext, share: object, from: string, to: string, isDirectory: boolean): void {
  const hub = ctx.server.notify;
  const bit = nameBit(isDirectory);
  const sameDir = parentPath(from) === parentPath(to);
  hub.post(share, from, sameDir ? NotifyAction.RENAMED_OLD_NAME : NotifyAction.REMOVED, bit);
  hub.post(share, to, sameDir ? NotifyAction.RENAMED_NEW_NAME : NotifyAction.ADDED, bit);
  if (!isDirectory) hub.post(share, to, NotifyAction.MODIFIED, NotifyFilter.ATTRIBUTES | NotifyFilter.CREATION);
}

async function link(ctx: RequestContext, open: Open, info: fscc.FileLinkInformation): Promise<number> {
  if (open.isDirectory) return NtStatus.FILE_IS_A_DIRECTORY;
  if (open.stream !== null) return NtStatus.INVALID_PARAMETER;
  const named = await onDiskTarget(open, targetPath(info));
  if (typeof named === 'number') return named;
  // A link to itself in another case names a file that is there.
  if (named.caseOnly) return NtStatus.OBJECT_NAME_COLLISION;
  const { to } = named;
  const root = open.tree.share.root!;
  try {
    const existing = info.replaceIfExists ? await root.stat(to).catch(() => null) : null;
    if (!existing) {
      await root.link(open.path, to);
      ctx.server.notify.post(open.tree.share, to, NotifyAction.ADDED, NotifyFilter.FILE_NAME);
      return NtStatus.SUCCESS;
    }
    if (existing.isDirectory || isReadOnly(existing) || opensAt(ctx, open, to).length > 0) return NtStatus.ACCESS_DENIED;
    // The new link is made under a temporary name beside the target and renamed over it: the
    // target is replaced in one step, never removed first and lost when the link then fails.
    const dir = parentPath(to);
    const tmp = `${dir === '' ? '' : `${dir}/`}.ringsmb-link-${randomBytes(6).toString('hex')}`;
    await root.link(open.path, tmp);
    try {
      await root.rename(tmp, to, { replace: true });
    } catch (err) {
      await root.unlink(tmp).catch(() => undefined);
      throw err;
    }
    ctx.server.notify.touch(open.tree.share, tmp);
    ctx.server.notify.post(open.tree.share, to, NotifyAction.MODIFIED, NotifyFilter.ATTRIBUTES | NotifyFilter.SIZE | NotifyFilter.LAST_WRITE);
  } catch (err) {
    return fsStatus(ctx, err);
  }
  return NtStatus.SUCCESS;
}

/**
 * Delete pending is a property of the file, not of one handle (MS-FSA 2.1.5.14.3),
 * so it is set (or cleared) on every open of the path. server.closeOpen passing the
 * flag on at close would delete the file without this, but every handle must also
 * report DeletePending (FileStandardInformation) and be able to clear it.
 */
async function disposition(ctx: RequestContext, open: Open, del: boolean): Promise<number> {
  if (!has(open, Access.DELETE)) return NtStatus.ACCESS_DENIED;
  if (del) {
    if (open.path === '') return NtStatus.ACCESS_DENIED;
    const refusal = await deleteRefusal(open.file!, await open.file!.stat());
    if (refusal !== null) return refusal;
  }
  // A stream's delete is that stream's; the file's leaves its streams' opens alone until it closes
  // (server.closeOpen passes it on), except that clearing it clears what was passed on.
  for (const o of opensAt(ctx, open, open.path)) {
    if (sameStream(o.stream, open.stream)) {
      o.deleteOnClose = del;
      o.pendingDelete = del;
    } else if (open.stream === null && !del) o.deleteFile = false;
  }
  return NtStatus.SUCCESS;
}

async function endOfFile(ctx: RequestContext, open: Open, eof: bigint): Promise<number> {
  if (!has(open, Access.FILE_WRITE_DATA)) return NtStatus.ACCESS_DENIED;
  if (open.isDirectory || eof < 0n) return NtStatus.INVALID_PARAMETER;
  breakReadCaching(ctx.server, open); // MS-FSA 2.1.4.12: what others cached of the data is stale
  await open.file!.truncate(eof);
  changedFile(ctx, open, NotifyFilter.SIZE);
  return NtStatus.SUCCESS;
}

/** MS-FSA 2.1.5.14.1: an allocation below the end of file truncates it; above, space is reserved. */
async function allocation(ctx: RequestContext, open: Open, size: bigint): Promise<number> {
  if (!has(open, Access.FILE_WRITE_DATA)) return NtStatus.ACCESS_DENIED;
  if (open.isDirectory || size < 0n) return NtStatus.INVALID_PARAMETER;
  breakReadCaching(ctx.server, open);
  const st = await open.file!.stat();
  if (size < st.size) await open.file!.truncate(size);
  else if (size > st.allocSize) {
    // Best effort: a file system without fallocate just does not reserve.
    await open.file!.allocate(size, { keepSize: true }).catch((err: { code?: string }) => {
      if (err.code !== 'EOPNOTSUPP' && err.code !== 'ENOTSUP') throw err;
    });
  }
  changedFile(ctx, open, NotifyFilter.SIZE);
  return NtStatus.SUCCESS;
}

/**
 * SET_INFO SECURITY (3.3.5.21.3): owner and group need WRITE_OWNER, the DACL
 * WRITE_DAC, a SACL ACCESS_SYSTEM_SECURITY (never granted). The named parts
 * replace the stored (or default) descriptor's (ntacl.ts).
 */
async function setSecurity(ctx: RequestContext, open: Open, info: number, buffer: Buffer): Promise<number> {
  if (info & (SecInfo.OWNER | SecInfo.GROUP) && !(open.grantedAccess & Access.WRITE_OWNER)) return NtStatus.ACCESS_DENIED;
  if (info & SecInfo.DACL && !(open.grantedAccess & Access.WRITE_DAC)) return NtStatus.ACCESS_DENIED;
  if (info & SecInfo.SACL) return NtStatus.ACCESS_DENIED;
  const given = decodeOr(() => decodeSecurityDescriptor(buffer));
  if (typeof given === 'number') return given;
  const file = open.file!;
  const log = (m: string): void => ctx.server.log.warn(`"${open.path}": ${m}`);
  const current = (await loadDescriptor(file, log)) ?? defaultDescriptor(await file.stat(), ctx.tree!.maximalAccess);
  await storeDescriptor(file, mergeDescriptor(current, given, info), open.tree.share);
  changedFile(ctx, open, NotifyFilter.SECURITY);
  return NtStatus.SUCCESS;
}
