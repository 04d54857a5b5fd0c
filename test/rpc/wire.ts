/**
 * Test-side helpers: a small NDR reader written independently of src/rpc/ndr.ts, and
 * builders for the requests smbclient and Windows send.
 */
import { NdrWriter } from '../../src/rpc/ndr.js';
import { NDR20, PFC, encodeBind, encodeRequest, syntaxVersion, type ContextElement } from '../../src/rpc/pdu.js';
import type { RpcPipe } from '../../src/rpc/pipe.js';

export const SRVSVC = { uuid: '4b324fc8-1670-01d3-1278-5a47bf6ee188', version: syntaxVersion(3, 0) };
export const NDR64 = { uuid: '71710533-beba-4937-8319-b5dbef9ccc36', version: 1 };
export const BTFN = { uuid: '6cb71c2c-9812-4540-0300-000000000000', version: 1 };

export class Rd {
  off = 0;
  constructor(readonly b: Buffer) {}
  pad(n: number): void {
    while (this.off % n) this.off++;
  }
  u16(): number {
    this.pad(2);
    const v = this.b.readUInt16LE(this.off);
    this.off += 2;
    return v;
  }
  u32(): number {
    this.pad(4);
    const v = this.b.readUInt32LE(this.off);
    this.off += 4;
    return v;
  }
  /** Conformant varying wide string; returns text and checks the counts. */
  str(): string {
    const max = this.u32();
    const offset = this.u32();
    const actual = this.u32();
    if (offset !== 0 || actual !== max) throw new Error(`string counts ${max}/${offset}/${actual}`);
    const text = this.b.toString('utf16le', this.off, this.off + actual * 2);
    this.off += actual * 2;
    if (!text.endsWith('\0')) throw new Error('string without terminating NUL');
    return text.slice(0, -1);
  }
  get done(): boolean {
    return this.off === this.b.length;
  }
}

/** Windows 10 binds srvsvc with three contexts: NDR, NDR64, bind-time features. */
export function windowsBind(callId = 1, maxFrag = 4280): Buffer {
  const contexts: ContextElement[] = [
    { contextId: 0, abstractSyntax: SRVSVC, transferSyntaxes: [NDR20] },
    { contextId: 1, abstractSyntax: SRVSVC, transferSyntaxes: [NDR64] },
    { contextId: 2, abstractSyntax: SRVSVC, transferSyntaxes: [BTFN] },
  ];
  return encodeBind(11, callId, { maxXmitFrag: maxFrag, maxRecvFrag: maxFrag, assocGroupId: 0, contexts });
}

/** NetrShareEnum(ServerName, {Level, ptr->{0, NULL}}, 0xffffffff, ResumeHandle) as smbclient sends it. */
export function shareEnumStub(level: number, server = '\\\\127.0.0.1', resume: number | null = 0): Buffer {
  const w = new NdrWriter();
  w.wstringPtr(server);
  w.u32(level).u32(level);
  w.u32(0x00020004).u32(0).u32(0); // container referent: EntriesRead 0, Buffer NULL
  w.u32(0xffffffff);
  if (resume === null) w.u32(0);
  else w.u32(0x00020008).u32(resume);
  return w.finish();
}

export function getInfoStub(share: string, level: number): Buffer {
  const w = new NdrWriter();
  w.wstringPtr('\\\\server');
  w.wstring(share);
  w.u32(level);
  return w.finish();
}

export function request(callId: number, opnum: number, stub: Buffer, contextId = 0): Buffer {
  return encodeRequest(callId, PFC.FIRST_FRAG | PFC.LAST_FRAG, contextId, opnum, stub);
}

export interface Pdu {
  ptype: number;
  flags: number;
  callId: number;
  body: Buffer;
}

export function parsePdu(b: Buffer): Pdu {
  if (b[0] !== 5 || b[1] !== 0 || b[4] !== 0x10) throw new Error('bad PDU header');
  if (b.readUInt16LE(8) !== b.length) throw new Error(`frag_length ${b.readUInt16LE(8)} != ${b.length}`);
  return { ptype: b[2]!, flags: b[3]!, callId: b.readUInt32LE(12), body: b.subarray(16) };
}

/** Reads every queued fragment and returns them parsed. */
export function drain(pipe: RpcPipe, maxLen = 65536): Pdu[] {
  const out: Pdu[] = [];
  for (let b = pipe.read(maxLen); b; b = pipe.read(maxLen)) out.push(parsePdu(b));
  return out;
}

/** Joins the stubs of response fragments after checking flags and alloc_hint. */
export function responseStub(pdus: Pdu[]): Buffer {
  const parts: Buffer[] = [];
  pdus.forEach((p, i) => {
    if (p.ptype !== 2) throw new Error(`PDU ${i} is type ${p.ptype}, not response`);
    const first = (p.flags & 1) !== 0;
    const last = (p.flags & 2) !== 0;
    if (first !== (i === 0) || last !== (i === pdus.length - 1)) throw new Error(`bad frag flags on ${i}`);
    parts.push(p.body.subarray(8));
  });
  return Buffer.concat(parts);
}
