/** Helpers shared by the benchmarks under bench/. */
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export const MiB = 1 << 20;
export const GiB = 1 << 30;

/** Median; the mean of the middle two for an even count. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const PAGE_REPORTING_ORDER = '/sys/module/page_reporting/parameters/page_reporting_order';

/**
 * In a VM with free page reporting (virtio-balloon, e.g. page_reporting_order 9
 * and min_free_ms 0), memory freed in the guest is handed back to the host at
 * once, and the next write to it faults on the host. A bench that fills tmpfs,
 * frees it and fills it again then measures which pages it met: the same
 * ringsmb put took 116 to 740 CPU centiseconds per 2 GiB (measured 2026-12-05).
 * This raises the order past the largest page order, so freed memory stays
 * with the guest, and hands `onEnd` the step that restores the old value.
 * Returns a line for the bench's header, or null where there is nothing to hold.
 */
export function holdFreedMemory(onEnd: (restore: () => void) => void): string | null {
  let old: string;
  try {
    old = readFileSync(PAGE_REPORTING_ORDER, 'utf8').trim();
  } catch {
    return null;
  }
  if (Number(old) > 10) return `free page reporting: order ${old}, nothing reported`;
  try {
    writeFileSync(PAGE_REPORTING_ORDER, '11');
  } catch (e) {
    return `free page reporting: on (order ${old}; could not hold it: ${(e as Error).message}); writes to tmpfs will be noisy`;
  }
  onEnd(() => writeFileSync(PAGE_REPORTING_ORDER, old));
  return `free page reporting: held for the run (${PAGE_REPORTING_ORDER} ${old} -> 11, restored at the end)`;
}

/** A size option: 2G, 512M, 64K, or a bare number of MiB. */
export function parseSize(v: string, what = '--size'): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(v.trim());
  if (!m) throw new Error(`bad ${what} ${v} (examples: 2G, 512M, 1536)`);
  const mult: Record<string, number> = { '': MiB, K: 1024, M: MiB, G: GiB, T: GiB * 1024 };
  const n = Math.round(Number(m[1]) * mult[m[2]!.toUpperCase()]!);
  if (!(n > 0)) throw new Error(`${what} must be > 0`);
  return n;
}

/** Writes `size` bytes of fresh random data; returns their sha256 (hex). */
export function writeRandomFile(path: string, size: number): string {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(16 * MiB);
  const fd = openSync(path, 'w', 0o644);
  try {
    for (let left = size; left > 0;) {
      const n = Math.min(left, buf.length);
      const chunk = buf.subarray(0, n);
      randomFillSync(chunk);
      h.update(chunk);
      for (let off = 0; off < n;) off += writeSync(fd, chunk, off, n - off);
      left -= n;
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/**
 * Writes and deletes `bytes` on tmpfs before the rounds. In a VM the first
 * touch of guest memory is slow (the host backs it on demand): 2 GiB of
 * never-used memory wrote at 230-450 MiB/s where reused memory took
 * 0.8-1.2 GB/s. Without this, the first server to run a put cell (ringsmb,
 * by the rotation) paid for it in round 1 of bench:smb.
 */
export function touchMemory(dir: string, bytes: number): void {
  const path = join(dir, 'touch');
  const chunk = Buffer.alloc(8 * MiB, 0x5a);
  const t0 = performance.now();
  const fd = openSync(path, 'w');
  try {
    for (let done = 0; done < bytes; done += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - done));
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
  const s = (performance.now() - t0) / 1000;
  process.stdout.write(`touched ${(bytes / MiB).toFixed(0)} MiB of tmpfs before the rounds (${((bytes / MiB) / s).toFixed(0)} MiB/s)\n`);
}
