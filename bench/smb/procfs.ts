/**
 * /proc helpers for the SMB bench: process CPU ticks, process trees,
 * machine-wide busy ticks, and a synchronous sleep for clean-up paths that
 * must run without the event loop (exit handlers).
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

export interface ProcStat {
  pid: number;
  state: string;
  ppid: number;
  session: number;
  /** utime + stime + cutime + cstime, in clock ticks. */
  ticks: number;
}

/** Parse /proc/PID/stat; null when the process is gone. */
export function procStat(pid: number): ProcStat | null {
  let s: string;
  try {
    s = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // comm (field 2) may contain spaces and parentheses: split after the last ')'.
  const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
  // rest[0] = field 3 (state); field N is rest[N - 3].
  const f = (n: number): number => Number(rest[n - 3]);
  return { pid, state: rest[0]!, ppid: f(4), session: f(6), ticks: f(14) + f(15) + f(16) + f(17) };
}

function allPids(): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    const c = e.charCodeAt(0);
    if (c >= 48 && c <= 57) out.push(Number(e));
  }
  return out;
}

/** root and every process below it (by ppid), zombies included. */
export function processTree(root: number): ProcStat[] {
  const stats: ProcStat[] = [];
  for (const p of allPids()) {
    const st = procStat(p);
    if (st) stats.push(st);
  }
  const byParent = new Map<number, ProcStat[]>();
  for (const st of stats) {
    const l = byParent.get(st.ppid);
    if (l) l.push(st);
    else byParent.set(st.ppid, [st]);
  }
  const self = stats.find((s) => s.pid === root);
  if (!self) return [];
  const out: ProcStat[] = [self];
  for (let i = 0; i < out.length; i++) for (const c of byParent.get(out[i]!.pid) ?? []) out.push(c);
  return out;
}

/**
 * CPU ticks of a server: utime+stime+cutime+cstime summed over the process
 * and its descendants. Children that exited and were reaped by their parent
 * are in the parent's cutime/cstime, so nothing is lost and nothing counted
 * twice (a zombie counts itself until reaped, then its parent counts it).
 */
export function treeTicks(root: number): number {
  let t = 0;
  for (const st of processTree(root)) t += st.ticks;
  return t;
}

/** Machine-wide busy and total ticks from the first line of /proc/stat. */
export function sysTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  const busy = v[0]! + v[1]! + v[2]! + v[5]! + v[6]! + (v[7] ?? 0);
  return { busy, total: busy + v[3]! + v[4]! };
}

/** Alive = exists and is not a zombie. */
export function alive(pid: number): boolean {
  const st = procStat(pid);
  return st !== null && st.state !== 'Z';
}

export function exePath(pid: number): string {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return '';
  }
}

export function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((x) => x.length > 0);
  } catch {
    return [];
  }
}

/** pids whose command line has an argument equal to, or ending in "=" + , value. */
export function pidsWithArg(value: string): number[] {
  const out: number[] = [];
  for (const p of allPids()) {
    if (p === process.pid) continue;
    if (cmdline(p).some((a) => a === value || a.endsWith(`=${value}`))) out.push(p);
  }
  return out;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
export function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** SIGTERM, wait up to graceMs, then SIGKILL whatever is left. Synchronous. */
export function terminateSync(pids: number[], graceMs: number): void {
  const live = pids.filter(alive);
  for (const p of live) {
    try {
      process.kill(p, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && live.some(alive)) sleepSync(50);
  for (const p of live.filter(alive)) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  const d2 = Date.now() + 2000;
  while (Date.now() < d2 && live.some(alive)) sleepSync(20);
}

let clkTck = 0;
export function clockTicksPerSecond(): number {
  if (clkTck) return clkTck;
  try {
    clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    clkTck = 100;
  }
  return clkTck;
}
