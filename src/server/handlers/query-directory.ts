/** QUERY_DIRECTORY (MS-SMB2 3.3.5.18). Wildcards: MS-FSA 2.1.4.4 (errno.ts). */
import { decodeQueryDirectoryRequest, encodeOutputBufferResponseHead, encodeQueryDirectoryResponse, type QueryDirectoryRequest } from '../../smb2/commands/query-directory.js';
import { QueryDirectoryFlags } from '../../smb2/constants.js';
import { NtStatus } from '../../smb2/status.js';
import { DirectoryEncoder, isDirectoryInfoClass, type DirectoryEntry } from '../../smb2/fscc/directory.js';
import type { VfsStat } from '../../vfs/types.js';
import { Access } from '../access.js';
import { errorReply, type Reply, type RequestContext } from '../context.js';
import { compileWildcard } from '../errno.js';
import type { DirEnumState, Open } from '../state.js';
import { DOSATTRIB_XATTR, decodeDosInfo, statWithDos, withCreateTime } from '../dos-attributes.js';
import { allocationSize, decodeOr, endOfFile, fileAttributes, fileTimes, fsStatus, lookupOpen, parentPath } from './common.js';

/** How long a directory scan runs before letting other work in (see handleQueryDirectory). */
const SCAN_SLICE_MS = 5;

/** Scans that have returned at least one entry since their (re)start: NO_MORE_FILES vs NO_SUCH_FILE. */

function toEntry(name: string, st: VfsStat, dos: number | null): DirectoryEntry {
  return {
    fileName: name,
    fileIndex: 0,
    ...fileTimes(st),
    endOfFile: endOfFile(st),
    allocationSize: allocationSize(st),
    fileAttributes: fileAttributes(st, dos),
    eaSize: 0,
    shortName: '',
    fileId: st.ino,
    reparsePointTag: 0,
  };
}

function childPath(open: Open, name: string): string {
  return open.path ? `${open.path}/${name}` : name;
}

/**
 * A scan continues over the listing read when it started; entries removed since then
 * must not be returned (smbtorture dir.fixed, as Windows). Re-read only when the
 * directory changed: one stat per continuation.
 */
async function dropRemoved(open: Open, dir: DirEnumState): Promise<void> {
  const st = await open.file!.stat();
  if (st.ctimeNs === dir.readAtCtimeNs || !dir.entries) return;
  dir.readAtCtimeNs = st.ctimeNs;
  const now = new Set(await open.file!.readdirNames());
  const rest = dir.entries.slice(dir.index).filter((e) => now.has(e.name));
  dir.entries = [...dir.entries.slice(0, dir.index), ...rest];
}

export async function handleQueryDirectory(ctx: RequestContext): Promise<Reply> {
  const req = decodeOr(() => decodeQueryDirectoryRequest(ctx.msg));
  if (typeof req === 'number') return errorReply(req);
  const open = lookupOpen(ctx, req.fileId);
  if (typeof open === 'number') return errorReply(open);
  // A CLOSE sent right behind waits for the scan (Open.track).
  return open.track(() => scan(ctx, req, open));
}

async function scan(ctx: RequestContext, req: QueryDirectoryRequest, open: Open): Promise<Reply> {
  if (!open.file || !open.isDirectory) return errorReply(NtStatus.INVALID_PARAMETER);
  if (!(open.grantedAccess & Access.FILE_READ_DATA)) return errorReply(NtStatus.ACCESS_DENIED);
  if (!isDirectoryInfoClass(req.fileInformationClass)) return errorReply(NtStatus.INVALID_INFO_CLASS);
  // 3.3.5.18: OutputBufferLength above Connection.MaxTransactSize is invalid; so is a zero-length buffer.
  if (req.outputBufferLength > ctx.conn.negotiated!.maxTransact || req.outputBufferLength === 0) {
    return errorReply(NtStatus.INVALID_PARAMETER);
  }
  const root = ctx.tree!.share.root!;
  const restart = (req.flags & (QueryDirectoryFlags.RESTART_SCANS | QueryDirectoryFlags.REOPEN)) !== 0;
  // The pattern is fixed when a scan (re)starts; continuations' FileName is ignored.
  if (!open.dir || restart) open.dir = { entries: null, index: 0, matches: compileWildcard(req.fileName || '*'), dotsDone: 0, returnedSome: false };
  const dir = open.dir;
  try {
    if (dir.entries === null) {
      dir.readAtCtimeNs = (await open.file.stat()).ctimeNs;
      // Each entry's stored DOS attributes come with its statx.
      dir.entries = await open.file.readdir({ xattr: DOSATTRIB_XATTR });
    } else {
      await dropRemoved(open, dir);
    }
  } catch (err) {
    return errorReply(fsStatus(ctx, err));
  }
  const matches = dir.matches;
  const enc = new DirectoryEncoder(req.fileInformationClass, req.outputBufferLength);
  const single = (req.flags & QueryDirectoryFlags.RETURN_SINGLE_ENTRY) !== 0;
  let full = false;

  // '.' and '..' first, as Windows and smbclient expect.
  while (dir.dotsDone < 2 && !full) {
    const name = dir.dotsDone === 0 ? '.' : '..';
    if (matches(name)) {
      let st: VfsStat;
      let dos: number | null = null;
      try {
        if (dir.dotsDone === 0 || open.path === '') [st, dos] = await statWithDos(open.file);
        else st = await root.stat(parentPath(open.path), { follow: true });
      } catch (err) {
        return errorReply(fsStatus(ctx, err));
      }
      if (!enc.add(toEntry(name, st, dos))) {
        full = true;
        break;
      }
      if (single) full = true;
    }
    dir.dotsDone++;
  }
  // A scan that passes over many entries that do not match (a big directory, a costly pattern)
  // lets the loop serve others every few ms instead of holding it to the end.
  let sliceStart = performance.now();
  let scanned = 0;
  while (!full && dir.index < dir.entries.length) {
    if ((++scanned & 255) === 0 && performance.now() - sliceStart > SCAN_SLICE_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
      if (dir.index >= dir.entries.length) break;
    }
    const e = dir.entries[dir.index]!;
    if (!matches(e.name)) {
      dir.index++;
      continue;
    }
    let st = e.stat;
    if (st.isSymlink) {
      // Opens follow symlinks (beneath the share), so list what they lead to; skip the dangling ones.
      try {
        st = await root.stat(childPath(open, e.name), { follow: true });
      } catch {
        dir.index++;
        continue;
      }
    }
    // A symlink's own attribute is not the target's; listed as the target, it takes the defaults.
    const dos = e.stat.isSymlink ? null : decodeDosInfo(e.xattr);
    if (!enc.add(toEntry(e.name, withCreateTime(st, dos?.createNs ?? null), dos?.attrs ?? null))) break;
    dir.index++;
    if (single) break;
  }
  if (enc.count === 0) {
    const more = dir.dotsDone < 2 || dir.index < dir.entries.length;
    // 3.3.5.18: the first entry does not fit in the client's buffer.
    if (more) return errorReply(NtStatus.INFO_LENGTH_MISMATCH);
    return errorReply(dir.returnedSome ? NtStatus.NO_MORE_FILES : NtStatus.NO_SUCH_FILE);
  }
  dir.returnedSome = true;
  const output = enc.finish();
  // The entries go out as they are, after the 8-byte head (no copy); empty output needs the codec's padding byte.
  const body = output.length > 0 ? [encodeOutputBufferResponseHead(output.length), output] : encodeQueryDirectoryResponse({ output });
  return { status: NtStatus.SUCCESS, body };
}
