/**
 * bench/tcp-floor: the kernel's own cost of moving file data over loopback
 * TCP, copied (pread + write, recv + pwrite: what smbd does) against spliced
 * (file -> pipe -> socket, socket -> pipe -> file: what ringsmb does for
 * unsigned READ and WRITE), measured with floor.c (raw syscalls, one thread,
 * no protocol; built here with `cc -O2`), rounds alternating, medians.
 *
 * It says how much of a server's CPU per GiB no server design can remove on
 * this machine, and so what the CPU goals of bench:smb can mean here: on
 * loopback the sender also pays the receiver's TCP processing, which both
 * servers share, and a copy saved by splicing is only part of the total.
 *
 * Usage: node dist/bench/tcp-floor/run.js [--size 2G] [--rounds 5] [--chunk 8M] [--dir /dev/shm]
 * (as root where the machine is a VM with free page reporting: see bench/common.ts)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus, release } from 'node:os';
import { GiB, MiB, holdFreedMemory, median, parseSize, touchMemory, writeRandomFile } from '../common.js';

const MODES = ['send-copy', 'send-splice', 'recv-copy', 'recv-splice'] as const;
type Mode = (typeof MODES)[number];

function options(argv: string[]): { size: number; rounds: number; chunk: number; dir: string } {
  const o = { size: 2 * GiB, rounds: 5, chunk: 8 * MiB, dir: '/dev/shm' };
  for (let i = 0; i < argv.length; i += 2) {
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`missing value for ${argv[i]}`);
    if (argv[i] === '--size') o.size = parseSize(v);
    else if (argv[i] === '--rounds') o.rounds = Number(v);
    else if (argv[i] === '--chunk') o.chunk = parseSize(v, '--chunk');
    else if (argv[i] === '--dir') o.dir = v;
    else throw new Error(`unknown option ${argv[i]}`);
  }
  if (!(o.rounds >= 1)) throw new Error('--rounds must be >= 1');
  return o;
}

function sourceDir(): string {
  // dist/bench/tcp-floor/run.js -> bench/tcp-floor
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bench', 'tcp-floor');
}

interface Result {
  mode: Mode;
  secs: number;
  cpu: number;
}

function run(bin: string, mode: Mode, file: string, bytes: number, chunk: number): Result {
  const r = spawnSync(bin, [mode, file, String(bytes), String(chunk)], { encoding: 'utf8', timeout: 120_000 });
  const m = /secs=([\d.]+) cpu=([\d.]+)/.exec(r.stdout);
  if (r.status !== 0 || !m) throw new Error(`floor ${mode} failed: ${r.error?.message ?? ''}${r.stderr}${r.stdout}`);
  return { mode, secs: Number(m[1]), cpu: Number(m[2]) };
}

function main(): number {
  const o = options(process.argv.slice(2));
  const dir = mkdtempSync(join(o.dir, 'ringsmb-tcp-floor-'));
  const restores: (() => void)[] = [];
  try {
    const bin = join(dir, 'floor');
    const cc = spawnSync('cc', ['-O2', '-o', bin, join(sourceDir(), 'floor.c')], { encoding: 'utf8' });
    if (cc.status !== 0) {
      console.error(`tcp-floor: cc failed: ${cc.error?.message ?? cc.stderr}`);
      return 2;
    }
    const note = holdFreedMemory((r) => restores.push(r));
    const src = join(dir, 'src');
    const out = join(dir, 'out');
    writeRandomFile(src, o.size);
    // Fill and free the memory the recv modes will use, so that no mode meets never-touched guest pages first.
    touchMemory(dir, o.size);
    console.log(`tcp-floor: ${(o.size / MiB).toFixed(0)} MiB per transfer, chunk ${(o.chunk / MiB).toFixed(0)} MiB, ${o.rounds} rounds, files on ${o.dir}`);
    console.log(`machine: Linux ${release()}, ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? '?'}), node ${process.version}`);
    if (note) console.log(note);
    const rows: Result[] = [];
    for (let round = 0; round < o.rounds; round++) {
      // Rotate the order, so that no mode always runs first after another.
      for (let k = 0; k < MODES.length; k++) {
        const mode = MODES[(k + round) % MODES.length]!;
        const r = run(bin, mode, mode.startsWith('send') ? src : out, o.size, o.chunk);
        rows.push(r);
        console.log(`r${round + 1} ${mode.padEnd(12)} ${((o.size / MiB) / r.secs).toFixed(0).padStart(6)} MiB/s  ${((r.cpu * GiB) / o.size).toFixed(3)} CPU s/GiB`);
      }
    }
    const med = new Map<Mode, { mibps: number; cpu: number }>();
    for (const mode of MODES) {
      const rs = rows.filter((r) => r.mode === mode);
      med.set(mode, { mibps: median(rs.map((r) => o.size / MiB / r.secs)), cpu: median(rs.map((r) => (r.cpu * GiB) / o.size)) });
    }
    console.log('\n| transfer | copied MiB/s | spliced MiB/s | copied CPU s/GiB | spliced CPU s/GiB | CPU spliced/copied |');
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const dirn of ['send', 'recv'] as const) {
      const c = med.get(`${dirn}-copy`)!;
      const s = med.get(`${dirn}-splice`)!;
      const what = dirn === 'send' ? 'file -> socket (READ)' : 'socket -> file (WRITE)';
      console.log(`| ${what} | ${c.mibps.toFixed(0)} | ${s.mibps.toFixed(0)} | ${c.cpu.toFixed(3)} | ${s.cpu.toFixed(3)} | ${(s.cpu / c.cpu).toFixed(2)}x |`);
    }
    console.log(`\nmedians of ${o.rounds} rounds; CPU: the server side's user+system time (getrusage), which on loopback includes the receiver's TCP processing`);
    return 0;
  } finally {
    for (const r of restores) r();
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = main();
