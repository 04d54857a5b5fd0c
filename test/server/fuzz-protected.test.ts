/**
 * Malformed signed and sealed traffic.
 *
 * Sealed: the mutated requests of fuzz.test.ts (every command, compounds,
 * boundary header fields) sealed for 3.1.1 sessions, one cipher per
 * connection (AES-128/256-GCM, AES-128/256-CCM), from two clients at once;
 * and among them envelopes that must not be opened:
 *
 * - a transform header altered after sealing (a bit of its signature, nonce,
 *   OriginalMessageSize, Flags or SessionId flipped; OriginalMessageSize or
 *   Flags set to a boundary value; the session another one's or unknown),
 *   the frame cut short or lengthened;
 * - a correct seal around what may not be in one (MS-SMB2 3.3.5.2.1.1): a
 *   nested transform header, a compression header, an SMB1 message, fewer
 *   bytes than an SMB2 header.
 *
 * Properly sealed requests get sealed responses or a clean disconnect (a
 * bad inner message ends the connection as it would unsealed); the bad
 * envelopes are never answered: the connection ends, with a log line. After
 * all that: no handler threw, nothing unhandled, a new sealed session works,
 * no connection, session or pooled buffer is left, every fd is closed.
 *
 * Signed, on a server that requires signing: the same requests signed
 * (each message of a compound on its own) under each algorithm (AES-GMAC
 * and AES-CMAC on 3.1.1, AES-CMAC on 3.0.2, HMAC-SHA256 on 2.1), and some
 * altered after signing (a bit of the signature or of the signed bytes
 * flipped, the SIGNED flag cleared): an altered request never succeeds
 * (STATUS_ACCESS_DENIED or a disconnect, MS-SMB2 3.3.5.2.4), and every
 * signed response verifies with the channel's key.
 *
 * RINGSMB_FUZZ_SEED picks the seed (as in fuzz.test.ts); RINGSMB_FUZZ_SEALED
 * and RINGSMB_FUZZ_SIGNED the number of batches of each (default 1500).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { USER, PASSWORD, type Running } from '../interop/harness.js';
import { SignedConnection, type ClientSession } from './signed-client.js';
import { batchMaker, fuzzServer } from './fuzz-requests.js';
import { fuzzSeed, generator, BOUNDARY } from '../util/fuzz.js';
import { Cipher, Command, Dialect, HeaderFlags, SigningAlgorithm } from '../../src/smb2/constants.js';
import { NtStatus } from '../../src/smb2/status.js';
import { decodeHeader, TRANSFORM_HEADER_SIZE } from '../../src/smb2/header.js';
import { splitCompound } from '../../src/smb2/compound.js';
import { signInPlace, verify } from '../../src/crypto/signing.js';
import { encryptMessage } from '../../src/crypto/encryption.js';
import type { FileId } from '../../src/smb2/wire.js';

const SEED = fuzzSeed();
const COUNT = Number(process.env.RINGSMB_FUZZ_SEALED ?? 1500);
const SIGNED_COUNT = Number(process.env.RINGSMB_FUZZ_SIGNED ?? 1500);
const WORKERS = 2;
const CIPHERS = [Cipher.AES_128_GCM, Cipher.AES_256_GCM, Cipher.AES_128_CCM, Cipher.AES_256_CCM];

/** An open of `name` (sealed), or made-up ids where earlier fuzzing made that fail (a delete pending, a sharing conflict). */
async function sealedOpen(c: SignedConnection, s: ClientSession, tree: number, name: string, dir: boolean): Promise<{ id: FileId; status: number }> {
  const { reply, fileId } = await c.create(s, tree, name, { disposition: dir ? 1 : 3, dir, sealed: true });
  assert.equal(reply.sealed, true, 'a sealed CREATE is answered sealed');
  return { id: fileId, status: reply.hdr.status };
}

/** A 3.1.1 session sealed with `cipher`, its tree, f.bin and the share's root open. */
async function sealedClient(srv: Running, cipher: number, clientGuid: Buffer) {
  const c = await SignedConnection.open(srv.port, { ciphers: [cipher], clientGuid });
  const { session: s } = await c.authenticate(USER, PASSWORD);
  assert.ok(s?.encryptionKey, 'a 3.1.1 session has cipher keys');
  const tree = await c.treeConnect(s, 'share', { sealed: true });
  return { c, s, tree, file: (await sealedOpen(c, s, tree, 'f.bin', false)).id, dir: (await sealedOpen(c, s, tree, '', true)).id };
}

test(`fuzz, sealed: ${COUNT} batches of mutated requests in transform messages under each 3.1.1 cipher, some envelopes altered (seed ${SEED}): sealed answers or clean disconnects, altered envelopes never answered, nothing leaks`, { timeout: 180_000 }, (t) => fuzzServer(t, 'enabled', async (srv, tally) => {
  const { outcomes, count, wrong } = tally;
  let undecryptable = 0;
  const worker = async (w: number): Promise<void> => {
    const g = generator(SEED * 31 + w * 7919);
    const { rnd, pick, int, bytes } = g;
    while (tally.sent < COUNT) {
      const cipher = CIPHERS[tally.connections++ % CIPHERS.length]!;
      const { c, s, tree, file, dir } = await sealedClient(srv, cipher, bytes(16));
      const batch = batchMaker(g, { sessionId: s.id, treeId: tree, clientGuid: bytes(16), file, dir }, (charge) => c.takeId(charge));
      for (let onThis = 0; onThis < 300 && tally.sent < COUNT && !c.closed; onThis++) {
        const { parts, ids } = batch();
        tally.sent++;
        let plain: Buffer = Buffer.concat(parts);
        // What the seal holds: the batch, or (rarely) something a seal may not hold.
        let inner = 'batch';
        const r = rnd();
        if (r < 0.03) {
          inner = 'nested transform';
          plain = encryptMessage(cipher, s.encryptionKey!, s.id, plain);
        } else if (r < 0.05) {
          inner = 'compression header';
          plain = Buffer.concat([Buffer.from([0xfc, 0x53, 0x4d, 0x42]), bytes(12 + int(60)), plain]);
        } else if (r < 0.07) {
          inner = 'SMB1 message';
          plain = Buffer.concat([Buffer.from([0xff, 0x53, 0x4d, 0x42, 0x72]), bytes(27 + int(40))]);
        } else if (r < 0.08) {
          inner = 'short message';
          plain = plain.subarray(0, int(64));
        }
        let frame: Buffer = encryptMessage(cipher, s.encryptionKey!, s.id, plain);
        // The envelope: as sealed, or altered after sealing.
        let envelope = 'sealed';
        if (rnd() < 0.08) {
          const k = int(8);
          if (k === 0) {
            // One bit of the signature (4..19), nonce (20..35), OriginalMessageSize (36..39), Reserved (40..41), Flags (42..43) or SessionId (44..51).
            const at = pick([4 + int(16), 20 + int(16), 36 + int(4), 40 + int(4), 44 + int(8)]);
            frame[at]! ^= 1 << int(8);
            envelope = `bit flipped in ${at < 20 ? 'Signature' : at < 36 ? 'Nonce' : at < 40 ? 'OriginalMessageSize' : at < 44 ? 'Reserved/Flags' : 'SessionId'}`;
          } else if (k === 1) {
            frame.writeUInt32LE(pick(BOUNDARY.filter((v) => v !== frame.length - TRANSFORM_HEADER_SIZE)) >>> 0, 36);
            envelope = 'OriginalMessageSize';
          } else if (k === 2) {
            frame.writeUInt16LE(pick([0, 2, 3, 0x8001, 0xffff]), 42);
            envelope = 'Flags';
          } else if (k === 3) {
            frame.writeBigUInt64LE(pick([0n, s.id + 1n, s.id ^ (1n << 40n), 0xffffffffffffffffn]), 44);
            envelope = 'SessionId';
          } else if (k === 4) {
            frame = frame.subarray(0, int(frame.length));
            envelope = 'cut short';
          } else if (k === 5) {
            frame = Buffer.concat([frame, bytes(1 + int(100))]);
            envelope = 'lengthened';
          } else if (k === 6) {
            // The header kept, the ciphertext replaced by other bytes of the same length.
            frame = Buffer.concat([frame.subarray(0, TRANSFORM_HEADER_SIZE), bytes(frame.length - TRANSFORM_HEADER_SIZE)]);
            envelope = 'ciphertext replaced';
          } else {
            frame = frame.subarray(0, TRANSFORM_HEADER_SIZE);
            envelope = 'header alone';
          }
        }
        const reply = await c.sendFrame(frame, ids, 60);
        const bad = envelope !== 'sealed' || inner !== 'batch';
        const outcome = reply ? 'answered' : c.closed ? 'dropped' : 'pending';
        count(`${bad ? (envelope !== 'sealed' ? envelope : inner) : 'sealed batch'}: ${outcome}`);
        if (reply && bad) wrong.push(`${envelope} / ${inner} answered with status 0x${reply.hdr.status.toString(16)}`);
        if (reply && !reply.sealed) wrong.push(`a sealed request answered unsealed (command ${reply.hdr.command}, status 0x${reply.hdr.status.toString(16)})`);
        // After an envelope the server must refuse, this connection is done with either way.
        if (bad) break;
      }
      undecryptable += c.undecryptable;
      c.destroy();
      await c.gone;
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
  assert.deepEqual(wrong, [], `seed ${SEED}: altered envelopes and forbidden contents are never answered, and sealed requests are answered sealed`);
  assert.equal(undecryptable, 0, `seed ${SEED}: every sealed response opens with the session's key`);
  const sealedAnswered = [...outcomes].filter(([k]) => k === 'sealed batch: answered').reduce((n, [, v]) => n + v, 0);
  assert.ok(sealedAnswered > COUNT / 4, `seed ${SEED}: most sealed batches got an answer (${sealedAnswered})`);
  // A bad envelope ends its connection with a line in the log that says why.
  const refused = srv.logs.filter((l) => /failed decryption|unknown session|not an SMB2 message|compressed messages|malformed/.test(l)).length;
  const refusedHere = [...outcomes].filter(([k]) => !k.startsWith('sealed batch') && k.endsWith('dropped')).reduce((n, [, v]) => n + v, 0);
  assert.ok(refused >= refusedHere, `seed ${SEED}: a log line for each refused envelope (${refused} lines, ${refusedHere} refused)`);

  // The server still serves sealed sessions.
  const after = await sealedClient(srv, Cipher.AES_128_GCM, randomBytes(16));
  assert.equal((await sealedOpen(after.c, after.s, after.tree, 'after.bin', false)).status, 0, `seed ${SEED}: a new sealed session creates a file`);
  after.c.destroy();
  await after.c.gone;
}));

const SIGNINGS: { label: string; dialects: number[]; signing?: number[] }[] = [
  { label: '3.1.1 AES-GMAC', dialects: [Dialect.SMB311], signing: [SigningAlgorithm.AES_GMAC] },
  { label: '3.1.1 AES-CMAC', dialects: [Dialect.SMB311], signing: [SigningAlgorithm.AES_CMAC] },
  { label: '3.0.2 AES-CMAC', dialects: [Dialect.SMB302] },
  { label: '2.1 HMAC-SHA256', dialects: [Dialect.SMB210] },
];

test(`fuzz, signed: ${SIGNED_COUNT} batches of mutated requests signed with each algorithm on a server that requires signing, some altered after signing (seed ${SEED}): altered ones never succeed, signed responses verify, nothing leaks`, { timeout: 180_000 }, (t) => fuzzServer(t, 'required', async (srv, tally) => {
  const { outcomes, count, wrong } = tally;
  const worker = async (w: number): Promise<void> => {
    const g = generator(SEED * 37 + w * 7919);
    const { rnd, pick, int, bytes } = g;
    while (tally.sent < SIGNED_COUNT) {
      const how = SIGNINGS[tally.connections++ % SIGNINGS.length]!;
      const c = await SignedConnection.open(srv.port, { dialects: how.dialects, signing: how.signing, clientGuid: bytes(16) });
      const { session: s } = await c.authenticate(USER, PASSWORD);
      assert.ok(s, `${how.label}: session set up`);
      const key = c.channelKeys.get(s.id)!;
      const alg = c.signingAlgorithm;
      const tree = await c.treeConnect(s, 'share');
      // Made-up ids where earlier fuzzing made an open fail (a delete pending, a sharing conflict).
      const open = async (name: string, dir: boolean): Promise<FileId> => (await c.create(s, tree, name, { disposition: dir ? 1 : 3, dir })).fileId;
      const batch = batchMaker(g, { sessionId: s.id, treeId: tree, clientGuid: bytes(16), file: await open('f.bin', false), dir: await open('', true) }, (charge) => c.takeId(charge));
      for (let onThis = 0; onThis < 300 && tally.sent < SIGNED_COUNT && !c.closed; onThis++) {
        const { messages: msgs, ids, cmds } = batch();
        tally.sent++;
        // Each message of the batch signed on its own: header, body and the padding up to the next one (3.2.4.1.1).
        for (const msg of msgs) {
          msg.writeUInt32LE((msg.readUInt32LE(16) | HeaderFlags.SIGNED) >>> 0, 16);
          signInPlace(alg, key, msg);
        }
        let altered = '';
        if (msgs.length === 1 && rnd() < 0.1) {
          const msg = msgs[0]!;
          const k = int(3);
          if (k === 0) {
            msg[48 + int(16)]! ^= 1 << int(8);
            altered = 'signature';
          } else if (k === 1) {
            // A signed byte outside the signature field (the header's flags and the signature itself excepted).
            const at = pick([int(16), 20 + int(28), 64 + int(Math.max(1, msg.length - 64))]);
            if (at < msg.length) msg[at]! ^= 1 << int(8);
            altered = 'signed bytes';
          } else {
            msg.writeUInt32LE((msg.readUInt32LE(16) & ~HeaderFlags.SIGNED) >>> 0, 16);
            altered = 'unsigned';
          }
        }
        const reply = await c.sendFrame(Buffer.concat(msgs), ids, 60);
        const outcome = reply ? 'answered' : c.closed ? 'dropped' : 'pending';
        count(`${altered || 'signed batch'}: ${outcome}`);
        if (reply && altered) {
          // An unsigned ECHO or CANCEL is allowed even when signing is required (3.3.5.2.4).
          const exempt = altered === 'unsigned' && (cmds[0] === Command.ECHO || cmds[0] === Command.CANCEL);
          if (reply.hdr.status === 0 && !exempt) wrong.push(`${altered} ${how.label} command ${cmds[0]} succeeded`);
        }
        // A compound response: each signed message verifies on its own (up to the next one).
        for (const m of reply ? splitCompound(reply.msg) ?? [reply.msg] : []) {
          const h = decodeHeader(m);
          if (h.flags & HeaderFlags.SIGNED && h.status !== NtStatus.USER_SESSION_DELETED && !verify(alg, key, m)) {
            wrong.push(`${how.label}: the response to command ${h.command} (status 0x${h.status.toString(16)}) does not verify`);
          }
        }
        if (altered) break;
      }
      c.destroy();
      await c.gone;
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
  assert.deepEqual(wrong, [], `seed ${SEED}: altered requests never succeed, signed responses verify`);
  const signedAnswered = outcomes.get('signed batch: answered') ?? 0;
  assert.ok(signedAnswered > SIGNED_COUNT / 4, `seed ${SEED}: most signed batches got an answer (${signedAnswered})`);
  const refused = srv.logs.filter((l) => /bad signature/.test(l)).length;
  const badSigs = [...outcomes].filter(([k]) => k.startsWith('signature') || k.startsWith('signed bytes')).reduce((n, [, v]) => n + v, 0);
  assert.ok(refused > 0 || badSigs === 0, `seed ${SEED}: bad signatures are logged (${refused} lines for ${badSigs} altered)`);
  // The server still serves signed sessions.
  const after = await SignedConnection.open(srv.port);
  const { session } = await after.authenticate(USER, PASSWORD);
  assert.ok(session, `seed ${SEED}: a new session after the fuzzing`);
  await after.openFile(session, await after.treeConnect(session, 'share'), 'after.bin', 3);
  after.destroy();
  await after.gone;
}));
