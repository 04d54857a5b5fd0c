import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command, FileAction, FileInfoClass, InfoType, LockFlags } from '../../src/smb2/constants.js';
import { decodeCloseRequest, decodeCloseResponse, encodeCloseRequest, encodeCloseResponse } from '../../src/smb2/commands/close.js';
import { decodeFlushRequest, encodeFlushRequest, encodeFlushResponse } from '../../src/smb2/commands/flush.js';
import { decodeLockRequest, encodeLockRequest } from '../../src/smb2/commands/lock.js';
import {
  decodeQueryDirectoryRequest,
  decodeQueryDirectoryResponse,
  encodeQueryDirectoryRequest,
  encodeQueryDirectoryResponse,
} from '../../src/smb2/commands/query-directory.js';
import {
  decodeChangeNotifyRequest,
  decodeFileNotifyInformation,
  encodeChangeNotifyRequest,
  encodeFileNotifyInformation,
} from '../../src/smb2/commands/change-notify.js';
import { decodeQueryInfoRequest, decodeQueryInfoResponse, encodeQueryInfoRequest, encodeQueryInfoResponse } from '../../src/smb2/commands/query-info.js';
import { decodeSetInfoRequest, encodeSetInfoRequest, encodeSetInfoResponse } from '../../src/smb2/commands/set-info.js';
import { decodeOplockBreak, encodeOplockBreak } from '../../src/smb2/commands/oplock-break.js';
import {
  decodeErrorResponse,
  decodeSymlinkErrorResponse,
  encodeErrorResponse,
  encodeSymlinkErrorResponse,
} from '../../src/smb2/commands/error.js';
import { MalformedError } from '../../src/smb2/wire.js';
import { hex, msgOf, u16hex } from './helpers.js';

const FID = { persistent: 0x0102n, volatile: 0x0304n };
const FIDHEX = '0201000000000000 0403000000000000';

test('CLOSE request and response (2.2.15, 2.2.16)', () => {
  const body = encodeCloseRequest({ flags: 1, fileId: FID });
  assert.deepEqual(body, hex(`1800 0100 00000000 ${FIDHEX}`));
  assert.deepEqual(decodeCloseRequest(msgOf(Command.CLOSE, body)), { flags: 1, fileId: FID });
  const resp = { flags: 1, creationTime: 1n, lastAccessTime: 2n, lastWriteTime: 3n, changeTime: 4n, allocationSize: 8n, endofFile: 5n, fileAttributes: 0x80 };
  const rb = encodeCloseResponse(resp);
  assert.equal(rb.length, 60);
  assert.equal(rb.readUInt16LE(0), 60);
  assert.equal(rb.readUInt32LE(56), 0x80);
  assert.deepEqual(decodeCloseResponse(msgOf(Command.CLOSE, rb)), resp);
  assert.throws(() => decodeCloseRequest(msgOf(Command.CLOSE, body.subarray(0, 20))), MalformedError);
});

test('FLUSH (2.2.17, 2.2.18)', () => {
  const body = encodeFlushRequest({ fileId: FID });
  assert.deepEqual(body, hex(`1800 0000 00000000 ${FIDHEX}`));
  assert.deepEqual(decodeFlushRequest(msgOf(Command.FLUSH, body)).fileId, FID);
  assert.deepEqual(encodeFlushResponse(), hex('0400 0000'));
});

test('LOCK request (2.2.26): sequence fields and elements', () => {
  const r = {
    lockSequenceNumber: 3,
    lockSequenceIndex: 5,
    fileId: FID,
    locks: [
      { offset: 0n, length: 10n, flags: LockFlags.EXCLUSIVE_LOCK | LockFlags.FAIL_IMMEDIATELY },
      { offset: 100n, length: 1n, flags: LockFlags.UNLOCK },
    ],
  };
  const body = encodeLockRequest(r);
  assert.deepEqual(body, hex(`3000 0200 53000000 ${FIDHEX}
    0000000000000000 0a00000000000000 12000000 00000000
    6400000000000000 0100000000000000 04000000 00000000`));
  assert.deepEqual(decodeLockRequest(msgOf(Command.LOCK, body)), r);
  const zero = Buffer.from(body);
  zero.writeUInt16LE(0, 2);
  assert.throws(() => decodeLockRequest(msgOf(Command.LOCK, zero)), /LockCount 0/);
  const many = Buffer.from(body);
  many.writeUInt16LE(3, 2);
  assert.throws(() => decodeLockRequest(msgOf(Command.LOCK, many)), MalformedError);
});

test('QUERY_DIRECTORY request (2.2.33) and response (2.2.34)', () => {
  const r = { fileInformationClass: FileInfoClass.FileIdBothDirectoryInformation, flags: 1, fileIndex: 0, fileId: FID, fileName: '*', outputBufferLength: 65536 };
  const body = encodeQueryDirectoryRequest(r);
  assert.deepEqual(body, hex(`2100 25 01 00000000 ${FIDHEX} 6000 0200 00000100 ${u16hex('*')}`));
  assert.deepEqual(decodeQueryDirectoryRequest(msgOf(Command.QUERY_DIRECTORY, body)), r);
  const bad = Buffer.from(body);
  bad.writeUInt16LE(4, 26);
  assert.throws(() => decodeQueryDirectoryRequest(msgOf(Command.QUERY_DIRECTORY, bad)), MalformedError);
  const resp = encodeQueryDirectoryResponse({ output: hex('0102') });
  assert.deepEqual(resp, hex('0900 4800 02000000 0102'));
  assert.deepEqual(decodeQueryDirectoryResponse(msgOf(Command.QUERY_DIRECTORY, resp)).output, hex('0102'));
});

test('CHANGE_NOTIFY request (2.2.35) and FILE_NOTIFY_INFORMATION (MS-FSCC 2.7.1)', () => {
  const r = { flags: 1, outputBufferLength: 4096, fileId: FID, completionFilter: 0x17 };
  const body = encodeChangeNotifyRequest(r);
  assert.deepEqual(body, hex(`2000 0100 00100000 ${FIDHEX} 17000000 00000000`));
  assert.deepEqual(decodeChangeNotifyRequest(msgOf(Command.CHANGE_NOTIFY, body)), r);
  const list = [
    { action: FileAction.RENAMED_OLD_NAME, fileName: 'a' },
    { action: FileAction.RENAMED_NEW_NAME, fileName: 'bc' },
  ];
  const n = encodeFileNotifyInformation(list);
  // First: 12 + 2 = 14, padded to 16.
  assert.deepEqual(n, hex(`10000000 04000000 02000000 6100 0000 00000000 05000000 04000000 62006300`));
  assert.deepEqual(decodeFileNotifyInformation(n), list);
  n.writeUInt32LE(40, 24);
  assert.throws(() => decodeFileNotifyInformation(n), MalformedError);
});

test('QUERY_INFO request (2.2.37) and response (2.2.38)', () => {
  const r = { infoType: InfoType.SECURITY, fileInfoClass: 0, outputBufferLength: 4096, input: Buffer.alloc(0), additionalInformation: 7, flags: 0, fileId: FID };
  const body = encodeQueryInfoRequest(r);
  assert.deepEqual(body, hex(`2900 03 00 00100000 0000 0000 00000000 07000000 00000000 ${FIDHEX} 00`));
  assert.deepEqual(decodeQueryInfoRequest(msgOf(Command.QUERY_INFO, body)), r);
  const withInput = { ...r, infoType: InfoType.FILE, fileInfoClass: FileInfoClass.FileFullEaInformation, input: hex('00000000 03 61626300') };
  const b2 = encodeQueryInfoRequest(withInput);
  assert.equal(b2.readUInt16LE(8), 0x68);
  assert.deepEqual(decodeQueryInfoRequest(msgOf(Command.QUERY_INFO, b2)), withInput);
  b2.writeUInt32LE(100, 12);
  assert.throws(() => decodeQueryInfoRequest(msgOf(Command.QUERY_INFO, b2)), MalformedError);
  const resp = encodeQueryInfoResponse({ output: hex('0102030405060708') });
  assert.deepEqual(decodeQueryInfoResponse(msgOf(Command.QUERY_INFO, resp)).output, hex('0102030405060708'));
});

test('SET_INFO request (2.2.39) and response (2.2.40)', () => {
  const r = { infoType: InfoType.FILE, fileInfoClass: FileInfoClass.FileDispositionInformation, buffer: hex('01'), additionalInformation: 0, fileId: FID };
  const body = encodeSetInfoRequest(r);
  assert.deepEqual(body, hex(`2100 01 0d 01000000 6000 0000 00000000 ${FIDHEX} 01`));
  assert.deepEqual(decodeSetInfoRequest(msgOf(Command.SET_INFO, body)), r);
  assert.deepEqual(encodeSetInfoResponse(), hex('0200'));
  const bad = Buffer.from(body);
  bad.writeUInt16LE(0x50, 8);
  assert.throws(() => decodeSetInfoRequest(msgOf(Command.SET_INFO, bad)), MalformedError);
});

test('OPLOCK_BREAK: oplock, lease notification and lease ack forms', () => {
  const o = { kind: 'oplock' as const, oplockLevel: 1, fileId: FID };
  const ob = encodeOplockBreak(o);
  assert.deepEqual(ob, hex(`1800 01 00 00000000 ${FIDHEX}`));
  assert.deepEqual(decodeOplockBreak(msgOf(Command.OPLOCK_BREAK, ob)), o);
  const key = Buffer.alloc(16, 0xab);
  const n = { kind: 'leaseNotification' as const, newEpoch: 2, flags: 1, leaseKey: key, currentLeaseState: 7, newLeaseState: 1, breakReason: 0, accessMaskHint: 0, shareMaskHint: 0 };
  const nb = encodeOplockBreak(n);
  assert.deepEqual(nb, hex(`2c00 0200 01000000 ${'ab'.repeat(16)} 07000000 01000000 00000000 00000000 00000000`));
  assert.deepEqual(decodeOplockBreak(msgOf(Command.OPLOCK_BREAK, nb)), n);
  const a = { kind: 'leaseAck' as const, flags: 0, leaseKey: key, leaseState: 1, leaseDuration: 0n };
  const ab = encodeOplockBreak(a);
  assert.equal(ab.length, 36);
  assert.deepEqual(decodeOplockBreak(msgOf(Command.OPLOCK_BREAK, ab)), a);
  assert.throws(() => decodeOplockBreak(msgOf(Command.OPLOCK_BREAK, hex('1a00'))), /StructureSize/);
});

test('ERROR response (2.2.2): plain and with 3.1.1 contexts', () => {
  assert.deepEqual(encodeErrorResponse(), hex('0900 00 00 00000000 00'));
  const small = encodeErrorResponse({ errorData: hex('10000000') });
  assert.deepEqual(small, hex('0900 00 00 04000000 10000000'));
  assert.deepEqual(decodeErrorResponse(msgOf(Command.READ, small)).errorData, hex('10000000'));
  const ctx = encodeErrorResponse({ errorContexts: [{ errorId: 0, data: hex('aabbcc') }, { errorId: 0x72645253, data: hex('01') }] });
  assert.deepEqual(ctx, hex('0900 02 00 20000000 03000000 00000000 aabbcc0000000000 01000000 53526472 0100000000000000'));
  const d = decodeErrorResponse(msgOf(Command.CREATE, ctx));
  assert.deepEqual(d.errorContexts, [{ errorId: 0, data: hex('aabbcc') }, { errorId: 0x72645253, data: hex('01') }]);
  const bad = Buffer.from(ctx);
  bad.writeUInt32LE(0x40, 4);
  assert.throws(() => decodeErrorResponse(msgOf(Command.CREATE, bad)), MalformedError);
});

test('symbolic link error response (2.2.2.2.1)', () => {
  const s = { unparsedPathLength: 4, substituteName: '\\??\\C:\\t', printName: 'C:\\t', flags: 0 };
  const b = encodeSymlinkErrorResponse(s);
  assert.equal(b.readUInt32LE(0), b.length - 4);
  assert.equal(b.toString('latin1', 4, 8), 'SYML');
  assert.equal(b.readUInt32LE(8), 0xa000000c);
  assert.deepEqual(decodeSymlinkErrorResponse(b), s);
});
