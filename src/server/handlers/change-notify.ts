/**
 * CHANGE_NOTIFY (MS-SMB2 3.3.5.19): goes async at once (interim
 * STATUS_PENDING), then completes with the changes, STATUS_NOTIFY_ENUM_DIR
 * when they do not fit or were not all seen, STATUS_NOTIFY_CLEANUP when the
 * directory handle is closed, or STATUS_CANCELLED on CANCEL, LOGOFF or
 * disconnect. The watch itself lives in ../notify.ts.
 */
import { NtStatus } from '../../smb2/status.js';
import { decodeChangeNotifyRequest, encodeChangeNotifyResponse, encodeFileNotifyInformation } from '../../smb2/commands/change-notify.js';
import { Access } from '../access.js';
import { DirWatch, WATCH_TREE, type TreeAccess } from '../notify.js';
import { errorReply, type Reply, type RequestContext } from '../context.js';
import { decodeOr, lookupOpen } from './common.js';

const EMPTY = Buffer.alloc(0);

export async function handleChangeNotify(ctx: RequestContext): Promise<Reply> {
  const req = decodeOr(() => decodeChangeNotifyRequest(ctx.msg));
  if (typeof req === 'number') return errorReply(req);
  const open = lookupOpen(ctx, req.fileId);
  if (typeof open === 'number') return errorReply(open);
  // 3.3.5.19: only directories; the open must be able to list it.
  if (!open.isDirectory || !open.file) return errorReply(NtStatus.INVALID_PARAMETER);
  if (!(open.grantedAccess & Access.FILE_LIST_DIRECTORY)) return errorReply(NtStatus.ACCESS_DENIED);
  if (req.outputBufferLength > ctx.conn.negotiated!.maxTransact) return errorReply(NtStatus.INVALID_PARAMETER);

  // A NOTIFY that would wait in the middle of a compound fails, as on Windows (MS-SMB2 <159>, <162>):
  // only the last request of a compound can go async.
  if (ctx.compoundOut && !ctx.compoundOut.last) return errorReply(NtStatus.INTERNAL_ERROR);

  const root = open.tree.share.root;
  const base = open.path;
  const log = (m: string): void => ctx.server.log.warn(`share ${open.tree.share.name} "${base}": ${m}`);
  let tree: TreeAccess | null = null;
  if ((req.flags & WATCH_TREE) !== 0 && root && !open.notify) {
    // Walked from where the directory really is: opened through a symlink inside the share
    // (followed beneath the root at CREATE), its path would not open with symlinks refused.
    const at = root.relOf(open.file.fd) ?? base;
    tree = { openDir: (rel) => root.open([at, rel].filter((x) => x).join('/'), { read: true, write: false, directory: 'must', followSymlinks: false }) };
  }
  open.notify ??= new DirWatch(open.file.fd, tree, async (name) => {
    if (!root) return false;
    try {
      await root.stat(base ? `${base}/${name}` : name);
      return true;
    } catch {
      return false;
    }
  }, log);
  const wait = open.notify.next(req.completionFilter);
  let cancel!: () => void;
  const cancelled = new Promise<'cancelled'>((resolve) => (cancel = () => resolve('cancelled')));
  ctx.conn.onCancel(ctx, () => {
    wait.cancel();
    cancel();
  });
  ctx.conn.goAsync(ctx);
  const r = await Promise.race([wait.result, cancelled]);
  if (r === 'cancelled') return errorReply(NtStatus.CANCELLED);
  if (r === 'closed') return { status: NtStatus.NOTIFY_CLEANUP, body: encodeChangeNotifyResponse({ output: EMPTY }) };
  if (!r.overflow) {
    const out = encodeFileNotifyInformation(r.changes);
    if (out.length <= req.outputBufferLength) return { status: NtStatus.SUCCESS, body: encodeChangeNotifyResponse({ output: out }) };
  }
  return { status: NtStatus.NOTIFY_ENUM_DIR, body: encodeChangeNotifyResponse({ output: EMPTY }) };
}
