/**
 * srvsvc (MS-SRVS), the server service: share enumeration and server information,
 * enough for `smbclient -L`, Explorer and Finder to list shares.
 */
import { NdrReader, NdrWriter, NdrError } from './ndr.js';
import { NCA, syntaxVersion } from './pdu.js';
import { PLATFORM_ID_NT, WERR, type CallResult, type RpcContext, type RpcInterface, type RpcShare } from './interface.js';

export const SRVSVC_SYNTAX = { uuid: '4b324fc8-1670-01d3-1278-5a47bf6ee188', version: syntaxVersion(3, 0) };

export const OPNUM = { NetrShareEnum: 15, NetrShareGetInfo: 16, NetrServerGetInfo: 21 } as const;

/** MS-SRVS 2.2.2.4 share types. */
export const STYPE_DISKTREE = 0;
export const STYPE_IPC = 0x80000003;
/** MS-SRVS 2.2.2.7 server types. */
export const SV_TYPE = {
  WORKSTATION: 0x1,
  SERVER: 0x2,
  NT: 0x1000,
  SERVER_NT: 0x8000,
} as const;
const SERVER_TYPE = SV_TYPE.WORKSTATION | SV_TYPE.SERVER | SV_TYPE.NT | SV_TYPE.SERVER_NT;
const SHARE_LEVELS = new Set([0, 1, 2, 501, 502]);
const MAX_USES_UNLIMITED = 0xffffffff;

function shareType(s: RpcShare): number {
  return s.type === 'ipc' ? STYPE_IPC : STYPE_DISKTREE;
}

/** Windows-style path for levels 2/502: the local path with backslashes under C:. */
function sharePath(s: RpcShare): string {
  if (s.type === 'ipc' || !s.path) return '';
  return 'C:' + s.path.replace(/\//g, '\\');
}

/** Scalars of SHARE_INFO_<level> (MS-SRVS 2.2.4.22-2.2.4.26); strings are deferred. */
function writeShareInfo(w: NdrWriter, level: number, s: RpcShare): void {
  if (level === 1005) {
    w.u32(0); // shi1005_flags: no client-side caching flags set
    return;
  }
  w.wstringPtr(s.name);
  if (level === 0) return;
  w.u32(shareType(s));
  w.wstringPtr(s.comment);
  if (level === 1) return;
  if (level === 501) {
    w.u32(0); // shi501_flags
    return;
  }
  w.u32(0); // permissions: ignored by servers in user-level security
  w.u32(MAX_USES_UNLIMITED);
  w.u32(0); // current_uses
  w.wstringPtr(sharePath(s));
  w.wstringPtr(null); // passwd
  if (level === 502) {
    w.u32(0); // shi502_reserved: size of the (absent) security descriptor
    w.uniquePtr(null, () => undefined);
  }
}

interface ShareEnumRequest {
  level: number;
  preferedMaximumLength: number;
  resumeHandle: number | null;
}

/** NetrShareEnum [in] parameters (MS-SRVS 3.1.4.8). */
function decodeShareEnum(stub: Buffer): ShareEnumRequest {
  const r = new NdrReader(stub);
  r.wstringPtr(); // ServerName
  const level = r.u32();
  const armLevel = r.u32(); // SHARE_ENUM_UNION discriminant
  if (armLevel !== level) throw new NdrError(`union level ${armLevel} differs from Level ${level}`);
  if (r.ptr() !== 0) {
    r.u32(); // EntriesRead
    if (r.ptr() !== 0) {
      // Clients send an empty container; a filled one is not an [in] we need.
      if (r.u32() !== 0) throw new NdrError('NetrShareEnum with a non-empty input container');
    }
  }
  const preferedMaximumLength = r.u32();
  const resumeHandle = r.ptr() === 0 ? null : r.u32();
  return { level, preferedMaximumLength, resumeHandle };
}

function netrShareEnum(stub: Buffer, ctx: RpcContext): CallResult {
  const req = decodeShareEnum(stub);
  const all = ctx.shares();
  const start = Math.min(req.resumeHandle ?? 0, all.length);
  const entries = all.slice(start);
  const known = SHARE_LEVELS.has(req.level);
  const w = new NdrWriter();
  // InfoStruct: [in,out] ref pointer to SHARE_ENUM_STRUCT; the ref pointer has no id.
  w.constructed(() => {
    w.u32(req.level);
    w.u32(req.level); // union discriminant
    const container = known ? entries : null;
    w.uniquePtr(container, (list) => {
      w.u32(list.length); // EntriesRead
      w.uniquePtr(list, (items) => w.conformantArray(items, (s) => writeShareInfo(w, req.level, s)));
    });
  });
  w.u32(known ? all.length : 0); // TotalEntries
  // All entries are returned at once, so the resume handle goes back as 0 (done).
  if (req.resumeHandle === null) w.u32(0);
  else w.uniquePtr(0, (v) => w.u32(v));
  w.u32(known ? WERR.OK : WERR.INVALID_LEVEL);
  return { stub: w.finish() };
}

/** Writes `[out, switch_is(Level)] LP*_INFO`: discriminant, then a pointer arm. */
function writeInfoUnion<T>(w: NdrWriter, level: number, value: T | null, body: (v: T) => void): void {
  w.constructed(() => {
    w.u32(level);
    w.uniquePtr(value, (v) => w.constructed(() => body(v)));
  });
}

function netrShareGetInfo(stub: Buffer, ctx: RpcContext): CallResult {
  const r = new NdrReader(stub);
  r.wstringPtr(); // ServerName
  const netName = r.wstring(); // [in, string] ref pointer: no referent id
  const level = r.u32();
  const share = ctx.shares().find((s) => s.name.toLowerCase() === netName.toLowerCase());
  const w = new NdrWriter();
  let status: number = WERR.OK;
  if (!share) status = WERR.NET_NAME_NOT_FOUND;
  else if (!SHARE_LEVELS.has(level) && level !== 1005) status = WERR.INVALID_LEVEL;
  writeInfoUnion(w, level, status === WERR.OK ? share! : null, (s) => writeShareInfo(w, level, s));
  w.u32(status);
  return { stub: w.finish() };
}

function netrServerGetInfo(stub: Buffer, ctx: RpcContext): CallResult {
  const r = new NdrReader(stub);
  r.wstringPtr(); // ServerName
  const level = r.u32();
  const known = level === 100 || level === 101 || level === 102;
  const w = new NdrWriter();
  writeInfoUnion(w, level, known ? ctx : null, (c) => {
    // SERVER_INFO_100/101/102 (MS-SRVS 2.2.4.40-2.2.4.43) share a common prefix.
    w.u32(PLATFORM_ID_NT);
    w.wstringPtr(c.serverName);
    if (level === 100) return;
    w.u32(10).u32(0); // version 10.0
    w.u32(SERVER_TYPE);
    w.wstringPtr('ringsmb');
    if (level === 101) return;
    w.u32(0xffffffff); // users: no limit
    w.i32(-1); // disc: auto-disconnect disabled
    w.u32(0); // hidden: no
    w.u32(240); // announce (seconds)
    w.u32(3000); // anndelta (milliseconds)
    w.u32(0); // licenses
    w.wstringPtr('C:\\');
  });
  w.u32(known ? WERR.OK : WERR.INVALID_LEVEL);
  return { stub: w.finish() };
}

export const srvsvc: RpcInterface = {
  name: 'srvsvc',
  syntax: SRVSVC_SYNTAX,
  call(opnum: number, stub: Buffer, ctx: RpcContext): CallResult {
    switch (opnum) {
      case OPNUM.NetrShareEnum:
        return netrShareEnum(stub, ctx);
      case OPNUM.NetrShareGetInfo:
        return netrShareGetInfo(stub, ctx);
      case OPNUM.NetrServerGetInfo:
        return netrServerGetInfo(stub, ctx);
      default:
        return { fault: NCA.s_op_rng_error };
    }
  },
};
