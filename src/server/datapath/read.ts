/**
 * How READ data leaves the server (ARCHITECTURE decision 5), kept out of
 * the handler so that the handler keeps only SMB semantics:
 *
 * - spliced: when the connection says the response is neither signed,
 *   sealed nor compounded and its transport can splice, the data length is
 *   fixed from the file's size now, and the transport moves the bytes
 *   file -> pipe -> socket itself (no copy into user space). The fd is
 *   duplicated for the send, so a CLOSE racing the send cannot make it read
 *   another file that reused the number.
 * - copied: otherwise the bytes are read into a buffer, to be signed or
 *   sealed where they lie: a pooled data buffer when one is free (with the
 *   io_uring VFS it is registered memory, so the read is a READ_FIXED), else
 *   a new one (the baseline path). A pooled buffer comes with `release`.
 */
import type { VfsFile } from '../../vfs/types.js';
import type { DataPool } from '../../uring/data-pool.js';
import type { FileRegion } from '../../transport/types.js';
import { requireNative } from '../../native.js';
import { SystemError } from '../../util/errors.js';

export type ReadData = { kind: 'buffer'; data: Buffer; release?: () => void } | { kind: 'region'; region: FileRegion };

/** Reads until `len` bytes or end of file, into pooled memory where there is some. */
async function readInto(file: VfsFile, len: number, pos: bigint, pool: DataPool | null): Promise<ReadData> {
  const d = pool?.take(len) ?? null;
  const buf = d ? d.buf : Buffer.allocUnsafe(len);
  let got = 0;
  try {
    while (got < len) {
      const n = await file.read(buf, got, len - got, pos + BigInt(got));
      if (n === 0) break;
      got += n;
    }
  } catch (err) {
    d?.release();
    throw err;
  }
  return { kind: 'buffer', data: buf.subarray(0, got), release: d?.release };
}

/** At most `len` bytes at `pos`: a region to splice when allowed, else the bytes themselves. */
export async function readFileData(file: VfsFile, len: number, pos: bigint, splice: boolean, pool: DataPool | null = null): Promise<ReadData> {
  if (!splice || pos > BigInt(Number.MAX_SAFE_INTEGER)) return readInto(file, len, pos, pool);
  const st = await file.stat();
  const avail = st.size > pos ? st.size - pos : 0n;
  const n = Number(avail < BigInt(len) ? avail : BigInt(len));
  if (n === 0) return { kind: 'region', region: { fd: -1, offset: Number(pos), length: 0 } };
  const nat = requireNative();
  const fd = nat.dup(file.fd);
  if (fd < 0) throw new SystemError('dup', -fd);
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    nat.close(fd);
  };
  return { kind: 'region', region: { fd, offset: Number(pos), length: n, release } };
}
