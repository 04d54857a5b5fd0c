// Samba's ntlm_auth (a real NTLMSSP/SPNEGO client) against our server exchange; skipped without it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createServerAuth, type AuthStepResult } from '../../src/auth/authenticator.js';
import { ntHash } from '../../src/auth/ntlm.js';

const haveNtlmAuth = spawnSync('ntlm_auth', ['--version']).status === 0;
const skip = haveNtlmAuth ? false : 'ntlm_auth (Samba) not installed';

/** Drives `ntlm_auth --helper-protocol=<proto>` as the client; returns the server's last result. */
async function drive(proto: string, password: string): Promise<{ last: AuthStepResult; clientFinal: string }> {
  const p = spawn('ntlm_auth', [`--helper-protocol=${proto}`, '--username=alice', `--password=${password}`, '--domain=WORKGROUP'], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const lines = createInterface({ input: p.stdout! })[Symbol.asyncIterator]();
  const ask = async (l: string): Promise<string> => {
    p.stdin!.write(l + '\n');
    const r = await lines.next();
    return r.done ? '' : String(r.value);
  };
  const ex = createServerAuth({
    lookup: (u) => (u.toLowerCase() === 'alice' ? { ntHash: ntHash('pa55word') } : null),
    netbiosName: 'RINGSRV',
    domain: 'WORKGROUP',
  }).start();
  try {
    let reply = await ask('YR');
    let last: AuthStepResult = { status: 'failed', reason: 'no exchange' };
    for (let i = 0; i < 4; i++) {
      const [code, b64] = reply.split(' ');
      if (!b64 || !['YR', 'KK', 'AF', 'TT'].includes(code!)) break;
      last = ex.step(Buffer.from(b64, 'base64'));
      if (last.status === 'failed') break;
      if (last.status === 'ok') {
        const final = last.token.length ? await ask('TT ' + last.token.toString('base64')) : 'AF';
        return { last, clientFinal: final };
      }
      reply = await ask('TT ' + last.token.toString('base64'));
    }
    return { last, clientFinal: '' };
  } finally {
    p.kill();
  }
}

test('ntlm_auth raw NTLMSSP client: right password accepted, wrong refused', { skip }, async () => {
  const ok = await drive('ntlmssp-client-1', 'pa55word');
  assert.equal(ok.last.status, 'ok');
  const bad = await drive('ntlmssp-client-1', 'wrong');
  assert.equal(bad.last.status, 'failed');
});

test('ntlm_auth SPNEGO client: accepted, and the client accepts our final token', { skip }, async () => {
  const ok = await drive('gss-spnego-client', 'pa55word');
  assert.equal(ok.last.status, 'ok');
  assert.match(ok.clientFinal, /^AF/);
  const bad = await drive('gss-spnego-client', 'wrong');
  assert.equal(bad.last.status, 'failed');
});
