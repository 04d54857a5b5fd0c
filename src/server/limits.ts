/**
 * How many files the server may hold open at once.
 *
 * One process serves every client, so they share one fd table
 * (RLIMIT_NOFILE; 20000 on some container hosts, 1024 on others). Left to
 * itself, one user opening files until EMFILE took the last fd: every
 * accept() then failed and nobody else could connect, and splice pipes and
 * the fds of writes in flight failed with it. So opens stop short of the
 * limit, keeping room for what connections need besides: the socket, a
 * splice pipe pair or two, an fd for a write in flight (about four each).
 * Samba's "max open files" is the same idea per smbd process; here it is
 * the whole server.
 */
import { readFileSync } from 'node:fs';

/** fds kept for the process itself (event loop, ring, listeners, share roots, logs) */
const BASE_RESERVE = 256;
/** fds kept per allowed connection: the socket, a splice pipe pair, a write's fd */
const PER_CONNECTION = 4;

export interface OpenFileLimit {
  /** opens allowed at once across the server */
  limit: number;
  /** the soft RLIMIT_NOFILE read at start; null where it could not be read */
  nofile: number | null;
  /** fds kept for everything but opens */
  reserve: number;
}

/** The soft "Max open files" of this process, from /proc/self/limits; null elsewhere. */
export function readNofile(text?: string): number | null {
  let t = text;
  if (t === undefined) {
    try {
      t = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return null;
    }
  }
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(t);
  if (!m) return null;
  return m[1] === 'unlimited' ? null : Number(m[1]);
}

/** fds wanted for everything but opens: 256 plus four per allowed connection (a quarter of the limit when connections are unlimited). */
export function reserveWanted(maxConnections: number, nofile: number): number {
  return maxConnections > 0 ? BASE_RESERVE + PER_CONNECTION * maxConnections : Math.floor(nofile / 4);
}

/**
 * At most `configured` (0: no wish) and at most what the fd limit leaves
 * after the reserve (reserveWanted), but never less than a quarter of the
 * limit: a small limit still opens files, and connections
 * get what is left.
 */
export function openFileLimit(configured: number, maxConnections: number, nofile: number | null = readNofile()): OpenFileLimit {
  if (nofile === null) return { limit: configured > 0 ? configured : 16384, nofile, reserve: 0 };
  const fits = Math.max(Math.floor(nofile / 4), nofile - reserveWanted(maxConnections, nofile));
  const limit = configured > 0 ? Math.min(configured, fits) : fits;
  return { limit, nofile, reserve: nofile - limit };
}

/**
 * Whether a user asking for `n` more of something the whole server shares
 * (opens, byte-range locks) would take the part kept for the others: past
 * three quarters of `limit` in all, a user who would then hold more than
 * half of what is taken gets no more while another user has a session
 * (`othersPresent`, asked last). One user alone may use everything; one user
 * among others cannot lock them out.
 */
export function takesOthersShare(total: number, limit: number, mine: number, n: number, othersPresent: () => boolean): boolean {
  if ((total + n) * 4 <= limit * 3) return false;
  if ((mine + n) * 2 <= total + n) return false;
  return othersPresent();
}
