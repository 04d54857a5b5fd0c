import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from '../../src/smb2/constants.js';
import { NtStatus } from '../../src/smb2/status.js';
import { REQUEST_MIN_SIZE, REQUEST_STRUCTURE_SIZE, validateRequest } from '../../src/smb2/validate.js';
import * as smb2 from '../../src/smb2/index.js';
import { msgOf } from './helpers.js';

const FID = { persistent: 1n, volatile: 2n };
const BAD = NtStatus.INVALID_PARAMETER;

/** A valid request of every command, with its decoder. */
const SAMPLES: [number, Buffer, (m: Buffer) => unknown][] = [
  [Command.NEGOTIATE, smb2.encodeNegotiateRequest({ securityMode: 1, capabilities: 0, clientGuid: Buffer.alloc(16), dialects: [0x0210, 0x0311], negotiateContexts: { preauthIntegrity: { hashAlgorithms: [1], salt: Buffer.alloc(32) }, encryption: { ciphers: [1] } } }), smb2.decodeNegotiateRequest],
  [Command.SESSION_SETUP, smb2.encodeSessionSetupRequest({ flags: 0, securityMode: 1, capabilities: 0, channel: 0, previousSessionId: 0n, securityBuffer: Buffer.alloc(40, 1) }), smb2.decodeSessionSetupRequest],
  [Command.LOGOFF, smb2.encodeLogoffRequest(), smb2.decodeLogoffRequest],
  [Command.TREE_CONNECT, smb2.encodeTreeConnectRequest({ flags: 0, path: '\\\\h\\s' }), smb2.decodeTreeConnectRequest],
  [Command.TREE_DISCONNECT, smb2.encodeTreeDisconnectRequest(), smb2.decodeTreeDisconnectRequest],
  [Command.CREATE, smb2.encodeCreateRequest({ securityFlags: 0, requestedOplockLevel: 0, impersonationLevel: 2, smbCreateFlags: 0n, desiredAccess: 1, fileAttributes: 0, shareAccess: 7, createDisposition: 1, createOptions: 0, name: 'x\\y', createContexts: [{ name: 'MxAc', data: Buffer.alloc(0) }, { name: 'QFid', data: Buffer.alloc(0) }] }), smb2.decodeCreateRequest],
  [Command.CLOSE, smb2.encodeCloseRequest({ flags: 0, fileId: FID }), smb2.decodeCloseRequest],
  [Command.FLUSH, smb2.encodeFlushRequest({ fileId: FID }), smb2.decodeFlushRequest],
  [Command.READ, smb2.encodeReadRequest({ padding: 0, flags: 0, length: 10, offset: 0n, fileId: FID, minimumCount: 0, channel: 0, remainingBytes: 0, readChannelInfo: Buffer.alloc(0) }), smb2.decodeReadRequest],
  [Command.WRITE, smb2.encodeWriteRequest({ offset: 0n, fileId: FID, channel: 0, remainingBytes: 0, flags: 0, data: Buffer.alloc(32, 7) }), smb2.decodeWriteRequest],
  [Command.LOCK, smb2.encodeLockRequest({ lockSequenceNumber: 0, lockSequenceIndex: 0, fileId: FID, locks: [{ offset: 0n, length: 1n, flags: 2 }] }), smb2.decodeLockRequest],
  [Command.IOCTL, smb2.encodeIoctlRequest({ ctlCode: 0x140204, fileId: FID, input: Buffer.alloc(26), maxInputResponse: 0, output: Buffer.alloc(0), maxOutputResponse: 24, flags: 1 }), smb2.decodeIoctlRequest],
  [Command.CANCEL, smb2.encodeCancelRequest(), smb2.decodeCancelRequest],
  [Command.ECHO, smb2.encodeEchoRequest(), smb2.decodeEchoRequest],
  [Command.QUERY_DIRECTORY, smb2.encodeQueryDirectoryRequest({ fileInformationClass: 37, flags: 0, fileIndex: 0, fileId: FID, fileName: '*', outputBufferLength: 1000 }), smb2.decodeQueryDirectoryRequest],
  [Command.CHANGE_NOTIFY, smb2.encodeChangeNotifyRequest({ flags: 0, outputBufferLength: 100, fileId: FID, completionFilter: 1 }), smb2.decodeChangeNotifyRequest],
  [Command.QUERY_INFO, smb2.encodeQueryInfoRequest({ infoType: 1, fileInfoClass: 15, outputBufferLength: 100, input: Buffer.alloc(9), additionalInformation: 0, flags: 0, fileId: FID }), smb2.decodeQueryInfoRequest],
  [Command.SET_INFO, smb2.encodeSetInfoRequest({ infoType: 1, fileInfoClass: 4, buffer: Buffer.alloc(40), additionalInformation: 0, fileId: FID }), smb2.decodeSetInfoRequest],
  [Command.OPLOCK_BREAK, smb2.encodeOplockBreak({ kind: 'oplock', oplockLevel: 0, fileId: FID }), smb2.decodeOplockBreak],
  [Command.OPLOCK_BREAK, smb2.encodeOplockBreak({ kind: 'leaseAck', flags: 0, leaseKey: Buffer.alloc(16), leaseState: 0, leaseDuration: 0n }), smb2.decodeOplockBreak],
];

test('the table has the StructureSize of every request (2.2.x)', () => {
  assert.equal(REQUEST_STRUCTURE_SIZE[Command.NEGOTIATE], 36);
  assert.equal(REQUEST_STRUCTURE_SIZE[Command.CREATE], 57);
  assert.equal(REQUEST_STRUCTURE_SIZE[Command.READ], 49);
  assert.equal(REQUEST_MIN_SIZE[Command.READ], 64 + 48);
  assert.equal(REQUEST_MIN_SIZE[Command.TREE_CONNECT], 64 + 8);
  assert.equal(Object.keys(REQUEST_STRUCTURE_SIZE).length, 19);
});

test('valid requests of every command pass', () => {
  for (const [cmd, body] of SAMPLES) assert.equal(validateRequest(msgOf(cmd, body), cmd), null, `command ${cmd}`);
});

test('wrong StructureSize, truncation and unknown commands fail', () => {
  for (const [cmd, body] of SAMPLES) {
    const m = msgOf(cmd, body);
    const wrong = Buffer.from(m);
    wrong.writeUInt16LE(m.readUInt16LE(64) + 2, 64);
    assert.equal(validateRequest(wrong, cmd), BAD, `size ${cmd}`);
    assert.equal(validateRequest(m.subarray(0, 64 + 1), cmd), BAD, `truncated ${cmd}`);
    assert.equal(validateRequest(m.subarray(0, 60), cmd), BAD, `no header ${cmd}`);
  }
  assert.equal(validateRequest(msgOf(0x13, Buffer.alloc(8)), 0x13), BAD);
  assert.equal(validateRequest(msgOf(0x99, Buffer.alloc(8)), 0x99), BAD);
});

test('offset/length pairs outside the message or in the fixed part fail', () => {
  const cases: [number, number, 2 | 4, number][] = [
    [Command.SESSION_SETUP, 14, 2, 41], // length one past the end
    [Command.SESSION_SETUP, 12, 2, 0x50], // offset in the fixed part
    [Command.TREE_CONNECT, 6, 2, 100],
    [Command.CREATE, 52, 4, 1000],
    [Command.CREATE, 48, 4, 0x70],
    [Command.WRITE, 4, 4, 33],
    [Command.WRITE, 2, 2, 0x60],
    [Command.IOCTL, 28, 4, 0xffffffff],
    [Command.QUERY_DIRECTORY, 24, 2, 0x40],
    [Command.QUERY_INFO, 12, 4, 10],
    [Command.SET_INFO, 4, 4, 41],
  ];
  for (const [cmd, field, width, value] of cases) {
    const [, body] = SAMPLES.find(([c]) => c === cmd)!;
    const m = msgOf(cmd, body);
    if (width === 2) m.writeUInt16LE(value, 64 + field);
    else m.writeUInt32LE(value, 64 + field);
    assert.equal(validateRequest(m, cmd), BAD, `command ${cmd} field ${field}`);
  }
});

test('deep checks: negotiate contexts, create context chain, lock count', () => {
  const [, neg] = SAMPLES[0]!;
  const n = msgOf(Command.NEGOTIATE, neg);
  n.writeUInt16LE(9, 64 + 32); // NegotiateContextCount larger than the list
  assert.equal(validateRequest(n, Command.NEGOTIATE), BAD);
  const [, cr] = SAMPLES.find(([c]) => c === Command.CREATE)!;
  const c = msgOf(Command.CREATE, cr);
  const ctxOff = c.readUInt32LE(64 + 48);
  c.writeUInt32LE(3, ctxOff); // Next not 8-aligned
  assert.equal(validateRequest(c, Command.CREATE), BAD);
  const [, lk] = SAMPLES.find(([c]) => c === Command.LOCK)!;
  const l = msgOf(Command.LOCK, lk);
  l.writeUInt16LE(2, 64 + 2);
  assert.equal(validateRequest(l, Command.LOCK), BAD);
});

test('a WRITE whose data is not in memory validates against the wire length', () => {
  const head = smb2.encodeWriteRequestHead({ offset: 0n, fileId: FID, channel: 0, remainingBytes: 0, flags: 0 }, 4096);
  const m = msgOf(Command.WRITE, head);
  assert.equal(validateRequest(m, Command.WRITE), BAD);
  assert.equal(validateRequest(m, Command.WRITE, m.length + 4096), null);
  assert.equal(validateRequest(m, Command.WRITE, m.length + 4095), BAD);
});

/** Deterministic PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test('fuzz: validation never throws, and what it accepts decodes', () => {
  const rand = rng(12345);
  let accepted = 0;
  for (let round = 0; round < 20000; round++) {
    const [cmd, body, decode] = SAMPLES[round % SAMPLES.length]!;
    const m = Buffer.from(msgOf(cmd, body));
    const edits = 1 + Math.floor(rand() * 4);
    for (let e = 0; e < edits; e++) {
      // Mostly mutate the body's fixed part, where offsets and counts live.
      const pos = 64 + Math.floor(rand() * Math.min(m.length - 64, 64));
      // Small values make plausible offsets, lengths and counts; large ones overflow.
      m[pos] = rand() < 0.5 ? Math.floor(rand() * 256) : Math.floor(rand() * 16);
      if (rand() < 0.3 && pos + 1 < m.length) m[pos + 1] = 0;
    }
    const cut = rand() < 0.2 ? m.subarray(0, 64 + Math.floor(rand() * (m.length - 64))) : m;
    let r: number | null = BAD;
    assert.doesNotThrow(() => {
      r = validateRequest(cut, cmd);
    });
    if (r === null) {
      accepted++;
      assert.doesNotThrow(() => decode(cut), `command ${cmd} accepted but decoder threw`);
    }
  }
  assert.ok(accepted > 100, `only ${accepted} mutated messages were accepted`);
});
