import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command, Fsctl } from '../../src/smb2/constants.js';
import { decodeIoctlRequest, decodeIoctlResponse, encodeIoctlRequest, encodeIoctlResponse } from '../../src/smb2/commands/ioctl.js';
import {
  decodeAllocatedRange,
  decodeCopyChunkCopy,
  decodeCopyChunkResponse,
  decodePipeWaitRequest,
  decodeResumeKeyResponse,
  decodeZeroDataInformation,
  encodeAllocatedRanges,
  encodeCopyChunkResponse,
  encodeResumeKeyResponse,
  decodeNetworkInterfaceInfo,
  decodeValidateNegotiateInfoRequest,
  decodeValidateNegotiateInfoResponse,
  encodeCopyChunkCopy,
  encodeNetworkInterfaceInfo,
  encodeValidateNegotiateInfoRequest,
  encodeValidateNegotiateInfoResponse,
} from '../../src/smb2/commands/fsctl.js';
import { FILE_ID_ANY, MalformedError } from '../../src/smb2/wire.js';
import { hex, msgOf } from './helpers.js';

const ANY = 'ffffffffffffffff ffffffffffffffff';

test('IOCTL request: known bytes (2.2.31)', () => {
  const input = hex('0102030405');
  const r = {
    ctlCode: Fsctl.VALIDATE_NEGOTIATE_INFO, fileId: { ...FILE_ID_ANY }, input, maxInputResponse: 0,
    output: Buffer.alloc(0), maxOutputResponse: 24, flags: 1,
  };
  const body = encodeIoctlRequest(r);
  assert.deepEqual(body, hex(`3900 0000 04021400 ${ANY} 78000000 05000000 00000000 00000000 00000000 18000000 01000000 00000000 0102030405`));
  assert.deepEqual(decodeIoctlRequest(msgOf(Command.IOCTL, body)), r);
});

test('IOCTL request: buffers out of bounds or overlapping are rejected', () => {
  const r = { ctlCode: 1, fileId: { persistent: 1n, volatile: 1n }, input: Buffer.alloc(8), maxInputResponse: 0, output: Buffer.alloc(8), maxOutputResponse: 0, flags: 1 };
  const m = msgOf(Command.IOCTL, encodeIoctlRequest(r));
  assert.equal(m.readUInt32LE(64 + 36), 0x80);
  assert.ok(decodeIoctlRequest(m));
  const a = Buffer.from(m);
  a.writeUInt32LE(0x7c, 64 + 36);
  assert.throws(() => decodeIoctlRequest(a), /overlap/);
  const b = Buffer.from(m);
  b.writeUInt32LE(0xffffffff, 64 + 28);
  assert.throws(() => decodeIoctlRequest(b), MalformedError);
});

test('IOCTL response: known bytes (2.2.32) and round trip', () => {
  const output = hex('aabbccdd');
  const r = { ctlCode: Fsctl.PIPE_TRANSCEIVE, fileId: { persistent: 1n, volatile: 2n }, input: Buffer.alloc(0), output, flags: 0 };
  const body = encodeIoctlResponse(r);
  assert.deepEqual(body, hex(`3100 0000 17c01100 0100000000000000 0200000000000000 70000000 00000000 70000000 04000000 00000000 00000000 aabbccdd`));
  assert.deepEqual(decodeIoctlResponse(msgOf(Command.IOCTL, body)), r);
});

test('VALIDATE_NEGOTIATE_INFO (2.2.31.4 / 2.2.32.6)', () => {
  const guid = Buffer.alloc(16, 0x11);
  const req = { capabilities: 0x7f, guid, securityMode: 1, dialects: [0x0202, 0x0300] };
  const b = encodeValidateNegotiateInfoRequest(req);
  assert.deepEqual(b, hex(`7f000000 ${'11'.repeat(16)} 0100 0200 0202 0003`));
  assert.deepEqual(decodeValidateNegotiateInfoRequest(b), req);
  assert.throws(() => decodeValidateNegotiateInfoRequest(b.subarray(0, 26)), MalformedError);
  const resp = { capabilities: 0x2f, guid, securityMode: 1, dialect: 0x0300 };
  assert.equal(encodeValidateNegotiateInfoResponse(resp).length, 24);
  assert.deepEqual(decodeValidateNegotiateInfoResponse(encodeValidateNegotiateInfoResponse(resp)), resp);
});

test('NETWORK_INTERFACE_INFO (2.2.32.5): 152-byte entries chained by Next', () => {
  const list = [
    { ifIndex: 2, capability: 1, linkSpeed: 10000000000n, address: '192.168.1.5', family: 'IPv4' as const },
    { ifIndex: 3, capability: 0, linkSpeed: 1000000000n, address: 'fe80:0:0:0:0:0:0:1', family: 'IPv6' as const },
  ];
  const b = encodeNetworkInterfaceInfo(list);
  assert.equal(b.length, 304);
  assert.equal(b.readUInt32LE(0), 152);
  assert.equal(b.readUInt32LE(152), 0);
  assert.equal(b.toString('hex', 24, 32), '0200' + '0000' + 'c0a80105');
  assert.equal(b.readUInt16LE(152 + 24), 0x17);
  assert.deepEqual(decodeNetworkInterfaceInfo(b), list);
  const short = encodeNetworkInterfaceInfo([{ ...list[1]!, address: 'fe80::1' }]);
  assert.equal(decodeNetworkInterfaceInfo(short)[0]!.address, 'fe80:0:0:0:0:0:0:1');
});

test('SRV_COPYCHUNK_COPY (2.2.31.1)', () => {
  const key = Buffer.alloc(24, 4);
  const chunks = [{ sourceOffset: 0n, targetOffset: 4096n, length: 1024 }];
  const b = encodeCopyChunkCopy(key, chunks);
  assert.equal(b.length, 56);
  assert.deepEqual(decodeCopyChunkCopy(b), { sourceKey: key, chunks });
  b.writeUInt32LE(2, 24);
  assert.throws(() => decodeCopyChunkCopy(b), MalformedError);
});

test('resume key, copychunk response, zero data, allocated ranges, pipe wait', () => {
  const key = Buffer.alloc(24, 9);
  const rk = encodeResumeKeyResponse(key);
  // ContextLength 0, then the 4-byte reserved Context Windows and Samba send.
  assert.deepEqual(rk, Buffer.concat([key, hex('00000000 00000000')]));
  assert.deepEqual(decodeResumeKeyResponse(rk), key);
  // With no room for the Context (MaxOutputResponse 28), only the fixed part.
  assert.deepEqual(encodeResumeKeyResponse(key, 28), Buffer.concat([key, hex('00000000')]));
  const cr = { chunksWritten: 1, chunkBytesWritten: 0, totalBytesWritten: 4096 };
  assert.deepEqual(encodeCopyChunkResponse(cr), hex('01000000 00000000 00100000'));
  assert.deepEqual(decodeCopyChunkResponse(encodeCopyChunkResponse(cr)), cr);
  assert.deepEqual(decodeZeroDataInformation(hex('0010000000000000 0020000000000000')), { fileOffset: 4096n, beyondFinalZero: 8192n });
  const ranges = encodeAllocatedRanges([{ offset: 0n, length: 10n }, { offset: 100n, length: 5n }]);
  assert.equal(ranges.length, 32);
  assert.deepEqual(decodeAllocatedRange(ranges.subarray(16)), { offset: 100n, length: 5n });
  const pw = Buffer.concat([hex('0000000000000000 0a000000 01 00'), Buffer.from('srvsc', 'utf16le')]);
  assert.deepEqual(decodePipeWaitRequest(pw), { timeout: 0n, timeoutSpecified: true, name: 'srvsc' });
  assert.throws(() => decodePipeWaitRequest(pw.subarray(0, 20)), MalformedError);
});
