/** IOCTL (MS-SMB2 3.3.5.15): the FSCTLs a server answers itself, and pipe transceive. */
import { isIPv4, isIPv6 } from 'node:net';
import { decodeIoctlRequest, encodeIoctlResponse, type IoctlRequest } from '../../smb2/commands/ioctl.js';
import {
  decodePipeWaitRequest,
  decodeValidateNegotiateInfoRequest,
  encodeEmptySnapshotArray,
  encodeNetworkInterfaceInfo,
  encodeValidateNegotiateInfoResponse,
  type NetworkInterfaceInfo,
} from '../../smb2/commands/fsctl.js';
import { Fsctl, IoctlFlags, SecurityMode } from '../../smb2/constants.js';
import { NtStatus } from '../../smb2/status.js';
import { createPipe } from '../../rpc/pipe.js';
import { errorReply, type Reply, type RequestContext } from '../context.js';
import { decodeOr, lookupOpen } from './common.js';

const LINK_SPEED = 10_000_000_000n;

function reply(req: IoctlRequest, output: Buffer, status: number = NtStatus.SUCCESS): Reply {
  return { status, body: encodeIoctlResponse({ ctlCode: req.ctlCode, fileId: req.fileId, input: Buffer.alloc(0), output, flags: 0 }) };
}

export async function handleIoctl(ctx: RequestContext): Promise<Reply> {
  const req = decodeOr(() => decodeIoctlRequest(ctx.msg));
  if (typeof req === 'number') return errorReply(req);
  // 3.3.5.15: only FSCTLs travel over SMB2.
  if (req.flags !== IoctlFlags.IS_FSCTL) return errorReply(NtStatus.NOT_SUPPORTED);
  const maxT = ctx.conn.negotiated!.maxTransact;
  if (req.input.length > maxT || req.maxOutputResponse > maxT || req.maxInputResponse > maxT) return errorReply(NtStatus.INVALID_PARAMETER);

  switch (req.ctlCode) {
    case Fsctl.VALIDATE_NEGOTIATE_INFO:
      return validateNegotiate(ctx, req);
    case Fsctl.QUERY_NETWORK_INTERFACE_INFO:
      return networkInterfaces(ctx, req);
    case Fsctl.DFS_GET_REFERRALS:
    case Fsctl.DFS_GET_REFERRALS_EX:
      // No DFS: what Samba answers when "host msdfs" is off.
      return errorReply(NtStatus.FS_DRIVER_REQUIRED);
    case Fsctl.PIPE_WAIT: {
      if (!ctx.tree!.share.isIpc) return errorReply(NtStatus.INVALID_DEVICE_REQUEST);
      const w = decodeOr(() => decodePipeWaitRequest(req.input));
      if (typeof w === 'number') return errorReply(w);
      const p = createPipe(w.name, { serverName: ctx.server.config.serverName, shares: () => [] });
      if (!p) return errorReply(NtStatus.OBJECT_NAME_NOT_FOUND);
      p.close();
      return reply(req, Buffer.alloc(0));
    }
  }

  const open = lookupOpen(ctx, req.fileId);
  if (typeof open === 'number') return errorReply(open);
  switch (req.ctlCode) {
    case Fsctl.PIPE_TRANSCEIVE: {
      if (!open.pipe) return errorReply(NtStatus.INVALID_DEVICE_REQUEST);
      let r;
      try {
        r = open.pipe.transceive(req.input, req.maxOutputResponse);
      } catch (err) {
        ctx.server.log.debug(`pipe transceive: ${(err as Error).message}`);
        return errorReply(NtStatus.PIPE_BROKEN);
      }
      return reply(req, r.data, r.more ? NtStatus.BUFFER_OVERFLOW : NtStatus.SUCCESS);
    }
    case Fsctl.SRV_ENUMERATE_SNAPSHOTS: {
      if (!open.file) return errorReply(NtStatus.INVALID_DEVICE_REQUEST);
      // 3.3.5.15.1: a buffer too small for the 16-byte header.
      if (req.maxOutputResponse < 16) return errorReply(NtStatus.INVALID_PARAMETER);
      return reply(req, encodeEmptySnapshotArray());
    }
    default:
      return errorReply(NtStatus.INVALID_DEVICE_REQUEST);
  }
}

/** 3.3.5.15.12: anything different from what NEGOTIATE saw is a downgrade attack: drop the connection. */
function validateNegotiate(ctx: RequestContext, req: IoctlRequest): Reply {
  const { conn, server } = ctx;
  const n = conn.negotiated!;
  const v = decodeOr(() => decodeValidateNegotiateInfoRequest(req.input));
  if (typeof v === 'number') return errorReply(v);
  if (req.maxOutputResponse < 24) return errorReply(NtStatus.INVALID_PARAMETER);
  const problems: string[] = [];
  if (v.capabilities >>> 0 !== n.clientCapabilities >>> 0) problems.push('capabilities');
  if (!v.guid.equals(n.clientGuid)) problems.push('client guid');
  if (v.securityMode !== n.clientSecurityMode) problems.push('security mode');
  if (!v.dialects.includes(n.dialect)) problems.push('dialects');
  if (problems.length) {
    conn.drop(`VALIDATE_NEGOTIATE_INFO mismatch (${problems.join(', ')})`);
    return errorReply(NtStatus.ACCESS_DENIED);
  }
  return reply(
    req,
    encodeValidateNegotiateInfoResponse({
      capabilities: n.serverCapabilities,
      guid: server.guid,
      securityMode: SecurityMode.SIGNING_ENABLED | (server.config.signing === 'required' ? SecurityMode.SIGNING_REQUIRED : 0),
      dialect: n.dialect,
    }),
  );
}

/** 3.3.5.15.11: one entry per listening address; a wildcard listener reports the address the client reached. */
function networkInterfaces(ctx: RequestContext, req: IoctlRequest): Reply {
  const seen = new Set<string>();
  const list: NetworkInterfaceInfo[] = [];
  const add = (raw: string) => {
    let a = raw.replace(/%.*$/, '');
    if (a.startsWith('::ffff:') && isIPv4(a.slice(7))) a = a.slice(7);
    if (a === '0.0.0.0' || a === '::' || seen.has(a)) return;
    const family = isIPv4(a) ? 'IPv4' : isIPv6(a) ? 'IPv6' : null;
    if (!family) return;
    seen.add(a);
    list.push({ ifIndex: list.length + 1, capability: 0, linkSpeed: LINK_SPEED, address: a, family });
  };
  for (const l of ctx.server.addresses) {
    if (l.host === '0.0.0.0' || l.host === '::' || l.host === '') add(ctx.conn.transport.localAddress);
    else add(l.host);
  }
  if (list.length === 0) add(ctx.conn.transport.localAddress);
  const fit = Math.floor(req.maxOutputResponse / 152);
  if (fit === 0) return errorReply(NtStatus.BUFFER_TOO_SMALL);
  return reply(req, encodeNetworkInterfaceInfo(list.slice(0, fit)));
}
