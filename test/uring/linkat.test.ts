// LINKAT.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SystemError } from '../../src/util/errors.js';
import { linkat, prepLinkat } from '../../src/uring/ops/linkat.js';
import { cleanup, drive, needs, ring, tmp } from './helpers.js';

describe('linkat', () => {
  afterEach(cleanup);
  it('creates a hard link; ENOENT for a missing source', { skip: needs('LINKAT') }, async () => {
    const r = ring();
    const d = tmp();
    writeFileSync(join(d, 'a'), 'x');
    assert.equal(await drive(r, linkat(r, -100, join(d, 'a'), -100, join(d, 'b'))), 0);
    assert.equal(statSync(join(d, 'a')).nlink, 2);
    await assert.rejects(drive(r, linkat(r, -100, join(d, 'none'), -100, join(d, 'c'))), (e: SystemError) => e.code === 'ENOENT');
    assert.throws(() => prepLinkat(r, -100, 'a', -100, 'b', null, { flags: 1 }), RangeError);
  });
});
