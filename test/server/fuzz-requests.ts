/**
 * The request generator of the fuzz tests (fuzz.test.ts, fuzz-sealed.test.ts):
 * a valid request body of every command for a client's session, tree and
 * file ids, a header that is valid or has one field at a boundary value, and
 * batches of them (one request, or a compound of two to four, some marked
 * related), most bodies mutated. Seeded: a seed gives the same requests.
 * And the run around them: a server with the files they name, and what must
 * hold after (fuzzServer).
 */
import { HEADER_SIZE } from '../../src/smb2/header.js';
import { Command, CreateContextName, HeaderFlags, Fsctl } from '../../src/smb2/constants.js';
import { encodeCreateRequest } from '../../src/smb2/commands/create.js';
import { encodeCloseRequest } from '../../src/smb2/commands/close.js';
import { encodeReadRequest } from '../../src/smb2/commands/read.js';
import { encodeWriteRequest } from '../../src/smb2/commands/write.js';
import { encodeQueryDirectoryRequest } from '../../src/smb2/commands/query-directory.js';
import { encodeQueryInfoRequest } from '../../src/smb2/commands/query-info.js';
import { encodeSetInfoRequest } from '../../src/smb2/commands/set-info.js';
import { encodeLockRequest } from '../../src/smb2/commands/lock.js';
import { encodeIoctlRequest } from '../../src/smb2/commands/ioctl.js';
import { encodeFlushRequest } from '../../src/smb2/commands/flush.js';
import { encodeChangeNotifyRequest } from '../../src/smb2/commands/change-notify.js';
import { encodeEchoRequest } from '../../src/smb2/commands/echo.js';
import { encodeTreeConnectRequest } from '../../src/smb2/commands/tree-connect.js';
import { encodeTreeDisconnectRequest } from '../../src/smb2/commands/tree-disconnect.js';
import { encodeLogoffRequest } from '../../src/smb2/commands/logoff.js';
import { encodeNegotiateRequest } from '../../src/smb2/commands/negotiate.js';
import { encodeSessionSetupRequest } from '../../src/smb2/commands/session-setup.js';
import { encodeOplockBreak } from '../../src/smb2/commands/oplock-break.js';
import { encodeDH2QRequest, encodeLease } from '../../src/smb2/commands/create-contexts.js';
import { encodeValidateNegotiateInfoRequest } from '../../src/smb2/commands/fsctl.js';
import { encodeFileRenameInformation } from '../../src/smb2/fscc/index.js';
import type { FileId } from '../../src/smb2/wire.js';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requestHeader } from './smb-client.js';
import { startServer, type Running } from '../interop/harness.js';
import { openFds, fdsLeftSince } from '../util/fds.js';
import { BOUNDARY, fuzzSeed, type generator } from '../util/fuzz.js';

type Gen = ReturnType<typeof generator>;

export function fileIdBytes(f: FileId): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(f.persistent, 0);
  b.writeBigUInt64LE(f.volatile, 8);
  return b;
}

/** A name meant to leave the share, or to trip name handling. */
export const NASTY_NAMES = [
  '..\\fuzzescape', '..\\..\\fuzzescape', 'a\\..\\..\\fuzzescape', '\\..\\fuzzescape', 'C:\\fuzzescape', '\\\\host\\share\\fuzzescape',
  'sub\\..\\..\\fuzzescape', '.\\..\\fuzzescape', 'f.bin:stream', 'f.bin::$DATA', 'f.bin:x:$DATA', 'x'.repeat(300), 'a\\'.repeat(200) + 'b',
  'con', 'nul\\x', '\u0000', 'a\u0000b', 'dir\\', '\\', '*', '?', '<>|"', '\ud800', 'sub\\\ud800\\x', '..', '.', '...', 'sub\\.\\..\\..',
];

/** What a client brings to the generator: its ids. */
export interface FuzzTarget {
  sessionId: bigint;
  treeId: number;
  clientGuid: Buffer;
  /** an open file, an open directory */
  file: FileId;
  dir: FileId;
}

/** One batch: the message parts (headers, bodies, compound padding), the same as one buffer per message, the message ids it used, its commands. */
export interface Batch {
  parts: Buffer[];
  messages: Buffer[];
  ids: bigint[];
  cmds: number[];
}

/** Batches for `c` from `g`; `nextId` hands out message ids (and advances by the credit charge). */
export function batchMaker(g: Gen, c: FuzzTarget, nextId: (charge: number) => bigint): () => Batch {
  const { rnd, pick, int, bytes, mutate } = g;
  const { file, dir } = c;
  const fid = (): FileId => (rnd() < 0.45 ? file : rnd() < 0.8 ? dir : { persistent: BigInt(int(4)), volatile: BigInt(int(1 << 30)) });

  /** A valid request body of some command, for these ids. */
  const base = (): { command: number; body: Buffer } => {
    const k = int(20);
    switch (k) {
      case 0:
      case 1: {
        const contexts = rnd() < 0.5 ? [] : [pick([
          { name: 'MxAc', data: Buffer.alloc(0) },
          { name: 'QFid', data: Buffer.alloc(0) },
          { name: 'DHnQ', data: Buffer.alloc(16) },
          { name: 'DH2Q', data: encodeDH2QRequest({ timeout: 1000, flags: 0, createGuid: bytes(16) }) },
          // The same few CreateGuids again and again: replays and DUPLICATE_OBJECTID (replay.ts).
          { name: 'DH2Q', data: encodeDH2QRequest({ timeout: 1000, flags: 0, createGuid: Buffer.alloc(16, int(3)) }) },
          { name: CreateContextName.APP_INSTANCE_ID, data: Buffer.concat([Buffer.from([20, 0, 0, 0]), Buffer.alloc(16, int(2))]) },
          { name: CreateContextName.APP_INSTANCE_ID, data: bytes(int(24)) },
          { name: 'RqLs', data: encodeLease({ version: 2, leaseKey: bytes(16), leaseState: 7, leaseFlags: 0, leaseDuration: 0n, parentLeaseKey: Buffer.alloc(16), epoch: 0 }) },
          { name: 'AlSi', data: Buffer.alloc(8) },
          { name: 'TWrp', data: Buffer.alloc(8) },
          { name: 'SecD', data: bytes(40) },
          { name: 'ExtA', data: bytes(20) },
          // Reconnects of a durable open (2.2.13.2.4, 2.2.13.2.12): ids of this client's opens, or made up.
          { name: 'DHnC', data: fileIdBytes(fid()) },
          { name: 'DH2C', data: Buffer.concat([fileIdBytes(fid()), bytes(16), Buffer.from([int(4), 0, 0, 0])]) },
        ])];
        const name = rnd() < 0.4 ? pick(NASTY_NAMES) : pick(['f.bin', 'new' + int(50), 'sub\\g.txt', 'sub', 'sub\\n' + int(20)]);
        return {
          command: Command.CREATE,
          body: encodeCreateRequest({
            securityFlags: 0, requestedOplockLevel: pick([0, 1, 8, 9, 0xff]), impersonationLevel: 2, smbCreateFlags: 0n,
            desiredAccess: pick([0x120089, 0x12019f, 0x1f01ff, 0x10000, 0x2000000, 0]), fileAttributes: pick([0, 0x80, 0x10, 0x2, 0x7]),
            shareAccess: 7, createDisposition: int(6), createOptions: pick([0, 1, 0x40, 0x1000, 0x21, 0x200000]), name, createContexts: contexts,
          }),
        };
      }
      case 2:
        return { command: Command.READ, body: encodeReadRequest({ padding: 0x50, flags: 0, length: pick([0, 1, 4096, 65536, 1 << 20, 8 << 20]), offset: BigInt(pick([0, 1, 4095, 199_999, 200_000, 1 << 30])), fileId: fid(), minimumCount: pick([0, 1, 100_000]), channel: 0, remainingBytes: 0, readChannelInfo: Buffer.alloc(0) }) };
      case 3:
        return { command: Command.WRITE, body: encodeWriteRequest({ offset: BigInt(pick([0, 1, 100_000, 1 << 20])), fileId: fid(), channel: 0, remainingBytes: 0, flags: 0, data: bytes(pick([0, 1, 100, 5000, 70_000])) }) };
      case 4:
        return { command: Command.CLOSE, body: encodeCloseRequest({ flags: int(2), fileId: rnd() < 0.2 ? fid() : { persistent: BigInt(int(3)), volatile: BigInt(int(1 << 20)) } }) };
      case 5:
        return { command: Command.QUERY_DIRECTORY, body: encodeQueryDirectoryRequest({ fileInformationClass: pick([1, 2, 3, 0x0c, 0x25, 0x26, 0x3c, 0x3f, 0]), flags: int(16), fileIndex: 0, fileId: fid(), fileName: pick(['*', 'g*', '', '?', '<', 'sub\\*']), outputBufferLength: pick([0, 10, 100, 65536, 8 << 20]) }) };
      case 6:
        return { command: Command.QUERY_INFO, body: encodeQueryInfoRequest({ infoType: 1 + int(4), fileInfoClass: int(0x50), outputBufferLength: pick([0, 8, 24, 4096, 65536]), input: rnd() < 0.2 ? bytes(int(64)) : Buffer.alloc(0), additionalInformation: int(16), flags: int(4), fileId: fid() }) };
      case 7: {
        const cls = pick([4, 10, 13, 14, 19, 20, 0x1c, 0x27, 0x40, 0]);
        const buffer = cls === 10 ? encodeFileRenameInformation({ replaceIfExists: rnd() < 0.5, rootDirectory: 0n, fileName: rnd() < 0.5 ? pick(NASTY_NAMES) : 'r' + int(20) }) : bytes(pick([0, 1, 8, 40, 100]));
        return { command: Command.SET_INFO, body: encodeSetInfoRequest({ infoType: 1 + int(4), fileInfoClass: cls, buffer, additionalInformation: int(16), fileId: fid() }) };
      }
      case 8:
        return { command: Command.LOCK, body: encodeLockRequest({ lockSequenceNumber: 0, lockSequenceIndex: 0, fileId: fid(), locks: Array.from({ length: 1 + int(3) }, () => ({ offset: pick([0n, 1n, 100n, 1n << 63n]), length: pick([0n, 1n, 10n, 0xffffffffffffffffn]), flags: pick([1, 2, 4, 0x10, 0x12, 0]) })) }) };
      case 9: {
        const ctl = pick([Fsctl.VALIDATE_NEGOTIATE_INFO, Fsctl.QUERY_NETWORK_INTERFACE_INFO, Fsctl.PIPE_TRANSCEIVE, Fsctl.SRV_REQUEST_RESUME_KEY, Fsctl.SRV_COPYCHUNK, Fsctl.SET_SPARSE, Fsctl.SET_ZERO_DATA, Fsctl.QUERY_ALLOCATED_RANGES, Fsctl.GET_REPARSE_POINT, 0x11c017, 0x90000 + int(0x1000)]);
        const input = ctl === Fsctl.VALIDATE_NEGOTIATE_INFO && rnd() < 0.5
          ? encodeValidateNegotiateInfoRequest({ capabilities: 0x7f, guid: c.clientGuid, securityMode: 1, dialects: [0x0202, 0x0210, 0x0300, 0x0302] })
          : bytes(pick([0, 4, 8, 16, 24, 32, 100]));
        return { command: Command.IOCTL, body: encodeIoctlRequest({ ctlCode: ctl, fileId: rnd() < 0.3 ? { persistent: 0xffffffffffffffffn, volatile: 0xffffffffffffffffn } : fid(), input, maxInputResponse: 0, output: Buffer.alloc(0), maxOutputResponse: pick([0, 24, 4096, 65536]), flags: int(2) }) };
      }
      case 10:
        return { command: Command.FLUSH, body: encodeFlushRequest({ fileId: fid() }) };
      case 11:
        return { command: Command.CHANGE_NOTIFY, body: encodeChangeNotifyRequest({ flags: int(2), outputBufferLength: pick([0, 100, 65536]), fileId: fid(), completionFilter: int(0x1000) }) };
      case 12:
        return { command: Command.ECHO, body: encodeEchoRequest() };
      case 13:
        return { command: Command.TREE_CONNECT, body: encodeTreeConnectRequest({ flags: 0, path: pick(['\\\\127.0.0.1\\share', '\\\\127.0.0.1\\IPC$', '\\\\x\\nope', '', '\\\\127.0.0.1\\' + 'x'.repeat(200)]) }) };
      case 14:
        return { command: Command.OPLOCK_BREAK, body: encodeOplockBreak({ kind: 'oplock', oplockLevel: int(2), fileId: fid() }) };
      case 15:
        return { command: Command.NEGOTIATE, body: encodeNegotiateRequest({ securityMode: 1, capabilities: 0x7f, clientGuid: bytes(16), dialects: [pick([0x0202, 0x0311, 0x02ff, 0])] }) };
      case 16:
        return { command: Command.SESSION_SETUP, body: encodeSessionSetupRequest({ flags: int(2), securityMode: 1, capabilities: 0, channel: 0, previousSessionId: 0n, securityBuffer: bytes(pick([0, 10, 100])) }) };
      case 17:
        return { command: rnd() < 0.5 ? Command.TREE_DISCONNECT : Command.LOGOFF, body: rnd() < 0.5 ? encodeTreeDisconnectRequest() : encodeLogoffRequest() };
      case 18:
        return { command: Command.CANCEL, body: Buffer.from([4, 0, 0, 0]) };
      default:
        return { command: int(0x20), body: bytes(int(120)) };
    }
  };

  /** The header of one request: valid (this session and tree), or mutated. */
  const header = (command: number, messageId: bigint, bodyLen: number, nextCommand = 0): Buffer => {
    // Some requests replayed, some on another channel sequence (replay.ts: 3.3.5.9.10, 3.3.5.2.10).
    const flags = rnd() < 0.1 ? HeaderFlags.REPLAY_OPERATION : 0;
    const channelSequence = rnd() < 0.1 ? pick([1, 0x7fff, 0x8000, 0xffff]) : 0;
    const h = requestHeader({ command, messageId, sessionId: c.sessionId, treeId: c.treeId, charge: Math.max(1, Math.ceil(bodyLen / 65536)), credits: 32, nextCommand, flags, channelSequence });
    if (rnd() < 0.1) {
      const f = pick([['u16', 4], ['u16', 6], ['u16', 8], ['u16', 12], ['u16', 14], ['u32', 16], ['u32', 20], ['u32', 32], ['u32', 36], ['u32', 40]] as const);
      const v = pick(BOUNDARY) >>> 0;
      if (f[0] === 'u16') h.writeUInt16LE(v & 0xffff, f[1]);
      else h.writeUInt32LE(v, f[1]);
    }
    return h;
  };

  return () => {
    const n = rnd() < 0.15 ? 2 + int(3) : 1;
    const parts: Buffer[] = [];
    const messages: Buffer[] = [];
    const ids: bigint[] = [];
    const cmds: number[] = [];
    for (let i = 0; i < n; i++) {
      const { command, body } = base();
      cmds.push(command);
      const b = rnd() < 0.85 ? mutate(body) : body;
      const id = nextId(Math.max(1, Math.ceil(b.length / 65536)));
      ids.push(id);
      const last = i === n - 1;
      const len = HEADER_SIZE + b.length;
      const padded = last ? len : (len + 7) & ~7;
      const h = header(command, id, b.length, last ? 0 : padded);
      if (i > 0 && rnd() < 0.5) h.writeUInt32LE((h.readUInt32LE(16) | HeaderFlags.RELATED_OPERATIONS) >>> 0, 16);
      const pad = padded > len ? [Buffer.alloc(padded - len)] : [];
      parts.push(h, b, ...pad);
      messages.push(Buffer.concat([h, b, ...pad]));
    }
    return { parts, messages, ids, cmds };
  };
}

/** What a fuzz run counts: batches sent, connections made, outcomes by kind, and what went wrong. */
export interface Tally {
  sent: number;
  connections: number;
  outcomes: Map<string, number>;
  count(kind: string): void;
  wrong: string[];
}

/**
 * A server (signing as given) with the files the requests name, `body`
 * run against it, then: no handler threw, nothing unhandled, no connection,
 * session, pooled buffer or fd of the server left. What `body` returns runs
 * once the connections are gone (checks of what the server may keep).
 */
export async function fuzzServer(t: TestContext, signing: 'enabled' | 'required', body: (srv: Running, tally: Tally) => Promise<void | (() => void)>): Promise<void> {
  const seed = fuzzSeed();
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => void unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  const fdsBefore = openFds();
  const srv = await startServer({ signing });
  writeFileSync(join(srv.dir, 'f.bin'), randomBytes(200_000));
  mkdirSync(join(srv.dir, 'sub'));
  writeFileSync(join(srv.dir, 'sub', 'g.txt'), 'hello');
  const outcomes = new Map<string, number>();
  const tally: Tally = { sent: 0, connections: 0, outcomes, count: (k) => void outcomes.set(k, (outcomes.get(k) ?? 0) + 1), wrong: [] };
  try {
    const more = await body(srv, tally);
    if (outcomes.size) t.diagnostic(`seed ${seed}: ${tally.sent} batches in ${tally.connections} connections: ${JSON.stringify([...outcomes].sort())}`);
    const internal = srv.logs.filter((l) => /internal error|threw|^\S+ error /.test(l));
    assert.deepEqual(internal, [], `seed ${seed}: no handler threw on bad input`);
    assert.deepEqual(unhandled, [], `seed ${seed}: nothing unhandled or uncaught`);
    for (let i = 0; i < 150 && (srv.server.connections.size > 0 || srv.server.dataPool.stats.out > 0); i++) await new Promise((res) => setTimeout(res, 20));
    assert.equal(srv.server.connections.size, 0, `seed ${seed}: no connection left`);
    assert.equal(srv.server.state.sessions.size, 0, `seed ${seed}: no session left`);
    assert.equal(srv.server.dataPool.stats.out, 0, `seed ${seed}: every pooled buffer back (${JSON.stringify(srv.server.dataPool.stats)})`);
    more?.();
  } finally {
    await srv.stop();
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
  }
  assert.deepEqual(await fdsLeftSince(fdsBefore), [], `seed ${seed}: every fd the server had is closed`);
  assert.ok(!existsSync(srv.dir));
}
