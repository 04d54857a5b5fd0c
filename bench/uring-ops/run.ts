/**
 * NOP and 4 KiB page-cache READ ops/s through the TypeScript uring API
 * against a raw-syscall C loop (c_loop.c, built here with `cc -O2`), same
 * ring setup flags and sizes, same run, rounds alternating, medians.
 *
 *   batch 1      submit + wait per op (ring.submit(op); ring.wait(1))
 *   batch 32/256 that many SQEs per io_uring_enter (ring.wait(batch))
 *
 * TS variants: "reuse" resubmits preallocated Ops with one shared callback
 * (no allocation per op: the API's fast path); "new" builds an Op per op
 * with prepNop/prepRead (what a naive caller pays).
 *
 * Usage: node dist/bench/uring-ops/run.js [--rounds 5] [--scale 1] [--json]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ring } from '../../src/uring/ring.js';
import { Op } from '../../src/uring/op.js';
import { names, uringAvailability } from '../../src/uring/features.js';
import { SETUP } from '../../src/uring/constants.js';
import { prepNop } from '../../src/uring/ops/nop.js';
import { prepRead } from '../../src/uring/ops/rw.js';
import { median } from '../common.js';

type Mode = 'nop' | 'read';
interface Case {
  mode: Mode;
  batch: number;
  ops: number;
}

const args = process.argv.slice(2);
const arg = (k: string, d: number): number => {
  const i = args.indexOf(k);
  return i >= 0 ? Number(args[i + 1]) : d;
};
const ROUNDS = arg('--rounds', 5);
const SCALE = arg('--scale', 1);
const ENTRIES = 256;
const CQ = 1024;
const FILE_PAGES = 256;

function sourceDir(): string {
  // dist/bench/uring-ops/run.js -> bench/uring-ops
  const here = dirname(fileURLToPath(import.meta.url));
  return join(here, '..', '..', '..', 'bench', 'uring-ops');
}

function buildC(dir: string): string {
  const out = join(dir, 'c_loop');
  const r = spawnSync('cc', ['-O2', '-o', out, join(sourceDir(), 'c_loop.c')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cc failed: ${r.error?.message ?? r.stderr}`);
  return out;
}

function runC(bin: string, c: Case, flags: number, file: string): number {
  const r = spawnSync(bin, [c.mode, String(c.batch), String(c.ops), String(flags), String(ENTRIES), String(CQ), file], { encoding: 'utf8' });
  const m = /ops=(\d+) ns=(\d+)/.exec(r.stdout);
  if (r.status !== 0 || !m) throw new Error(`c_loop failed: ${r.stderr || r.stdout}`);
  return Number(m[2]) / Number(m[1]);
}

/** ns per op through the TS API. */
function runTs(ring: Ring, c: Case, fd: number, reuse: boolean): number {
  let completed = 0;
  let failed: Error | null = null;
  // As c_loop does, a failed op fails the run: a fast error path is no result.
  const cb = (err: Error | null): void => {
    completed++;
    if (err) failed = err;
  };
  const buf = Buffer.alloc(4096);
  const make = (i: number): Op => (c.mode === 'nop' ? prepNop(ring, cb) : prepRead(ring, fd, buf, (i % FILE_PAGES) * 4096, cb));
  const pool: Op[] = [];
  for (let i = 0; i < c.batch; i++) pool.push(make(i));
  const t0 = process.hrtime.bigint();
  let submitted = 0;
  while (submitted < c.ops) {
    for (let i = 0; i < c.batch; i++) {
      let op: Op;
      if (reuse) {
        op = pool[i]!;
        if (c.mode === 'read') op.off = ((submitted + i) % FILE_PAGES) * 4096;
      } else {
        op = make(submitted + i);
      }
      ring.submit(op);
    }
    submitted += c.batch;
    while (completed < submitted) ring.wait(submitted - completed);
  }
  const ns = Number(process.hrtime.bigint() - t0);
  if (failed) throw failed;
  return ns / c.ops;
}

function main(): number {
  const avail = uringAvailability();
  if (!avail.available) {
    console.log(`uring-ops: skipped, io_uring unavailable: ${avail.reason}`);
    return 0;
  }
  const dir = mkdtempSync(join(tmpdir(), 'ringsmb-bench-'));
  try {
    const bin = buildC(dir);
    const file = join(dir, 'data');
    writeFileSync(file, Buffer.alloc(FILE_PAGES * 4096, 7));
    readFileSync(file); // page cache
    const fd = openSync(file, 'r');
    const ring = Ring.open({ entries: ENTRIES, cqEntries: CQ });
    const flags = ring.features.setupFlags & ~SETUP.CQSIZE;
    const cases: Case[] = [];
    for (const mode of ['nop', 'read'] as Mode[]) {
      for (const batch of [1, 32, 256]) {
        const base = mode === 'nop' ? (batch === 1 ? 200_000 : 2_000_000) : batch === 1 ? 100_000 : 400_000;
        cases.push({ mode, batch, ops: Math.max(batch, Math.round((base * SCALE) / batch) * batch) });
      }
    }
    // warm-up (JIT) on the TS side
    for (const c of cases) {
      runTs(ring, { ...c, ops: Math.max(c.batch, Math.round(c.ops / 10 / c.batch) * c.batch) }, fd, true);
      runTs(ring, { ...c, ops: Math.max(c.batch, Math.round(c.ops / 10 / c.batch) * c.batch) }, fd, false);
    }
    const rows: { c: Case; cNs: number; reuseNs: number; newNs: number }[] = [];
    for (const c of cases) {
      const cs: number[] = [];
      const rs: number[] = [];
      const ns: number[] = [];
      for (let k = 0; k < ROUNDS; k++) {
        cs.push(runC(bin, c, flags, file));
        rs.push(runTs(ring, c, fd, true));
        ns.push(runTs(ring, c, fd, false));
      }
      rows.push({ c, cNs: median(cs), reuseNs: median(rs), newNs: median(ns) });
    }
    ring.close();
    closeSync(fd);
    const setup = names(SETUP, flags).join('|') || '0';
    if (args.includes('--json')) {
      console.log(JSON.stringify({ setup, entries: ENTRIES, cq: CQ, rounds: ROUNDS, rows }, null, 2));
      return 0;
    }
    console.log(`uring-ops: ${ROUNDS} rounds alternating C / TS, medians; setup ${setup}, SQ ${ENTRIES}, CQ ${CQ}; node ${process.version}`);
    const head = ['op', 'batch', 'C ops/s', 'C ns/op', 'TS ops/s', 'TS ns/op', 'TS/C', 'TS-new ns/op', 'new/C'];
    const lines = rows.map(({ c, cNs, reuseNs, newNs }) => [
      c.mode === 'nop' ? 'NOP' : 'READ 4K',
      String(c.batch),
      fmt(1e9 / cNs),
      cNs.toFixed(0),
      fmt(1e9 / reuseNs),
      reuseNs.toFixed(0),
      (cNs / reuseNs).toFixed(2) + 'x',
      newNs.toFixed(0),
      (cNs / newNs).toFixed(2) + 'x',
    ]);
    const w = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
    const pr = (l: string[]): void => console.log(l.map((x, i) => (i < 1 ? x.padEnd(w[i]!) : x.padStart(w[i]!))).join('  '));
    pr(head);
    for (const l of lines) pr(l);
    console.log('TS/C = throughput ratio (TS ops/s / C ops/s); goal for batched NOP: >= 0.5x');
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function fmt(x: number): string {
  return x >= 1e6 ? (x / 1e6).toFixed(2) + 'M' : x >= 1e3 ? (x / 1e3).toFixed(0) + 'k' : x.toFixed(0);
}

process.exitCode = main();
