// UNLINKAT (files and, with removeDir, directories).
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SystemError } from '../../src/util/errors.js';
import { unlinkat } from '../../src/uring/ops/unlinkat.js';
import { cleanup, drive, needs, ring, tmp } from './helpers.js';

describe('unlinkat', () => {
  afterEach(cleanup);
  it('removes a file and a directory; ENOENT and EISDIR otherwise', { skip: needs('UNLINKAT') }, async () => {
    const r = ring();
    const d = tmp();
    writeFileSync(join(d, 'f'), 'x');
    mkdirSync(join(d, 'sub'));
    assert.equal(await drive(r, unlinkat(r, -100, join(d, 'f'))), 0);
    assert.equal(existsSync(join(d, 'f')), false);
    await assert.rejects(drive(r, unlinkat(r, -100, join(d, 'f'))), (e: SystemError) => e.code === 'ENOENT');
    await assert.rejects(drive(r, unlinkat(r, -100, join(d, 'sub'))), (e: SystemError) => e.code === 'EISDIR');
    assert.equal(await drive(r, unlinkat(r, -100, join(d, 'sub'), { removeDir: true })), 0);
    assert.equal(existsSync(join(d, 'sub')), false);
  });
});
