/**
 * SIDs (MS-DTYP 2.4.2.2) and self-relative security descriptors (MS-DTYP 2.4.6)
 * with owner, group and DACL. ACCESS_ALLOWED and ACCESS_DENIED ACEs are decoded;
 * ACEs of other types (object, callback, audit) are carried verbatim. A SACL is
 * not kept (setting one needs a privilege the server never grants).
 */
import { MalformedError, need, zeroed } from './wire.js';

/** 'S-1-5-21-…' strings. */
export type Sid = string;

export const WellKnownSid = {
  EVERYONE: 'S-1-1-0',
  CREATOR_OWNER: 'S-1-3-0',
  AUTHENTICATED_USERS: 'S-1-5-11',
  LOCAL_SYSTEM: 'S-1-5-18',
  BUILTIN_ADMINISTRATORS: 'S-1-5-32-544',
  BUILTIN_USERS: 'S-1-5-32-545',
  /** Samba's "Unix User" / "Unix Group" authorities, for uid/gid mapping. */
  UNIX_USER_PREFIX: 'S-1-22-1-',
  UNIX_GROUP_PREFIX: 'S-1-22-2-',
} as const;

export function encodeSid(sid: Sid): Buffer {
  const parts = sid.split('-');
  if (parts.length < 3 || parts[0] !== 'S' || parts[1] !== '1') throw new RangeError(`bad SID ${sid}`);
  const authority = BigInt(parts[2]!);
  const subs = parts.slice(3).map((s) => Number(s));
  if (subs.length > 15 || subs.some((s) => !Number.isInteger(s) || s < 0 || s > 0xffffffff)) {
    throw new RangeError(`bad SID ${sid}`);
  }
  const b = zeroed(8 + subs.length * 4);
  b.writeUInt8(1, 0);
  b.writeUInt8(subs.length, 1);
  // IdentifierAuthority is 6 bytes, big-endian.
  b.writeUIntBE(Number(authority), 2, 6);
  subs.forEach((s, i) => b.writeUInt32LE(s, 8 + i * 4));
  return b;
}

/** Decodes a SID at `off`; returns it and its size. */
export function decodeSid(b: Buffer, off = 0): { sid: Sid; size: number } {
  need(b, off, 8, 'SID');
  if (b[off] !== 1) throw new MalformedError('SID: bad revision');
  const n = b[off + 1]!;
  if (n > 15) throw new MalformedError('SID: too many sub-authorities');
  need(b, off, 8 + n * 4, 'SID');
  const parts = ['S', '1', String(b.readUIntBE(off + 2, 6))];
  for (let i = 0; i < n; i++) parts.push(String(b.readUInt32LE(off + 8 + i * 4)));
  return { sid: parts.join('-'), size: 8 + n * 4 };
}

export const AceType = { ACCESS_ALLOWED: 0x00, ACCESS_DENIED: 0x01 } as const;
export const AceFlags = {
  OBJECT_INHERIT: 0x01,
  CONTAINER_INHERIT: 0x02,
  NO_PROPAGATE_INHERIT: 0x04,
  INHERIT_ONLY: 0x08,
  INHERITED: 0x10,
} as const;

export interface Ace {
  aceType: number;
  aceFlags: number;
  mask: number;
  sid: Sid;
  /** the whole ACE as received, for types other than ACCESS_ALLOWED/DENIED (re-sent as is) */
  raw?: Buffer;
}

/** SECURITY_DESCRIPTOR Control bits (2.4.6). */
export const SdControl = {
  OWNER_DEFAULTED: 0x0001,
  GROUP_DEFAULTED: 0x0002,
  DACL_PRESENT: 0x0004,
  DACL_DEFAULTED: 0x0008,
  SACL_PRESENT: 0x0010,
  DACL_AUTO_INHERIT_REQ: 0x0100,
  DACL_AUTO_INHERITED: 0x0400,
  SACL_AUTO_INHERITED: 0x0800,
  DACL_PROTECTED: 0x1000,
  SELF_RELATIVE: 0x8000,
} as const;

export interface SecurityDescriptor {
  owner?: Sid;
  group?: Sid;
  /**
   * undefined: no DACL (DACL_PRESENT clear); null: a NULL DACL (DACL_PRESENT with
   * no ACL: everyone gets every right, MS-DTYP 2.4.6); []: an empty DACL (nobody).
   */
  dacl?: Ace[] | null;
  /** DACL_PROTECTED / DACL_AUTO_INHERITED bits as received (kept, not interpreted) */
  daclFlags?: number;
}

function encodeAcl(aces: readonly Ace[]): Buffer {
  const bodies = aces.map((a) => {
    if (a.raw) return a.raw;
    const sid = encodeSid(a.sid);
    const b = zeroed(8 + sid.length);
    b.writeUInt8(a.aceType, 0);
    b.writeUInt8(a.aceFlags, 1);
    b.writeUInt16LE(b.length, 2);
    b.writeUInt32LE(a.mask >>> 0, 4);
    sid.copy(b, 8);
    return b;
  });
  const size = 8 + bodies.reduce((n, b) => n + b.length, 0);
  const h = zeroed(8);
  h.writeUInt8(2, 0); // ACL_REVISION
  h.writeUInt16LE(size, 2);
  h.writeUInt16LE(aces.length, 4);
  return Buffer.concat([h, ...bodies], size);
}

/**
 * Self-relative SD: header(20), then owner, group, DACL, in that order. `include`
 * is the request's AdditionalInformation (OWNER 1 | GROUP 2 | DACL 4); parts not asked
 * for are left out (MS-SMB2 3.3.5.20.3).
 */
export function encodeSecurityDescriptor(sd: SecurityDescriptor, include = 0x7): Buffer {
  const owner = include & 1 && sd.owner ? encodeSid(sd.owner) : undefined;
  const group = include & 2 && sd.group ? encodeSid(sd.group) : undefined;
  const withDacl = (include & 4) !== 0 && sd.dacl !== undefined;
  const dacl = withDacl && sd.dacl ? encodeAcl(sd.dacl) : undefined;
  let control = SdControl.SELF_RELATIVE;
  if (withDacl) control |= SdControl.DACL_PRESENT | ((sd.daclFlags ?? 0) & (SdControl.DACL_PROTECTED | SdControl.DACL_AUTO_INHERITED));
  const h = zeroed(20);
  h.writeUInt8(1, 0);
  let off = 20;
  const place = (part: Buffer | undefined, field: number) => {
    if (!part) return;
    h.writeUInt32LE(off, field);
    off += part.length;
  };
  place(owner, 4);
  place(group, 8);
  place(dacl, 16);
  h.writeUInt16LE(control, 2);
  return Buffer.concat([h, owner ?? zeroed(0), group ?? zeroed(0), dacl ?? zeroed(0)]);
}

/** Owner and group SIDs with one ACE granting Everyone FILE_ALL_ACCESS (0x001F01FF). */
export function everyoneFullAccess(owner: Sid, group: Sid): SecurityDescriptor {
  return { owner, group, dacl: [{ aceType: AceType.ACCESS_ALLOWED, aceFlags: 0, mask: 0x001f01ff, sid: WellKnownSid.EVERYONE }] };
}

export function decodeSecurityDescriptor(b: Buffer): SecurityDescriptor & { control: number } {
  need(b, 0, 20, 'security descriptor');
  if (b[0] !== 1) throw new MalformedError('security descriptor: bad revision');
  const control = b.readUInt16LE(2);
  if (!(control & SdControl.SELF_RELATIVE)) throw new MalformedError('security descriptor: not self-relative');
  const sd: SecurityDescriptor & { control: number } = { control };
  const ownerOff = b.readUInt32LE(4);
  const groupOff = b.readUInt32LE(8);
  const daclOff = b.readUInt32LE(16);
  if (ownerOff) sd.owner = decodeSid(b, ownerOff).sid;
  if (groupOff) sd.group = decodeSid(b, groupOff).sid;
  if (control & SdControl.DACL_PRESENT) {
    sd.dacl = daclOff ? decodeAcl(b, daclOff) : null;
    sd.daclFlags = control & (SdControl.DACL_PROTECTED | SdControl.DACL_AUTO_INHERITED);
  }
  return sd;
}

function decodeAcl(b: Buffer, off: number): Ace[] {
  need(b, off, 8, 'ACL');
  const size = b.readUInt16LE(off + 2);
  const count = b.readUInt16LE(off + 4);
  need(b, off, size, 'ACL');
  const aces: Ace[] = [];
  let p = off + 8;
  for (let i = 0; i < count; i++) {
    need(b, p, 8, 'ACE');
    const aceSize = b.readUInt16LE(p + 2);
    if (aceSize < 8 || p + aceSize > off + size) throw new MalformedError('ACE: bad size');
    const aceType = b[p]!;
    if (aceType === AceType.ACCESS_ALLOWED || aceType === AceType.ACCESS_DENIED) {
      aces.push({ aceType, aceFlags: b[p + 1]!, mask: b.readUInt32LE(p + 4), sid: decodeSid(b, p + 8).sid });
    } else {
      aces.push({ aceType, aceFlags: b[p + 1]!, mask: b.readUInt32LE(p + 4), sid: '', raw: Buffer.from(b.subarray(p, p + aceSize)) });
    }
    p += aceSize;
  }
  return aces;
}
