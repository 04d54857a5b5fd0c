import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from '../../src/smb2/constants.js';
import { compoundPadding, smb1NegotiateDialects, splitCompound } from '../../src/smb2/compound.js';
import { HEADER_SIZE, decodeHeader, encodeHeader, makeHeader } from '../../src/smb2/header.js';
import { encodeCloseRequest } from '../../src/smb2/commands/close.js';
import { encodeEchoRequest } from '../../src/smb2/commands/echo.js';
import { hex } from './helpers.js';

function message(command: number, body: Buffer, next: number): Buffer {
  const m = Buffer.alloc(Math.max(HEADER_SIZE + body.length, next));
  encodeHeader(makeHeader({ command, nextCommand: next }), m);
  body.copy(m, HEADER_SIZE);
  return m;
}

test('splitCompound follows NextCommand', () => {
  const close = encodeCloseRequest({ flags: 0, fileId: { persistent: 1n, volatile: 1n } });
  const a = message(Command.ECHO, encodeEchoRequest(), 72); // 68 bytes padded to 72
  const b = message(Command.CLOSE, close, 88);
  const c = message(Command.ECHO, encodeEchoRequest(), 0);
  const parts = splitCompound(Buffer.concat([a, b, c]))!;
  assert.equal(parts.length, 3);
  assert.deepEqual(parts.map((p) => decodeHeader(p).command), [Command.ECHO, Command.CLOSE, Command.ECHO]);
  assert.deepEqual(parts.map((p) => p.length), [72, 88, 68]);
  assert.equal(splitCompound(c)!.length, 1);
});

test('splitCompound rejects bad chains', () => {
  const c = message(Command.ECHO, encodeEchoRequest(), 0);
  assert.equal(splitCompound(Buffer.concat([message(Command.ECHO, encodeEchoRequest(), 68), c])), null, 'not 8-aligned');
  assert.equal(splitCompound(Buffer.concat([message(Command.ECHO, encodeEchoRequest(), 72)])), null, 'past the end');
  assert.equal(splitCompound(Buffer.concat([message(Command.ECHO, encodeEchoRequest(), 32), c])), null, 'shorter than a header');
  assert.equal(splitCompound(Buffer.alloc(63)), null);
  const notSmb2 = Buffer.concat([message(Command.ECHO, encodeEchoRequest(), 72), Buffer.alloc(72)]);
  assert.equal(splitCompound(notSmb2), null);
});

test('compoundPadding', () => {
  assert.equal(compoundPadding(68), 4);
  assert.equal(compoundPadding(72), 0);
});

test('SMB1 NEGOTIATE dialects (MS-CIFS 2.2.4.52.1)', () => {
  const dialects = Buffer.concat(['NT LM 0.12', 'SMB 2.002', 'SMB 2.???'].map((d) => Buffer.concat([hex('02'), Buffer.from(d, 'latin1'), hex('00')])));
  const head = Buffer.alloc(35);
  head.writeUInt32LE(0x424d53ff, 0);
  head[4] = 0x72;
  head.writeUInt16LE(dialects.length, 33);
  assert.deepEqual(smb1NegotiateDialects(Buffer.concat([head, dialects])), ['NT LM 0.12', 'SMB 2.002', 'SMB 2.???']);
  assert.equal(smb1NegotiateDialects(Buffer.concat([head, dialects.subarray(0, 5)])), null);
  const other = Buffer.from(head);
  other[4] = 0x73;
  assert.equal(smb1NegotiateDialects(Buffer.concat([other, dialects])), null);
});
