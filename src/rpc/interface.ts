/** What an RPC interface implementation looks like to the pipe endpoint. */
import type { SyntaxId } from './pdu.js';

export interface RpcShare {
  name: string;
  type: 'disk' | 'ipc';
  comment: string;
  /** Local path of a disk share; shown to clients as C:\path for levels 2/502. */
  path?: string;
}

export interface RpcContext {
  shares(): RpcShare[];
  serverName: string;
}

/** The NDR stub of a successful call, or a fault status (see NCA in pdu.ts). */
export type CallResult = { stub: Buffer } | { fault: number };

export interface RpcInterface {
  /** Pipe name without \PIPE\, lower case: 'srvsvc'. */
  readonly name: string;
  readonly syntax: SyntaxId;
  call(opnum: number, stub: Buffer, ctx: RpcContext): CallResult;
}

/** Win32 error codes returned as NET_API_STATUS / WERROR. */
export const WERR = {
  OK: 0,
  ACCESS_DENIED: 5,
  INVALID_PARAMETER: 87,
  INVALID_LEVEL: 0x7c,
  MORE_DATA: 234,
  NET_NAME_NOT_FOUND: 0x906,
} as const;

/** PLATFORM_ID_NT (MS-SRVS 2.2.2.6 / MS-WKST 2.2.2.3). */
export const PLATFORM_ID_NT = 500;
