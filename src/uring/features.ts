/**
 * What this kernel offers: availability, opcodes (IORING_REGISTER_PROBE),
 * setup flags (tried once, at first use) and feature bits. Decision 1: no
 * build-time switches; every layer asks here and takes its fallback.
 */
import { readFileSync } from 'node:fs';
import { native, nativeError } from '../native.js';
import { errnoName } from '../util/errors.js';
import { FEAT, OPS, REGISTER, SETUP } from './constants.js';

export interface Availability {
  available: boolean;
  /** why not, in one sentence a person can act on */
  reason: string | null;
}

let cached: Availability | null = null;

/** Forces the fallback paths: RINGSMB_URING=off (or 0/no/false). */
export function uringForcedOff(): boolean {
  const v = (process.env.RINGSMB_URING ?? '').toLowerCase();
  return v === 'off' || v === '0' || v === 'no' || v === 'false';
}

export function uringAvailability(): Availability {
  if (cached) return cached;
  cached = check();
  return cached;
}

function check(): Availability {
  if (uringForcedOff()) return { available: false, reason: 'io_uring turned off by RINGSMB_URING=off' };
  if (!native) return { available: false, reason: nativeError ?? 'native addon unavailable' };
  let disabled = 0;
  try {
    disabled = Number(readFileSync('/proc/sys/kernel/io_uring_disabled', 'utf8').trim());
  } catch {
    // Older kernels have no such sysctl.
  }
  if (disabled === 2) return { available: false, reason: 'io_uring is disabled by the kernel (/proc/sys/kernel/io_uring_disabled = 2)' };
  const r = native.ringSetup(2, 0, 0, -1);
  if (typeof r === 'number') {
    const code = errnoName(-r);
    const why =
      code === 'ENOSYS' ? 'this kernel has no io_uring (ENOSYS)'
      : code === 'EPERM' ? `io_uring_setup is forbidden (EPERM: a seccomp filter, as in many containers${disabled === 1 ? ', or io_uring_disabled = 1 for this user' : ''})`
      : `io_uring_setup failed (${code})`;
    return { available: false, reason: why };
  }
  native.close(r.fd);
  return { available: true, reason: null };
}

export interface RingFeatures {
  /** opcodes this kernel accepts, by number */
  readonly ops: ReadonlySet<number>;
  /** io_uring_params.features */
  readonly featureBits: number;
  /** the setup flags this ring was created with */
  readonly setupFlags: number;
  readonly sqEntries: number;
  readonly cqEntries: number;
}

/** Decodes an IORING_REGISTER_PROBE result (struct io_uring_probe). */
export function parseProbe(buf: Buffer): Set<number> {
  const opsLen = buf[1]!;
  const set = new Set<number>();
  for (let i = 0; i < opsLen; i++) {
    const off = 16 + i * 8;
    if (off + 8 > buf.length) break;
    if (buf.readUInt16LE(off + 2) & 1) set.add(buf[off]!);
  }
  return set;
}

export function probeOps(ringFd: number): Set<number> {
  if (!native) return new Set();
  const buf = Buffer.alloc(16 + 256 * 8);
  const r = native.ringRegister(ringFd, REGISTER.PROBE, buf, 256);
  if (r < 0) return new Set([0]);
  return parseProbe(buf);
}

/** Setup flag sets tried in order, best first, for a ring whose owner waits in io_uring_enter. */
export const FLAG_CHOICES: readonly number[] = [
  SETUP.SUBMIT_ALL | SETUP.SINGLE_ISSUER | SETUP.DEFER_TASKRUN,
  SETUP.SUBMIT_ALL | SETUP.SINGLE_ISSUER | SETUP.COOP_TASKRUN,
  SETUP.SUBMIT_ALL | SETUP.COOP_TASKRUN,
  SETUP.SUBMIT_ALL,
  0,
];

/**
 * For a ring whose owner sleeps in Node's loop and is woken by the ring's
 * registered eventfd: no DEFER_TASKRUN. With it, a completion that needs task
 * work (a RECV on a socket that had no data yet) signals the eventfd only for
 * the first item of the ring's work list, and on 6.18 that wake-up was seen
 * to come ~15 ms late or only with the next unrelated completion: sequential
 * request/response traffic (smbtorture smb2.credits.skipped_mid, 8191 writes)
 * ran at ~60 round trips/s instead of ~2700. COOP_TASKRUN posts the CQE from
 * task work run on the way back to user space, and the eventfd follows the CQE.
 */
export const EVENTFD_FLAG_CHOICES: readonly number[] = FLAG_CHOICES.filter((f) => (f & SETUP.DEFER_TASKRUN) === 0);

export function names<T extends Record<string, number>>(table: T, bits: number): string[] {
  return Object.entries(table).filter(([, v]) => v !== 0 && (bits & v) === v).map(([k]) => k);
}

export interface FeatureReport {
  available: boolean;
  reason: string | null;
  kernel: string;
  setupFlags: string[];
  features: string[];
  ops: { name: string; code: number; supported: boolean }[];
}

export function describeFeatures(f: RingFeatures | null, avail: Availability): FeatureReport {
  let kernel = 'unknown';
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    kernel = process.platform;
  }
  return {
    available: avail.available,
    reason: avail.reason,
    kernel,
    setupFlags: f ? names(SETUP, f.setupFlags) : [],
    features: f ? names(FEAT, f.featureBits) : [],
    ops: OPS.map((name, code) => ({ name, code, supported: f ? f.ops.has(code) : false })),
  };
}
