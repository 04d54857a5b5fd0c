/** TREE_CONNECT (3.3.5.7) and TREE_DISCONNECT (3.3.5.8). */
import { decodeTreeConnectRequest, encodeTreeConnectResponse } from '../../smb2/commands/tree-connect.js';
import { encodeTreeDisconnectResponse } from '../../smb2/commands/tree-disconnect.js';
import { ShareFlags, ShareType } from '../../smb2/constants.js';
import { NtStatus } from '../../smb2/status.js';
import { errorReply, type Reply, type RequestContext } from '../context.js';
import { TreeConnect } from '../state.js';
import { MaskFull, MaskRead } from '../access.js';

export async function handleTreeConnect(ctx: RequestContext): Promise<Reply> {
  const { server, conn } = ctx;
  const session = ctx.session!;
  let req;
  try {
    req = decodeTreeConnectRequest(ctx.msg);
  } catch {
    return errorReply(NtStatus.INVALID_PARAMETER);
  }
  // \\server\share: the share is the last component; the server name is not checked (clients use IPs and aliases).
  const m = /^\\\\[^\\]+\\([^\\]+)$/.exec(req.path);
  if (!m) return errorReply(NtStatus.BAD_NETWORK_NAME);
  const share = server.findShare(m[1]!);
  if (!share) {
    server.log.info(`connection ${conn.id} (${conn.peer}): no share "${m[1]}"`);
    return errorReply(NtStatus.BAD_NETWORK_NAME);
  }
  if ((session.isGuest || session.isAnonymous) && !share.guestOk && !share.isIpc) return errorReply(NtStatus.ACCESS_DENIED);
  if (share.encrypt && conn.negotiated!.dialect < 0x0300) return errorReply(NtStatus.ACCESS_DENIED);
  if (session.trees.size >= server.config.maxTreesPerSession) return errorReply(NtStatus.INSUFFICIENT_RESOURCES);
  const id = session.allocTreeId();
  if (id === 0) return errorReply(NtStatus.INSUFFICIENT_RESOURCES);
  const maximal = share.readOnly && !share.isIpc ? MaskRead : MaskFull;
  const tree = new TreeConnect(id, session, share, maximal);
  session.trees.set(id, tree);
  ctx.tree = tree;
  let flags = share.isIpc ? ShareFlags.NO_CACHING : ShareFlags.MANUAL_CACHING;
  if (share.encrypt && !share.isIpc) flags |= ShareFlags.ENCRYPT_DATA;
  return {
    status: 0,
    treeId: id,
    body: encodeTreeConnectResponse({ shareType: share.isIpc ? ShareType.PIPE : ShareType.DISK, shareFlags: flags, capabilities: 0, maximalAccess: maximal }),
  };
}

export async function handleTreeDisconnect(ctx: RequestContext): Promise<Reply> {
  await ctx.server.disconnectTree(ctx.tree!);
  return { status: 0, body: encodeTreeDisconnectResponse() };
}
