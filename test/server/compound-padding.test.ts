/**
 * Compound responses (MS-SMB2 3.3.4.1.3): every response of a compound is
 * padded to 8 bytes, the last one too (its NextCommand stays 0), as Windows
 * and Samba send them (smbtorture smb2.compound.compound-padding); a lone
 * response is not padded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { until } from '../interop/harness.js';
import { encodeEchoRequest } from '../../src/smb2/commands/echo.js';
import { Command } from '../../src/smb2/constants.js';
import { serverAndClient } from './fixtures/server-and-client.js';

const env = serverAndClient();

test('two ECHOs in one compound come back as 72 + 72 bytes (68 each, padded), a lone ECHO as 68', async () => {
  const frames: Buffer[] = [];
  env.c.onFrame = (f) => frames.push(f);
  env.c.sendCompound([{ command: Command.ECHO, body: encodeEchoRequest() }, { command: Command.ECHO, body: encodeEchoRequest() }]);
  await until(() => frames.length >= 1, 2000, 'the compound response');
  const f = frames[0]!;
  assert.equal(f.length, 144);
  assert.equal(f.readUInt32LE(20), 72, 'NextCommand of the first');
  assert.equal(f.readUInt32LE(72 + 20), 0, 'NextCommand of the last');
  assert.ok(f.subarray(140).equals(Buffer.alloc(4)), 'zero padding');
  frames.length = 0;
  assert.equal((await env.c.request(Command.ECHO, encodeEchoRequest())).msg.length, 68);
  assert.equal(frames[0]!.length, 68);
  env.c.onFrame = null;
});
