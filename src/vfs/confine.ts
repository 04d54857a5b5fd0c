/**
 * Share confinement (ARCHITECTURE decision 6): the kernel, not string checks,
 * keeps every name beneath the share root.
 *
 * - Whole-path opens go through openat2(rootfd, rel, RESOLVE_BENEATH |
 *   RESOLVE_NO_MAGICLINKS): a '..' or a symlink (absolute or relative) that
 *   would leave the root fails with EXDEV, /proc magic links with ELOOP.
 * - Path ops (unlink, rmdir, mkdir, rename, link, symlink, readlink) open the
 *   parent directory that way (O_PATH|O_DIRECTORY) and then act on one final
 *   component with the *at syscall, which never follows a final symlink.
 *
 * validateRelPath() is not the confinement; it turns malformed names into
 * the errno the server maps to the right NTSTATUS before the kernel is asked.
 * The algorithms here are written against `PathSys`, so the uring module can
 * reuse them with its own OPENAT2/close.
 */
import { SystemError, errnoOf } from '../util/errors.js';
import { O_CLOEXEC, O_CREAT, O_DIRECTORY, O_PATH, RESOLVE_BENEATH, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS } from './linux.js';

const PATH_MAX = 4096;
const NAME_MAX = 255;
const EAGAIN_RETRIES = 4;

const EINVAL = errnoOf('EINVAL');
const EACCES = errnoOf('EACCES');
const EAGAIN = errnoOf('EAGAIN');
const ENAMETOOLONG = errnoOf('ENAMETOOLONG');

/**
 * The error for a malformed share-relative path, or null when it is well formed.
 * EINVAL (-> OBJECT_NAME_INVALID): absolute, empty or '.' component, NUL.
 * EACCES (-> ACCESS_DENIED): a '..' component. ENAMETOOLONG: over PATH_MAX/NAME_MAX.
 */
export function relPathError(rel: string): SystemError | null {
  if (typeof rel !== 'string') return new SystemError('validateRelPath', EINVAL, 'not a string');
  if (rel === '') return null;
  if (rel.includes('\0')) return new SystemError('validateRelPath', EINVAL, 'NUL in name');
  if (rel.startsWith('/')) return new SystemError('validateRelPath', EINVAL, 'absolute path');
  if (Buffer.byteLength(rel) >= PATH_MAX) return new SystemError('validateRelPath', ENAMETOOLONG);
  for (const part of rel.split('/')) {
    if (part === '') return new SystemError('validateRelPath', EINVAL, 'empty component');
    if (part === '.') return new SystemError('validateRelPath', EINVAL, "'.' component");
    if (part === '..') return new SystemError('validateRelPath', EACCES, "'..' component");
    if (Buffer.byteLength(part) > NAME_MAX) return new SystemError('validateRelPath', ENAMETOOLONG);
  }
  return null;
}

/** Throws relPathError(rel) when there is one. */
export function validateRelPath(rel: string): void {
  const err = relPathError(rel);
  if (err) throw err;
}

/** The name the kernel is given: '' (the root) becomes '.'. */
export function kernelPath(rel: string): string {
  return rel === '' ? '.' : rel;
}

/** NUL-terminated UTF-8, for the native syscalls. */
export function cString(s: string): Buffer {
  return Buffer.from(s + '\0', 'utf8');
}

/** Splits a validated non-root path into parent ('' = root) and final name. */
export function splitParent(rel: string): { parent: string; name: string } {
  const i = rel.lastIndexOf('/');
  return i < 0 ? { parent: '', name: rel } : { parent: rel.slice(0, i), name: rel.slice(i + 1) };
}

export function resolveFlags(followSymlinks: boolean): number {
  return RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | (followSymlinks ? 0 : RESOLVE_NO_SYMLINKS);
}

/** The two syscalls the confinement algorithms need; result >= 0 or -errno. */
export interface PathSys {
  /** path is relative to dirfd (or absolute with AT_FDCWD), without NUL. */
  openat2(dirfd: number, path: string, flags: number, mode: number, resolve: number): Promise<number>;
  /** Closes an fd the algorithms opened (errors are ignored: O_PATH fds). */
  closeFd(fd: number): void;
}

/**
 * openat2 beneath dirfd; returns the fd or throws SystemError. EAGAIN means
 * the kernel saw a concurrent rename and could not prove '..' stayed beneath:
 * retried a few times, then reported.
 */
export async function openBeneath(sys: PathSys, dirfd: number, rel: string, flags: number, mode: number,
  followSymlinks = true): Promise<number> {
  const path = kernelPath(rel);
  const resolve = resolveFlags(followSymlinks);
  if (!(flags & O_CREAT)) mode = 0; // openat2, unlike openat, refuses a mode it would ignore (EINVAL)
  let r = -EAGAIN;
  for (let i = 0; i < EAGAIN_RETRIES && r === -EAGAIN; i++) {
    r = await sys.openat2(dirfd, path, flags | O_CLOEXEC, mode, resolve);
  }
  if (r < 0) throw new SystemError('openat2', -r, rel === '' ? '.' : rel);
  return r;
}

/**
 * Runs fn(parentFd, finalName) with the parent of rel opened O_PATH beneath
 * the root, and closes the parent afterwards. rel must not be the root (EINVAL:
 * the root has no name to act on). Intermediate symlinks are followed (beneath).
 */
export async function withParent<T>(sys: PathSys, rootfd: number, rel: string,
  fn: (parentFd: number, name: string) => Promise<T>): Promise<T> {
  validateRelPath(rel);
  if (rel === '') throw new SystemError('validateRelPath', EINVAL, 'the share root has no parent');
  const { parent, name } = splitParent(rel);
  const pfd = await openBeneath(sys, rootfd, parent, O_PATH | O_DIRECTORY, 0);
  try {
    return await fn(pfd, name);
  } finally {
    sys.closeFd(pfd);
  }
}

/** Like withParent, for the two names of rename/link. */
export async function withTwoParents<T>(sys: PathSys, rootfd: number, fromRel: string, toRel: string,
  fn: (fromFd: number, fromName: string, toFd: number, toName: string) => Promise<T>): Promise<T> {
  return withParent(sys, rootfd, fromRel, (fromFd, fromName) =>
    withParent(sys, rootfd, toRel, (toFd, toName) => fn(fromFd, fromName, toFd, toName)));
}
