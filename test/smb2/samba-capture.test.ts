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

  // Pair responses with their requests by MessageId, within each connection in order.
  const pending = new Map<bigint, { command: number; r: unknown }>();
  const seen = { listing: false, allInfo: false, streams: false, volume: false };
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
      if (qr.infoType === S.InfoType.FILESYSTEM && qr.fileInfoClass === S.FsInfoClass.FileFsVolumeInformation) {
        assert.equal(S.decodeFileFsVolumeInformation(out).volumeLabel, 'share');
        seen.volume = true;
      }
    }
  }
  assert.deepEqual(seen, { listing: true, allInfo: true, streams: true, volume: true });
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
