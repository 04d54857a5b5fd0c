// SYMLINKAT.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { SystemError } from '../../src/util/errors.js';
import { symlinkat } from '../../src/uring/ops/symlinkat.js';
import { cleanup, drive, needs, ring, tmp } from './helpers.js';

describe('symlinkat', () => {
  afterEach(cleanup);
  it('creates a symlink; EEXIST the second time', { skip: needs('SYMLINKAT') }, async () => {
    const r = ring();
    const d = tmp();
    assert.equal(await drive(r, symlinkat(r, 'target/ü', -100, join(d, 'l'))), 0);
    assert.equal(readlinkSync(join(d, 'l')), 'target/ü');
    await assert.rejects(drive(r, symlinkat(r, 'x', -100, join(d, 'l'))), (e: SystemError) => e.code === 'EEXIST');
  });
});
