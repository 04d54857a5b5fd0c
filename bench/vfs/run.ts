/**
 * VFS modules side by side (seed comparison "pthreadpool vs io_uring"): the
 * threadpool module (libuv's pool + Node fs) against the uring module (ops
 * on an EventContext's ring), same files, same run, rounds alternating the
 * order, medians, ratio uring / threadpool (> 1: uring faster).
 *
 *   small   per file: open + stat + read 4 KiB + close, over N files,
 *           with 1 and 16 files in flight
 *   seq     1 MiB sequential reads of one file, 1 and 4 reads in flight;
 *           "uring-fixed" reads into registered buffers (READ_FIXED)
 *
 * Usage:  npx tsc -p . && node dist/bench/vfs/run.js [--rounds 5] [--files 2000]
 *             [--mib 32] [--dir /dev/shm] [--only small|seq] [--json]
 * Files are page-cached after the warm-up round: this measures the cost of
 * the two submission paths, not the disk. A run takes about 4 seconds.
 *
 * Measured (2-core VM shared with other jobs, kernel 6.18, node 20, /tmp on
 * ext4, defaults, two runs): small x1 0.97x / 1.01x, small x16 3.10x / 3.17x,
 * seq x1 1.04x / 1.25x (fixed 1.04x / 1.35x), seq x4 0.86x / 0.90x (fixed
 * 1.08x / 0.89x). Sequential numbers swing by +-30% between runs here.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEventContext } from '../../src/events/index.js';
import { RegisteredBuffers } from '../../src/uring/buffers.js';
import { createVfs, type ShareRoot, type UringFile, type UringVfs } from '../../src/vfs/index.js';
import { median } from '../common.js';

const args = process.argv.slice(2);
const opt = (k: string, d: string): string => {
  const i = args.indexOf(k);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : d;
};
const ROUNDS = Number(opt('--rounds', '5'));
const FILES = Number(opt('--files', '1000'));
const MIB = Number(opt('--mib', '32'));
const DIR = opt('--dir', tmpdir());
const JSON_OUT = args.includes('--json');
const ONLY = opt('--only', '');
const CHUNK = 1 << 20;

type Variant = 'threadpool' | 'uring' | 'uring-fixed';
interface Case {
  name: string;
  unit: string;
  /** work units per run (files, MiB) */
  units: number;
  variants: Variant[];
  run(share: ShareRoot, v: Variant): Promise<void>;
}

/** Runs fn over `count` items with `depth` in flight. */
async function pool(count: number, depth: number, fn: (i: number, w: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: depth }, async (_, w) => {
    while (next < count) await fn(next++, w);
  }));
}

function smallCase(depth: number): Case {
  const bufs = Array.from({ length: depth }, () => Buffer.alloc(4096));
  return {
    name: `small x${depth}`, unit: 'files/s', units: FILES, variants: ['threadpool', 'uring'],
    run: (share) => pool(FILES, depth, async (i, w) => {
      const f = await share.open(`s/${i}`, { read: true, write: false });
      await f.stat();
      const n = await f.read(bufs[w]!, 0, 4096, 0);
      if (n !== 4096) throw new Error(`short read ${n}`);
      await f.close();
    }),
  };
}

function seqCase(depth: number): Case {
  const bufs = Array.from({ length: depth }, () => Buffer.alloc(CHUNK));
  return {
    name: `seq 1MiB x${depth}`, unit: 'MiB/s', units: MIB, variants: ['threadpool', 'uring', 'uring-fixed'],
    async run(share, v) {
      const f = await share.open('big', { read: true, write: false });
      // uring-fixed: registered buffer w (useFixedBuffers below), READ_FIXED.
      await pool(MIB, depth, async (i, w) => {
        const n = v === 'uring-fixed' ? await (f as UringFile).readFixed(w, 0, CHUNK, i * CHUNK)
          : await f.read(bufs[w]!, 0, CHUNK, i * CHUNK);
        if (n !== CHUNK) throw new Error(`short read ${n}`);
      });
      await f.close();
    },
  };
}

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0);
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(DIR, 'ringsmb-bench-vfs-'));
  const ctx = createEventContext({ backend: 'uring', driver: 'node' });
  try {
    mkdirSync(join(root, 's'));
    const page = Buffer.alloc(4096, 7);
    for (let i = 0; i < FILES; i++) writeFileSync(join(root, 's', String(i)), page);
    const chunk = Buffer.alloc(CHUNK, 3);
    for (let i = 0; i < MIB; i++) writeFileSync(join(root, 'big'), chunk, { flag: i === 0 ? 'w' : 'a' });

    const tp = createVfs('threadpool');
    const ur = createVfs('uring', ctx.ring) as UringVfs;
    const fixed = RegisteredBuffers.register(ur.ring, 4, CHUNK);
    ur.useFixedBuffers(fixed);
    const shares: Record<'threadpool' | 'uring', ShareRoot> = {
      threadpool: await tp.openShare(root),
      uring: await ur.openShare(root),
    };
    const cases = [smallCase(1), smallCase(16), seqCase(1), seqCase(4)].filter((c) => c.name.startsWith(ONLY));
    const results: Record<string, Record<string, number[]>> = {};
    for (const c of cases) {
      results[c.name] = Object.fromEntries(c.variants.map((v) => [v, []]));
      for (const v of c.variants) await c.run(shares[v === 'threadpool' ? 'threadpool' : 'uring'], v); // warm-up
      for (let r = 0; r < ROUNDS; r++) {
        const order = r % 2 ? [...c.variants].reverse() : c.variants;
        for (const v of order) {
          const t0 = process.hrtime.bigint();
          await c.run(shares[v === 'threadpool' ? 'threadpool' : 'uring'], v);
          const s = Number(process.hrtime.bigint() - t0) / 1e9;
          results[c.name]![v]!.push(c.units / s);
        }
      }
    }
    await shares.threadpool.close();
    await shares.uring.close();
    ur.useFixedBuffers(null);
    fixed.dispose();
    report(cases, results);
  } finally {
    ctx.close();
    rmSync(root, { recursive: true, force: true });
  }
}

function report(cases: Case[], results: Record<string, Record<string, number[]>>): void {
  const rows = cases.map((c) => {
    const m = Object.fromEntries(c.variants.map((v) => [v, median(results[c.name]![v]!)]));
    return { case: c.name, unit: c.unit, ...m, ratio: m.uring! / m.threadpool!, ...(m['uring-fixed'] ? { ratioFixed: m['uring-fixed'] / m.threadpool! } : {}) };
  });
  if (JSON_OUT) {
    process.stdout.write(JSON.stringify({ rounds: ROUNDS, files: FILES, mib: MIB, dir: DIR, kernel: process.version, rows }, null, 2) + '\n');
    return;
  }
  console.log(`vfs bench: ${ROUNDS} rounds, ${FILES} files of 4 KiB, ${MIB} MiB sequential, in ${DIR}; medians; ratio = uring / threadpool`);
  console.log('case           unit      threadpool     uring  uring-fixed  uring/tp  fixed/tp');
  for (const r of rows) {
    const row = r as Record<string, number | string>;
    const fx = typeof row['uring-fixed'] === 'number' ? fmt(row['uring-fixed'] as number) : '-';
    const rf = typeof row.ratioFixed === 'number' ? `${(row.ratioFixed as number).toFixed(2)}x` : '-';
    console.log(`${String(r.case).padEnd(14)} ${r.unit.padEnd(8)} ${fmt(row.threadpool as number).padStart(11)} ${fmt(row.uring as number).padStart(9)} ${fx.padStart(12)} ${`${r.ratio.toFixed(2)}x`.padStart(9)} ${rf.padStart(9)}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
