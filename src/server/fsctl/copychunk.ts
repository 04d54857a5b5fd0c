/**
 * Server-side copy: FSCTL_SRV_REQUEST_RESUME_KEY (MS-SMB2 3.3.5.15.5) and
 * FSCTL_SRV_COPYCHUNK / FSCTL_SRV_COPYCHUNK_WRITE (3.3.5.15.6).
 */
import { randomBytes } from 'node:crypto';
import { decodeCopyChunkCopy, encodeCopyChunkResponse, encodeResumeKeyResponse, type CopyChunk } from '../../smb2/commands/fsctl.js';
import { Access, Fsctl } from '../../smb2/constants.js';
import { NtStatus } from '../../smb2/status.js';
import { rangeConflicts } from '../handlers/lock.js';
import type { Open, ServerState } from '../state.js';
import type { FsctlResult } from './sparse.js';

/** ServerSideCopyMaxNumberofChunks, ServerSideCopyMaxChunkSize, ServerSideCopyMaxDataSize (3.3.3): Windows' values. */
export const COPYCHUNK_MAX_CHUNKS = 256;
export const COPYCHUNK_MAX_CHUNK_SIZE = 1 << 20;
export const COPYCHUNK_MAX_DATA_SIZE = 16 << 20;
const RESPONSE_SIZE = 12;

/** Open.ResumeKey (3.3.1.10), made on first request and the same for the open's life. */
const resumeKeys = new WeakMap<Open, Buffer>();

/** 3.3.5.15.5: any file open may hand out its key; a pipe or directory may not. */
export function requestResumeKey(open: Open, maxOutput: number): FsctlResult {
  if (!open.file || open.isDirectory) return { status: NtStatus.INVALID_PARAMETER, output: Buffer.alloc(0) };
  if (maxOutput < 28) return { status: NtStatus.INVALID_PARAMETER, output: Buffer.alloc(0) };
  let key = resumeKeys.get(open);
  if (!key) {
    key = randomBytes(24);
    resumeKeys.set(open, key);
  }
  return { status: NtStatus.SUCCESS, output: encodeResumeKeyResponse(key, maxOutput) };
}

/** The open whose resume key is `key`, in GlobalOpenTable (3.3.5.15.6): any tree of any session may copy from it. */
function findByResumeKey(state: ServerState, key: Buffer): Open | null {
  for (const o of state.opens.values()) {
    const k = resumeKeys.get(o);
    if (k && !o.closed && k.equals(key)) return o;
  }
  return null;
}

const written = (status: number, chunksWritten: number, totalBytesWritten: number): FsctlResult => ({
  status,
  output: encodeCopyChunkResponse({ chunksWritten, chunkBytesWritten: 0, totalBytesWritten }),
});

/**
 * Copies the chunks in order, each read whole before it is written (so
 * overlapping source and target ranges of one file copy what was there).
 * The response body (SRV_COPYCHUNK_RESPONSE) goes with failures too: the
 * server limits for STATUS_INVALID_PARAMETER, the progress so far otherwise.
 */
export async function copyChunk(state: ServerState, dest: Open, ctlCode: number, input: Buffer, maxOutput: number): Promise<FsctlResult> {
  const empty = { output: Buffer.alloc(0) };
  if (maxOutput < RESPONSE_SIZE) return { status: NtStatus.INVALID_PARAMETER, ...empty };
  let req: { sourceKey: Buffer; chunks: CopyChunk[] };
  try {
    req = decodeCopyChunkCopy(input);
  } catch {
    return { status: NtStatus.INVALID_PARAMETER, ...empty };
  }
  if (exceedsLimits(req.chunks)) {
    return {
      status: NtStatus.INVALID_PARAMETER,
      output: encodeCopyChunkResponse({
        chunksWritten: COPYCHUNK_MAX_CHUNKS, chunkBytesWritten: COPYCHUNK_MAX_CHUNK_SIZE, totalBytesWritten: COPYCHUNK_MAX_DATA_SIZE,
      }),
    };
  }
  if (!dest.file || dest.isDirectory) return { status: NtStatus.INVALID_PARAMETER, ...empty };
  // 3.3.5.15.6: the target needs write access, and read access too for COPYCHUNK (not COPYCHUNK_WRITE).
  const needDest = Access.FILE_WRITE_DATA | (ctlCode === Fsctl.SRV_COPYCHUNK ? Access.FILE_READ_DATA : 0);
  if ((dest.grantedAccess & needDest) !== needDest) return { status: NtStatus.ACCESS_DENIED, ...empty };
  const src = findByResumeKey(state, req.sourceKey);
  if (!src || !src.file) return { status: NtStatus.OBJECT_NAME_NOT_FOUND, ...empty };
  // The source is read: READ_DATA or EXECUTE (which also lets a client read the bytes).
  if ((src.grantedAccess & (Access.FILE_READ_DATA | Access.FILE_EXECUTE)) === 0) return { status: NtStatus.ACCESS_DENIED, ...empty };

  let chunks = 0;
  let total = 0;
  const buf = Buffer.allocUnsafe(Math.max(1, Math.max(0, ...req.chunks.map((c) => c.length))));
  for (const c of req.chunks) {
    const st = await src.file.stat();
    if (c.sourceOffset + BigInt(c.length) > st.size) return written(NtStatus.INVALID_VIEW_SIZE, chunks, total);
    if (rangeConflicts(src, c.sourceOffset, BigInt(c.length), false)) return written(NtStatus.FILE_LOCK_CONFLICT, chunks, total);
    if (rangeConflicts(dest, c.targetOffset, BigInt(c.length), true)) return written(NtStatus.FILE_LOCK_CONFLICT, chunks, total);
    let got = 0;
    while (got < c.length) {
      const n = await src.file.read(buf, got, c.length - got, c.sourceOffset + BigInt(got));
      if (n === 0) return written(NtStatus.INVALID_VIEW_SIZE, chunks, total); // shrank since the stat
      got += n;
    }
    for (let put = 0; put < c.length; ) {
      const n = await dest.file.write(buf, put, c.length - put, c.targetOffset + BigInt(put));
      if (n <= 0) return written(NtStatus.DISK_FULL, chunks, total);
      put += n;
    }
    chunks++;
    total += c.length;
  }
  return written(NtStatus.SUCCESS, chunks, total);
}

/** 3.3.5.15.6: too many chunks, a chunk too long (or empty), or too much data in all. */
function exceedsLimits(chunks: readonly CopyChunk[]): boolean {
  if (chunks.length > COPYCHUNK_MAX_CHUNKS) return true;
  let sum = 0;
  for (const c of chunks) {
    if (c.length === 0 || c.length > COPYCHUNK_MAX_CHUNK_SIZE) return true;
    sum += c.length;
  }
  return sum > COPYCHUNK_MAX_DATA_SIZE;
}
