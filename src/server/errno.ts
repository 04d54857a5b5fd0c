/**
 * The one place errno codes become NTSTATUS, plus the SMB path and wildcard
 * rules the file handlers share (MS-FSCC 2.1.5, MS-FSA 2.1.4.4).
 */
import { NtStatus } from '../smb2/status.js';

export interface ErrnoOptions {
  /** ENOENT/ENOTDIR concern a missing parent directory: OBJECT_PATH_NOT_FOUND. */
  parentMissing?: boolean;
  /** ENOTDIR means the target itself is not a directory (FILE_DIRECTORY_FILE): NOT_A_DIRECTORY. */
  wantDirectory?: boolean;
  /** ELOOP: report STOPPED_ON_SYMLINK instead of OBJECT_NAME_NOT_FOUND. */
  symlinkStatus?: boolean;
  /** Called for EXDEV (a path tried to leave the share) and unknown codes, for the log. */
  log?: (msg: string) => void;
}

function codeOf(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return undefined;
}

/** Maps a failure from the VFS (SystemError with .code) to an NTSTATUS. */
export function errnoToStatus(err: unknown, opts: ErrnoOptions = {}): number {
  const code = codeOf(err);
  switch (code) {
    case 'ENOENT':
      return opts.parentMissing ? NtStatus.OBJECT_PATH_NOT_FOUND : NtStatus.OBJECT_NAME_NOT_FOUND;
    case 'EEXIST':
      return NtStatus.OBJECT_NAME_COLLISION;
    case 'EACCES':
    case 'EPERM':
      return NtStatus.ACCESS_DENIED;
    case 'EXDEV':
      // Confinement: resolution tried to leave the share (RESOLVE_BENEATH).
      opts.log?.(`path escaped the share: ${(err as Error).message}`);
      return NtStatus.ACCESS_DENIED;
    case 'ENOTDIR':
      return opts.wantDirectory ? NtStatus.NOT_A_DIRECTORY : NtStatus.OBJECT_PATH_NOT_FOUND;
    case 'EISDIR':
      return NtStatus.FILE_IS_A_DIRECTORY;
    case 'ENOTEMPTY':
      return NtStatus.DIRECTORY_NOT_EMPTY;
    case 'ENOSPC':
    case 'EDQUOT':
    case 'EFBIG':
      return NtStatus.DISK_FULL;
    case 'EROFS':
      return NtStatus.MEDIA_WRITE_PROTECTED;
    case 'ENAMETOOLONG':
      return NtStatus.OBJECT_NAME_INVALID;
    case 'EINVAL':
      return NtStatus.INVALID_PARAMETER;
    case 'ELOOP':
      return opts.symlinkStatus ? NtStatus.STOPPED_ON_SYMLINK : NtStatus.OBJECT_NAME_NOT_FOUND;
    case 'EMFILE':
    case 'ENFILE':
      return NtStatus.TOO_MANY_OPENED_FILES;
    case 'EBADF':
      return NtStatus.FILE_CLOSED;
    case 'EBUSY':
    case 'ETXTBSY':
      return NtStatus.SHARING_VIOLATION;
    default:
      opts.log?.(`unmapped error ${code ?? ''}: ${(err as Error)?.message ?? String(err)}`);
      return NtStatus.UNEXPECTED_IO_ERROR;
  }
}

/** Characters never legal in an SMB file name component (MS-FSCC 2.1.5.2). */
const ILLEGAL = /["*/:<>?|\x00-\x1f]/;
const DATA_STREAM = /::\$DATA$/i;

/**
 * Converts an SMB path ('\'-separated, may start with '\', '' for the share
 * root) to the VFS's share-relative '/' form. Returns an NTSTATUS for names
 * that are invalid per MS-FSCC 2.1.5: illegal characters, '.' or '..'
 * components, empty components, components over 255 characters. Trailing
 * spaces and dots are legal and kept. A trailing '::$DATA' (the unnamed data
 * stream) is dropped; other stream names are refused (no named streams).
 */
export function smbPathToRel(name: string): string | number {
  let s = name;
  while (s.startsWith('\\')) s = s.slice(1);
  if (s.endsWith('\\')) s = s.slice(0, -1);
  if (s === '') return '';
  s = s.replace(DATA_STREAM, '');
  const parts = s.split('\\');
  for (const p of parts) {
    if (p === '' || p === '.' || p === '..') return NtStatus.OBJECT_NAME_INVALID;
    if (p.length > 255) return NtStatus.OBJECT_NAME_INVALID;
    if (ILLEGAL.test(p)) return NtStatus.OBJECT_NAME_INVALID;
  }
  return parts.join('/');
}

/** True when the pattern contains a wildcard character (MS-FSA 2.1.4.4). */
export function hasWildcards(pattern: string): boolean {
  return /[*?<>"]/.test(pattern);
}

/**
 * FsRtlIsNameInExpression-style matching (MS-FSA 2.1.4.4), case-insensitive:
 * '*' any run, '?' one character, and the DOS wildcards
 * '>' (DOS_QM: one character, or nothing at a '.' or the end of the name),
 * '<' (DOS_STAR: any run up to and including the name's final '.'),
 * '"' (DOS_DOT: a '.', or nothing at the end of the name).
 */
export function wildcardMatch(pattern: string, name: string): boolean {
  if (pattern === '*' || pattern === '') return true;
  const P = pattern.toUpperCase();
  const N = name.toUpperCase();
  // A plain name (the common lookup of one entry): no matcher, no memo per entry.
  if (!hasWildcards(pattern)) return P === N;
  const lastDot = N.lastIndexOf('.');
  const memo = new Map<number, boolean>();
  const W = N.length + 1;
  const m = (p: number, n: number): boolean => {
    const key = p * W + n;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    let r: boolean;
    if (p === P.length) r = n === N.length;
    else {
      const c = P[p]!;
      switch (c) {
        case '*':
          r = m(p + 1, n) || (n < N.length && m(p, n + 1));
          break;
        case '?':
          r = n < N.length && m(p + 1, n + 1);
          break;
        case '>':
          r = n === N.length || N[n] === '.' ? m(p + 1, n) : m(p + 1, n + 1);
          break;
        case '"':
          r = n === N.length ? m(p + 1, n) : N[n] === '.' && m(p + 1, n + 1);
          break;
        case '<': {
          // Zero or more characters, never past the final '.' (which it may consume).
          r = m(p + 1, n);
          if (!r && n < N.length && (lastDot < 0 || n <= lastDot)) r = m(p, n + 1);
          break;
        }
        default:
          r = n < N.length && N[n] === c && m(p + 1, n + 1);
      }
    }
    memo.set(key, r);
    return r;
  };
  return m(0, 0);
}
