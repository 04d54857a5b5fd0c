// FSYNC (fsync and fdatasync) and SYNC_FILE_RANGE.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { openSync, closeSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { SystemError } from '../../src/util/errors.js';
import { fsync, fdatasync, prepSyncFileRange } from '../../src/uring/ops/fsync.js';
import { cleanup, drive, needs, pipe, ring, tmp } from './helpers.js';

describe('fsync', () => {
  afterEach(cleanup);

  it('fsync and fdatasync a written file', { skip: needs('FSYNC') }, async () => {
    const r = ring();
    const fd = openSync(join(tmp(), 'f'), 'w');
    try {
      writeSync(fd, 'data');
      assert.equal(await drive(r, fsync(r, fd)), 0);
      assert.equal(await drive(r, fdatasync(r, fd)), 0);
    } finally {
      closeSync(fd);
    }
  });

  it('fsync of a pipe fails with EINVAL', { skip: needs('FSYNC') }, async () => {
    const r = ring();
    const [rd] = pipe();
    await assert.rejects(drive(r, fsync(r, rd)), (e: SystemError) => e.code === 'EINVAL');
  });

  it('SYNC_FILE_RANGE over a range', { skip: needs('SYNC_FILE_RANGE') }, () => {
    const r = ring();
    const fd = openSync(join(tmp(), 'g'), 'w');
    try {
      writeSync(fd, 'x'.repeat(8192));
      let res = -1;
      r.submit(prepSyncFileRange(r, fd, 0, 8192, 2 /* SYNC_FILE_RANGE_WRITE */, (e, v) => (res = e ? -e.errno : v)));
      while (res === -1) r.wait(1, 1e9);
      assert.equal(res, 0);
      assert.throws(() => prepSyncFileRange(r, fd, -1, 1, 0), RangeError);
    } finally {
      closeSync(fd);
    }
  });
});
