/**
 * `ringsmb features`: what this kernel offers io_uring-wise — availability
 * and why not, kernel release, the setup flags a ring gets, feature bits,
 * and every opcode supported or not. A table, or JSON with --json.
 */
import { Ring } from '../uring/ring.js';
import { describeFeatures, uringAvailability, type FeatureReport, type RingFeatures } from '../uring/features.js';

function report(): FeatureReport {
  const avail = uringAvailability();
  let f: RingFeatures | null = null;
  let reason = avail.reason;
  if (avail.available) {
    try {
      const r = Ring.open({ entries: 2 });
      f = r.features;
      r.close();
    } catch (err) {
      reason = `a ring could not be opened: ${(err as Error).message}`;
    }
  }
  return describeFeatures(f, { available: avail.available && f !== null, reason });
}

function table(rep: FeatureReport): string {
  const out: string[] = [];
  out.push(`io_uring:     ${rep.available ? 'available' : `unavailable (${rep.reason})`}`);
  out.push(`kernel:       ${rep.kernel}`);
  out.push(`setup flags:  ${rep.setupFlags.join(' ') || '-'}`);
  out.push(`features:     ${rep.features.join(' ') || '-'}`);
  const yes = rep.ops.filter((o) => o.supported).length;
  out.push(`opcodes:      ${yes} of ${rep.ops.length} supported`);
  out.push('');
  const w = Math.max(...rep.ops.map((o) => o.name.length));
  const cells = rep.ops.map((o) => `${String(o.code).padStart(2)} ${o.name.padEnd(w)} ${o.supported ? 'yes' : 'no '}`);
  const cols = 3;
  const rows = Math.ceil(cells.length / cols);
  for (let i = 0; i < rows; i++) {
    out.push(Array.from({ length: cols }, (_, c) => cells[c * rows + i] ?? '').join('    ').trimEnd());
  }
  return out.join('\n');
}

export async function featuresCommand(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log('usage: ringsmb features [--json]\n  prints what io_uring offers on this kernel');
    return 0;
  }
  const unknown = args.filter((a) => a !== '--json');
  if (unknown.length) {
    console.error(`ringsmb features: unknown argument ${unknown[0]}`);
    return 2;
  }
  const rep = report();
  console.log(args.includes('--json') ? JSON.stringify(rep, null, 2) : table(rep));
  return 0;
}
