/** Temp share directories and assertions shared by the VFS tests. */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { SystemError } from '../../src/util/errors.js';

/** A fresh directory holding `share/` (the share root) and `outside/` (must stay untouched). */
export function makeTree(): { base: string; share: string; outside: string; cleanup: () => void } {
  const base = mkdtempSync(join(tmpdir(), 'ringsmb-vfs-'));
  const share = join(base, 'share');
  const outside = join(base, 'outside');
  mkdirSync(share);
  mkdirSync(outside);
  return { base, share, outside, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

/** Rejects with a SystemError carrying this code. */
export async function rejectsCode(p: Promise<unknown>, code: string, what?: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof SystemError, `${what ?? ''}: expected SystemError, got ${String(err)}`);
    assert.equal(err.code, code, `${what ?? ''}: ${err.message}`);
    return true;
  });
}

export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}
