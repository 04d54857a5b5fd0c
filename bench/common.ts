/** Helpers shared by the benchmarks under bench/. */
import { readFileSync, writeFileSync } from 'node:fs';

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
