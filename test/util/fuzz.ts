/**
 * Seeded input generation for the fuzz tests: a seed gives the same inputs
 * every run (RINGSMB_FUZZ_SEED, default 1; "random" for a new one).
 */

/** The seed of this run. */
export function fuzzSeed(): number {
  return process.env.RINGSMB_FUZZ_SEED === 'random' ? Date.now() % 0x7fffffff : Number(process.env.RINGSMB_FUZZ_SEED ?? 1);
}

/** mulberry32: small, seeded, good enough to pick mutations. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values at the edges of 8, 16 and 32 bits, and small ones. */
export const BOUNDARY = [0, 1, 2, 7, 8, 63, 64, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

/** Seeded choices, bytes and mutations: a seed gives the same requests every run. */
export function generator(seed: number) {
  const rnd = prng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
  const int = (n: number): number => Math.floor(rnd() * n);
  const bytes = (n: number): Buffer => {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = int(256);
    return b;
  };
  /** A body mutated one to three ways (or left valid: a valid request amid the bad ones). */
  const mutate = (body: Buffer): Buffer => {
    let b = Buffer.from(body);
    for (let n = 1 + int(3); n > 0; n--) {
      const m = int(6);
      if (m === 0 && b.length) for (let i = 1 + int(4); i > 0; i--) b[int(b.length)] ^= 1 << int(8);
      else if (m === 1 && b.length >= 2) {
        const at = int(b.length - 1);
        const v = pick(BOUNDARY);
        if (at + 4 <= b.length && rnd() < 0.6) b.writeUInt32LE(v >>> 0, at);
        else b.writeUInt16LE(v & 0xffff, at);
      } else if (m === 2) b = b.subarray(0, int(b.length + 1));
      else if (m === 3) b = Buffer.concat([b, bytes(int(300))]);
      else if (m === 4 && b.length >= 8) b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(pick(BOUNDARY)) * BigInt(1 + int(3)) << BigInt(int(33))), int(b.length - 7));
    }
    return b;
  };
  return { rnd, pick, int, bytes, mutate };
}

