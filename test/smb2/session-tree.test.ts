import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command, ShareType } from '../../src/smb2/constants.js';
import {
  decodeSessionSetupRequest,
  decodeSessionSetupResponse,
  encodeSessionSetupRequest,
  encodeSessionSetupResponse,
} from '../../src/smb2/commands/session-setup.js';
import {
  decodeTreeConnectRequest,
  decodeTreeConnectResponse,
  encodeTreeConnectRequest,
  encodeTreeConnectResponse,
} from '../../src/smb2/commands/tree-connect.js';
import { decodeEchoRequest, encodeEchoRequest, encodeEchoResponse } from '../../src/smb2/commands/echo.js';
import { decodeLogoffRequest, encodeLogoffResponse } from '../../src/smb2/commands/logoff.js';
import { decodeTreeDisconnectResponse, encodeTreeDisconnectRequest } from '../../src/smb2/commands/tree-disconnect.js';
import { decodeCancelRequest, encodeCancelRequest } from '../../src/smb2/commands/cancel.js';
import { MalformedError } from '../../src/smb2/wire.js';
import { hex, msgOf, u16hex } from './helpers.js';

test('SESSION_SETUP request: known bytes (2.2.5)', () => {
  const body = hex(`1900 00 01 01000000 00000000 5800 0400 0000000000000000 a1b2c3d4`);
  const r = decodeSessionSetupRequest(msgOf(Command.SESSION_SETUP, body));
  assert.equal(r.flags, 0);
  assert.equal(r.securityMode, 1);
  assert.equal(r.capabilities, 1);
  assert.equal(r.previousSessionId, 0n);
  assert.deepEqual(r.securityBuffer, hex('a1b2c3d4'));
  assert.deepEqual(encodeSessionSetupRequest(r), body);
});

test('SESSION_SETUP request: buffer out of bounds or in the fixed part', () => {
  const body = hex(`1900 00 01 01000000 00000000 5800 0500 0000000000000000 a1b2c3d4`);
  assert.throws(() => decodeSessionSetupRequest(msgOf(Command.SESSION_SETUP, body)), MalformedError);
  const body2 = hex(`1900 00 01 01000000 00000000 5000 0400 0000000000000000 a1b2c3d4`);
  assert.throws(() => decodeSessionSetupRequest(msgOf(Command.SESSION_SETUP, body2)), /fixed part/);
  assert.throws(() => decodeSessionSetupRequest(msgOf(Command.SESSION_SETUP, body.subarray(0, 20))), MalformedError);
});

test('SESSION_SETUP response: known bytes (2.2.6) and round trip', () => {
  const body = encodeSessionSetupResponse({ sessionFlags: 1, securityBuffer: hex('a10b') });
  assert.deepEqual(body, hex('0900 0100 4800 0200 a10b'));
  const r = decodeSessionSetupResponse(msgOf(Command.SESSION_SETUP, body));
  assert.equal(r.sessionFlags, 1);
  assert.deepEqual(r.securityBuffer, hex('a10b'));
  // Empty buffer: 9 bytes, offset 0.
  assert.deepEqual(encodeSessionSetupResponse({ sessionFlags: 0, securityBuffer: Buffer.alloc(0) }), hex('0900 0000 0000 0000 00'));
});

test('TREE_CONNECT request: known bytes (2.2.9)', () => {
  const path = '\\\\srv\\share';
  const n = Buffer.byteLength(path, 'utf16le');
  const body = hex(`0900 0000 4800 ${n.toString(16).padStart(2, '0')}00 ${u16hex(path)}`);
  assert.deepEqual(encodeTreeConnectRequest({ flags: 0, path }), body);
  assert.deepEqual(decodeTreeConnectRequest(msgOf(Command.TREE_CONNECT, body)), { flags: 0, path });
});

test('TREE_CONNECT request: extension flag and odd length are rejected', () => {
  const ext = encodeTreeConnectRequest({ flags: 4, path: '\\\\a\\b' });
  assert.throws(() => decodeTreeConnectRequest(msgOf(Command.TREE_CONNECT, ext)), /extension/);
  const odd = hex(`0900 0000 4800 0300 610062`);
  assert.throws(() => decodeTreeConnectRequest(msgOf(Command.TREE_CONNECT, odd)), /odd/);
});

test('TREE_CONNECT response: known bytes (2.2.10)', () => {
  const r = { shareType: ShareType.DISK, shareFlags: 0x800, capabilities: 0, maximalAccess: 0x001f01ff };
  const body = encodeTreeConnectResponse(r);
  assert.deepEqual(body, hex('1000 01 00 00080000 00000000 ff011f00'));
  assert.deepEqual(decodeTreeConnectResponse(msgOf(Command.TREE_CONNECT, body)), r);
});

test('empty-bodied commands: ECHO, LOGOFF, TREE_DISCONNECT, CANCEL', () => {
  assert.deepEqual(encodeEchoRequest(), hex('0400 0000'));
  assert.deepEqual(encodeEchoResponse(), hex('0400 0000'));
  assert.deepEqual(encodeCancelRequest(), hex('0400 0000'));
  assert.deepEqual(decodeEchoRequest(msgOf(Command.ECHO, hex('0400 0000'))), {});
  assert.deepEqual(decodeLogoffRequest(msgOf(Command.LOGOFF, encodeLogoffResponse())), {});
  assert.deepEqual(decodeTreeDisconnectResponse(msgOf(Command.TREE_DISCONNECT, encodeTreeDisconnectRequest())), {});
  assert.deepEqual(decodeCancelRequest(msgOf(Command.CANCEL, hex('0400 0000'))), {});
  assert.throws(() => decodeEchoRequest(msgOf(Command.ECHO, hex('0500 0000'))), MalformedError);
  assert.throws(() => decodeEchoRequest(msgOf(Command.ECHO, hex('04'))), MalformedError);
});
