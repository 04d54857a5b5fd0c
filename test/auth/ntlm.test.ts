// NTLMv2 against MS-NLMP 4.2 vectors, and NtlmClient <-> NtlmServer round trips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rc4 } from '../../src/crypto/rc4.js';
import {
  computeNtlmv2Response, ntHash, ntowfv2, NtlmSecurityContext, sealKey, signKey, verifyNtlmv2Response,
} from '../../src/auth/ntlm-crypto.js';
import {
  AvId, avString, decodeAuthenticate, decodeAvPairs, decodeChallenge, encodeAvPairs, NtlmFlags,
} from '../../src/auth/ntlm-messages.js';
import { NtlmClient, NtlmServer } from '../../src/auth/ntlm.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// MS-NLMP 4.2.1 common values.
const serverChallenge = hex('0123456789abcdef');
const clientChallenge = hex('aaaaaaaaaaaaaaaa');
const randomSessionKey = hex('55555555555555555555555555555555');
const time = hex('0000000000000000');

test('MS-NLMP 4.2.2.1.2: NT hash of "Password"', () => {
  assert.equal(ntHash('Password').toString('hex'), 'a4f49c406510bdcab6824ee7c30fd852');
});

test('MS-NLMP 4.2.4: NTLMv2 responses, session base key, KEY_EXCH', () => {
  const ntowf = ntowfv2(ntHash('Password'), 'User', 'Domain');
  assert.equal(ntowf.toString('hex'), '0c868a403bfd7a93a3001ef22ef02e3f');
  const av = encodeAvPairs([
    { id: AvId.NbDomainName, value: avString('Domain') },
    { id: AvId.NbComputerName, value: avString('Server') },
  ]);
  const r = computeNtlmv2Response(ntowf, serverChallenge, clientChallenge, time, av);
  assert.equal(r.lmResponse.toString('hex'), '86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa');
  assert.equal(r.ntProofStr.toString('hex'), '68cd0ab851e51c96aabc927bebef6a1c');
  assert.equal(r.sessionBaseKey.toString('hex'), '8de40ccadbc14a82f15cb0ad0de95ca3');
  assert.equal(
    r.ntResponse.toString('hex'),
    '68cd0ab851e51c96aabc927bebef6a1c0101000000000000' + '0000000000000000' + 'aaaaaaaaaaaaaaaa' + '00000000' +
      '02000c0044006f006d00610069006e00' + '01000c005300650072007600650072000000' + '0000' + '00000000',
  );
  assert.equal(rc4(r.sessionBaseKey, randomSessionKey).toString('hex'), 'c5dad2544fc9799094ce1ce90bc9d03e');
  assert.deepEqual(verifyNtlmv2Response(ntowf, serverChallenge, r.ntResponse), r.sessionBaseKey);
  const bad = Buffer.from(r.ntResponse);
  bad[40] ^= 1;
  assert.equal(verifyNtlmv2Response(ntowf, serverChallenge, bad), null);
});

test('MS-NLMP 4.2.4.4: sign/seal keys and GSS_WrapEx with ESS + KEY_EXCH', () => {
  const flags = NtlmFlags.EXTENDED_SESSIONSECURITY | NtlmFlags.KEY_EXCH | NtlmFlags.NEGOTIATE_128 | NtlmFlags.SEAL | NtlmFlags.SIGN;
  assert.equal(sealKey(randomSessionKey, flags, true).toString('hex'), '59f600973cc4960a25480a7c196e4c58');
  assert.equal(signKey(randomSessionKey, true).toString('hex'), '4788dc861b4782f35d43fd98fe1a2d39');
  const client = new NtlmSecurityContext(randomSessionKey, flags, 'client');
  const w = client.wrap(Buffer.from('Plaintext', 'utf16le'));
  assert.equal(w.sealed.toString('hex'), '54e50165bf1936dc996020c1811b0f06fb5f');
  assert.equal(w.signature.toString('hex'), '010000007fb38ec5c55d497600000000');
  const server = new NtlmSecurityContext(randomSessionKey, flags, 'server');
  assert.deepEqual(server.unwrap(w.sealed, w.signature), Buffer.from('Plaintext', 'utf16le'));
});

test('security context: MICs verify across roles, in sequence, and not otherwise', () => {
  const flags = NtlmFlags.EXTENDED_SESSIONSECURITY | NtlmFlags.KEY_EXCH | NtlmFlags.NEGOTIATE_128;
  const key = hex('000102030405060708090a0b0c0d0e0f');
  const c = new NtlmSecurityContext(key, flags, 'client');
  const s = new NtlmSecurityContext(key, flags, 'server');
  const m1 = Buffer.from('mechTypes');
  const mic1 = c.getMic(m1);
  assert.ok(s.verifyMic(m1, mic1));
  const mic2 = s.getMic(m1);
  assert.notDeepEqual(mic2, mic1, 'directions use different keys');
  assert.ok(c.verifyMic(m1, mic2));
  const s2 = new NtlmSecurityContext(key, flags, 'server');
  assert.equal(s2.verifyMic(Buffer.from('mechTypez'), mic1), false);
});

function makeServer(opts: { allowGuest?: boolean } = {}) {
  const users = new Map([['alice', ntHash('s3cret!')]]);
  return new NtlmServer({
    lookup: (user) => {
      const h = users.get(user.toLowerCase());
      return h ? { ntHash: h } : null;
    },
    netbiosName: 'RINGSRV',
    domain: 'WORKGROUP',
    ...opts,
  });
}

test('round trip: right password succeeds with equal session keys, MIC checked', () => {
  for (const domain of ['', 'WORKGROUP', 'OtherDom']) {
    const server = makeServer();
    const client = new NtlmClient({ user: 'Alice', password: 's3cret!', domain, workstation: 'laptop' });
    const challenge = server.negotiate(client.negotiate());
    const ch = decodeChallenge(challenge);
    assert.ok(ch.flags & NtlmFlags.TARGET_INFO);
    assert.ok(decodeAvPairs(ch.targetInfo).some((p) => p.id === AvId.Timestamp));
    const auth = client.authenticate(challenge);
    assert.ok(decodeAuthenticate(auth).mic);
    const r = server.authenticate(auth);
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.user, 'Alice');
    assert.equal(r.domain, domain);
    assert.equal(r.isGuest, false);
    assert.equal(r.isAnonymous, false);
    assert.deepEqual(r.sessionKey, client.sessionKey);
    assert.equal(r.sessionKey.length, 16);
  }
});

test('round trip: NT hash instead of password', () => {
  const server = makeServer();
  const client = new NtlmClient({ user: 'alice', ntHash: ntHash('s3cret!') });
  const r = server.authenticate(client.authenticate(server.negotiate(client.negotiate())));
  assert.equal(r.ok, true);
});

test('round trip: wrong password and unknown user fail', () => {
  const server = makeServer();
  const client = new NtlmClient({ user: 'alice', password: 'wrong' });
  const r = server.authenticate(client.authenticate(server.negotiate(client.negotiate())));
  assert.deepEqual(r.ok ? null : r.status, 'LOGON_FAILURE');
  const s2 = makeServer();
  const c2 = new NtlmClient({ user: 'mallory', password: 'x' });
  assert.equal(s2.authenticate(c2.authenticate(s2.negotiate(c2.negotiate()))).ok, false);
});

test('round trip: tampered AUTHENTICATE fails the MIC', () => {
  const server = makeServer();
  const client = new NtlmClient({ user: 'alice', password: 's3cret!', workstation: 'laptop' });
  const auth = client.authenticate(server.negotiate(client.negotiate()));
  // Flip a bit in the workstation name: not covered by NTProofStr, covered by the MIC.
  const a = decodeAuthenticate(auth);
  const ws = auth.indexOf(Buffer.from(a.workstation, 'utf16le'));
  assert.ok(ws > 0);
  auth[ws] ^= 0x01;
  const r = server.authenticate(auth);
  assert.equal(r.ok, false);
  assert.match(r.ok ? '' : r.reason, /MIC/);
});

test('guest for unknown users only when allowed; a known user with a bad password is no guest', () => {
  const server = makeServer({ allowGuest: true });
  const c = new NtlmClient({ user: 'nobody', password: 'x' });
  const r = server.authenticate(c.authenticate(server.negotiate(c.negotiate())));
  assert.ok(r.ok && r.isGuest);
  const s2 = makeServer({ allowGuest: true });
  const c2 = new NtlmClient({ user: 'alice', password: 'bad' });
  assert.equal(s2.authenticate(c2.authenticate(s2.negotiate(c2.negotiate()))).ok, false);
});

test('anonymous logon is reported as anonymous', () => {
  const server = makeServer();
  const c = new NtlmClient({ user: '' });
  const r = server.authenticate(c.authenticate(server.negotiate(c.negotiate())));
  assert.ok(r.ok && r.isAnonymous && !r.isGuest);
});

test('NTLMv1 (24-byte NT response) is refused', () => {
  const server = makeServer();
  const c = new NtlmClient({ user: 'alice', password: 's3cret!' });
  server.negotiate(c.negotiate());
  // Hand-built AUTHENTICATE with 24-byte LM/NT responses.
  const msg = Buffer.alloc(64 + 48 + 10);
  Buffer.from('NTLMSSP\0', 'latin1').copy(msg);
  msg.writeUInt32LE(3, 8);
  const field = (at: number, len: number, off: number) => {
    msg.writeUInt16LE(len, at); msg.writeUInt16LE(len, at + 2); msg.writeUInt32LE(off, at + 4);
  };
  field(12, 24, 64); field(20, 24, 88); field(36, 10, 112);
  msg.write('alice', 112, 'utf16le');
  msg.writeUInt32LE(NtlmFlags.UNICODE | NtlmFlags.NTLM, 60);
  const r = server.authenticate(msg);
  assert.equal(r.ok, false);
});

test('malformed messages do not throw out of authenticate()', () => {
  const server = makeServer();
  const c = new NtlmClient({ user: 'alice', password: 's3cret!' });
  const auth = c.authenticate(server.negotiate(c.negotiate()));
  for (const cut of [8, 20, 63, 80, auth.length - 5]) assert.equal(server.authenticate(auth.subarray(0, cut)).ok, false);
  assert.throws(() => server.negotiate(Buffer.from('garbage')));
});
