/**
 * NT ACLs on share files: the security descriptor a client sets (CREATE with an
 * SD_BUFFER context, SET_INFO SECURITY) is kept in an extended attribute of the
 * file and enforced when the file is opened again (MS-DTYP 2.5.3.2 access check).
 *
 * Identity: every SMB user of this server acts on the files as the server's own
 * Unix user, so a session's token is that user's SID in Samba's "Unix User"
 * authority (S-1-22-1-uid), the same SID the default descriptor names as owner,
 * plus its group, Everyone and, unless guest or anonymous, Authenticated Users.
 * A file without a stored descriptor gets the default one (owner and group from
 * its uid and gid, Everyone allowed what the share allows) and no extra check.
 */
import { decodeSecurityDescriptor, encodeSecurityDescriptor, AceFlags, AceType, SdControl, WellKnownSid, type Ace, type SecurityDescriptor, type Sid } from '../smb2/security.js';
import { MalformedError } from '../smb2/wire.js';
import type { VfsFile, VfsStat } from '../vfs/types.js';
import { Access, mapGeneric, MaskFull } from './access.js';
import type { Session } from './state.js';

/** Where the descriptor lives (user.* works on tmpfs, ext4, xfs, btrfs without privilege). */
export const NTACL_XATTR = 'user.ringsmb.NTACL';

/** SecurityInformation bits of QUERY_INFO / SET_INFO (MS-DTYP 2.4.7). */
export const SecInfo = { OWNER: 0x1, GROUP: 0x2, DACL: 0x4, SACL: 0x8 } as const;

/** Rights the owner of an object always has (MS-DTYP 2.5.3.2, no OWNER RIGHTS ACE). */
const OWNER_IMPLICIT = Access.READ_CONTROL | Access.WRITE_DAC;

const uid = process.getuid?.() ?? 0;
const gid = process.getgid?.() ?? 0;

/** The SIDs a session acts with. */
export function tokenOf(session: Session | null): Sid[] {
  const sids: Sid[] = [`${WellKnownSid.UNIX_USER_PREFIX}${uid}`, `${WellKnownSid.UNIX_GROUP_PREFIX}${gid}`, WellKnownSid.EVERYONE];
  if (session && !session.isGuest && !session.isAnonymous) sids.push(WellKnownSid.AUTHENTICATED_USERS);
  return sids;
}

/** The descriptor of a file that has none stored. */
export function defaultDescriptor(st: VfsStat | null, shareMaximal: number): SecurityDescriptor {
  return {
    owner: `${WellKnownSid.UNIX_USER_PREFIX}${st?.uid ?? uid}`,
    group: `${WellKnownSid.UNIX_GROUP_PREFIX}${st?.gid ?? gid}`,
    dacl: [{ aceType: AceType.ACCESS_ALLOWED, aceFlags: 0, mask: shareMaximal, sid: WellKnownSid.EVERYONE }],
  };
}

/** The stored descriptor, or null when the file has none (or an unreadable one, which is logged). */
export async function loadDescriptor(file: VfsFile, log?: (m: string) => void): Promise<SecurityDescriptor | null> {
  let raw: Buffer | null | undefined;
  try {
    // Read beside the open's statx when CREATE asked for it (OpenOptions.prefetchXattr).
    raw = file.takeXattrAtOpen(NTACL_XATTR);
    if (raw === undefined) raw = await file.getXattr(NTACL_XATTR);
  } catch (err) {
    // No xattr support here: nothing was ever stored either.
    if ((err as { code?: string }).code === 'EOPNOTSUPP' || (err as { code?: string }).code === 'ENOTSUP') return null;
    throw err;
  }
  if (!raw) return null;
  try {
    return decodeSecurityDescriptor(raw);
  } catch (err) {
    log?.(`stored security descriptor unreadable (${(err as Error).message}); using the default`);
    return null;
  }
}

/** Stores `sd` on `file`, a file or directory of `share` (a directory's is forgotten by bareDirs). */
export async function storeDescriptor(file: VfsFile, sd: SecurityDescriptor, share: object): Promise<void> {
  if (file.isDirectory) bareDirs.forget(share);
  await file.setXattr(NTACL_XATTR, encodeSecurityDescriptor(sd, SecInfo.OWNER | SecInfo.GROUP | SecInfo.DACL));
}

/** How long the server trusts that a directory has no stored descriptor, and how many it remembers per share. */
const BARE_MS = 1000;
const BARE_MAX = 1024;
const bare = new WeakMap<object, Map<string, number>>();

/**
 * Directories of a share known, for a moment, to have no stored descriptor.
 * CREATE asks each new file's directory what it passes down (inheritedDescriptor),
 * and nearly always the answer is nothing: remembering it spares an open of the
 * directory per new file, which made a create+close cost 1.6x the CPU. The
 * server forgets a share's list whenever it stores a directory's descriptor
 * (storeDescriptor) or renames a directory there; a descriptor set from outside
 * the server is seen within BARE_MS.
 */
export const bareDirs = {
  has(share: object, dir: string): boolean {
    const t = bare.get(share)?.get(dir);
    return t !== undefined && Date.now() - t < BARE_MS;
  },
  add(share: object, dir: string): void {
    let m = bare.get(share);
    if (!m) bare.set(share, (m = new Map()));
    if (m.size >= BARE_MAX) m.clear();
    m.set(dir, Date.now());
  },
  forget(share: object): void {
    bare.delete(share);
  },
};

/** OWNER RIGHTS (MS-DTYP 2.4.2.4): ACEs for it apply to the owner, and replace the owner's implicit rights. */
const OWNER_RIGHTS = 'S-1-3-4';

/**
 * What `token` may do under `sd` (MS-DTYP 2.5.3.2), the maximal access: ACEs
 * in order, a right is decided by the first ACE that names it (a DENY after
 * the ALLOW of a right takes nothing away); a NULL DACL allows everything;
 * the owner keeps READ_CONTROL and WRITE_DAC unless the DACL has an OWNER
 * RIGHTS ACE, whose rights are then the owner's own. Inherit-only ACEs do not
 * apply.
 */
export function effectiveAccess(sd: SecurityDescriptor, token: readonly Sid[]): number {
  if (sd.dacl === null || sd.dacl === undefined) return MaskFull;
  const isOwner = sd.owner !== undefined && token.includes(sd.owner);
  let allowed = 0;
  let denied = 0;
  let ownerRights = false;
  for (const ace of sd.dacl) {
    if (ace.raw || ace.aceFlags & AceFlags.INHERIT_ONLY) continue;
    if (ace.sid === OWNER_RIGHTS) ownerRights = true;
    if (!(token.includes(ace.sid) || (isOwner && ace.sid === OWNER_RIGHTS))) continue;
    const mask = mapGeneric(ace.mask, MaskFull);
    if (ace.aceType === AceType.ACCESS_ALLOWED) allowed |= mask & ~denied;
    else if (ace.aceType === AceType.ACCESS_DENIED) denied |= mask & ~allowed;
  }
  if (isOwner && !ownerRights) allowed |= OWNER_IMPLICIT & ~denied;
  return allowed >>> 0;
}

/**
 * The descriptor for a new file created with an SD_BUFFER context: what the
 * client gave, with owner, group and DACL filled from the default where it left
 * them out (a descriptor without DACL_PRESENT gets the inherited default DACL).
 */
export function descriptorForCreate(given: Buffer, fallback: SecurityDescriptor): SecurityDescriptor | number {
  let sd: SecurityDescriptor & { control: number };
  try {
    sd = decodeSecurityDescriptor(given);
  } catch (err) {
    if (err instanceof MalformedError) return 0xc000000d; // STATUS_INVALID_PARAMETER
    throw err;
  }
  const dacl = sd.dacl === undefined ? { dacl: fallback.dacl, daclFlags: fallback.daclFlags } : { dacl: canonicalDacl(sd.dacl), daclFlags: storedDaclFlags(sd.control) };
  return { owner: sd.owner ?? fallback.owner, group: sd.group ?? fallback.group, ...dacl };
}

/**
 * SET_INFO SECURITY (MS-SMB2 3.3.5.21.3): the parts named by `info` replace those
 * of `current`. A DACL part without DACL_PRESENT sets a NULL DACL, as Windows does.
 * The DACL is kept as Windows keeps it (canonicalDacl, storedDaclFlags).
 */
export function mergeDescriptor(current: SecurityDescriptor, given: SecurityDescriptor & { control?: number }, info: number): SecurityDescriptor {
  const out: SecurityDescriptor = { ...current };
  if (info & SecInfo.OWNER && given.owner !== undefined) out.owner = given.owner;
  if (info & SecInfo.GROUP && given.group !== undefined) out.group = given.group;
  if (info & SecInfo.DACL) {
    out.dacl = given.dacl === undefined ? null : canonicalDacl(given.dacl);
    out.daclFlags = given.control !== undefined ? storedDaclFlags(given.control) : given.daclFlags;
  }
  return out;
}

/**
 * A DACL as Windows stores what a client sets (smbtorture smb2.acls CREATOR,
 * GENERIC): GENERIC_* bits of the ACEs that apply to the object itself are
 * mapped to the file rights they stand for; an inherit-only ACE keeps them,
 * for the objects that will inherit it.
 */
export function canonicalDacl(dacl: Ace[] | null): Ace[] | null {
  if (!dacl) return dacl;
  return dacl.map((ace) => (ace.raw || ace.aceFlags & AceFlags.INHERIT_ONLY || !(ace.mask & GENERIC_BITS) ? ace : { ...ace, mask: mapGeneric(ace.mask & ~Access.MAXIMUM_ALLOWED, 0) | (ace.mask & Access.MAXIMUM_ALLOWED) }));
}

const GENERIC_BITS = Access.GENERIC_ALL | Access.GENERIC_READ | Access.GENERIC_WRITE | Access.GENERIC_EXECUTE;

/**
 * The DACL control bits kept from a descriptor a client sets (MS-DTYP 2.5.3.4.3,
 * smbtorture smb2.acls INHERITFLAGS): PROTECTED as given; AUTO_INHERITED only
 * when AUTO_INHERIT_REQ asks for it too; AUTO_INHERIT_REQ itself is a request, never kept.
 */
export function storedDaclFlags(control: number): number {
  let flags = control & SdControl.DACL_PROTECTED;
  if ((control & SdControl.DACL_AUTO_INHERITED) && (control & SdControl.DACL_AUTO_INHERIT_REQ)) flags |= SdControl.DACL_AUTO_INHERITED;
  return flags;
}

const CREATOR_OWNER = 'S-1-3-0';
const CREATOR_GROUP = 'S-1-3-1';

/**
 * The descriptor a directory passes to a file or directory created in it
 * without an SD_BUFFER (MS-DTYP 2.5.3.4.2, the DACL part): a file takes the
 * OBJECT_INHERIT ACEs; a directory takes the CONTAINER_INHERIT ones, keeping
 * them inheritable unless NO_PROPAGATE_INHERIT says otherwise, and the
 * OBJECT_INHERIT-only ones as inherit-only, to pass them on to its files.
 * CREATOR OWNER and CREATOR GROUP become the creator's SIDs where the ACE
 * applies. Owner and group are the creator's. Null when the directory passes
 * nothing down: the new object keeps the default descriptor, as before.
 */
export function inheritedDescriptor(parent: SecurityDescriptor, isDirectory: boolean, token: readonly Sid[]): SecurityDescriptor | null {
  if (!parent.dacl) return null;
  const owner = token[0]!;
  const group = token[1]!;
  // MS-DTYP 2.5.3.4.2: inherited ACEs say so, and the new DACL is AUTO_INHERITED, only below an AUTO_INHERITED DACL.
  const auto = ((parent.daclFlags ?? 0) & SdControl.DACL_AUTO_INHERITED) !== 0;
  const INHERITED = auto ? AceFlags.INHERITED : 0;
  const effective = (sid: Sid): Sid => (sid === CREATOR_OWNER ? owner : sid === CREATOR_GROUP ? group : sid);
  const dacl: Ace[] = [];
  for (const ace of parent.dacl) {
    if (ace.raw) continue;
    const f = ace.aceFlags;
    const oi = (f & AceFlags.OBJECT_INHERIT) !== 0;
    const ci = (f & AceFlags.CONTAINER_INHERIT) !== 0;
    const noPropagate = (f & AceFlags.NO_PROPAGATE_INHERIT) !== 0;
    const base = { aceType: ace.aceType, mask: ace.mask };
    // What applies to the new object has its generic bits mapped; what it passes on keeps them.
    const own = { aceType: ace.aceType, mask: mapGeneric(ace.mask & ~Access.MAXIMUM_ALLOWED, 0) };
    if (!isDirectory) {
      if (oi) dacl.push({ ...own, aceFlags: INHERITED, sid: effective(ace.sid) });
      continue;
    }
    if (ci) {
      const creator = ace.sid === CREATOR_OWNER || ace.sid === CREATOR_GROUP;
      if (noPropagate) dacl.push({ ...own, aceFlags: INHERITED, sid: effective(ace.sid) });
      else if (!creator && !(ace.mask & GENERIC_BITS)) dacl.push({ ...base, aceFlags: INHERITED | (f & (AceFlags.OBJECT_INHERIT | AceFlags.CONTAINER_INHERIT)), sid: ace.sid });
      else {
        // What applies here names the creator (or has its generic bits mapped); the inheritable copy keeps them for those below.
        dacl.push({ ...own, aceFlags: INHERITED, sid: effective(ace.sid) });
        dacl.push({ ...base, aceFlags: INHERITED | AceFlags.INHERIT_ONLY | (f & (AceFlags.OBJECT_INHERIT | AceFlags.CONTAINER_INHERIT)), sid: ace.sid });
      }
    } else if (oi && !noPropagate) {
      dacl.push({ ...base, aceFlags: INHERITED | AceFlags.INHERIT_ONLY | AceFlags.OBJECT_INHERIT, sid: ace.sid });
    }
  }
  return dacl.length > 0 ? { owner, group, dacl, daclFlags: auto ? SdControl.DACL_AUTO_INHERITED : 0 } : null;
}

