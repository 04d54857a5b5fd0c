/**
 * Session setup over real sockets with a signing client (signed-client.ts):
 * LOGOFF (3.3.5.6), re-authentication keeping the keys (3.3.5.5.3),
 * multichannel session binding (3.3.5.5, 3.3.5.2.9) with each refusal the
 * smbtorture bind_negative tests expect, and a session outliving one of its
 * channels.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, USER, PASSWORD, type Running } from '../interop/harness.js';
import { SignedConnection, type ClientSession } from './signed-client.js';
import { Capabilities, Command, Dialect, HeaderFlags, SigningAlgorithm } from '../../src/smb2/constants.js';
import { NtStatus } from '../../src/smb2/status.js';
import { encodeLogoffRequest } from '../../src/smb2/commands/logoff.js';
import { encodeEchoRequest } from '../../src/smb2/commands/echo.js';
import { encodeCreateRequest, decodeCreateResponse } from '../../src/smb2/commands/create.js';
import { encodeReadRequest, decodeReadResponse } from '../../src/smb2/commands/read.js';
import { encodeCloseRequest } from '../../src/smb2/commands/close.js';
import type { FileId } from '../../src/smb2/wire.js';

const STATUS_REQUEST_OUT_OF_SEQUENCE = 0xc000042a;
const CONTENT = Buffer.from('one session, several channels');

let srv: Running;
const conns: SignedConnection[] = [];

async function open(o: Parameters<typeof SignedConnection.open>[1] = {}): Promise<SignedConnection> {
  const c = await SignedConnection.open(srv.port, o);
  conns.push(c);
  return c;
}

async function login(c: SignedConnection, password = PASSWORD): Promise<ClientSession> {
  const { reply, session } = await c.authenticate(USER, password);
  assert.equal(reply.hdr.status, 0, 'session setup');
  return session!;
}

async function openFile(c: SignedConnection, s: ClientSession, tree: number, name: string): Promise<FileId> {
  const r = await c.call(s, Command.CREATE, encodeCreateRequest({
    securityFlags: 0, requestedOplockLevel: 0, impersonationLevel: 2, smbCreateFlags: 0n, desiredAccess: 0x0012019f,
    fileAttributes: 0x80, shareAccess: 7, createDisposition: 1 /* OPEN */, createOptions: 0, name, createContexts: [],
  }), tree);
  assert.equal(r.hdr.status, 0, `open ${name}`);
  return decodeCreateResponse(r.msg).fileId;
}

async function read(c: SignedConnection, s: ClientSession, tree: number, fileId: FileId): Promise<{ status: number; data: Buffer | null }> {
  const r = await c.call(s, Command.READ, encodeReadRequest({
    padding: 0x50, flags: 0, length: 4096, offset: 0n, fileId, minimumCount: 0, channel: 0, remainingBytes: 0, readChannelInfo: Buffer.alloc(0),
  }), tree);
  return { status: r.hdr.status, data: r.hdr.status === 0 ? Buffer.from(decodeReadResponse(r.msg).data) : null };
}

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(cond(), what);
}

before(async () => {
  srv = await startServer();
  writeFileSync(join(srv.dir, 'data.txt'), CONTENT);
});
after(async () => {
  for (const c of conns) c.destroy();
  await srv.stop();
});

describe('LOGOFF', () => {
  test('is signed, ends the session, and a second one gets USER_SESSION_DELETED with the signed flag', async () => {
    const c = await open();
    const s = await login(c);
    const first = await c.call(s, Command.LOGOFF, encodeLogoffRequest());
    assert.equal(first.hdr.status, 0);
    assert.ok(first.signed, 'the LOGOFF response is signed with the session key');
    assert.equal(srv.server.state.sessions.has(s.id), false);
    const second = await c.call(s, Command.LOGOFF, encodeLogoffRequest());
    assert.equal(second.hdr.status, NtStatus.USER_SESSION_DELETED);
    assert.ok(second.hdr.flags & HeaderFlags.SIGNED, 'clients require the flag before they accept the status');
    const echo = await c.request(Command.ECHO, encodeEchoRequest());
    assert.equal(echo.hdr.status, 0, 'the connection stays usable');
  });
});

describe('re-authentication', () => {
  test('keeps the keys, trees and opens of the session', async () => {
    const c = await open();
    const s = await login(c);
    const tree = await c.treeConnect(s, 'share');
    const fid = await openFile(c, s, tree, 'data.txt');
    const { reply } = await c.authenticate(USER, PASSWORD, { session: s });
    assert.equal(reply.hdr.status, 0, 're-authentication succeeds (its final response verified with the old key)');
    const r = await read(c, s, tree, fid);
    assert.equal(r.status, 0);
    assert.deepEqual(r.data, CONTENT);
  });

  test('with a wrong password ends the session (3.3.5.5.3)', async () => {
    const c = await open();
    const s = await login(c);
    const tree = await c.treeConnect(s, 'share');
    await openFile(c, s, tree, 'data.txt');
    const { reply } = await c.authenticate(USER, 'wrong', { session: s });
    assert.equal(reply.hdr.status, NtStatus.LOGON_FAILURE);
    assert.ok(reply.signed, 'the failure is signed: the session was valid when the request came');
    assert.equal(srv.server.state.sessions.has(s.id), false);
    const after = await c.call(s, Command.ECHO, encodeEchoRequest());
    assert.equal(after.hdr.status, NtStatus.USER_SESSION_DELETED);
  });
});

describe('session binding', () => {
  test('the negotiate response offers multichannel on 3.x', async () => {
    const c = await open();
    assert.ok(c.capabilities & Capabilities.MULTI_CHANNEL);
    const old = await open({ dialects: [Dialect.SMB210] });
    assert.equal(old.capabilities & Capabilities.MULTI_CHANNEL, 0);
  });

  test('a bound channel signs with its own key and reaches the session\'s opens', async () => {
    const c1 = await open({ signing: [SigningAlgorithm.AES_GMAC] });
    const s = await login(c1);
    const tree = await c1.treeConnect(s, 'share');
    const fid = await openFile(c1, s, tree, 'data.txt');
    const c2 = await open({ signing: [SigningAlgorithm.AES_GMAC] });
    // Not bound yet: the session is not this connection's (3.3.5.2.9).
    const before = await c2.call(s, Command.ECHO, encodeEchoRequest());
    assert.equal(before.hdr.status, NtStatus.USER_SESSION_DELETED);
    const { reply } = await c2.authenticate(USER, PASSWORD, { session: s, bind: true });
    assert.equal(reply.hdr.status, 0);
    assert.notDeepEqual(c2.channelKeys.get(s.id), s.signingKey, '3.1.1: the channel key comes from the binding\'s own preauth hash');
    const r = await read(c2, s, tree, fid);
    assert.equal(r.status, 0, 'the open made on channel 1 is found on channel 2');
    assert.deepEqual(r.data, CONTENT);
    assert.equal(srv.server.state.sessions.get(s.id)?.channels.size, 2);
  });

  test('the session survives the loss of one channel and ends with the last', async () => {
    const c1 = await open();
    const s = await login(c1);
    const tree = await c1.treeConnect(s, 'share');
    const fid = await openFile(c1, s, tree, 'data.txt');
    const c2 = await open();
    assert.equal((await c2.authenticate(USER, PASSWORD, { session: s, bind: true })).reply.hdr.status, 0);
    c1.destroy();
    await waitFor(() => srv.server.state.sessions.get(s.id)?.channels.size === 1, 'channel 1 leaves the session');
    const r = await read(c2, s, tree, fid);
    assert.equal(r.status, 0, 'the open outlives the connection it was made on');
    assert.deepEqual(r.data, CONTENT);
    assert.equal((await c2.call(s, Command.CLOSE, encodeCloseRequest({ flags: 0, fileId: fid }), tree)).hdr.status, 0);
    c2.destroy();
    await waitFor(() => !srv.server.state.sessions.has(s.id), 'the session ends with its last channel');
  });

  test('a failed binding authentication leaves the session alone', async () => {
    const c1 = await open();
    const s = await login(c1);
    const c2 = await open();
    const { reply } = await c2.authenticate(USER, 'wrong', { session: s, bind: true });
    assert.equal(reply.hdr.status, NtStatus.LOGON_FAILURE);
    assert.equal((await c2.call(s, Command.ECHO, encodeEchoRequest())).hdr.status, NtStatus.USER_SESSION_DELETED);
    assert.equal((await c1.call(s, Command.ECHO, encodeEchoRequest())).hdr.status, 0);
    assert.equal(srv.server.state.sessions.get(s.id)?.channels.size, 1);
  });

  test('binding an already bound connection again is refused', async () => {
    const c1 = await open();
    const s = await login(c1);
    const c2 = await open();
    assert.equal((await c2.authenticate(USER, PASSWORD, { session: s, bind: true })).reply.hdr.status, 0);
    // Signed with Session.SigningKey, which is not this channel's: ACCESS_DENIED, as Windows answers.
    const again = await c2.authenticate(USER, PASSWORD, { session: s, bind: true });
    assert.equal(again.reply.hdr.status, NtStatus.ACCESS_DENIED);
  });

  const refusals: { name: string; first: Parameters<typeof open>[0]; second: Parameters<typeof open>[0]; status: number; unsigned?: boolean }[] = [
    { name: 'an unsigned binding request', first: {}, second: {}, status: NtStatus.INVALID_PARAMETER, unsigned: true },
    { name: 'a 2.1 connection', first: {}, second: { dialects: [Dialect.SMB210] }, status: NtStatus.REQUEST_NOT_ACCEPTED },
    { name: 'another 3.x dialect', first: { dialects: [Dialect.SMB302] }, second: { ciphers: [0x0001] }, status: NtStatus.INVALID_PARAMETER },
    { name: 'another cipher', first: { ciphers: [0x0002] }, second: { ciphers: [0x0001] }, status: NtStatus.INVALID_PARAMETER },
    { name: 'a GMAC session on a CMAC connection', first: { signing: [SigningAlgorithm.AES_GMAC] }, second: { signing: [SigningAlgorithm.AES_CMAC] }, status: STATUS_REQUEST_OUT_OF_SEQUENCE },
    { name: 'a CMAC session on a GMAC connection', first: { signing: [SigningAlgorithm.AES_CMAC] }, second: { signing: [SigningAlgorithm.AES_GMAC] }, status: NtStatus.NOT_SUPPORTED },
  ];
  for (const t of refusals) {
    test(`refuses ${t.name} (0x${t.status.toString(16)}), the session unharmed`, async () => {
      const c1 = await open(t.first);
      const s = await login(c1);
      const c2 = await open(t.second);
      const { reply } = await c2.authenticate(USER, PASSWORD, { session: s, bind: true, unsigned: t.unsigned });
      assert.equal(reply.hdr.status, t.status);
      assert.equal((await c1.call(s, Command.ECHO, encodeEchoRequest())).hdr.status, 0);
      assert.equal(srv.server.state.sessions.get(s.id)?.channels.size, 1);
    });
  }

  test('CMAC and HMAC-SHA256 connections may share a session (smbtorture bind_negative_smb3signCtoH)', async () => {
    const c1 = await open({ signing: [SigningAlgorithm.AES_CMAC] });
    const s = await login(c1);
    const c2 = await open({ signing: [SigningAlgorithm.HMAC_SHA256] });
    assert.equal((await c2.authenticate(USER, PASSWORD, { session: s, bind: true })).reply.hdr.status, 0);
    assert.equal((await c2.call(s, Command.ECHO, encodeEchoRequest())).hdr.status, 0);
  });

  test('is refused when multichannel is switched off', async () => {
    srv.server.config.multichannel = false;
    try {
      const c1 = await open();
      assert.equal(c1.capabilities & Capabilities.MULTI_CHANNEL, 0);
      const s = await login(c1);
      const c2 = await open();
      const { reply } = await c2.authenticate(USER, PASSWORD, { session: s, bind: true });
      assert.equal(reply.hdr.status, NtStatus.REQUEST_NOT_ACCEPTED);
    } finally {
      srv.server.config.multichannel = true;
    }
  });
});
