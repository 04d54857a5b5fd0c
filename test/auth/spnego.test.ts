// SPNEGO DER codecs and the SESSION_SETUP authentication exchanges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeSpnegoToken, encodeMechTypes, encodeNegTokenInit, encodeNegTokenInit2, encodeNegTokenResp, NegState, Oid,
} from '../../src/auth/spnego.js';
import { decodeOid, encodeOid } from '../../src/auth/der.js';
import { createClientAuth, createServerAuth, type AuthStepResult } from '../../src/auth/authenticator.js';
import { ntHash, NtlmClient } from '../../src/auth/ntlm.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('DER OIDs encode and decode', () => {
  assert.equal(encodeOid(Oid.NTLMSSP).toString('hex'), '060a2b0601040182370202' + '0a');
  assert.equal(encodeOid(Oid.SPNEGO).toString('hex'), '06062b0601050502');
  for (const o of Object.values(Oid)) assert.equal(decodeOid(encodeOid(o).subarray(2)), o);
});

test('NegTokenInit2 hint is byte-identical to the Windows/Samba NEGOTIATE blob', () => {
  const expect = Buffer.concat([
    hex('604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa32a3028a0261b24'),
    Buffer.from('not_defined_in_RFC4178@please_ignore', 'latin1'),
  ]);
  assert.deepEqual(encodeNegTokenInit2(), expect);
  const t = decodeSpnegoToken(expect);
  assert.ok(t.kind === 'init');
  assert.deepEqual(t.init.mechTypes, [Oid.NTLMSSP]);
  assert.equal(t.init.hintName, 'not_defined_in_RFC4178@please_ignore');
  assert.equal(t.init.mechListMIC, undefined);
});

test('NegTokenInit with an NTLMSSP NEGOTIATE has the usual client layout', () => {
  const neg = Buffer.concat([Buffer.from('NTLMSSP\0', 'latin1'), hex('0100000097820 8e2'.replace(' ', '')), Buffer.alloc(24)]);
  const tok = encodeNegTokenInit({ mechTypes: [Oid.NTLMSSP], mechToken: neg });
  assert.equal(tok.subarray(0, 36).toString('hex'),
    '604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa22a0428' + neg.subarray(0, 2).toString('hex'));
  const t = decodeSpnegoToken(tok);
  assert.ok(t.kind === 'init');
  assert.deepEqual(t.init.mechToken, neg);
  assert.deepEqual(t.init.mechTypesDer, encodeMechTypes([Oid.NTLMSSP]));
});

test('NegTokenResp round trip, long lengths, raw NTLMSSP, garbage', () => {
  const big = Buffer.alloc(70000, 7);
  const enc = encodeNegTokenResp({ negState: NegState.ACCEPT_INCOMPLETE, supportedMech: Oid.NTLMSSP, responseToken: big, mechListMIC: hex('01') });
  const t = decodeSpnegoToken(enc);
  assert.ok(t.kind === 'resp');
  assert.equal(t.resp.negState, NegState.ACCEPT_INCOMPLETE);
  assert.equal(t.resp.supportedMech, Oid.NTLMSSP);
  assert.deepEqual(t.resp.responseToken, big);
  assert.deepEqual(t.resp.mechListMIC, hex('01'));
  assert.equal(decodeSpnegoToken(Buffer.from('NTLMSSP\0\x01\0\0\0', 'latin1')).kind, 'raw');
  for (const bad of [hex(''), hex('60'), hex('6005060100'), enc.subarray(0, enc.length - 1), hex('a1023001')]) {
    assert.throws(() => decodeSpnegoToken(bad));
  }
});

const serverOpts = {
  lookup: (user: string) => (user.toLowerCase() === 'alice' ? { ntHash: ntHash('pa55word') } : null),
  netbiosName: 'RINGSRV',
  domain: 'WORKGROUP',
};

function run(password: string): { server: AuthStepResult; clientKey: Buffer; clientDone: boolean } {
  const sa = createServerAuth(serverOpts);
  const client = createClientAuth({ user: 'alice', password, domain: 'WORKGROUP' });
  const ex = sa.start();
  let c = client.step(sa.initialToken());
  let s = ex.step(c.token);
  assert.equal(s.status, 'more');
  c = client.step((s as { token: Buffer }).token);
  s = ex.step(c.token);
  let done = false;
  if (s.status === 'ok') done = client.step(s.token).done;
  return { server: s, clientKey: client.sessionKey, clientDone: done };
}

test('SPNEGO round trip with the right password: keys agree, mechListMICs verified both ways', () => {
  const r = run('pa55word');
  assert.equal(r.server.status, 'ok');
  if (r.server.status !== 'ok') return;
  assert.equal(r.server.user, 'alice');
  assert.deepEqual(r.server.sessionKey, r.clientKey);
  const fin = decodeSpnegoToken(r.server.token);
  assert.ok(fin.kind === 'resp' && fin.resp.negState === NegState.ACCEPT_COMPLETED && fin.resp.mechListMIC?.length === 16);
  assert.equal(r.clientDone, true);
});

test('SPNEGO round trip with a wrong password fails with a reject token', () => {
  const r = run('nope');
  assert.equal(r.server.status, 'failed');
  const tok = (r.server as { token?: Buffer }).token!;
  const t = decodeSpnegoToken(tok);
  assert.ok(t.kind === 'resp' && t.resp.negState === NegState.REJECT);
});

test('client rejects a forged server mechListMIC', () => {
  const sa = createServerAuth(serverOpts);
  const client = createClientAuth({ user: 'alice', password: 'pa55word' });
  const ex = sa.start();
  const s1 = ex.step(client.step(null).token) as { token: Buffer };
  const s2 = ex.step(client.step(s1.token).token);
  assert.equal(s2.status, 'ok');
  const forged = encodeNegTokenResp({ negState: NegState.ACCEPT_COMPLETED, mechListMIC: Buffer.alloc(16, 1) });
  assert.throws(() => client.step(forged), /mechListMIC/);
});

test('Windows-style init: Kerberos first with an optimistic token, NTLM chosen with request-mic', () => {
  const mechTypes = [Oid.MS_KRB5, Oid.KRB5, Oid.NEGOEX, Oid.NTLMSSP];
  const mechTypesDer = encodeMechTypes(mechTypes);
  const ex = createServerAuth(serverOpts).start();
  const r1 = ex.step(encodeNegTokenInit({ mechTypes, mechToken: hex('6082aabbcc') }));
  assert.equal(r1.status, 'more');
  const t1 = decodeSpnegoToken((r1 as { token: Buffer }).token);
  assert.ok(t1.kind === 'resp' && t1.resp.negState === NegState.REQUEST_MIC && t1.resp.supportedMech === Oid.NTLMSSP);
  assert.equal(t1.resp.responseToken, undefined);
  const nc = new NtlmClient({ user: 'Alice', password: 'pa55word' });
  const r2 = ex.step(encodeNegTokenResp({ responseToken: nc.negotiate() }));
  const t2 = decodeSpnegoToken((r2 as { token: Buffer }).token);
  assert.ok(t2.kind === 'resp');
  const auth = nc.authenticate(t2.resp.responseToken!);
  const mic = nc.security!.getMic(mechTypesDer);
  const r3 = ex.step(encodeNegTokenResp({ responseToken: auth, mechListMIC: mic }));
  assert.equal(r3.status, 'ok');
  const t3 = decodeSpnegoToken((r3 as { token: Buffer }).token);
  assert.ok(t3.kind === 'resp');
  assert.ok(nc.security!.verifyMic(mechTypesDer, t3.resp.mechListMIC!));
});

test('mechListMIC: wrong one fails; missing one fails after request-mic', () => {
  const mechTypes = [Oid.KRB5, Oid.NTLMSSP];
  for (const mode of ['wrong', 'missing'] as const) {
    const ex = createServerAuth(serverOpts).start();
    ex.step(encodeNegTokenInit({ mechTypes }));
    const nc = new NtlmClient({ user: 'alice', password: 'pa55word' });
    const t2 = decodeSpnegoToken((ex.step(encodeNegTokenResp({ responseToken: nc.negotiate() })) as { token: Buffer }).token);
    assert.ok(t2.kind === 'resp');
    const auth = nc.authenticate(t2.resp.responseToken!);
    const mic = mode === 'wrong' ? nc.security!.getMic(encodeMechTypes([Oid.NTLMSSP])) : undefined;
    const r = ex.step(encodeNegTokenResp({ responseToken: auth, ...(mic ? { mechListMIC: mic } : {}) }));
    assert.equal(r.status, 'failed', mode);
  }
});

test('raw NTLMSSP tokens without SPNEGO', () => {
  const ex = createServerAuth(serverOpts).start();
  const nc = new NtlmClient({ user: 'alice', password: 'pa55word' });
  const r1 = ex.step(nc.negotiate());
  assert.equal(r1.status, 'more');
  const ch = (r1 as { token: Buffer }).token;
  assert.equal(ch.subarray(0, 8).toString('latin1'), 'NTLMSSP\0');
  const r2 = ex.step(nc.authenticate(ch));
  assert.ok(r2.status === 'ok' && r2.token.length === 0);
  assert.deepEqual((r2 as { sessionKey: Buffer }).sessionKey, nc.sessionKey);
});

test('anonymous through SPNEGO; garbage and out-of-order tokens fail cleanly', () => {
  const sa = createServerAuth(serverOpts);
  const ex = sa.start();
  const client = createClientAuth({ user: '' });
  const s1 = ex.step(client.step(null).token) as { token: Buffer };
  const s2 = ex.step(client.step(s1.token).token);
  assert.ok(s2.status === 'ok' && s2.isAnonymous);
  assert.equal(sa.start().step(Buffer.from('hello')).status, 'failed');
  const nc = new NtlmClient({ user: 'alice', password: 'pa55word' });
  nc.negotiate();
  assert.equal(sa.start().step(encodeNegTokenInit({ mechTypes: [Oid.KRB5] })).status, 'failed');
  const ex2 = sa.start();
  ex2.step(encodeNegTokenInit({ mechTypes: [Oid.NTLMSSP], mechToken: nc.negotiate() }));
  assert.equal(ex2.step(encodeNegTokenResp({ responseToken: nc.negotiate() })).status, 'failed');
});
