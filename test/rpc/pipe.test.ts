import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPipe } from '../../src/rpc/pipe.js';
import { NDR20, PFC, encodeBind, encodeRequest, syntaxVersion } from '../../src/rpc/pdu.js';
import { NdrWriter } from '../../src/rpc/ndr.js';
import { Rd, SRVSVC, drain, request, responseStub, shareEnumStub, windowsBind } from './wire.js';

const shares = Array.from({ length: 5 }, (_, i) => ({ name: `sh${i}`, type: 'disk' as const, comment: `c${i}`, path: `/x/${i}` }));
const ctx = { shares: () => shares, serverName: 'SRV' };

function faultStatus(body: Buffer): number {
  return body.readUInt32LE(8);
}

test('a request split over several fragments is reassembled before dispatch', () => {
  const pipe = createPipe('srvsvc', ctx)!;
  pipe.write(windowsBind());
  drain(pipe);
  const stub = shareEnumStub(1, '\\\\' + 'a'.repeat(300));
  const cuts = [0, 40, 41, 200, stub.length];
  for (let i = 0; i + 1 < cuts.length; i++) {
    let flags = 0;
    if (i === 0) flags |= PFC.FIRST_FRAG;
    if (i === cuts.length - 2) flags |= PFC.LAST_FRAG;
    pipe.write(encodeRequest(5, flags, 0, 15, stub.subarray(cuts[i], cuts[i + 1]), stub.length - cuts[i]!));
    if (i < cuts.length - 2) assert.equal(pipe.read(4096), null, 'nothing until the last fragment');
  }
  const rd = new Rd(responseStub(drain(pipe)));
  assert.deepEqual([rd.u32(), rd.u32()], [1, 1]);
  rd.u32();
  assert.equal(rd.u32(), 5);
});

test('PDUs split across writes and several PDUs in one write are both framed', () => {
  const pipe = createPipe('srvsvc', ctx)!;
  const bytes = Buffer.concat([windowsBind(1), request(2, 15, shareEnumStub(0)), request(3, 15, shareEnumStub(0))]);
  for (let i = 0; i < bytes.length; i += 7) pipe.write(bytes.subarray(i, i + 7));
  const pdus = drain(pipe);
  assert.deepEqual(pdus.map((p) => [p.ptype, p.callId]), [[12, 1], [2, 2], [2, 3]]);
});

test('an unknown opnum gets fault nca_s_op_rng_error, and the pipe stays usable', () => {
  const pipe = createPipe('srvsvc', ctx)!;
  pipe.write(windowsBind());
  drain(pipe);
  pipe.write(request(4, 99, Buffer.alloc(8)));
  const [f] = drain(pipe);
  assert.equal(f!.ptype, 3);
  assert.equal(f!.callId, 4);
  assert.equal(f!.flags, PFC.FIRST_FRAG | PFC.LAST_FRAG | PFC.DID_NOT_EXECUTE);
  assert.equal(f!.body.length, 16, 'fault PDU is 32 bytes');
  assert.equal(faultStatus(f!.body), 0x1c010002);
  pipe.write(request(5, 15, shareEnumStub(0)));
  assert.equal(drain(pipe)[0]!.ptype, 2);
});

test('truncated stub data gets fault nca_s_fault_ndr', () => {
  const pipe = createPipe('srvsvc', ctx)!;
  pipe.write(windowsBind());
  drain(pipe);
  pipe.write(request(6, 15, shareEnumStub(1).subarray(0, 30)));
  const [f] = drain(pipe);
  assert.equal(f!.ptype, 3);
  assert.equal(faultStatus(f!.body), 0x6f7);
});

test('binding an unknown interface is rejected per context; calls on it fault unk_if', () => {
  const pipe = createPipe('srvsvc', ctx)!;
  const lsarpc = { uuid: '12345778-1234-abcd-ef00-0123456789ab', version: 0 };
  pipe.write(encodeBind(11, 1, { maxXmitFrag: 4280, maxRecvFrag: 4280, assocGroupId: 0, contexts: [{ contextId: 0, abstractSyntax: lsarpc, transferSyntaxes: [NDR20] }] }));
  const [ack] = drain(pipe);
  assert.equal(ack!.ptype, 12);
  const b = ack!.body;
  const resultAt = b.length - 24;
  assert.equal(b[resultAt - 4], 1);
  assert.equal(b.readUInt16LE(resultAt), 2, 'provider rejection');
  assert.equal(b.readUInt16LE(resultAt + 2), 1, 'abstract syntax not supported');
  pipe.write(request(2, 15, shareEnumStub(0)));
  const [f] = drain(pipe);
  assert.equal(f!.ptype, 3);
  assert.equal(faultStatus(f!.body), 0x1c010003);
});

test('a newer minor version of srvsvc is refused, an older one accepted via alter_context', () => {
  const pipe = createPipe('srvsvc', ctx)!;
  const v31 = { uuid: SRVSVC.uuid, version: syntaxVersion(3, 1) };
  pipe.write(encodeBind(11, 1, { maxXmitFrag: 4280, maxRecvFrag: 4280, assocGroupId: 77, contexts: [{ contextId: 0, abstractSyntax: v31, transferSyntaxes: [NDR20] }] }));
  const [ack] = drain(pipe);
  assert.equal(ack!.body.readUInt32LE(4), 77, 'assoc group echoed');
  assert.equal(ack!.body.readUInt16LE(ack!.body.length - 24), 2);
  pipe.write(encodeBind(14, 2, { maxXmitFrag: 4280, maxRecvFrag: 4280, assocGroupId: 77, contexts: [{ contextId: 3, abstractSyntax: SRVSVC, transferSyntaxes: [NDR20] }] }));
  const [resp] = drain(pipe);
  assert.equal(resp!.ptype, 15);
  assert.equal(resp!.body.readUInt16LE(8), 0, 'empty secondary address');
  assert.equal(resp!.body.readUInt16LE(resp!.body.length - 24), 0, 'accepted');
  pipe.write(request(3, 15, shareEnumStub(0), 3));
  assert.equal(drain(pipe)[0]!.ptype, 2);
});

test('garbage, a second bind and authenticated binds get bind_nak, never an exception', () => {
  let pipe = createPipe('srvsvc', ctx)!;
  const junk = Buffer.alloc(64, 0xee);
  assert.doesNotThrow(() => pipe.write(junk));
  let [nak] = drain(pipe);
  assert.equal(nak!.ptype, 13);
  assert.equal(nak!.body.readUInt16LE(0), 4, 'protocol version not supported');
  pipe.write(windowsBind());
  assert.equal(pipe.read(100), null, 'a broken stream stays silent');

  pipe = createPipe('srvsvc', ctx)!;
  pipe.write(windowsBind(1));
  pipe.write(windowsBind(2));
  const pdus = drain(pipe);
  assert.deepEqual(pdus.map((p) => p.ptype), [12, 13]);

  pipe = createPipe('srvsvc', ctx)!;
  const authed = Buffer.concat([windowsBind(1), Buffer.alloc(8 + 16)]);
  authed.writeUInt16LE(authed.length, 8);
  authed.writeUInt16LE(16, 10);
  pipe.write(authed);
  [nak] = drain(pipe);
  assert.equal(nak!.ptype, 13);
  assert.equal(nak!.body.readUInt16LE(0), 8);

  pipe = createPipe('srvsvc', ctx)!;
  const short = windowsBind(1).subarray(0, 30);
  short.writeUInt16LE(30, 8);
  pipe.write(Buffer.from(short));
  assert.equal(drain(pipe)[0]!.ptype, 13);
});

test('requests before bind and stray continuation fragments fault', () => {
  const pipe = createPipe('srvsvc', ctx)!;
  pipe.write(request(1, 15, shareEnumStub(0)));
  assert.equal(faultStatus(drain(pipe)[0]!.body), 0x1c010003);
  pipe.write(windowsBind(2));
  drain(pipe);
  pipe.write(encodeRequest(3, PFC.LAST_FRAG, 0, 15, Buffer.alloc(8)));
  const [f] = drain(pipe);
  assert.equal(f!.ptype, 3);
  assert.equal(faultStatus(f!.body), 0x1c01000b);
});

test('close drops queued output and ignores later writes', () => {
  const pipe = createPipe('srvsvc', ctx)!;
  pipe.write(windowsBind());
  pipe.close();
  assert.equal(pipe.read(100), null);
  pipe.write(windowsBind());
  assert.equal(pipe.read(100), null);
});

test('wkssvc NetrWkstaGetInfo level 100', () => {
  const pipe = createPipe('\\PIPE\\wkssvc', ctx)!;
  const wks = { uuid: '6bffd098-a112-3610-9833-46c3f87e345a', version: 1 };
  pipe.write(encodeBind(11, 1, { maxXmitFrag: 4280, maxRecvFrag: 4280, assocGroupId: 0, contexts: [{ contextId: 0, abstractSyntax: wks, transferSyntaxes: [NDR20] }] }));
  const [ack] = drain(pipe);
  const addrLen = ack!.body.readUInt16LE(8);
  assert.equal(ack!.body.toString('latin1', 10, 10 + addrLen), '\\PIPE\\wkssvc\0');
  const w = new NdrWriter();
  w.wstringPtr('\\\\SRV');
  w.u32(100);
  pipe.write(request(2, 0, w.finish()));
  const rd = new Rd(responseStub(drain(pipe)));
  assert.equal(rd.u32(), 100);
  assert.notEqual(rd.u32(), 0);
  assert.equal(rd.u32(), 500);
  rd.u32();
  rd.u32();
  assert.deepEqual([rd.u32(), rd.u32()], [10, 0]);
  assert.deepEqual([rd.str(), rd.str()], ['SRV', 'WORKGROUP']);
  assert.equal(rd.u32(), 0);
  assert.ok(rd.done);
});
