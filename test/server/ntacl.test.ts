/** NT ACL evaluation and descriptor merging (src/server/ntacl.ts, MS-DTYP 2.5.3.2, MS-SMB2 3.3.5.21.3). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalDacl, effectiveAccess, inheritedDescriptor, mergeDescriptor, descriptorForCreate, SecInfo, tokenOf } from '../../src/server/ntacl.js';
import { AceType, AceFlags, WellKnownSid, encodeSecurityDescriptor, decodeSecurityDescriptor, type SecurityDescriptor } from '../../src/smb2/security.js';

const token = tokenOf(null);
const me = token[0]!;
const READ = 0x00120089;
const WRITE_DATA = 0x2;
const READ_CONTROL = 0x00020000;
const WRITE_DAC = 0x00040000;

test('a NULL DACL allows everything; an empty DACL leaves the owner READ_CONTROL and WRITE_DAC only', () => {
  assert.equal(effectiveAccess({ owner: me, dacl: null }, token), 0x001f01ff);
  assert.equal(effectiveAccess({ owner: me, dacl: [] }, token), READ_CONTROL | WRITE_DAC);
  assert.equal(effectiveAccess({ owner: 'S-1-5-21-1-2-3-500', dacl: [] }, token), 0);
});

test('ACEs decide in order: a deny before an allow wins, an allow before a deny wins', () => {
  const allow = { aceType: AceType.ACCESS_ALLOWED, aceFlags: 0, mask: READ | WRITE_DATA, sid: WellKnownSid.EVERYONE };
  const deny = { aceType: AceType.ACCESS_DENIED, aceFlags: 0, mask: WRITE_DATA, sid: me };
  assert.equal(effectiveAccess({ dacl: [deny, allow] }, token) & WRITE_DATA, 0);
  assert.equal(effectiveAccess({ dacl: [allow, deny] }, token) & WRITE_DATA, WRITE_DATA);
});

test('inherit-only ACEs and SIDs outside the token do not apply; GENERIC bits are mapped', () => {
  const inheritOnly = { aceType: AceType.ACCESS_ALLOWED, aceFlags: AceFlags.INHERIT_ONLY, mask: 0x001f01ff, sid: WellKnownSid.EVERYONE };
  const creatorOwner = { aceType: AceType.ACCESS_ALLOWED, aceFlags: 0, mask: 0x001f01ff, sid: WellKnownSid.CREATOR_OWNER };
  assert.equal(effectiveAccess({ dacl: [inheritOnly, creatorOwner] }, token), 0);
  const genericRead = { aceType: AceType.ACCESS_ALLOWED, aceFlags: 0, mask: 0x80000000, sid: WellKnownSid.EVERYONE };
  assert.equal(effectiveAccess({ dacl: [genericRead] }, token) & 0x1, 0x1);
});

test('OWNER RIGHTS ACEs apply to the owner and take the place of its implicit READ_CONTROL and WRITE_DAC (MS-DTYP 2.5.3.2)', () => {
  const OWNER_RIGHTS = 'S-1-3-4';
  const ownerRead = { aceType: AceType.ACCESS_ALLOWED, aceFlags: 0, mask: READ, sid: me };
  const orWrite = { aceType: AceType.ACCESS_ALLOWED, aceFlags: 0, mask: WRITE_DATA, sid: OWNER_RIGHTS };
  // smbtorture smb2.acls OWNER-RIGHTS: the owner's READ plus OWNER RIGHTS' WRITE_DATA, and no WRITE_DAC.
  assert.equal(effectiveAccess({ owner: me, dacl: [ownerRead, orWrite] }, token), READ | WRITE_DATA);
  // A leading DENY for OWNER RIGHTS takes READ_DATA from the owner's READ (OWNER-RIGHTS-DENY).
  const orDenyRead = { aceType: AceType.ACCESS_DENIED, aceFlags: 0, mask: 0x1, sid: OWNER_RIGHTS };
  assert.equal(effectiveAccess({ owner: me, dacl: [orDenyRead, ownerRead] }, token), READ & ~0x1);
  // A trailing DENY takes nothing already granted (OWNER-RIGHTS-DENY1).
  const orDenyBoth = { aceType: AceType.ACCESS_DENIED, aceFlags: 0, mask: WRITE_DATA | 0x1, sid: OWNER_RIGHTS };
  assert.equal(effectiveAccess({ owner: me, dacl: [ownerRead, orWrite, orDenyBoth] }, token), READ | WRITE_DATA);
  // Not the owner: OWNER RIGHTS ACEs do not apply.
  assert.equal(effectiveAccess({ owner: 'S-1-5-21-1-2-3-500', dacl: [orWrite] }, token), 0);
  // Without an OWNER RIGHTS ACE the owner keeps READ_CONTROL and WRITE_DAC (DENY1).
  const ownerDenyWrite = { aceType: AceType.ACCESS_DENIED, aceFlags: 0, mask: WRITE_DATA, sid: me };
  assert.equal(effectiveAccess({ owner: me, dacl: [{ ...ownerRead, mask: READ | WRITE_DATA }, ownerDenyWrite] }, token), READ | WRITE_DATA | WRITE_DAC);
});

test('a DACL a client sets is kept as Windows keeps it: generic bits mapped where the ACE applies, AUTO_INHERITED only with AUTO_INHERIT_REQ', () => {
  const allow = (mask: number, aceFlags: number) => ({ aceType: AceType.ACCESS_ALLOWED, aceFlags, mask, sid: me });
  const given = { dacl: [allow(0x80000000 | 0x001f0000, 0), allow(0x40000000, AceFlags.INHERIT_ONLY | AceFlags.OBJECT_INHERIT)] };
  // smbtorture smb2.acls CREATOR: GENERIC_READ | STANDARD_RIGHTS_ALL is stored as FILE_GENERIC_READ | STANDARD_RIGHTS_ALL.
  assert.deepEqual(canonicalDacl(given.dacl), [allow(READ | 0x001f0000, 0), allow(0x40000000, AceFlags.INHERIT_ONLY | AceFlags.OBJECT_INHERIT)]);
  const merged = mergeDescriptor({ owner: me, dacl: [] }, { ...given, control: 0x8004 | 0x0400 | 0x1000 }, SecInfo.DACL);
  assert.equal(merged.daclFlags, 0x1000, 'PROTECTED kept; AUTO_INHERITED alone is not');
  assert.equal(mergeDescriptor({ owner: me, dacl: [] }, { ...given, control: 0x8004 | 0x0400 | 0x0100 }, SecInfo.DACL).daclFlags, 0x0400, 'with AUTO_INHERIT_REQ it is');
});

test('guests and anonymous sessions are not Authenticated Users', () => {
  assert.ok(token.includes(WellKnownSid.EVERYONE));
  assert.ok(!token.includes(WellKnownSid.AUTHENTICATED_USERS));
});

test('SET_INFO merge: a DACL part without DACL_PRESENT becomes a NULL DACL; owner kept when not named', () => {
  const cur: SecurityDescriptor = { owner: me, group: 'S-1-22-2-0', dacl: [] };
  const m = mergeDescriptor(cur, { owner: 'S-1-5-32-544' }, SecInfo.DACL);
  assert.equal(m.owner, me);
  assert.equal(m.dacl, null);
  const wire = decodeSecurityDescriptor(encodeSecurityDescriptor(m));
  assert.equal(wire.control & 0x0004, 0x0004, 'DACL_PRESENT');
  assert.equal(wire.dacl, null);
});

test('CREATE with an SD that has no DACL takes the default DACL; a malformed SD is INVALID_PARAMETER', () => {
  const fallback: SecurityDescriptor = { owner: me, group: 'S-1-22-2-0', dacl: [{ aceType: 0, aceFlags: 0, mask: 1, sid: WellKnownSid.EVERYONE }] };
  const empty = encodeSecurityDescriptor({});
  const sd = descriptorForCreate(empty, fallback);
  assert.notEqual(typeof sd, 'number');
  assert.deepEqual((sd as SecurityDescriptor).dacl, fallback.dacl);
  assert.equal(descriptorForCreate(Buffer.alloc(3), fallback), 0xc000000d);
});

test('inheritance: a file takes OBJECT_INHERIT ACEs bare; a directory keeps CONTAINER_INHERIT ones inheritable and OBJECT_INHERIT-only ones inherit-only; NO_PROPAGATE stops there; CREATOR OWNER becomes the creator', () => {
  const OI = AceFlags.OBJECT_INHERIT, CI = AceFlags.CONTAINER_INHERIT, NP = AceFlags.NO_PROPAGATE_INHERIT, IO = AceFlags.INHERIT_ONLY, INH = AceFlags.INHERITED;
  const allow = (sid: string, mask: number, aceFlags: number) => ({ aceType: AceType.ACCESS_ALLOWED, aceFlags, mask, sid });
  // An AUTO_INHERITED parent DACL: the inherited ACEs say so, and so does the new DACL (MS-DTYP 2.5.3.4.2).
  const parent: SecurityDescriptor = {
    owner: WellKnownSid.EVERYONE,
    daclFlags: 0x0400,
    dacl: [allow(WellKnownSid.EVERYONE, READ, OI), allow(me, 0x1f01ff, OI | CI), allow('S-1-3-0', WRITE_DATA, OI | CI | IO), allow(WellKnownSid.EVERYONE, WRITE_DAC, CI | NP), allow(WellKnownSid.EVERYONE, READ_CONTROL, 0)],
  };
  const file = inheritedDescriptor(parent, false, token)!;
  assert.equal(file.owner, me);
  assert.equal(file.daclFlags, 0x0400);
  assert.deepEqual(file.dacl, [allow(WellKnownSid.EVERYONE, READ, INH), allow(me, 0x1f01ff, INH), allow(me, WRITE_DATA, INH)]);
  const dir = inheritedDescriptor(parent, true, token)!;
  assert.deepEqual(dir.dacl, [
    allow(WellKnownSid.EVERYONE, READ, INH | IO | OI),
    allow(me, 0x1f01ff, INH | OI | CI),
    allow(me, WRITE_DATA, INH),
    allow('S-1-3-0', WRITE_DATA, INH | IO | OI | CI),
    allow(WellKnownSid.EVERYONE, WRITE_DAC, INH),
  ]);
  // Without AUTO_INHERITED the same ACEs come without the INHERITED flag (smbtorture smb2.acls INHERITANCE).
  const plain = inheritedDescriptor({ ...parent, daclFlags: 0 }, false, token)!;
  assert.equal(plain.daclFlags, 0);
  assert.deepEqual(plain.dacl, [allow(WellKnownSid.EVERYONE, READ, 0), allow(me, 0x1f01ff, 0), allow(me, WRITE_DATA, 0)]);
  // A generic right passed down is mapped where it applies and kept generic in the copy passed further.
  const generic = inheritedDescriptor({ dacl: [allow(WellKnownSid.EVERYONE, 0x80000000, OI | CI)] }, true, token)!;
  assert.deepEqual(generic.dacl, [allow(WellKnownSid.EVERYONE, READ, 0), allow(WellKnownSid.EVERYONE, 0x80000000, IO | OI | CI)]);
  assert.equal(inheritedDescriptor({ dacl: [allow(me, READ, 0)] }, false, token), null, 'nothing inheritable: the default stays');
  assert.equal(inheritedDescriptor({ dacl: null }, true, token), null);
});

