/** wkssvc (MS-WKST): NetrWkstaGetInfo level 100, which some clients ask after binding. */
import { NdrReader, NdrWriter } from './ndr.js';
import { NCA, syntaxVersion } from './pdu.js';
import { PLATFORM_ID_NT, WERR, type CallResult, type RpcContext, type RpcInterface } from './interface.js';

export const WKSSVC_SYNTAX = { uuid: '6bffd098-a112-3610-9833-46c3f87e345a', version: syntaxVersion(1, 0) };
export const OPNUM_NetrWkstaGetInfo = 0;

/** NetrWkstaGetInfo (MS-WKST 3.2.4.1); WKSTA_INFO_100 is 2.2.5.1. */
function netrWkstaGetInfo(stub: Buffer, ctx: RpcContext): CallResult {
  const r = new NdrReader(stub);
  r.wstringPtr(); // ServerName
  const level = r.u32();
  const w = new NdrWriter();
  w.constructed(() => {
    w.u32(level); // union discriminant
    w.uniquePtr(level === 100 ? ctx : null, (c) => {
      w.u32(PLATFORM_ID_NT);
      w.wstringPtr(c.serverName);
      w.wstringPtr('WORKGROUP');
      w.u32(10).u32(0);
    });
  });
  w.u32(level === 100 ? WERR.OK : WERR.INVALID_LEVEL);
  return { stub: w.finish() };
}

export const wkssvc: RpcInterface = {
  name: 'wkssvc',
  syntax: WKSSVC_SYNTAX,
  call(opnum: number, stub: Buffer, ctx: RpcContext): CallResult {
    if (opnum === OPNUM_NetrWkstaGetInfo) return netrWkstaGetInfo(stub, ctx);
    return { fault: NCA.s_op_rng_error };
  },
};
