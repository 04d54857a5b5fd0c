/**
 * One error base for the library: every error has a stable `code`.
 * System errors carry `errno` (positive) and `code` ('ENOENT') as Node's do.
 */
import { constants as osConstants } from 'node:os';

const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(osConstants.errno)) {
  if (!errnoNames.has(value)) errnoNames.set(value, name);
}

/** 'ENOENT' for 2, and so on; 'E<n>' when Node does not know the number. */
export function errnoName(errno: number): string {
  const e = Math.abs(errno);
  return errnoNames.get(e) ?? `E${e}`;
}

export function errnoOf(code: string): number {
  const v = (osConstants.errno as Record<string, number>)[code];
  if (v === undefined) throw new RangeError(`unknown errno name ${code}`);
  return v;
}

export class RingsmbError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A failed syscall or io_uring op. */
export class SystemError extends RingsmbError {
  readonly errno: number;
  readonly syscall: string;
  constructor(syscall: string, errno: number, detail?: string) {
    const e = Math.abs(errno);
    const code = errnoName(e);
    super(code, `${syscall} failed: ${code}${detail ? ` (${detail})` : ''}`);
    this.errno = e;
    this.syscall = syscall;
  }
}

/** Throws a SystemError when a native result is a negative errno. */
export function check(syscall: string, r: number): number {
  if (r < 0) throw new SystemError(syscall, -r);
  return r;
}
