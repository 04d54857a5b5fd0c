import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from '../../src/smb2/constants.js';
import {
  decodeNegotiateRequest,
  decodeNegotiateResponse,
  encodeNegotiateRequest,
  encodeNegotiateResponse,
  type NegotiateResponse,
} from '../../src/smb2/commands/negotiate.js';
import { MalformedError } from '../../src/smb2/wire.js';
import { hex, msgOf } from './helpers.js';

const GUID = hex('000102030405060708090a0b0c0d0e0f');

// 2.2.3 + 2.2.3.1: fixed part, dialects at 0x64, contexts 8-aligned at 0x68.
const REQ = hex(`
  2400 0200 0100 0000 7f000000 000102030405060708090a0b0c0d0e0f
  68000000 0200 0000
  0203 1103
  0100 0a00 00000000 0100 0400 0100 deadbeef 000000000000
  0200 0600 00000000 0200 0200 0100`);

test('NEGOTIATE request: known bytes decode', () => {
  const r = decodeNegotiateRequest(msgOf(Command.NEGOTIATE, REQ));
  assert.deepEqual(r.dialects, [0x0302, 0x0311]);
  assert.equal(r.securityMode, 1);
  assert.equal(r.capabilities, 0x7f);
  assert.deepEqual(r.clientGuid, GUID);
  assert.deepEqual(r.negotiateContexts?.preauthIntegrity, { hashAlgorithms: [1], salt: hex('deadbeef') });
  assert.deepEqual(r.negotiateContexts?.encryption, { ciphers: [2, 1] });
});

test('NEGOTIATE request: encode gives the same bytes', () => {
  const body = encodeNegotiateRequest({
    securityMode: 1,
    capabilities: 0x7f,
    clientGuid: GUID,
    dialects: [0x0302, 0x0311],
    negotiateContexts: { preauthIntegrity: { hashAlgorithms: [1], salt: hex('deadbeef') }, encryption: { ciphers: [2, 1] } },
  });
  assert.deepEqual(body, REQ);
});

test('NEGOTIATE request without 3.1.1 has no contexts', () => {
  const body = encodeNegotiateRequest({ securityMode: 1, capabilities: 0, clientGuid: GUID, dialects: [0x0202, 0x0210] });
  assert.equal(body.length, 40);
  const r = decodeNegotiateRequest(msgOf(Command.NEGOTIATE, body));
  assert.deepEqual(r.dialects, [0x0202, 0x0210]);
  assert.equal(r.negotiateContexts, undefined);
});

test('NEGOTIATE request: every context type round-trips', () => {
  const ctx = {
    preauthIntegrity: { hashAlgorithms: [1], salt: Buffer.alloc(32, 7) },
    encryption: { ciphers: [4, 2] },
    compression: { compressionAlgorithms: [1, 2], flags: 0 },
    netName: 'fileserver',
    transport: { flags: 1 },
    rdmaTransform: { transformIds: [1] },
    signing: { signingAlgorithms: [2, 1, 0] },
    unknown: [{ contextType: 0x99, data: hex('0102') }],
  };
  const body = encodeNegotiateRequest({ securityMode: 2, capabilities: 0x44, clientGuid: GUID, dialects: [0x0311], negotiateContexts: ctx });
  const r = decodeNegotiateRequest(msgOf(Command.NEGOTIATE, body));
  assert.deepEqual(r.negotiateContexts, ctx);
});

test('NEGOTIATE request: malformed inputs are rejected', () => {
  const m = msgOf(Command.NEGOTIATE, REQ);
  // DialectCount 0 (3.3.5.4).
  const a = Buffer.from(m);
  a.writeUInt16LE(0, 64 + 2);
  assert.throws(() => decodeNegotiateRequest(a), MalformedError);
  // Truncated inside the context list.
  assert.throws(() => decodeNegotiateRequest(m.subarray(0, m.length - 3)), MalformedError);
  // NegotiateContextOffset pointing into the dialect array.
  const b = Buffer.from(m);
  b.writeUInt32LE(0x64, 64 + 28);
  assert.throws(() => decodeNegotiateRequest(b), MalformedError);
  // Two preauth contexts.
  const c = Buffer.from(m);
  c.writeUInt16LE(1, 0x68 + 24);
  assert.throws(() => decodeNegotiateRequest(c), /twice/);
  // HashAlgorithmCount 0.
  const d = Buffer.from(m);
  d.writeUInt16LE(0, 0x68 + 8);
  assert.throws(() => decodeNegotiateRequest(d), MalformedError);
  // Wrong StructureSize.
  const e = Buffer.from(m);
  e.writeUInt16LE(37, 64);
  assert.throws(() => decodeNegotiateRequest(e), MalformedError);
});

const RESP: NegotiateResponse = {
  securityMode: 1,
  dialectRevision: 0x0311,
  serverGuid: GUID,
  capabilities: 0x2f,
  maxTransactSize: 0x800000,
  maxReadSize: 0x800000,
  maxWriteSize: 0x800000,
  systemTime: 0x01d9000000000000n,
  serverStartTime: 0n,
  securityBuffer: hex('600102'),
  negotiateContexts: { preauthIntegrity: { hashAlgorithms: [1], salt: Buffer.alloc(32, 9) }, encryption: { ciphers: [2] } },
};

test('NEGOTIATE response: layout of fixed part, buffer and contexts', () => {
  const body = encodeNegotiateResponse(RESP);
  assert.equal(body.readUInt16LE(0), 65);
  assert.equal(body.readUInt16LE(4), 0x0311);
  assert.equal(body.readUInt16LE(6), 2); // NegotiateContextCount
  assert.equal(body.readUInt16LE(56), 0x80); // SecurityBufferOffset
  assert.equal(body.readUInt16LE(58), 3);
  assert.equal(body.readUInt32LE(60), 0x88); // 0x80 + 3 rounded up to 8
  assert.equal(body.toString('hex', 64, 72), '6001020000000000');
  assert.equal(body.toString('hex', 72, 80), '0100260000000000');
  const d = decodeNegotiateResponse(msgOf(Command.NEGOTIATE, body));
  assert.deepEqual(d, RESP);
});

test('NEGOTIATE response: 2.1 dialect, no contexts, known bytes', () => {
  const r = { ...RESP, dialectRevision: 0x0210, securityBuffer: Buffer.alloc(0), negotiateContexts: undefined };
  const body = encodeNegotiateResponse(r);
  const expected = hex(`
    4100 0100 1002 0000 000102030405060708090a0b0c0d0e0f 2f000000
    00008000 00008000 00008000 000000000000d901 0000000000000000
    8000 0000 00000000 00`);
  assert.deepEqual(body, expected);
  const d = decodeNegotiateResponse(msgOf(Command.NEGOTIATE, body));
  assert.equal(d.negotiateContexts, undefined);
  assert.equal(d.securityBuffer.length, 0);
});

test('NEGOTIATE response: security buffer out of bounds is rejected', () => {
  const body = encodeNegotiateResponse({ ...RESP, negotiateContexts: undefined, dialectRevision: 0x0302 });
  const m = msgOf(Command.NEGOTIATE, body);
  m.writeUInt16LE(200, 64 + 58);
  assert.throws(() => decodeNegotiateResponse(m), MalformedError);
});
