import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPipe, type RpcPipe, type RpcShare } from '../../src/rpc/pipe.js';
import { NDR20, uuidFromBytes } from '../../src/rpc/pdu.js';
import { NdrWriter } from '../../src/rpc/ndr.js';
import { Rd, drain, getInfoStub, parsePdu, request, responseStub, shareEnumStub, windowsBind } from './wire.js';

const SHARES: RpcShare[] = [
  { name: 'data', type: 'disk', comment: 'Data share', path: '/srv/data' },
  { name: 'IPC$', type: 'ipc', comment: 'IPC Service (ringsmb)' },
  { name: 'Ünïcode', type: 'disk', comment: '', path: '/srv/u' },
];
const ctx = { shares: () => SHARES, serverName: 'RINGSMB' };

function bound(maxFrag = 4280, shares = SHARES): RpcPipe {
  const pipe = createPipe('\\PIPE\\srvsvc', { shares: () => shares, serverName: 'RINGSMB' })!;
  pipe.write(windowsBind(1, maxFrag));
  const [ack] = drain(pipe);
  assert.equal(ack!.ptype, 12);
  return pipe;
}

function call(pipe: RpcPipe, opnum: number, stub: Buffer, callId = 2): Rd {
  pipe.write(request(callId, opnum, stub));
  const pdus = drain(pipe);
  for (const p of pdus) assert.equal(p.callId, callId);
  return new Rd(responseStub(pdus));
}

test('createPipe accepts srvsvc/wkssvc names in any form and rejects others', () => {
  for (const n of ['srvsvc', 'SRVSVC', '\\PIPE\\srvsvc', '\\pipe\\SrvSvc', 'wkssvc', '\\PIPE\\wkssvc']) {
    assert.ok(createPipe(n, ctx), n);
  }
  for (const n of ['lsarpc', 'samr', '', '\\PIPE\\', 'srvsvcx']) assert.equal(createPipe(n, ctx), null, n);
});

test('bind_ack accepts NDR20, rejects NDR64, acks bind-time features', () => {
  const pipe = createPipe('srvsvc', ctx)!;
  pipe.write(windowsBind(7, 4280));
  const [ack] = drain(pipe);
  assert.equal(ack!.ptype, 12);
  assert.equal(ack!.callId, 7);
  assert.equal(ack!.flags & 3, 3);
  const b = ack!.body;
  assert.equal(b.readUInt16LE(0), 4280);
  assert.equal(b.readUInt16LE(2), 4280);
  assert.notEqual(b.readUInt32LE(4), 0, 'a new association group');
  const addrLen = b.readUInt16LE(8);
  assert.equal(b.toString('latin1', 10, 10 + addrLen), '\\PIPE\\srvsvc\0');
  let at = 10 + addrLen;
  while ((16 + at) % 4) at++;
  assert.equal(b[at], 3, 'three results');
  at += 4;
  const results = [0, 1, 2].map((i) => {
    const r = b.subarray(at + i * 24, at + i * 24 + 24);
    return { result: r.readUInt16LE(0), reason: r.readUInt16LE(2), uuid: uuidFromBytes(r.subarray(4, 20)), ver: r.readUInt32LE(20) };
  });
  assert.deepEqual(results[0], { result: 0, reason: 0, uuid: NDR20.uuid, ver: 2 });
  assert.deepEqual(results[1], { result: 2, reason: 2, uuid: '00000000-0000-0000-0000-000000000000', ver: 0 });
  assert.equal(results[2]!.result, 3);
  assert.equal(results[2]!.reason, 2, 'keep connection on orphan, of the offered 0x3');
  assert.equal(at + 72, b.length);
});

function enumLevel(level: number): { names: string[]; rd: Rd; count: number } {
  const rd = call(bound(), 15, shareEnumStub(level));
  assert.equal(rd.u32(), level);
  assert.equal(rd.u32(), level);
  assert.notEqual(rd.u32(), 0);
  const count = rd.u32();
  assert.notEqual(rd.u32(), 0);
  assert.equal(rd.u32(), count, 'max_count');
  return { names: [], rd, count };
}

test('NetrShareEnum level 0 lists share names', () => {
  const { rd, count } = enumLevel(0);
  assert.equal(count, 3);
  const ptrs = [rd.u32(), rd.u32(), rd.u32()];
  assert.equal(new Set(ptrs).size, 3);
  assert.deepEqual([rd.str(), rd.str(), rd.str()], ['data', 'IPC$', 'Ünïcode']);
  assert.equal(rd.u32(), 3, 'TotalEntries');
  assert.notEqual(rd.u32(), 0, 'resume handle pointer');
  assert.equal(rd.u32(), 0, 'resume handle');
  assert.equal(rd.u32(), 0, 'WERR_OK');
  assert.ok(rd.done);
});

test('NetrShareEnum level 1 gives names, types and comments, strings after the array', () => {
  const { rd, count } = enumLevel(1);
  const scalars = Array.from({ length: count }, () => ({ name: rd.u32(), type: rd.u32(), remark: rd.u32() }));
  assert.deepEqual(scalars.map((s) => s.type), [0, 0x80000003, 0]);
  const got = scalars.map(() => ({ name: rd.str(), remark: rd.str() }));
  assert.deepEqual(got, [
    { name: 'data', remark: 'Data share' },
    { name: 'IPC$', remark: 'IPC Service (ringsmb)' },
    { name: 'Ünïcode', remark: '' },
  ]);
  assert.equal(rd.u32(), 3);
  rd.u32();
  rd.u32();
  assert.equal(rd.u32(), 0);
  assert.ok(rd.done);
});

test('NetrShareEnum level 2 adds limits and a Windows-style path; passwd is NULL', () => {
  const { rd, count } = enumLevel(2);
  const rows = Array.from({ length: count }, () => ({
    name: rd.u32(), type: rd.u32(), remark: rd.u32(), perms: rd.u32(), max: rd.u32(), cur: rd.u32(), path: rd.u32(), pw: rd.u32(),
  }));
  for (const r of rows) {
    assert.equal(r.pw, 0);
    assert.equal(r.max, 0xffffffff);
  }
  const strs = rows.map(() => [rd.str(), rd.str(), rd.str()]);
  assert.deepEqual(strs, [
    ['data', 'Data share', 'C:\\srv\\data'],
    ['IPC$', 'IPC Service (ringsmb)', ''],
    ['Ünïcode', '', 'C:\\srv\\u'],
  ]);
  assert.equal(rd.u32(), 3);
  rd.u32();
  rd.u32();
  assert.equal(rd.u32(), 0);
  assert.ok(rd.done);
});

test('NetrShareEnum level 502 and a NULL resume handle', () => {
  const rd = call(bound(), 15, shareEnumStub(502, '\\\\x', null));
  assert.equal(rd.u32(), 502);
  assert.equal(rd.u32(), 502);
  rd.u32();
  assert.equal(rd.u32(), 3);
  rd.u32();
  assert.equal(rd.u32(), 3);
  const rows = Array.from({ length: 3 }, () => Array.from({ length: 10 }, () => rd.u32()));
  assert.deepEqual(rows.map((r) => [r[8], r[9]]), [[0, 0], [0, 0], [0, 0]], 'reserved 0, no security descriptor');
  for (let i = 0; i < 3; i++) [rd.str(), rd.str(), rd.str()];
  assert.equal(rd.u32(), 3);
  assert.equal(rd.u32(), 0, 'resume handle stays NULL');
  assert.equal(rd.u32(), 0);
  assert.ok(rd.done);
});

test('NetrShareEnum with an unknown level answers WERR_INVALID_LEVEL', () => {
  const rd = call(bound(), 15, shareEnumStub(7));
  assert.equal(rd.u32(), 7);
  assert.equal(rd.u32(), 7);
  assert.equal(rd.u32(), 0, 'no container');
  assert.equal(rd.u32(), 0);
  rd.u32();
  rd.u32();
  assert.equal(rd.u32(), 0x7c);
  assert.ok(rd.done);
});

test('NetrShareGetInfo levels 1 and 1005, unknown share and level', () => {
  const pipe = bound();
  let rd = call(pipe, 16, getInfoStub('DATA', 1), 3);
  assert.equal(rd.u32(), 1);
  assert.notEqual(rd.u32(), 0);
  rd.u32();
  assert.equal(rd.u32(), 0);
  rd.u32();
  assert.deepEqual([rd.str(), rd.str()], ['data', 'Data share']);
  assert.equal(rd.u32(), 0);
  assert.ok(rd.done);

  rd = call(pipe, 16, getInfoStub('data', 1005), 4);
  assert.equal(rd.u32(), 1005);
  assert.notEqual(rd.u32(), 0);
  assert.equal(rd.u32(), 0, 'shi1005_flags');
  assert.equal(rd.u32(), 0);
  assert.ok(rd.done);

  rd = call(pipe, 16, getInfoStub('nope', 1), 5);
  assert.deepEqual([rd.u32(), rd.u32(), rd.u32()], [1, 0, 0x906]);
  rd = call(pipe, 16, getInfoStub('data', 3), 6);
  assert.deepEqual([rd.u32(), rd.u32(), rd.u32()], [3, 0, 0x7c]);
});

test('NetrServerGetInfo level 101', () => {
  const w = new NdrWriter();
  w.wstringPtr('\\\\RINGSMB');
  w.u32(101);
  const rd = call(bound(), 21, w.finish());
  assert.equal(rd.u32(), 101);
  assert.notEqual(rd.u32(), 0);
  assert.equal(rd.u32(), 500);
  rd.u32();
  assert.deepEqual([rd.u32(), rd.u32()], [10, 0]);
  const type = rd.u32();
  assert.equal(type & 0x8003, 0x8003, 'workstation, server, server NT');
  rd.u32();
  assert.equal(rd.str(), 'RINGSMB');
  assert.equal(rd.str(), 'ringsmb');
  assert.equal(rd.u32(), 0);
  assert.ok(rd.done);
});

test('200 shares with max_xmit_frag 1024 come back in fragments that reassemble', () => {
  const many: RpcShare[] = Array.from({ length: 200 }, (_, i) => ({ name: `share${i}`, type: 'disk', comment: `comment number ${i}`, path: `/s/${i}` }));
  const pipe = bound(1024, many);
  pipe.write(request(9, 15, shareEnumStub(1)));
  const pdus = drain(pipe);
  assert.ok(pdus.length > 5, `${pdus.length} fragments`);
  let remaining = 0;
  pdus.forEach((p, i) => {
    assert.ok(p.body.length + 16 <= 1024);
    const allocHint = p.body.readUInt32LE(0);
    if (i === 0) remaining = allocHint;
    assert.equal(allocHint, remaining, 'alloc_hint counts down');
    remaining -= p.body.length - 8;
  });
  assert.equal(remaining, 0);
  const rd = new Rd(responseStub(pdus));
  rd.u32();
  rd.u32();
  rd.u32();
  assert.equal(rd.u32(), 200);
  rd.u32();
  assert.equal(rd.u32(), 200);
  for (let i = 0; i < 200; i++) [rd.u32(), rd.u32(), rd.u32()];
  for (let i = 0; i < 200; i++) assert.deepEqual([rd.str(), rd.str()], [`share${i}`, `comment number ${i}`]);
  assert.equal(rd.u32(), 200);
});

test('transceive returns the first bytes and reports more until drained', () => {
  const many: RpcShare[] = Array.from({ length: 20 }, (_, i) => ({ name: `s${i}`, type: 'disk', comment: 'x'.repeat(40) }));
  const pipe = bound(4280, many);
  const r = pipe.transceive(request(3, 15, shareEnumStub(1)), 1024);
  assert.equal(r.data.length, 1024);
  assert.equal(r.more, true);
  assert.ok(pipe.pending() > 0);
  const rest = pipe.read(1 << 20)!;
  const whole = parsePdu(Buffer.concat([r.data, rest]));
  assert.equal(whole.ptype, 2);
  assert.equal(whole.flags & 3, 3, 'one fragment, read in two pieces');
  assert.equal(pipe.read(100), null);
  assert.equal(pipe.pending(), 0);
});
