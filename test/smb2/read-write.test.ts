import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from '../../src/smb2/constants.js';
import {
  READ_RESPONSE_DATA_OFFSET,
  decodeReadRequest,
  decodeReadResponse,
  encodeReadRequest,
  encodeReadResponse,
  encodeReadResponseHead,
} from '../../src/smb2/commands/read.js';
import {
  decodeWriteRequest,
  decodeWriteRequestHead,
  decodeWriteResponse,
  encodeWriteRequest,
  encodeWriteRequestHead,
  encodeWriteResponse,
} from '../../src/smb2/commands/write.js';
import { MalformedError } from '../../src/smb2/wire.js';
import { hex, msgOf } from './helpers.js';

const FID = { persistent: 0x0102n, volatile: 0x0304n };
const FIDHEX = '0201000000000000 0403000000000000';

test('READ request: known bytes (2.2.19)', () => {
  const r = {
    padding: 0x50, flags: 0, length: 65536, offset: 0x100000000n, fileId: FID,
    minimumCount: 0, channel: 0, remainingBytes: 0, readChannelInfo: Buffer.alloc(0),
  };
  const body = encodeReadRequest(r);
  assert.deepEqual(body, hex(`3100 50 00 00000100 0000000001000000 ${FIDHEX} 00000000 00000000 00000000 0000 0000 00`));
  assert.deepEqual(decodeReadRequest(msgOf(Command.READ, body)), r);
  // A 48-byte body (Buffer byte omitted) still decodes.
  assert.equal(decodeReadRequest(msgOf(Command.READ, body.subarray(0, 48))).length, 65536);
  assert.throws(() => decodeReadRequest(msgOf(Command.READ, body.subarray(0, 40))), MalformedError);
});

test('READ response head: 16 bytes, DataOffset 0x50 (2.2.20)', () => {
  const h = encodeReadResponseHead(0x1234, 7);
  assert.deepEqual(h, hex('1100 50 00 34120000 07000000 00000000'));
  assert.equal(READ_RESPONSE_DATA_OFFSET, 64 + 16);
});

test('READ response: head + separately sent data decode as one message', () => {
  const data = Buffer.from('hello world');
  const msg = Buffer.concat([msgOf(Command.READ, encodeReadResponseHead(data.length)), data]);
  const r = decodeReadResponse(msg);
  assert.deepEqual(r.data, data);
  assert.equal(r.dataOffset, 0x50);
  assert.deepEqual(encodeReadResponse({ data }), Buffer.concat([encodeReadResponseHead(data.length), data]));
});

test('READ response: data past the end or inside the fixed part is rejected', () => {
  const msg = msgOf(Command.READ, encodeReadResponse({ data: Buffer.alloc(10) }));
  const a = Buffer.from(msg);
  a.writeUInt32LE(11, 64 + 4);
  assert.throws(() => decodeReadResponse(a), MalformedError);
  const b = Buffer.from(msg);
  b.writeUInt8(0x48, 64 + 2);
  assert.throws(() => decodeReadResponse(b), MalformedError);
});

test('WRITE request: known bytes (2.2.21), data is a view', () => {
  const r = { offset: 4096n, fileId: FID, channel: 0, remainingBytes: 0, flags: 1, data: Buffer.from('abc') };
  const body = encodeWriteRequest(r);
  assert.deepEqual(body, hex(`3100 7000 03000000 0010000000000000 ${FIDHEX} 00000000 00000000 0000 0000 01000000 616263`));
  const msg = msgOf(Command.WRITE, body);
  const d = decodeWriteRequest(msg);
  assert.equal(d.dataOffset, 0x70);
  assert.equal(d.length, 3);
  assert.equal(d.flags, 1);
  assert.equal(d.offset, 4096n);
  assert.deepEqual(d.fileId, FID);
  assert.equal(d.data.toString(), 'abc');
  // No copy: the view shares memory with the message.
  msg[0x70] = 0x7a;
  assert.equal(d.data.toString(), 'zbc');
});

test('WRITE request head alone (data spliced later)', () => {
  const head = encodeWriteRequestHead({ offset: 0n, fileId: FID, channel: 0, remainingBytes: 0, flags: 0 }, 1 << 20);
  const h = decodeWriteRequestHead(msgOf(Command.WRITE, head));
  assert.equal(h.length, 1 << 20);
  assert.equal(h.dataOffset, 0x70);
  assert.throws(() => decodeWriteRequest(msgOf(Command.WRITE, head)), MalformedError);
});

test('WRITE request: data overlapping the fixed part is rejected', () => {
  const msg = msgOf(Command.WRITE, encodeWriteRequest({ offset: 0n, fileId: FID, channel: 0, remainingBytes: 0, flags: 0, data: Buffer.alloc(8) }));
  msg.writeUInt16LE(0x68, 64 + 2);
  assert.throws(() => decodeWriteRequest(msg), /fixed part/);
});

test('WRITE response: known bytes (2.2.22)', () => {
  const body = encodeWriteResponse({ count: 3, remaining: 0 });
  assert.deepEqual(body, hex('1100 0000 03000000 00000000 0000 0000'));
  assert.deepEqual(decodeWriteResponse(msgOf(Command.WRITE, body)), { count: 3, remaining: 0 });
});
