/**
 * FILETIME (MS-DTYP 2.3.3): 100-nanosecond intervals since 1601-01-01 UTC, as u64.
 * SMB2 carries it in every timestamp. In SET_INFO (MS-FSCC 2.4.7) 0 means "leave
 * unchanged", -1 (all ones) "leave unchanged and stop updating it", -2 "resume updating".
 */

/** 1601-01-01 to 1970-01-01 in 100 ns units. */
export const FILETIME_UNIX_EPOCH = 116444736000000000n;
export const FILETIME_KEEP = 0n;
export const FILETIME_FREEZE = 0xffffffffffffffffn;
export const FILETIME_THAW = 0xfffffffffffffffen;

/** Unix time in nanoseconds (as fs.Stats with bigint: true gives, e.g. `mtimeNs`) to FILETIME. */
export function unixNsToFiletime(ns: bigint): bigint {
  const ft = ns / 100n + FILETIME_UNIX_EPOCH;
  return ft < 0n ? 0n : ft;
}

/** FILETIME to Unix nanoseconds (may be negative before 1970). */
export function filetimeToUnixNs(ft: bigint): bigint {
  return (ft - FILETIME_UNIX_EPOCH) * 100n;
}

export function msToFiletime(ms: number): bigint {
  return unixNsToFiletime(BigInt(Math.round(ms * 1e6)));
}

export function filetimeToMs(ft: bigint): number {
  return Number(filetimeToUnixNs(ft) / 1000000n);
}

export function dateToFiletime(d: Date): bigint {
  return msToFiletime(d.getTime());
}

export function filetimeToDate(ft: bigint): Date {
  return new Date(filetimeToMs(ft));
}

/** True for the SET_INFO special values that do not name a time (0, -1, -2). */
export function isSpecialFiletime(ft: bigint): boolean {
  return ft === FILETIME_KEEP || ft === FILETIME_FREEZE || ft === FILETIME_THAW;
}
