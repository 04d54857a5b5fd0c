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

/** Milliseconds (as Date.now() gives) to FILETIME, exactly: ms x 1e6 would pass 2^53 as a double. */
export function msToFiletime(ms: number): bigint {
  const whole = Math.floor(ms);
  return unixNsToFiletime(BigInt(whole) * 1000000n + BigInt(Math.round((ms - whole) * 1e6)));
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

/**
 * The four FILETIMEs that open FileBasicInformation (MS-FSCC 2.4.7) and recur, in this
 * order, in FileNetworkOpenInformation, the directory classes and the CREATE and CLOSE
 * responses.
 */
export interface FileTimes {
  creationTime: bigint;
  lastAccessTime: bigint;
  lastWriteTime: bigint;
  changeTime: bigint;
}

/** Writes the 32 bytes of `t` at `off`. */
export function writeFileTimes(b: Buffer, off: number, t: FileTimes): void {
  b.writeBigUInt64LE(t.creationTime, off);
  b.writeBigUInt64LE(t.lastAccessTime, off + 8);
  b.writeBigUInt64LE(t.lastWriteTime, off + 16);
  b.writeBigUInt64LE(t.changeTime, off + 24);
}

/** Reads 32 bytes at `off`; the caller has checked that they are there. */
export function readFileTimes(b: Buffer, off: number): FileTimes {
  return {
    creationTime: b.readBigUInt64LE(off),
    lastAccessTime: b.readBigUInt64LE(off + 8),
    lastWriteTime: b.readBigUInt64LE(off + 16),
    changeTime: b.readBigUInt64LE(off + 24),
  };
}
