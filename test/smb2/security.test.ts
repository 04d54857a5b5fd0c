import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeSecurityDescriptor,
  decodeSid,
  encodeSecurityDescriptor,
  encodeSid,
  everyoneFullAccess,
  SdControl,
} from '../../src/smb2/security.js';
import { MalformedError } from '../../src/smb2/wire.js';
import { hex } from './helpers.js';

test('SID encode (MS-DTYP 2.4.2.2): authority big-endian, sub-authorities little-endian', () => {
  assert.deepEqual(encodeSid('S-1-1-0'), hex('01 01 000000000001 00000000'));
  assert.deepEqual(encodeSid('S-1-5-32-544'), hex('01 02 000000000005 20000000 20020000'));
  assert.deepEqual(decodeSid(hex('01 02 000000000005 20000000 20020000')), { sid: 'S-1-5-32-544', size: 16 });
  assert.equal(decodeSid(encodeSid('S-1-22-1-1000')).sid, 'S-1-22-1-1000');
  assert.throws(() => encodeSid('X-1-1'), RangeError);
  assert.throws(() => decodeSid(hex('01 02 000000000005 20000000')), MalformedError);
});

test('self-relative SD with owner, group and an Everyone DACL: known bytes', () => {
  const sd = everyoneFullAccess('S-1-22-1-1000', 'S-1-22-2-1000');
  const b = encodeSecurityDescriptor(sd);
  const owner = '01 02 000000000016 01000000 e8030000';
  const group = '01 02 000000000016 02000000 e8030000';
  // ACL: revision 2, size 8 + ACE (8 + 12) = 28, one ACE ACCESS_ALLOWED mask 0x1F01FF for S-1-1-0.
  const dacl = '02 00 1c00 0100 0000  00 00 1400 ff011f00 01 01 000000000001 00000000';
  const expected = hex(`01 00 0480 14000000 24000000 00000000 34000000 ${owner} ${group} ${dacl}`);
  assert.deepEqual(b, expected);
  const d = decodeSecurityDescriptor(b);
  assert.equal(d.control, SdControl.SELF_RELATIVE | SdControl.DACL_PRESENT);
  assert.equal(d.owner, sd.owner);
  assert.equal(d.group, sd.group);
  assert.deepEqual(d.dacl, sd.dacl);
});

test('AdditionalInformation selects the parts', () => {
  const sd = everyoneFullAccess('S-1-5-18', 'S-1-5-18');
  const ownerOnly = decodeSecurityDescriptor(encodeSecurityDescriptor(sd, 1));
  assert.equal(ownerOnly.owner, 'S-1-5-18');
  assert.equal(ownerOnly.group, undefined);
  assert.equal(ownerOnly.dacl, undefined);
  const daclOnly = encodeSecurityDescriptor(sd, 4);
  assert.equal(daclOnly.readUInt32LE(4), 0);
  assert.equal(daclOnly.readUInt32LE(16), 20);
});

test('malformed SDs are rejected', () => {
  const b = encodeSecurityDescriptor(everyoneFullAccess('S-1-5-18', 'S-1-5-18'));
  assert.throws(() => decodeSecurityDescriptor(b.subarray(0, 10)), MalformedError);
  const notRel = Buffer.from(b);
  notRel.writeUInt16LE(0x0004, 2);
  assert.throws(() => decodeSecurityDescriptor(notRel), /self-relative/);
  const badAce = Buffer.from(b);
  badAce.writeUInt16LE(200, b.readUInt32LE(16) + 8 + 2);
  assert.throws(() => decodeSecurityDescriptor(badAce), MalformedError);
});
