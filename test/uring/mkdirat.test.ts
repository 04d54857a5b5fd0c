// MKDIRAT.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { SystemError } from '../../src/util/errors.js';
import { mkdirat, prepMkdirat } from '../../src/uring/ops/mkdirat.js';
import { cleanup, drive, needs, ring, tmp } from './helpers.js';

describe('mkdirat', () => {
  afterEach(cleanup);
  it('creates a directory with a mode; EEXIST the second time', { skip: needs('MKDIRAT') }, async () => {
    const r = ring();
    const d = tmp();
    assert.equal(await drive(r, mkdirat(r, -100, join(d, 'x'), 0o700)), 0);
    const st = statSync(join(d, 'x'));
    assert.ok(st.isDirectory());
    assert.equal(st.mode & 0o777, 0o700);
    await assert.rejects(drive(r, mkdirat(r, -100, join(d, 'x'))), (e: SystemError) => e.code === 'EEXIST');
    assert.throws(() => prepMkdirat(r, -100, 'y', -1), RangeError);
  });
});
