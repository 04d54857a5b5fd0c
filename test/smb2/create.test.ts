import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command, CreateContextName } from '../../src/smb2/constants.js';
import { decodeCreateRequest, decodeCreateResponse, encodeCreateRequest, encodeCreateResponse } from '../../src/smb2/commands/create.js';
import {
  decodeCreateContexts,
  decodeDH2CRequest,
  decodeDH2QRequest,
  decodeDHnQRequest,
  decodeLease,
  decodeMxAcRequest,
  decodeMxAcResponse,
  decodeQFidResponse,
  encodeCreateContexts,
  encodeDH2QRequest,
  encodeLease,
  encodeMxAcResponse,
  encodeQFidResponse,
  findContext,
} from '../../src/smb2/commands/create-contexts.js';
import { MalformedError } from '../../src/smb2/wire.js';
import { hex, le16, le32, msgOf, u16hex, zeros } from './helpers.js';

const REQ = {
  securityFlags: 0,
  requestedOplockLevel: 0xff,
  impersonationLevel: 2,
  smbCreateFlags: 0n,
  desiredAccess: 0x00120089,
  fileAttributes: 0,
  shareAccess: 7,
  createDisposition: 1,
  createOptions: 0x40,
  name: 'dir\\file.txt',
  createContexts: [{ name: 'MxAc', data: Buffer.alloc(0) }],
};

test('CREATE request: known bytes (2.2.13, 2.2.13.2)', () => {
  const nameLen = REQ.name.length * 2; // 24
  // Name at 0x78 (120); 120+24 = 144 is 8-aligned, so the context follows at 0x90.
  const expected = hex(`
    3900 00 ff 02000000 0000000000000000 0000000000000000
    89001200 00000000 07000000 01000000 40000000
    7800 ${le16(nameLen)} 90000000 14000000
    ${u16hex(REQ.name)}
    00000000 1000 0400 0000 0000 00000000 4d784163`);
  const body = encodeCreateRequest(REQ);
  assert.deepEqual(body, expected);
  assert.deepEqual(decodeCreateRequest(msgOf(Command.CREATE, body)), REQ);
});

test('CREATE request: empty name (share root) and no contexts', () => {
  const r = { ...REQ, name: '', createContexts: [] };
  const body = encodeCreateRequest(r);
  assert.equal(body.length, 57);
  assert.equal(body.readUInt16LE(46), 0);
  assert.deepEqual(decodeCreateRequest(msgOf(Command.CREATE, body)), r);
});

test('CREATE request: several contexts with data, 8-aligned chain', () => {
  const lease = encodeLease({ version: 2, leaseKey: Buffer.alloc(16, 1), leaseState: 7, leaseFlags: 0, leaseDuration: 0n, parentLeaseKey: Buffer.alloc(16, 2), epoch: 3 });
  const dh2q = encodeDH2QRequest({ timeout: 0, flags: 0, createGuid: Buffer.alloc(16, 5) });
  const ctxs = [
    { name: 'DH2Q', data: dh2q },
    { name: 'MxAc', data: Buffer.alloc(0) },
    { name: 'RqLs', data: lease },
    { name: '93AD25509CB411E7B42383DE968BCD7C', data: hex('01020304') },
  ];
  const r = { ...REQ, name: 'a', createContexts: ctxs };
  const d = decodeCreateRequest(msgOf(Command.CREATE, encodeCreateRequest(r)));
  assert.deepEqual(d.createContexts, ctxs);
  const l = decodeLease(findContext(d.createContexts, CreateContextName.REQUEST_LEASE)!.data);
  assert.equal(l.version, 2);
  assert.equal(l.leaseState, 7);
  assert.equal(l.epoch, 3);
  assert.deepEqual(l.parentLeaseKey, Buffer.alloc(16, 2));
  assert.deepEqual(decodeDH2QRequest(d.createContexts[0]!.data).createGuid, Buffer.alloc(16, 5));
});

test('create context chain: every Next is 8-aligned and data starts 8-aligned', () => {
  const list = encodeCreateContexts([
    { name: 'ExtA', data: hex('010203') },
    { name: 'AlSi', data: Buffer.alloc(8, 1) },
  ]);
  // First: 16 header + 4 name -> data at 24, 3 bytes -> 27, padded to 32.
  assert.equal(list.readUInt32LE(0), 32);
  assert.equal(list.readUInt16LE(10), 24);
  assert.equal(list.readUInt32LE(32), 0);
  assert.equal(list.length, 32 + 24 + 8);
});

test('create contexts: malformed chains are rejected', () => {
  const good = encodeCreateContexts([{ name: 'MxAc', data: Buffer.alloc(8) }, { name: 'QFid', data: Buffer.alloc(0) }]);
  const badNext = Buffer.from(good);
  badNext.writeUInt32LE(12, 0); // not 8-aligned, too small
  assert.throws(() => decodeCreateContexts(badNext), MalformedError);
  const pastEnd = Buffer.from(good);
  pastEnd.writeUInt32LE(8, 12); // DataLength runs into the next context
  pastEnd.writeUInt32LE(16, 12);
  assert.throws(() => decodeCreateContexts(pastEnd), MalformedError);
  const noName = Buffer.from(good);
  noName.writeUInt16LE(0, 6);
  assert.throws(() => decodeCreateContexts(noName), MalformedError);
  assert.throws(() => decodeCreateContexts(good.subarray(0, 10)), MalformedError);
});

test('CREATE request: name overlapping the fixed part, odd name, contexts misaligned', () => {
  const m = msgOf(Command.CREATE, encodeCreateRequest(REQ));
  const a = Buffer.from(m);
  a.writeUInt16LE(0x70, 64 + 44);
  assert.throws(() => decodeCreateRequest(a), MalformedError);
  const b = Buffer.from(m);
  b.writeUInt16LE(23, 64 + 46);
  assert.throws(() => decodeCreateRequest(b), /odd/);
  const c = Buffer.from(m);
  c.writeUInt32LE(0x94, 64 + 48);
  assert.throws(() => decodeCreateRequest(c), MalformedError);
  const d = Buffer.from(m);
  d.writeUInt32LE(0x1000, 64 + 52);
  assert.throws(() => decodeCreateRequest(d), MalformedError);
});

test('CREATE response: known bytes (2.2.14) and round trip', () => {
  const r = {
    oplockLevel: 0,
    flags: 0,
    createAction: 1,
    creationTime: 1n,
    lastAccessTime: 2n,
    lastWriteTime: 3n,
    changeTime: 4n,
    allocationSize: 4096n,
    endofFile: 10n,
    fileAttributes: 0x20,
    fileId: { persistent: 0x11n, volatile: 0x22n },
    createContexts: [{ name: 'MxAc', data: encodeMxAcResponse(0, 0x1f01ff) }],
  };
  const body = encodeCreateResponse(r);
  const expected = hex(`
    5900 00 00 01000000 ${'0100000000000000'} ${'0200000000000000'} ${'0300000000000000'} ${'0400000000000000'}
    0010000000000000 0a00000000000000 20000000 00000000
    1100000000000000 2200000000000000 98000000 20000000
    00000000 1000 0400 0000 1800 08000000 4d784163 ${zeros(4)} 00000000 ff011f00`);
  assert.deepEqual(body, expected);
  assert.deepEqual(decodeCreateResponse(msgOf(Command.CREATE, body)), r);
  assert.deepEqual(decodeMxAcResponse(r.createContexts[0]!.data), { queryStatus: 0, maximalAccess: 0x1f01ff });
});

test('CREATE response without contexts is 89 bytes', () => {
  const body = encodeCreateResponse({
    oplockLevel: 0, flags: 0, createAction: 2, creationTime: 0n, lastAccessTime: 0n, lastWriteTime: 0n, changeTime: 0n,
    allocationSize: 0n, endofFile: 0n, fileAttributes: 0x10, fileId: { persistent: 1n, volatile: 2n }, createContexts: [],
  });
  assert.equal(body.length, 89);
  assert.equal(body.readUInt32LE(80), 0);
  assert.equal(decodeCreateResponse(msgOf(Command.CREATE, body)).createContexts.length, 0);
});

test('context data helpers', () => {
  assert.deepEqual(decodeMxAcRequest(Buffer.alloc(0)), {});
  assert.deepEqual(decodeMxAcRequest(hex('0100000000000000')), { timestamp: 1n });
  assert.throws(() => decodeMxAcRequest(hex('01')), MalformedError);
  assert.deepEqual(decodeDHnQRequest(Buffer.alloc(16)), {});
  assert.throws(() => decodeDHnQRequest(Buffer.alloc(8)), MalformedError);
  const q = encodeQFidResponse(0x1234n, 0x99n);
  assert.equal(q.length, 32);
  assert.equal(q.toString('hex'), '3412000000000000' + '9900000000000000' + zeros(16));
  assert.deepEqual(decodeQFidResponse(q), { diskFileId: 0x1234n, volumeId: 0x99n });
  const v1 = encodeLease({ version: 1, leaseKey: Buffer.alloc(16, 3), leaseState: 5, leaseFlags: 0, leaseDuration: 0n });
  assert.equal(v1.length, 32);
  assert.equal(v1.toString('hex', 16, 20), le32(5));
  assert.equal(decodeLease(v1).version, 1);
  assert.throws(() => decodeLease(Buffer.alloc(40)), MalformedError);
  const dh2c = Buffer.alloc(36);
  dh2c.writeBigUInt64LE(7n, 0);
  dh2c.writeUInt32LE(2, 32);
  assert.equal(decodeDH2CRequest(dh2c).persistent, 7n);
  assert.equal(decodeDH2CRequest(dh2c).flags, 2);
});
