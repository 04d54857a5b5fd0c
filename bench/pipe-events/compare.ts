/**
 * Runs ringsmb's rows and the C/Node reference rows of event-bench
 * (/work/shared/tools/event-bench, built with `make`) interleaved, on the
 * same machine in one run, and prints a Markdown table of medians with the
 * ratio to tevent-epoll (ARCHITECTURE decision 8).
 *
 * Usage: node dist/bench/pipe-events/compare.js --ref DIR [--runs 3] [--seconds 2] [--only REGEX]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

interface Row {
  name: string;
  cmd: (cell: Cell) => string[] | null;
}
interface Cell {
  label: string;
  scheme: 'ring' | 'speed1';
  n: number;
  t: number;
}

const CELLS: Cell[] = [
  { label: 'ring N=1 T=1', scheme: 'ring', n: 1, t: 1 },
  { label: 'ring N=64 T=1', scheme: 'ring', n: 64, t: 1 },
  { label: 'ring N=64 T=64', scheme: 'ring', n: 64, t: 64 },
  { label: 'speed1', scheme: 'speed1', n: 1, t: 0 },
];

function args(argv: string[]): { ref: string; runs: number; seconds: number; only: RegExp | null } {
  const o = { ref: '', runs: 3, seconds: 2, only: null as RegExp | null };
  for (let i = 0; i < argv.length; i += 2) {
    const v = argv[i + 1] ?? '';
    if (argv[i] === '--ref') o.ref = v;
    else if (argv[i] === '--runs') o.runs = Number(v);
    else if (argv[i] === '--seconds') o.seconds = Number(v);
    else if (argv[i] === '--only') o.only = new RegExp(v);
  }
  if (!o.ref) throw new Error('--ref DIR (the built event-bench directory) is required');
  return o;
}

function rows(ref: string, secs: number): Row[] {
  const runJs = join(fileURLToPath(new URL('.', import.meta.url)), 'run.js');
  const ours = (backend: string, driver: string, scheme = 'ring'): Row => ({
    name: `ringsmb-${backend}${scheme === 'rw' ? '-rw' : ''}${driver === 'node' ? '-node' : ''}`,
    cmd: (c) =>
      scheme === 'rw' && c.scheme === 'speed1'
        ? null
        : [process.execPath, runJs, '--backend', backend, '--driver', driver, '--scheme', c.scheme === 'speed1' ? 'speed1' : scheme,
          '--pipes', String(c.n), '--tokens', String(c.t), '--seconds', String(secs)],
  });
  const tevent = (b: string): Row => ({
    name: `tevent-${b}`,
    cmd: (c) => [join(ref, 'pipe_events'), '-b', b, '-s', c.scheme, '-n', String(c.n), '-t', String(Math.max(1, c.t)), '-d', String(secs)],
  });
  const raw = (b: string, ring = false): Row => ({
    name: `raw-${b}`,
    cmd: (c) => (ring && c.scheme === 'speed1' ? null : [join(ref, 'raw_events'), '-b', b, '-s', c.scheme, '-n', String(c.n), '-t', String(Math.max(1, c.t)), '-d', String(secs)]),
  });
  return [
    tevent('poll'), tevent('epoll'), raw('epoll1'), raw('uring-poll+dt'), raw('uring-rw+dt', true),
    { name: 'node-onread', cmd: (c) => (c.scheme === 'speed1' ? null : [process.execPath, join(ref, 'node', 'pipe_events.mjs'), '-b', 'onread', '-n', String(c.n), '-t', String(c.t), '-d', String(secs)]) },
    ours('poll', 'standalone'), ours('epoll', 'standalone'), ours('uring', 'standalone'), ours('hybrid', 'standalone'),
    ours('uring', 'standalone', 'rw'), ours('epoll', 'node'), ours('uring', 'node'), ours('hybrid', 'node'), ours('uring', 'node', 'rw'),
    { name: 'node-net-onread (same pipes)', cmd: (c) => (c.scheme === 'speed1' ? null : [process.execPath, runJs, '--scheme', 'net', '--pipes', String(c.n), '--tokens', String(c.t), '--seconds', String(secs)]) },
  ];
}

function once(cmd: string[]): { eps: number; ok: boolean } {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', timeout: 120_000 });
  const line = String(r.stdout).trim().split('\n').pop() ?? '';
  const eps = Number(/eps=([\d.]+)/.exec(line)?.[1] ?? NaN);
  return { eps, ok: /check=ok/.test(line) };
}

function median(v: number[]): number {
  const s = v.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN;
}

function main(): void {
  const o = args(process.argv.slice(2));
  const all = rows(o.ref, o.seconds).filter((r) => !o.only || o.only.test(r.name));
  const res = new Map<string, number[]>();
  const bad = new Set<string>();
  for (let run = 0; run < o.runs; run++) {
    for (const c of CELLS) {
      for (const r of all) {
        const cmd = r.cmd(c);
        if (!cmd) continue;
        const { eps, ok } = once(cmd);
        const key = `${r.name}|${c.label}`;
        if (!ok) bad.add(key);
        res.set(key, [...(res.get(key) ?? []), eps]);
      }
    }
  }
  const fmt = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
  console.log(`| implementation | ${CELLS.map((c) => c.label).join(' | ')} |`);
  console.log(`|---|${CELLS.map(() => '---:').join('|')}|`);
  for (const r of all) {
    const cells = CELLS.map((c) => {
      const key = `${r.name}|${c.label}`;
      const m = median(res.get(key) ?? []);
      const base = median(res.get(`tevent-epoll|${c.label}`) ?? []);
      if (!Number.isFinite(m)) return 'n/a';
      const ratio = Number.isFinite(base) ? ` (${(m / base).toFixed(2)}x)` : '';
      return `${fmt(m)}${ratio}${bad.has(key) ? ' FAILED-CHECK' : ''}`;
    });
    console.log(`| ${r.name} | ${cells.join(' | ')} |`);
  }
  console.log(`\n${o.runs} runs x ${o.seconds} s per cell, interleaved; medians; (x) = ratio to tevent-epoll in the same run.`);
}

main();
