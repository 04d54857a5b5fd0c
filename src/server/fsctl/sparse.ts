/**
 * Sparse files: FSCTL_SET_SPARSE (MS-FSCC 2.3.64), FSCTL_SET_ZERO_DATA (2.3.67)
 * and FSCTL_QUERY_ALLOCATED_RANGES (2.3.51), with the rules of MS-FSA
 * 2.1.5.10.x. Linux has no per-file "sparse" bit: the flag is kept here, in
 * memory, per file (it shows as FILE_ATTRIBUTE_SPARSE_FILE and lasts as long as
 * the server process).
 */
import { Access } from '../../smb2/constants.js';
import {
  decodeAllocatedRange, decodeZeroDataInformation, encodeAllocatedRanges, type ByteRange,
} from '../../smb2/commands/fsctl.js';
import { NtStatus } from '../../smb2/status.js';
import type { VfsFile, VfsStat } from '../../vfs/types.js';
import { rangeConflicts } from '../handlers/lock.js';
import type { Open } from '../state.js';

const I64_MAX = 0x7fffffffffffffffn;
/** Granularity of the zero scan: the page size holes are punched in on Linux filesystems. */
const PAGE = 4096;
/** Bytes read per step of the zero scan and per write of the zero-fill fallback. */
const STEP = 1 << 20;
/** Past this many bytes scanned, the rest of a range is reported as allocated (allowed: see allocatedRanges). */
const SCAN_BUDGET = 256 * STEP;
const ZEROS = Buffer.alloc(STEP);

/** A result: output bytes, or an NTSTATUS. */
export type FsctlResult = { status: number; output: Buffer };

const done = (status: number, output: Buffer = Buffer.alloc(0)): FsctlResult => ({ status, output });

/**
 * Files marked sparse: dev:ino -> birth time. The birth time, where both sides
 * know it, tells a file apart from a later one that reuses the inode number.
 */
const sparse = new Map<string, bigint | null>();

const inode = (st: VfsStat) => `${st.dev}:${st.ino}`;

export function isSparse(st: VfsStat): boolean {
  if (sparse.size === 0 || st.isDirectory) return false;
  const born = sparse.get(inode(st));
  if (born === undefined) return false;
  return born === null || st.birthtimeNs === null || born === st.birthtimeNs;
}

/**
 * FSCTL_SET_SPARSE: no buffer means "set" (MS-FSCC 2.3.64); a longer buffer is
 * accepted, only its first byte counts. Any of WRITE_DATA, APPEND_DATA or
 * WRITE_ATTRIBUTES allows it (MS-FSA 2.1.5.10.29, as Windows behaves).
 */
export function setSparse(open: Open, input: Buffer): FsctlResult {
  if (open.isDirectory) return done(NtStatus.INVALID_PARAMETER);
  const may = Access.FILE_WRITE_DATA | Access.FILE_APPEND_DATA | Access.FILE_WRITE_ATTRIBUTES;
  if ((open.grantedAccess & may) === 0) return done(NtStatus.ACCESS_DENIED);
  const st = open.file!.statAtOpen;
  if (input.length === 0 || input[0] !== 0) sparse.set(inode(st), st.birthtimeNs);
  else sparse.delete(inode(st));
  return done(NtStatus.SUCCESS);
}

/**
 * FSCTL_SET_ZERO_DATA: zeroes [FileOffset, BeyondFinalZero) without moving the
 * end of file. Holes are punched, sparse file or not: a non-sparse file still
 * reports the range allocated (queryAllocatedRanges), and re-reserving the
 * space as Samba's "strict allocate" does would need fallocate at an offset,
 * which the Vfs does not offer. Where punching is refused, zeros are written.
 */
export async function zeroData(open: Open, input: Buffer): Promise<FsctlResult> {
  if (open.isDirectory) return done(NtStatus.INVALID_PARAMETER);
  if ((open.grantedAccess & Access.FILE_WRITE_DATA) === 0) return done(NtStatus.ACCESS_DENIED);
  if (input.length < 16) return done(NtStatus.INVALID_PARAMETER);
  const z = decodeZeroDataInformation(input);
  if (z.fileOffset < 0n || z.beyondFinalZero < 0n || z.fileOffset > z.beyondFinalZero) return done(NtStatus.INVALID_PARAMETER);
  const length = z.beyondFinalZero - z.fileOffset;
  if (length === 0n) return done(NtStatus.SUCCESS);
  if (rangeConflicts(open, z.fileOffset, length, true)) return done(NtStatus.FILE_LOCK_CONFLICT);
  const file = open.file!;
  const st = await file.stat();
  const end = z.beyondFinalZero < st.size ? z.beyondFinalZero : st.size;
  if (z.fileOffset >= end) return done(NtStatus.SUCCESS);
  await zeroRange(file, z.fileOffset, end);
  return done(NtStatus.SUCCESS);
}

async function zeroRange(file: VfsFile, start: bigint, end: bigint): Promise<void> {
  try {
    await file.punchHole(start, end - start);
    return;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== 'EOPNOTSUPP' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
  }
  for (let pos = start; pos < end; ) {
    const n = Number(end - pos < BigInt(STEP) ? end - pos : BigInt(STEP));
    const w = await file.write(ZEROS, 0, n, pos);
    if (w <= 0) throw new Error('zero-fill made no progress');
    pos += BigInt(w);
  }
}

/**
 * FSCTL_QUERY_ALLOCATED_RANGES: the ranges of [FileOffset, FileOffset+Length)
 * below end of file that may hold nonzero data. READ_DATA is needed; locks are
 * not checked (Windows does not).
 */
export async function queryAllocatedRanges(open: Open, input: Buffer, maxOutput: number): Promise<FsctlResult> {
  if (open.isDirectory) return done(NtStatus.INVALID_PARAMETER);
  if ((open.grantedAccess & Access.FILE_READ_DATA) === 0) return done(NtStatus.ACCESS_DENIED);
  if (input.length < 16) return done(NtStatus.INVALID_PARAMETER);
  const q = decodeAllocatedRange(input);
  if (q.offset < 0n || q.length < 0n || q.offset + q.length > I64_MAX) return done(NtStatus.INVALID_PARAMETER);
  const st = await open.file!.stat();
  const end = q.offset + q.length < st.size ? q.offset + q.length : st.size;
  if (q.length === 0n || q.offset >= end) return done(NtStatus.SUCCESS);
  let ranges: ByteRange[];
  if (!isSparse(st)) ranges = [{ offset: q.offset, length: end - q.offset }];
  // Nothing allocated at all: one hole (a file this size cannot hold its data inline in the inode).
  else if (st.allocSize === 0n && st.size > BigInt(PAGE)) ranges = [];
  else ranges = await allocatedRanges(open.file!, q.offset, end);
  // No room for even one range: BUFFER_TOO_SMALL; for some: those, with STATUS_BUFFER_OVERFLOW (MS-FSA 2.1.5.10.22).
  const fit = Math.floor(maxOutput / 16);
  if (ranges.length > fit) return fit === 0 ? done(NtStatus.BUFFER_TOO_SMALL) : done(NtStatus.BUFFER_OVERFLOW, encodeAllocatedRanges(ranges.slice(0, fit)));
  return done(NtStatus.SUCCESS, encodeAllocatedRanges(ranges));
}

/**
 * The ranges of [start, end) holding nonzero bytes, found page by page. The
 * kernel's SEEK_DATA/SEEK_HOLE are not reachable from Node (no lseek), so the
 * file is read: a page of zeros counts as unallocated. MS-FSCC 2.3.51 asks for
 * the ranges that "can contain nonzero data", so this is exact for holes and for
 * written zeros alike; past SCAN_BUDGET the rest is reported allocated, which
 * the definition also allows.
 */
export async function allocatedRanges(file: VfsFile, start: bigint, end: bigint): Promise<ByteRange[]> {
  const out: ByteRange[] = [];
  const add = (a: bigint, b: bigint) => {
    const last = out[out.length - 1];
    if (last && last.offset + last.length === a) last.length += b - a;
    else out.push({ offset: a, length: b - a });
  };
  const buf = Buffer.allocUnsafe(STEP);
  let scanned = 0;
  // Read in steps aligned to pages, so each page is judged whole.
  let pos = start - (start % BigInt(PAGE));
  while (pos < end) {
    if (scanned >= SCAN_BUDGET) {
      add(pos > start ? pos : start, end);
      break;
    }
    const want = Number(end - pos < BigInt(STEP) ? end - pos : BigInt(STEP));
    const got = await readFull(file, buf, want, pos);
    if (got === 0) break; // shrank under us
    for (let off = 0; off < got; off += PAGE) {
      const n = Math.min(PAGE, got - off);
      if (buf.subarray(off, off + n).equals(ZEROS.subarray(0, n))) continue;
      const a = pos + BigInt(off);
      const b = a + BigInt(n);
      add(a > start ? a : start, b < end ? b : end);
    }
    scanned += got;
    pos += BigInt(got);
  }
  return out;
}

async function readFull(file: VfsFile, buf: Buffer, len: number, pos: bigint): Promise<number> {
  let got = 0;
  while (got < len) {
    const n = await file.read(buf, got, len - got, pos + BigInt(got));
    if (n === 0) break;
    got += n;
  }
  return got;
}
