/**
 * Share access checks between opens of one file (MS-FSA 2.1.5.1.2, the
 * "share access" part of opening an existing file): an open that reads,
 * writes or deletes conflicts with another that did not share that right,
 * and the other way round. Opens that do none of the three (attribute or
 * stat opens) take part on neither side.
 */
import { ShareAccess } from '../smb2/constants.js';
import { Access } from './access.js';

const READING = Access.FILE_READ_DATA | Access.FILE_EXECUTE;
const WRITING = Access.FILE_WRITE_DATA | Access.FILE_APPEND_DATA;
const DELETING = Access.DELETE;

export interface ShareModeHolder {
  grantedAccess: number;
  shareAccess: number;
}

function participates(access: number): boolean {
  return (access & (READING | WRITING | DELETING)) !== 0;
}

/** Whether a new open with `access` and `share` may coexist with `existing`. */
export function shareCompatible(access: number, share: number, existing: ShareModeHolder): boolean {
  if (!participates(access) || !participates(existing.grantedAccess)) return true;
  const theirs = existing.shareAccess;
  const had = existing.grantedAccess;
  if (access & READING && !(theirs & ShareAccess.READ)) return false;
  if (access & WRITING && !(theirs & ShareAccess.WRITE)) return false;
  if (access & DELETING && !(theirs & ShareAccess.DELETE)) return false;
  if (had & READING && !(share & ShareAccess.READ)) return false;
  if (had & WRITING && !(share & ShareAccess.WRITE)) return false;
  if (had & DELETING && !(share & ShareAccess.DELETE)) return false;
  return true;
}

/** True when the new open conflicts with any of `opens`. */
export function sharingViolation(access: number, share: number, opens: Iterable<ShareModeHolder>): boolean {
  for (const o of opens) if (!shareCompatible(access, share, o)) return true;
  return false;
}
