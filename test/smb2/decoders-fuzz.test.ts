/**
 * Every wire decoder (an exported decode* of src/smb2, src/auth and
 * src/rpc) against seeded malformed input: mostly zeros with small and
 * boundary values, the shape that reaches past length and count fields.
 * A decoder may return or throw its own error (MalformedError and the other
 * RingsmbErrors, which the server answers with a status); it must not run
 * off its buffer (Node's ERR_OUT_OF_RANGE / ERR_BUFFER_OUT_OF_BOUNDS) or
 * trip over a missing value (TypeError), which would reach a client as
 * INTERNAL_ERROR.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RingsmbError } from '../../src/util/errors.js';
import { fuzzSeed, generator } from '../util/fuzz.js';

const SEED = fuzzSeed();
const PER_DECODER = Number(process.env.RINGSMB_FUZZ_COUNT ?? 3000);
const src = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');

function modules(): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith('.js')) out.push(p);
    }
  };
  for (const area of ['smb2', 'auth', 'rpc']) walk(join(src, area));
  return out;
}

test(`fuzz: every wire decoder, ${PER_DECODER} malformed inputs each (seed ${SEED}): its own errors only, never past its buffer`, async () => {
  const { rnd, int, pick } = generator(SEED ^ 0xdec0);
  const input = (): Buffer => {
    const len = pick([0, 1, 2, 4, 8, 16, 24, 32, 48, 64, 65, 100, 120, 200, 512]) + (rnd() < 0.3 ? int(8) : 0);
    const b = Buffer.alloc(len);
    for (let i = 0; i < len; i++) b[i] = rnd() < 0.6 ? 0 : rnd() < 0.5 ? int(256) : pick([1, 2, 4, 8, 16, 24, 32, 64, 0xff]);
    return b;
  };
  const decoders: string[] = [];
  const failures = new Map<string, string>();
  for (const file of modules()) {
    const m = (await import(file)) as Record<string, unknown>;
    for (const [name, fn] of Object.entries(m)) {
      if (!name.startsWith('decode') || typeof fn !== 'function') continue;
      const where = `${relative(src, file)}:${name}`;
      decoders.push(where);
      for (let i = 0; i < PER_DECODER && !failures.has(where); i++) {
        const b = input();
        try {
          // Decoders of a message take (buffer) or (buffer, offset).
          (fn as (b: Buffer, off?: number) => unknown)(b, 0);
        } catch (err) {
          if (err instanceof RingsmbError) continue;
          const code = (err as { code?: string }).code ?? '';
          if (code.startsWith('ERR_') || err instanceof TypeError) failures.set(where, `${code || (err as Error).name}: ${(err as Error).message} on ${b.toString('hex')}`);
        }
      }
    }
  }
  assert.ok(decoders.length > 50, `found the decoders (${decoders.length})`);
  assert.deepEqual([...failures].map(([k, v]) => `${k}: ${v}`), [], `seed ${SEED}`);
});
