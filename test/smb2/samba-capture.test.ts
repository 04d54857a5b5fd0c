/**
 * Real peers: every SMB2 message Samba's smbclient and smbd exchanged (fixtures-samba.ts)
 * must validate, decode, and, where the sender made the same layout choices we make,
 * re-encode to the same bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as S from '../../src/smb2/index.js';
import { SAMBA_FRAMES } from './fixtures-samba.js';

const C = S.Command;
type Dec = (m: Buffer) => unknown;
type Enc = (r: never) => Buffer;

const REQ: Record<number, [Dec, Enc?]> = {
  [C.NEGOTIATE]: [S.decodeNegotiateRequest],
  [C.LOGOFF]: [S.decodeLogoffRequest, S.encodeLogoffRequest],
  [C.TREE_CONNECT]: [S.decodeTreeConnectRequest, S.encodeTreeConnectRequest],
  [C.TREE_DISCONNECT]: [S.decodeTreeDisconnectRequest, S.encodeTreeDisconnectRequest],
  // Samba pads the name to 8 bytes; we do not (both are valid).
  [C.CREATE]: [S.decodeCreateRequest],
  [C.CLOSE]: [S.decodeCloseRequest, S.encodeCloseRequest],
  [C.READ]: [S.decodeReadRequest, S.encodeReadRequest],
  [C.WRITE]: [S.decodeWriteRequest, S.encodeWriteRequest],
  // Samba sets OutputOffset even when OutputCount is 0; we write 0.
  [C.IOCTL]: [S.decodeIoctlRequest],
  [C.QUERY_DIRECTORY]: [S.decodeQueryDirectoryRequest, S.encodeQueryDirectoryRequest],
  [C.QUERY_INFO]: [S.decodeQueryInfoRequest, S.encodeQueryInfoRequest],
  [C.SET_INFO]: [S.decodeSetInfoRequest, S.encodeSetInfoRequest],
  [C.ECHO]: [S.decodeEchoRequest, S.encodeEchoRequest],
};

const RESP: Record<number, [Dec, Enc?]> = {
  [C.NEGOTIATE]: [S.decodeNegotiateResponse, S.encodeNegotiateResponse],
  [C.LOGOFF]: [S.decodeLogoffResponse, S.encodeLogoffResponse],
  [C.TREE_CONNECT]: [S.decodeTreeConnectResponse, S.encodeTreeConnectResponse],
  [C.TREE_DISCONNECT]: [S.decodeTreeDisconnectResponse, S.encodeTreeDisconnectResponse],
  // Samba omits the one Buffer byte when there are no contexts (88 bytes, not 89).
  [C.CREATE]: [S.decodeCreateResponse],
  [C.CLOSE]: [S.decodeCloseResponse, S.encodeCloseResponse],
  [C.READ]: [S.decodeReadResponse, S.encodeReadResponse],
  [C.WRITE]: [S.decodeWriteResponse, S.encodeWriteResponse],
  [C.IOCTL]: [S.decodeIoctlResponse, S.encodeIoctlResponse],
  [C.QUERY_DIRECTORY]: [S.decodeQueryDirectoryResponse, S.encodeQueryDirectoryResponse],
  [C.QUERY_INFO]: [S.decodeQueryInfoResponse, S.encodeQueryInfoResponse],
  [C.SET_INFO]: [S.decodeSetInfoResponse, S.encodeSetInfoResponse],
  [C.ECHO]: [S.decodeEchoResponse, S.encodeEchoResponse],
};

/** An error response is the 9-byte ERROR body; a few statuses carry a normal body. */
function isErrorBody(h: S.Smb2Header): boolean {
  if (h.status === S.NtStatus.MORE_PROCESSING_REQUIRED) return false;
  if (h.status === S.NtStatus.NO_MORE_FILES) return true;
  return S.isError(h.status) || h.status === S.NtStatus.PENDING;
}

function messages(): { dir: string; msg: Buffer; h: S.Smb2Header }[] {
  const out: { dir: string; msg: Buffer; h: S.Smb2Header }[] = [];
  for (const f of SAMBA_FRAMES) {
    const frame = Buffer.from(f.hex, 'hex');
    if (S.protocolKind(frame) !== 'smb2') continue;
    const parts = S.splitCompound(frame);
    assert.ok(parts, 'compound chain');
    for (const msg of parts) out.push({ dir: f.dir, msg, h: S.decodeHeader(msg) });
  }
  return out;
}

test('captured requests pass validation and decode', () => {
  let n = 0;
  for (const { dir, msg, h } of messages()) {
    if (dir !== 'c2s') continue;
    assert.equal(S.validateRequest(msg, h.command), null, S.commandName(h.command));
    const [dec] = REQ[h.command]!;
    assert.doesNotThrow(() => dec(msg), S.commandName(h.command));
    n++;
  }
  assert.ok(n > 60, `${n} requests`);
});

test('captured responses decode; re-encoding gives Samba\'s bytes where layouts agree', () => {
  let exact = 0;
  for (const { dir, msg, h } of messages()) {
    if (dir !== 's2c') continue;
    if (isErrorBody(h)) {
      assert.doesNotThrow(() => S.decodeErrorResponse(msg));
      continue;
    }
    const [dec, enc] = RESP[h.command]!;
    const r = dec(msg);
    if (enc) {
      assert.deepEqual(enc(r as never), msg.subarray(64), `${S.commandName(h.command)} re-encode`);
      exact++;
    }
  }
  for (const { dir, msg, h } of messages()) {
    if (dir !== 'c2s') continue;
    const [dec, enc] = REQ[h.command]!;
    if (!enc) continue;
    const r = dec(msg);
    // A READ or WRITE request may carry Samba's padding byte; compare the meaningful part.
    const body = msg.subarray(64);
    const again = enc(r as never);
    assert.deepEqual(again.subarray(0, body.length), body.subarray(0, again.length), `${S.commandName(h.command)} re-encode`);
    exact++;
  }
  assert.ok(exact > 50, `${exact} byte-exact`);
});

test('what smbclient asked and smbd answered, field by field', () => {
  const all = messages();
  const req = <T>(cmd: number, pick: (r: T) => boolean): T[] =>
    all.filter((m) => m.dir === 'c2s' && m.h.command === cmd).map((m) => REQ[cmd]![0](m.msg) as T).filter(pick);
  const neg = req<S.NegotiateRequest>(C.NEGOTIATE, (r) => r.dialects.includes(0x0311))[0]!;
  assert.deepEqual(neg.dialects, [0x0202, 0x0210, 0x0300, 0x0302, 0x0311]);
  assert.deepEqual(neg.negotiateContexts?.preauthIntegrity?.hashAlgorithms, [S.HashAlgorithm.SHA_512]);
  assert.equal(neg.negotiateContexts?.preauthIntegrity?.salt.length, 32);
  assert.equal(neg.negotiateContexts?.netName, '127.0.0.1');
  const trees = req<S.TreeConnectRequest>(C.TREE_CONNECT, () => true).map((t) => t.path);
  assert.ok(trees.includes('\\\\127.0.0.1\\share') && trees.includes('\\\\127.0.0.1\\IPC$'));
  const renames = req<S.SetInfoRequest>(C.SET_INFO, (r) => r.fileInfoClass === S.FileInfoClass.FileRenameInformation);
  assert.equal(S.decodeFileRenameInformation(renames[0]!.buffer).fileName, 'd\\moved.bin');
  const links = req<S.SetInfoRequest>(C.SET_INFO, (r) => r.fileInfoClass === S.FileInfoClass.FileLinkInformation);
  assert.equal(S.decodeFileLinkInformation(links[0]!.buffer).fileName, '\\b.txt');
  // smbclient's setmode leaves the times alone with -1 (MS-FSCC 2.4.7) and sets HIDDEN|NORMAL.
  const basics = req<S.SetInfoRequest>(C.SET_INFO, (r) => r.fileInfoClass === S.FileInfoClass.FileBasicInformation)
    .map((r) => S.decodeFileBasicInformation(r.buffer));
  assert.ok(basics.some((b) => b.creationTime === S.FILETIME_FREEZE && (b.fileAttributes & S.FileAttributes.HIDDEN) !== 0));

  // Pair responses with their requests by MessageId, within each connection in order.
  const pending = new Map<bigint, { command: number; r: unknown }>();
  const seen = { listing: false, allInfo: false, streams: false, volume: false, security: false };
  for (const { dir, msg, h } of all) {
    if (dir === 'c2s') {
      pending.set(h.messageId, { command: h.command, r: REQ[h.command]![0](msg) });
      continue;
    }
    const q = pending.get(h.messageId);
    if (!q || h.status !== 0) continue;
    if (h.command === C.QUERY_DIRECTORY) {
      const qr = q.r as S.QueryDirectoryRequest;
      const names = S.decodeDirectoryEntries(qr.fileInformationClass, S.decodeQueryDirectoryResponse(msg).output).map((e) => e.fileName);
      if (names.includes('a.txt')) {
        assert.deepEqual(names.slice(0, 2), ['.', '..']);
        seen.listing = true;
      }
    }
    if (h.command === C.QUERY_INFO) {
      const qr = q.r as S.QueryInfoRequest;
      const out = S.decodeQueryInfoResponse(msg).output;
      if (qr.infoType === S.InfoType.FILE && qr.fileInfoClass === S.FileInfoClass.FileAllInformation) {
        const a = S.decodeFileAllInformation(out);
        if (a.fileName.endsWith('a.txt')) {
          assert.equal(a.standard.endOfFile, 6n);
          assert.equal(a.standard.directory, false);
          seen.allInfo = true;
        }
      }
      if (qr.infoType === S.InfoType.FILE && qr.fileInfoClass === S.FileInfoClass.FileStreamInformation) {
        assert.deepEqual(S.decodeFileStreamInformation(out).map((s) => s.streamName), ['::$DATA']);
        seen.streams = true;
      }
      if (qr.infoType === S.InfoType.SECURITY) {
        const sd = S.decodeSecurityDescriptor(out);
        assert.ok(sd.control & S.SdControl.SELF_RELATIVE && sd.control & S.SdControl.DACL_PRESENT);
        assert.match(sd.owner!, /^S-1-5-21-/);
        assert.ok(sd.dacl!.some((a) => a.sid === S.WellKnownSid.EVERYONE && a.aceType === S.AceType.ACCESS_ALLOWED));
        // Our encoder lays an SD out as Samba does: header, owner, group, DACL.
        assert.deepEqual(S.encodeSecurityDescriptor(sd).subarray(4), out.subarray(4));
        seen.security = true;
      }
      if (qr.infoType === S.InfoType.FILESYSTEM && qr.fileInfoClass === S.FsInfoClass.FileFsVolumeInformation) {
        assert.equal(S.decodeFileFsVolumeInformation(out).volumeLabel, 'share');
        seen.volume = true;
      }
    }
  }
  assert.deepEqual(seen, { listing: true, allInfo: true, streams: true, volume: true, security: true });
});

test('captured encrypted frames: transform header fields are consistent', () => {
  const t = SAMBA_FRAMES.map((f) => Buffer.from(f.hex, 'hex')).filter((b) => S.protocolKind(b) === 'transform');
  assert.ok(t.length >= 4);
  for (const b of t) {
    const h = S.decodeTransformHeader(b);
    assert.equal(h.originalMessageSize, b.length - S.TRANSFORM_HEADER_SIZE);
    assert.equal(h.flags, S.TRANSFORM_FLAG_ENCRYPTED);
    assert.notEqual(h.sessionId, 0n);
    // GCM (the cipher 3.1.1 picked) uses a 12-byte nonce; the last 4 bytes are zero.
    assert.equal(h.nonce.readUInt32LE(12), 0);
  }
});

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function mutate(m: Buffer, rand: () => number): Buffer {
  const out = Buffer.from(m);
  const edits = 1 + Math.floor(rand() * 4);
  for (let e = 0; e < edits; e++) {
    const pos = 64 + Math.floor(rand() * Math.max(1, out.length - 64));
    if (pos >= out.length) continue;
    out[pos] = rand() < 0.5 ? Math.floor(rand() * 256) : Math.floor(rand() * 16);
  }
  return rand() < 0.2 ? out.subarray(0, 64 + Math.floor(rand() * (out.length - 64))) : out;
}

test('fuzz from captured requests: what validation accepts, the decoder takes', () => {
  const rand = rng(7);
  const reqs = messages().filter((m) => m.dir === 'c2s');
  let accepted = 0;
  for (let i = 0; i < 20000; i++) {
    const { msg, h } = reqs[i % reqs.length]!;
    const m = mutate(msg, rand);
    const v = S.validateRequest(m, h.command);
    if (v !== null) continue;
    accepted++;
    assert.doesNotThrow(() => REQ[h.command]![0](m), `${S.commandName(h.command)} ${m.subarray(64).toString('hex')}`);
  }
  assert.ok(accepted > 1000, `${accepted}`);
});

test('fuzz from captured responses: decoders throw MalformedError and nothing else', () => {
  const rand = rng(11);
  const all = messages();
  const pending = new Map<bigint, unknown>();
  const resps: { msg: Buffer; h: S.Smb2Header; req: unknown }[] = [];
  for (const m of all) {
    if (m.dir === 'c2s') pending.set(m.h.messageId, REQ[m.h.command]![0](m.msg));
    else if (!isErrorBody(m.h)) resps.push({ ...m, req: pending.get(m.h.messageId) });
  }
  const payload = (h: S.Smb2Header, req: unknown, r: unknown): void => {
    const out = (r as { output?: Buffer }).output;
    if (!out) return;
    if (h.command === C.QUERY_DIRECTORY) S.decodeDirectoryEntries((req as S.QueryDirectoryRequest).fileInformationClass, out);
    if (h.command === C.QUERY_INFO) {
      const q = req as S.QueryInfoRequest;
      if (q.infoType === S.InfoType.SECURITY) S.decodeSecurityDescriptor(out);
      if (q.infoType === S.InfoType.FILE && q.fileInfoClass === S.FileInfoClass.FileAllInformation) S.decodeFileAllInformation(out);
      if (q.infoType === S.InfoType.FILE && q.fileInfoClass === S.FileInfoClass.FileStreamInformation) S.decodeFileStreamInformation(out);
      if (q.infoType === S.InfoType.FILESYSTEM && q.fileInfoClass === S.FsInfoClass.FileFsVolumeInformation) S.decodeFileFsVolumeInformation(out);
    }
  };
  let threw = 0;
  for (let i = 0; i < 20000; i++) {
    const { msg, h, req } = resps[i % resps.length]!;
    const m = mutate(msg, rand);
    try {
      const r = RESP[h.command]![0](m);
      payload(h, req, r);
    } catch (e) {
      threw++;
      assert.ok(e instanceof S.MalformedError, `${S.commandName(h.command)}: ${(e as Error).message}`);
    }
    // The same bytes read as an ERROR response (a client does that on any error status).
    try {
      S.decodeErrorResponse(m);
    } catch (e) {
      assert.ok(e instanceof S.MalformedError, `ERROR: ${(e as Error).message}`);
    }
  }
  assert.ok(threw > 500, `${threw}`);
});
