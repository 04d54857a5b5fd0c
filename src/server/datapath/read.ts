/**
 * How READ data leaves the server (ARCHITECTURE decision 5), kept out of
 * the handler so that the handler keeps only SMB semantics:
 *
 * - spliced: when the connection says the response is neither signed,
 *   sealed nor compounded and its transport can splice, the data length is
 *   fixed from the file's size now, and the transport moves the bytes
 *   file -> pipe -> socket itself (no copy into user space). The answer
 *   holds the file's fd open until it is sent or dropped (VfsFile.hold), so
 *   a CLOSE racing the send waits for it and cannot make it read another
 *   file that reused the number; answers queued behind a client that does
 *   not read cost no fd of their own (a dup each did).
 * - copied: otherwise the bytes are read into a buffer, to be signed or
 *   sealed where they lie: a pooled data buffer when one is free (with the
 *   io_uring VFS it is registered memory, so the read is a READ_FIXED), else
 *   a new one (the baseline path). A pooled buffer comes with `release`.
 * - sealed (or signed) in pieces: when the connection will seal or sign the
 *   response and offers to do it as the data comes (RequestContext.sealRead),
 *   a large read goes as pieces under way at once, each sealed in place (or
 *   taken into the MAC) as soon as it and those before it are in, while the
 *   kernel still reads the next. The data
 *   length is then fixed from the file's size first, as for a splice: should
 *   the file shrink meanwhile, zeros take the place of what it no longer
 *   has (the same rule as the spliced path's), so the sealed length holds.
 */
import type { VfsFile } from '../../vfs/types.js';
import type { ReadSeal } from '../context.js';
import type { DataPool } from '../../uring/data-pool.js';
import type { FileRegion } from '../../transport/types.js';

/** The largest offset the VFS takes (its native layer counts in doubles): beyond it a READ never reaches a file. */
export const MAX_VFS_OFFSET = BigInt(Number.MAX_SAFE_INTEGER);

export type ReadData = { kind: 'buffer'; data: Buffer; release?: () => void; sealed?: ReadSeal } | { kind: 'region'; region: FileRegion };

/** How a sealed READ may be read in pieces (RequestContext.sealRead; the handler's MinimumCount). */
export interface SealedRead {
  seal: (dataLength: number) => ReadSeal | null;
  minimumCount: number;
}

/**
 * Reads at least this long are sealed in pieces, this many: the cipher
 * starts once the first is in and runs while the kernel reads the second.
 * More pieces let it start sooner but cost a READ, its io-wq hand-off and a
 * completion each (four 2 MiB pieces of an 8 MiB READ: +2% wall time
 * against two 4 MiB ones, and 5% more server CPU, 2026-12-06). Smaller
 * reads stay whole: a client reading 1 MiB at a time keeps several
 * outstanding, which overlaps reading and sealing already, and the pieces
 * would only add a stat and a READ each (measured with 8 MiB READs only).
 */
const SEAL_PIECES_MIN = 4 << 20;
const SEAL_PIECES = 2;

/** Reads until `len` bytes or end of file, into pooled memory where there is some. */
async function readInto(file: VfsFile, len: number, pos: bigint, pool: DataPool | null): Promise<ReadData> {
  const d = pool?.take(len) ?? null;
  const buf = d ? d.buf : Buffer.allocUnsafe(len);
  let got: number;
  try {
    got = await readFrom(file, buf, 0, len, pos);
  } catch (err) {
    d?.release();
    throw err;
  }
  return { kind: 'buffer', data: buf.subarray(0, got), release: d?.release };
}

/** Bytes read into buf[off, off + len) from pos + off, until len or end of file. */
async function readFrom(file: VfsFile, buf: Buffer, off: number, len: number, pos: bigint): Promise<number> {
  let got = 0;
  while (got < len) {
    const n = await file.read(buf, off + got, len - got, pos + BigInt(off + got));
    if (n === 0) break;
    got += n;
  }
  return got;
}

/** How many of `len` bytes at `pos` the file has now (its size, as for a splice). */
async function available(file: VfsFile, len: number, pos: bigint): Promise<number> {
  const st = await file.stat();
  const avail = st.size > pos ? st.size - pos : 0n;
  return Number(avail < BigInt(len) ? avail : BigInt(len));
}

/** See the file comment (sealed in pieces); null when the connection declines, and the caller reads as usual. */
async function readSealed(file: VfsFile, len: number, pos: bigint, pool: DataPool | null, s: SealedRead): Promise<ReadData | null> {
  const n = await available(file, len, pos);
  if (n === 0 || n < s.minimumCount) return null; // END_OF_FILE, from the usual path
  const seal = s.seal(n);
  if (!seal) return null;
  const d = pool?.take(n) ?? null;
  const buf = d ? d.buf : Buffer.allocUnsafe(n);
  const size = Math.ceil(n / SEAL_PIECES / 4096) * 4096;
  const reads: Promise<number>[] = [];
  for (let off = 0; off < n; off += size) {
    const r = readFrom(file, buf, off, Math.min(size, n - off), pos);
    // A later piece may fail while an earlier one is awaited: its rejection is
    // taken below, in order, but must not count as unhandled meanwhile (Node
    // ends the process on an unhandled rejection).
    r.catch(() => undefined);
    reads.push(r);
  }
  let failed: unknown = null;
  let ended = false;
  for (let i = 0; i < reads.length; i++) {
    const off = i * size;
    const want = Math.min(size, n - off);
    let got = 0;
    try {
      got = await reads[i]!;
    } catch (err) {
      failed ??= err;
    }
    if (failed) continue; // every piece is awaited: none may still write into the buffer once it goes back
    // The file ended early (it shrank since its size was taken): zeros from there on.
    if (ended || got < want) {
      buf.fill(0, ended ? off : off + got, off + want);
      ended = true;
    }
    try {
      seal.update(buf.subarray(off, off + want));
    } catch (err) {
      failed = err;
    }
  }
  if (failed) {
    d?.release();
    throw failed;
  }
  return { kind: 'buffer', data: buf.subarray(0, n), release: d?.release, sealed: seal };
}

/**
 * At most `len` bytes at `pos`: a region to splice when allowed, else the
 * bytes themselves (sealed in pieces as they are read, where `sealed` offers it).
 */
export async function readFileData(file: VfsFile, len: number, pos: bigint, splice: boolean, pool: DataPool | null = null, sealed?: SealedRead): Promise<ReadData> {
  if (sealed && !splice && len >= SEAL_PIECES_MIN && pos <= MAX_VFS_OFFSET) {
    const r = await readSealed(file, len, pos, pool, sealed);
    if (r) return r;
  }
  if (!splice || pos > MAX_VFS_OFFSET) return readInto(file, len, pos, pool);
  const n = await available(file, len, pos);
  if (n === 0) return { kind: 'region', region: { fd: -1, offset: Number(pos), length: 0 } };
  return { kind: 'region', region: { fd: file.fd, offset: Number(pos), length: n, release: file.hold() } };
}
