/** Temp share directories, assertions, and the modules under test (one suite, run per module). */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, describe } from 'node:test';
import { SystemError } from '../../src/util/errors.js';
import { OPS } from '../../src/uring/constants.js';
import type { Op } from '../../src/uring/op.js';
import type { Ring } from '../../src/uring/ring.js';
import { createEventContext, type EventContext } from '../../src/events/index.js';
import { createVfs, uringVfsUnusable, type Vfs, type VfsKind } from '../../src/vfs/index.js';

export const VFS_KINDS: readonly VfsKind[] = ['threadpool', 'uring'];

/** A module ready to test; uring runs on the ring of an EventContext (uring backend, node driver). */
export interface ModuleUnderTest {
  kind: VfsKind;
  vfs: Vfs;
  ctx: EventContext | null;
  close(): void;
}

/** false when this module runs here, else why its tests are skipped. */
export function vfsSkip(kind: VfsKind): string | false {
  if (kind === 'threadpool') return false;
  let ctx: EventContext;
  try {
    ctx = createEventContext({ backend: 'uring', driver: 'node' });
  } catch (err) {
    return `io_uring unavailable here: ${(err as Error).message}`;
  }
  const why = uringVfsUnusable(ctx.ring);
  ctx.close();
  return why ?? false;
}

export function openModule(kind: VfsKind): ModuleUnderTest {
  if (kind === 'threadpool') return { kind, vfs: createVfs('threadpool'), ctx: null, close: () => {} };
  const ctx = createEventContext({ backend: 'uring', driver: 'node' });
  ctx.onError = (err) => {
    throw err;
  };
  return { kind, vfs: createVfs('uring', ctx.ring), ctx, close: () => ctx.close() };
}

/**
 * describe(`${title} [kind]`) once per module; body gets a getter for the
 * module (made when the suite starts, closed when it ends). A module that
 * cannot run here is skipped with the reason.
 */
export function describeEachVfs(title: string, body: (m: () => ModuleUnderTest) => void): void {
  for (const kind of VFS_KINDS) {
    const skip = vfsSkip(kind);
    describe(`${title} [${kind}]`, { skip }, () => {
      let mod: ModuleUnderTest | null = null;
      const get = (): ModuleUnderTest => (mod ??= openModule(kind));
      body(get);
      after(() => mod?.close()); // after the body's own after hooks (closing shares) ran

    });
  }
}

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

/** Names of the ops submitted on `ring` until stop() (the submit method is wrapped meanwhile). */
export function recordOps(ring: Ring): { names: string[]; stop: () => void } {
  const names: string[] = [];
  const submit = ring.submit;
  ring.submit = function (this: Ring, sub) {
    names.push(OPS[(sub as Op).opcode] ?? '?');
    return submit.call(this, sub);
  };
  return { names, stop: () => { ring.submit = submit; } };
}
