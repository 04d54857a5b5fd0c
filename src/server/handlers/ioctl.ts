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
import { Access, Fsctl, IoctlFlags, SecurityMode } from '../../smb2/constants.js';
import { FILE_ID_ANY } from '../../smb2/wire.js';
import { NtStatus, statusName } from '../../smb2/status.js';
import { createPipe } from '../../rpc/pipe.js';
import { errorReply, type Reply, type RequestContext } from '../context.js';
import type { Open } from '../state.js';
import { decodeOr, fsStatus, lookupOpen } from './common.js';
import { copyChunk, requestResumeKey } from '../fsctl/copychunk.js';
import { queryAllocatedRanges, setSparse, zeroData, type FsctlResult } from '../fsctl/sparse.js';

const LINK_SPEED = 10_000_000_000n;
/** MS-FSCC 2.3.12 CompressionState. */
const COMPRESSION_FORMAT_NONE = 0;
const COMPRESSION_FORMAT_LZNT1 = 2;

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
  }
  if (!open.file) return errorReply(NtStatus.INVALID_DEVICE_REQUEST);
  try {
    return await fileFsctl(ctx, req, open);
  } catch (err) {
    return errorReply(fsStatus(ctx, err));
  }
}

/** The FSCTLs on a file or directory of a disk share. */
async function fileFsctl(ctx: RequestContext, req: IoctlRequest, open: Open): Promise<Reply> {
  switch (req.ctlCode) {
    case Fsctl.SRV_REQUEST_RESUME_KEY:
      return result(req, requestResumeKey(open, req.maxOutputResponse));
    case Fsctl.SRV_COPYCHUNK:
    case Fsctl.SRV_COPYCHUNK_WRITE: {
      const r = await copyChunk(ctx.server.state, open, req.ctlCode, req.input, req.maxOutputResponse);
      if (r.status !== NtStatus.SUCCESS) ctx.server.log.debug(`copychunk on ${open.path} (access 0x${open.grantedAccess.toString(16)}): ${statusName(r.status)}`);
      // 3.3.4.4: copy-chunk failures carry SRV_COPYCHUNK_RESPONSE in an IOCTL response, not an ERROR one.
      return r.output.length ? reply(req, r.output, r.status) : errorReply(r.status);
    }
    case Fsctl.SET_SPARSE:
      return result(req, setSparse(open, req.input));
    case Fsctl.SET_ZERO_DATA:
      return result(req, await zeroData(open, req.input));
    case Fsctl.QUERY_ALLOCATED_RANGES:
      return result(req, await queryAllocatedRanges(open, req.input, req.maxOutputResponse));
    case Fsctl.CREATE_OR_GET_OBJECT_ID:
    case Fsctl.GET_OBJECT_ID:
      return objectId(req, open);
    case Fsctl.GET_COMPRESSION:
      // MS-FSCC 2.3.12: COMPRESSION_FORMAT_NONE, as a filesystem without compression answers (no access check, as Windows).
      if (req.maxOutputResponse < 2) return errorReply(NtStatus.INVALID_PARAMETER);
      return reply(req, Buffer.alloc(2));
    case Fsctl.SET_COMPRESSION: {
      // MS-FSA 2.1.5.10.26: WRITE_DATA needed; only "none" can be honoured here.
      if ((open.grantedAccess & Access.FILE_WRITE_DATA) === 0) return errorReply(NtStatus.ACCESS_DENIED);
      if (req.input.length < 2) return errorReply(NtStatus.INVALID_PARAMETER);
      const format = req.input.readUInt16LE(0);
      if (format === COMPRESSION_FORMAT_NONE) return reply(req, Buffer.alloc(0));
      return errorReply(format <= COMPRESSION_FORMAT_LZNT1 ? NtStatus.NOT_SUPPORTED : NtStatus.INVALID_PARAMETER);
    }
    default:
      return errorReply(NtStatus.INVALID_DEVICE_REQUEST);
  }
}

/**
 * FSCTL_CREATE_OR_GET_OBJECT_ID / FSCTL_GET_OBJECT_ID: FILE_OBJECTID_BUFFER (MS-FSCC 2.1.3.1).
 * Object ids are not stored: the id is made from the file's (inode, device), which
 * is stable for the file's life and unique on the server, as Samba does; the birth
 * ids repeat it, the volume id is the device, and DomainId is zero.
 */
function objectId(req: IoctlRequest, open: Open): Reply {
  if (req.maxOutputResponse < 64) return errorReply(NtStatus.INVALID_PARAMETER);
  const st = open.file!.statAtOpen;
  const b = Buffer.alloc(64);
  b.writeBigUInt64LE(BigInt.asUintN(64, st.ino), 0);
  b.writeBigUInt64LE(BigInt.asUintN(64, st.dev), 8);
  b.writeBigUInt64LE(BigInt.asUintN(64, st.dev), 16);
  b.copy(b, 32, 0, 16);
  return reply(req, b);
}

/** SUCCESS, or BUFFER_OVERFLOW with the part that fit (3.3.4.4), in an IOCTL response; other failures as ERROR. */
function result(req: IoctlRequest, r: FsctlResult): Reply {
  return r.status === NtStatus.SUCCESS || r.status === NtStatus.BUFFER_OVERFLOW ? reply(req, r.output, r.status) : errorReply(r.status);
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
  // The request names no file: FileId is all ones, anything else is INVALID_PARAMETER (not FILE_CLOSED).
  if (req.fileId.persistent !== FILE_ID_ANY.persistent || req.fileId.volatile !== FILE_ID_ANY.volatile) {
    return errorReply(NtStatus.INVALID_PARAMETER);
  }
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
