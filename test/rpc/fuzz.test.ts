/**
 * Mutated DCE/RPC traffic on the srvsvc and wkssvc pipes (what a client
 * writes to IPC$ after a CREATE of the pipe): binds, alter_contexts and
 * requests of every operation, each mutated half the time, split at random
 * points, several to a write. The pipe never throws; everything it answers
 * is a well-formed PDU of a type a server may send; it keeps no more than
 * one fragment's worth of input; and an untouched bind and request on a
 * fresh pipe still get their answer afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPipe, MAX_FRAG } from '../../src/rpc/pipe.js';
import { NDR20, PTYPE, encodeBind } from '../../src/rpc/pdu.js';
import { NdrWriter } from '../../src/rpc/ndr.js';
import { SRVSVC, NDR64, BTFN, drain, getInfoStub, parsePdu, request, shareEnumStub, windowsBind } from './wire.js';
import { fuzzSeed, generator } from '../util/fuzz.js';

const SEED = fuzzSeed();
const ROUNDS = Number(process.env.RINGSMB_FUZZ_COUNT ?? 3000);
const WKSSVC = { uuid: '6bffd098-a112-3610-9833-46c3f87e345a', version: 1 };
const shares = Array.from({ length: 7 }, (_, i) => ({ name: `sh${i}`, type: 'disk' as const, comment: `c${i}`, path: `/x/${i}` }));
const ctx = { shares: () => shares, serverName: 'SRV' };
/** What a server may send (C706 12.6): response, fault, bind_ack, bind_nak, alter_context_resp, shutdown. */
const SERVER_PTYPES = new Set<number>([PTYPE.response, PTYPE.fault, PTYPE.bind_ack, PTYPE.bind_nak, PTYPE.alter_context_resp, PTYPE.shutdown]);

/** Consecutive PDUs, each checked by parsePdu (version, data representation, frag_length). */
function splitPdus(b: Buffer): ReturnType<typeof drain> {
  const out: ReturnType<typeof drain> = [];
  for (let at = 0; at < b.length; ) {
    if (b.length - at < 16) throw new Error(`${b.length - at} stray bytes`);
    const len = b.readUInt16LE(at + 8);
    if (len < 16 || at + len > b.length) throw new Error(`frag_length ${len} with ${b.length - at} bytes left`);
    out.push(parsePdu(b.subarray(at, at + len)));
    at += len;
  }
  return out;
}

test(`fuzz: ${ROUNDS} pipes of mutated binds and requests (seed ${SEED}): no throw, well-formed answers, bounded input, still serving`, () => {
  const { rnd, pick, int, mutate } = generator(SEED ^ 0x12c);
  const wksStub = (level: number): Buffer => {
    const w = new NdrWriter();
    w.wstringPtr('\\\\SRV');
    w.u32(level);
    return w.finish();
  };
  const outcomes = new Map<number, number>();
  for (let round = 0; round < ROUNDS; round++) {
    const wks = rnd() < 0.3;
    const pipe = createPipe(wks ? '\\PIPE\\wkssvc' : 'srvsvc', ctx)!;
    const iface = wks ? WKSSVC : SRVSVC;
    const pdus: Buffer[] = [];
    const bind = (ptype: number): Buffer =>
      rnd() < 0.5 && !wks && ptype === 11
        ? windowsBind(1 + int(3), pick([MAX_FRAG, 1024, 16, 0xffff]))
        : encodeBind(ptype, 1 + int(3), {
          maxXmitFrag: pick([MAX_FRAG, 1024, 16, 0xffff]), maxRecvFrag: MAX_FRAG, assocGroupId: int(3),
          contexts: Array.from({ length: 1 + int(3) }, (_, i) => ({ contextId: i, abstractSyntax: pick([iface, SRVSVC, WKSSVC]), transferSyntaxes: [pick([NDR20, NDR64, BTFN])] })),
        });
    pdus.push(bind(11));
    for (let n = int(5); n > 0; n--) {
      const k = int(6);
      if (k === 0) pdus.push(bind(pick([11, 14])));
      else if (wks) pdus.push(request(2 + n, pick([0, 0, 1, 99]), wksStub(pick([100, 101, 102, 0xffffffff])), int(2)));
      else if (k <= 2) pdus.push(request(2 + n, 15, shareEnumStub(pick([0, 1, 2, 502, 7]), pick(['\\\\127.0.0.1', '', 'x'.repeat(500)]), pick([0, null, 0xffffffff])), int(2)));
      else if (k === 3) pdus.push(request(2 + n, 16, getInfoStub(pick(['sh1', 'nope', '', 'sh1'.repeat(100)]), pick([0, 1, 2, 502, 1005, 9])), int(2)));
      else pdus.push(request(2 + n, pick([21, 16, 15, 0, 200]), Buffer.alloc(int(40)), int(2)));
    }
    const bytes = Buffer.concat(pdus.map((p) => (rnd() < 0.5 ? mutate(p) : p)));
    // Written in pieces cut anywhere, as SMB2 WRITEs (or IOCTL transceives) would bring them.
    for (let at = 0; at < bytes.length; ) {
      const n = 1 + int(rnd() < 0.3 ? 16 : bytes.length);
      assert.doesNotThrow(() => pipe.write(bytes.subarray(at, at + n)), `seed ${SEED}: round ${round}: write`);
      at += n;
      const buffered = (pipe as unknown as { input: Buffer }).input.length;
      assert.ok(buffered <= 0xffff, `seed ${SEED}: round ${round}: ${buffered} bytes held (a fragment is at most 65535)`);
    }
    // Read as SMB2 READs of some size would (a fragment may take several), then split into PDUs.
    const maxLen = pick([16, 1024, 65536]);
    const got: Buffer[] = [];
    for (let b = pipe.read(maxLen); b; b = pipe.read(maxLen)) got.push(b);
    let out: ReturnType<typeof drain> = [];
    assert.doesNotThrow(() => (out = splitPdus(Buffer.concat(got))), `seed ${SEED}: round ${round}: the answers are well-formed PDUs`);
    for (const p of out) {
      assert.ok(SERVER_PTYPES.has(p.ptype), `seed ${SEED}: round ${round}: a server PDU (got type ${p.ptype})`);
      outcomes.set(p.ptype, (outcomes.get(p.ptype) ?? 0) + 1);
    }
    if (rnd() < 0.1) {
      assert.doesNotThrow(() => pipe.transceive(request(50, 15, shareEnumStub(1)), pick([0, 16, 4280])), `seed ${SEED}: round ${round}: transceive`);
    }
    pipe.close();
  }
  // Every kind of answer came up, and a fresh pipe still serves.
  for (const t of [PTYPE.response, PTYPE.fault, PTYPE.bind_ack, PTYPE.bind_nak]) assert.ok(outcomes.get(t), `seed ${SEED}: some PDUs of type ${t} (${JSON.stringify([...outcomes])})`);
  const pipe = createPipe('srvsvc', ctx)!;
  pipe.write(windowsBind());
  pipe.write(request(2, 15, shareEnumStub(1)));
  const [ack, resp] = drain(pipe);
  assert.equal(ack!.ptype, PTYPE.bind_ack);
  assert.equal(resp!.ptype, PTYPE.response);
});
