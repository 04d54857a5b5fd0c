// FADVISE.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { openSync, closeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SystemError } from '../../src/util/errors.js';
import { fadvise, FADV, prepFadvise } from '../../src/uring/ops/fadvise.js';
import { cleanup, drive, needs, pipe, ring, tmp } from './helpers.js';

describe('fadvise', () => {
  afterEach(cleanup);

  it('WILLNEED and DONTNEED on a file succeed; a pipe gives ESPIPE', { skip: needs('FADVISE') }, async () => {
    const r = ring();
    const f = join(tmp(), 'f');
    writeFileSync(f, Buffer.alloc(65536, 1));
    const fd = openSync(f, 'r');
    try {
      assert.equal(await drive(r, fadvise(r, fd, 0, 0, FADV.WILLNEED)), 0);
      assert.equal(await drive(r, fadvise(r, fd, 0, 4096, FADV.DONTNEED)), 0);
      const [rd] = pipe();
      await assert.rejects(drive(r, fadvise(r, rd, 0, 0, FADV.SEQUENTIAL)), (e: SystemError) => e.code === 'ESPIPE');
      assert.throws(() => prepFadvise(r, fd, 0, 0, 9), RangeError);
    } finally {
      closeSync(fd);
    }
  });
});
