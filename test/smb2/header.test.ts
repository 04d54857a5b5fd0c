import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeaderFlags } from '../../src/smb2/constants.js';
import {
  TRANSFORM_HEADER_SIZE,
  channelSequence,
  decodeHeader,
  decodeTransformHeader,
  encodeHeader,
  encodeMessage,
  encodeTransformHeader,
  headerBuffer,
  makeHeader,
  protocolKind,
  rejectCompressed,
  transformAad,
} from '../../src/smb2/header.js';
import { MalformedError } from '../../src/smb2/wire.js';
import { hex } from './helpers.js';

// MS-SMB2 2.2.1.2, sync form: ProtocolId, StructureSize, CreditCharge, Status, Command,
// CreditRequest, Flags, NextCommand, MessageId, Reserved(ProcessId), TreeId, SessionId, Signature.
const SYNC = hex(`
  fe534d42 4000 0100 00000000 0500 1f00 08000000 00000000
  0700000000000000 fffe0000 01000000 8877665544332211
  000102030405060708090a0b0c0d0e0f`);

test('decodes the sync header field by field', () => {
  const h = decodeHeader(SYNC);
  assert.equal(h.creditCharge, 1);
  assert.equal(h.status, 0);
  assert.equal(h.command, 5);
  assert.equal(h.credits, 31);
  assert.equal(h.flags, HeaderFlags.SIGNED);
  assert.equal(h.nextCommand, 0);
  assert.equal(h.messageId, 7n);
  assert.equal(h.asyncId, 0n);
  assert.equal(h.processId, 0xfeff);
  assert.equal(h.treeId, 1);
  assert.equal(h.sessionId, 0x1122334455667788n);
  assert.deepEqual([...h.signature], [...Array(16).keys()]);
});

test('encodes the sync header byte-exactly', () => {
  const h = decodeHeader(SYNC);
  const out = Buffer.alloc(64);
  encodeHeader({ ...h, signature: Buffer.from(h.signature) }, out);
  assert.deepEqual(out, SYNC);
});

test('async form: AsyncId replaces ProcessId and TreeId', () => {
  const h = makeHeader({
    command: 0x0f,
    flags: HeaderFlags.ASYNC_COMMAND | HeaderFlags.SERVER_TO_REDIR,
    status: 0x103,
    messageId: 9n,
    asyncId: 0x0102030405060708n,
    treeId: 77, // ignored in the async form
    sessionId: 5n,
  });
  const b = headerBuffer(h);
  assert.equal(b.toString('hex', 32, 40), '0807060504030201');
  const d = decodeHeader(b);
  assert.equal(d.asyncId, 0x0102030405060708n);
  assert.equal(d.treeId, 0);
  assert.equal(d.status, 0x103);
  assert.equal(d.sessionId, 5n);
});

test('status with the high bit round-trips as unsigned', () => {
  const b = headerBuffer(makeHeader({ command: 0, status: 0xc0000022 }));
  assert.equal(decodeHeader(b).status, 0xc0000022);
  assert.equal(b.toString('hex', 8, 12), '220000c0');
});

test('channelSequence is the low half of Status', () => {
  assert.equal(channelSequence({ status: 0x00000005 }), 5);
});

test('rejects bad protocol id, structure size and truncation', () => {
  const bad = Buffer.from(SYNC);
  bad[0] = 0xff;
  assert.throws(() => decodeHeader(bad), MalformedError);
  const bad2 = Buffer.from(SYNC);
  bad2[4] = 0x41;
  assert.throws(() => decodeHeader(bad2), MalformedError);
  assert.throws(() => decodeHeader(SYNC.subarray(0, 63)), MalformedError);
});

test('decodes at an offset', () => {
  const b = Buffer.concat([Buffer.alloc(4), SYNC]);
  assert.equal(decodeHeader(b, 4).messageId, 7n);
});

test('protocolKind tells the four headers apart', () => {
  assert.equal(protocolKind(hex('fe534d42')), 'smb2');
  assert.equal(protocolKind(hex('fd534d42')), 'transform');
  assert.equal(protocolKind(hex('fc534d42')), 'compressed');
  assert.equal(protocolKind(hex('ff534d42')), 'smb1');
  assert.equal(protocolKind(hex('00534d42')), 'unknown');
  assert.equal(protocolKind(hex('fe53')), 'unknown');
  assert.throws(() => rejectCompressed(hex('fc534d42 00000000')), MalformedError);
  rejectCompressed(SYNC);
});

test('transform header (2.2.41) layout and round trip', () => {
  const sig = Buffer.alloc(16, 0xaa);
  const nonce = Buffer.alloc(16, 0xbb);
  const b = Buffer.alloc(TRANSFORM_HEADER_SIZE);
  encodeTransformHeader({ signature: sig, nonce, originalMessageSize: 0x1234, flags: 1, sessionId: 0x42n }, b);
  const expected = hex(`fd534d42 ${'aa'.repeat(16)} ${'bb'.repeat(16)} 34120000 0000 0100 4200000000000000`);
  assert.deepEqual(b, expected);
  const t = decodeTransformHeader(b);
  assert.equal(t.originalMessageSize, 0x1234);
  assert.equal(t.flags, 1);
  assert.equal(t.sessionId, 0x42n);
  assert.deepEqual(t.nonce, nonce);
  assert.deepEqual(transformAad(b), b.subarray(20));
  assert.throws(() => decodeTransformHeader(b.subarray(0, 51)), MalformedError);
  assert.throws(() => decodeTransformHeader(SYNC), MalformedError);
});

test('encodeMessage concatenates header and body parts', () => {
  const m = encodeMessage(makeHeader({ command: 0x0d, messageId: 3n }), hex('0400'), hex('0000'));
  assert.equal(m.length, 68);
  assert.equal(decodeHeader(m).messageId, 3n);
  assert.equal(m.toString('hex', 64), '04000000');
});
