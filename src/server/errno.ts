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
 * components, empty components, components over 255 characters ('/' is
 * taken for '\\'). Trailing
 * spaces and dots are legal and kept. A trailing '::$DATA' (the unnamed data
 * stream) is dropped; other stream names are refused (no named streams).
 */
export function smbPathToRel(name: string): string | number {
  // '/' separates as '\\' does, as Samba takes it (smbtorture smb2.timestamps names files so).
  let s = name.includes('/') ? name.replace(/\//g, '\\') : name;
  while (s.startsWith('\\')) s = s.slice(1);
  if (s.endsWith('\\')) s = s.slice(0, -1);
  if (s === '') return '';
  s = s.replace(DATA_STREAM, '');
  const parts = s.split('\\');
  // A path that starts by climbing out of the share: OBJECT_PATH_SYNTAX_BAD, as Windows (and
  // Samba's check_path_syntax) answer it (smbtorture smb2.mkdir); any other '..' is refused below.
  if (parts[0] === '..') return NtStatus.OBJECT_PATH_SYNTAX_BAD;
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
 *
 * Compiled once per directory scan. A pattern with wildcards runs as a
 * set of pattern positions advanced one name character at a time (an NFA):
 * O(pattern x name) steps whatever the pattern, where the memoised
 * recursion before it cost 15 ms a name for a 255-character '*a*a*...b'
 * against long names (a map entry per pair), so one QUERY_DIRECTORY of such
 * a pattern on a directory of 10,000 entries held the event loop minutes.
 */
export function compileWildcard(pattern: string): (name: string) => boolean {
  if (pattern === '*' || pattern === '') return () => true;
  const P = pattern.toUpperCase().replace(/\*{2,}/g, '*').replace(/<{2,}/g, '<');
  // A plain name (the common lookup of one entry): a comparison.
  if (!hasWildcards(P)) return (name) => name.length === P.length && name.toUpperCase() === P;
  // '*' then a plain tail ("*.TXT"): a suffix.
  if (P[0] === '*' && !hasWildcards(P.slice(1))) {
    const tail = P.slice(1);
    return (name) => name.length >= tail.length && name.toUpperCase().endsWith(tail);
  }
  const len = P.length;
  const codes = new Uint16Array(len);
  const STAR = 42, QM = 63, DOS_QM = 62, DOS_DOT = 34, DOS_STAR = 60, DOT = 46;
  const wild = new Uint8Array(len);
  for (let i = 0; i < len; i++) {
    const w = (codes[i] = P.charCodeAt(i));
    wild[i] = w === STAR || w === QM || w === DOS_QM || w === DOS_DOT || w === DOS_STAR ? 1 : 0;
  }
  let cur = new Uint8Array(len + 1);
  let next = new Uint8Array(len + 1);
  return (name) => {
    const N = name.toUpperCase();
    const n = N.length;
    const lastDot = N.lastIndexOf('.');
    cur.fill(0);
    cur[0] = 1;
    let lo = 0;
    let hi = 0;
    for (let i = 0; ; i++) {
      const c = i < n ? N.charCodeAt(i) : -1;
      // Moves that take no character: forward by one, so one pass in order closes them.
      for (let p = lo; p < len && p <= hi; p++) {
        if (!cur[p]) continue;
        const w = codes[p];
        if (w === STAR || w === DOS_STAR || (w === DOS_QM && (c === -1 || c === DOT)) || (w === DOS_DOT && c === -1)) {
          cur[p + 1] = 1;
          if (p + 1 > hi) hi = p + 1;
        }
      }
      if (i === n) return cur[len] === 1;
      next.fill(0);
      let nlo = len + 1;
      let nhi = -1;
      const dosStarTakes = lastDot < 0 || i <= lastDot;
      for (let p = lo; p <= hi && p < len; p++) {
        if (!cur[p]) continue;
        const w = codes[p];
        let to = -1;
        if (w === STAR || (w === DOS_STAR && dosStarTakes)) to = p;
        else if (w === QM || (w === DOS_QM && c !== DOT) || (w === DOS_DOT && c === DOT) || (w === c && !wild[p])) to = p + 1;
        if (to < 0) continue;
        next[to] = 1;
        if (to < nlo) nlo = to;
        if (to > nhi) nhi = to;
      }
      if (nhi < 0) return false;
      const t = cur;
      cur = next;
      next = t;
      lo = nlo;
      hi = nhi;
    }
  };
}

/** One name against one pattern (compileWildcard, for a single use). */
export function wildcardMatch(pattern: string, name: string): boolean {
  return compileWildcard(pattern)(name);
}
