// RENAMEAT (renameat2 flags).
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { readFileSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import type { SystemError } from '../../src/util/errors.js';
import { prepRenameat, renameat, RENAME } from '../../src/uring/ops/renameat.js';
import { cleanup, drive, needs, ring, tmp } from './helpers.js';

describe('renameat', () => {
  afterEach(cleanup);
  it('renames between dirfds; NOREPLACE gives EEXIST; EXCHANGE swaps', { skip: needs('RENAMEAT') }, async () => {
    const r = ring();
    const d = tmp();
    writeFileSync(join(d, 'a'), 'A');
    writeFileSync(join(d, 'b'), 'B');
    const dfd = openSync(d, 'r');
    try {
      assert.equal(await drive(r, renameat(r, dfd, 'a', -100, join(d, 'c'))), 0);
      assert.equal(readFileSync(join(d, 'c'), 'utf8'), 'A');
      await assert.rejects(drive(r, renameat(r, dfd, 'c', dfd, 'b', { flags: RENAME.NOREPLACE })), (e: SystemError) => e.code === 'EEXIST');
      assert.equal(await drive(r, renameat(r, dfd, 'c', dfd, 'b', { flags: RENAME.EXCHANGE })), 0);
      assert.equal(readFileSync(join(d, 'b'), 'utf8'), 'A');
      assert.equal(readFileSync(join(d, 'c'), 'utf8'), 'B');
      assert.throws(() => prepRenameat(r, dfd, 'a', dfd, 'b', null, { flags: 8 }), RangeError);
    } finally {
      closeSync(dfd);
    }
  });
});
