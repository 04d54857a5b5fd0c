/**
 * CHANGE_NOTIFY (MS-SMB2 3.3.5.19): goes async at once (interim
 * STATUS_PENDING), then completes with the changes, STATUS_NOTIFY_ENUM_DIR
 * when they do not fit or were not all seen, STATUS_NOTIFY_CLEANUP when the
 * directory handle is closed or its session goes, STATUS_DELETE_PENDING when
 * the directory is to be deleted, or STATUS_CANCELLED on CANCEL or
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
  if (open.pendingDelete) return errorReply(NtStatus.DELETE_PENDING);

  // A NOTIFY that would wait in the middle of a compound fails, as on Windows (MS-SMB2 <159>, <162>):
  // only the last request of a compound can go async.
  if (ctx.compoundOut && !ctx.compoundOut.last) return errorReply(NtStatus.INTERNAL_ERROR);

  const root = open.tree.share.root;
  if (!open.notify) {
    const base = root?.relOf(open.file.fd) ?? open.path;
    const log = (m: string): void => ctx.server.log.warn(`share ${open.tree.share.name} "${base}": ${m}`);
    // Walked from where the directory really is: opened through a symlink inside the share
    // (followed beneath the root at CREATE), its path would not open with symlinks refused.
    const tree: TreeAccess | null = (req.flags & WATCH_TREE) !== 0 && root
      ? { openDir: (rel) => root.open([base, rel].filter((x) => x).join('/'), { read: true, write: false, directory: 'must', followSymlinks: false }) }
      : null;
    // The first request fixes the filter, WATCH_TREE and buffer size until the handle is closed,
    // as on Windows (smbtorture smb2.notify.mask-change, valid-req).
    open.notify = new DirWatch(ctx.server.notify, {
      fd: open.file.fd,
      share: open.tree.share,
      base,
      filter: req.completionFilter,
      maxBuffer: req.outputBufferLength,
      tree,
      exists: (path) => (root ? root.stat(path).then(() => true, () => false) : Promise.resolve(false)),
      log,
    });
  }
  const watch = open.notify;
  const wait = watch.next();
  let cancel!: () => void;
  const cancelled = new Promise<'cancelled'>((resolve) => (cancel = () => resolve('cancelled')));
  const pending = ctx.conn.onCancel(ctx, () => {
    wait.cancel();
    cancel();
  });
  ctx.conn.goAsync(ctx);
  const r = await Promise.race([wait.result, cancelled]);
  const cleanup = { status: NtStatus.NOTIFY_CLEANUP, body: encodeChangeNotifyResponse({ output: EMPTY }) };
  // The session going (LOGOFF, a reconnect that replaces it, a failed re-authentication) closes
  // its handles: the request ends as a close would end it (smbtorture smb2.notify.logoff).
  if (r === 'cancelled') return pending.cancelledBy === 'logoff' ? cleanup : errorReply(NtStatus.CANCELLED);
  if (r === 'closed') return cleanup;
  if (r === 'deleted') return errorReply(NtStatus.DELETE_PENDING);
  if (!r.overflow) {
    const out = encodeFileNotifyInformation(r.changes);
    if (out.length <= Math.min(req.outputBufferLength, watch.maxBuffer)) return { status: NtStatus.SUCCESS, body: encodeChangeNotifyResponse({ output: out }) };
  }
  return { status: NtStatus.NOTIFY_ENUM_DIR, body: encodeChangeNotifyResponse({ output: EMPTY }) };
}
