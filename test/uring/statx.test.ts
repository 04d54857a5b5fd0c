// STATX, parsed.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { writeFileSync, statSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import type { SystemError } from '../../src/util/errors.js';
import { fstatx, prepStatx, statx, STATX } from '../../src/uring/ops/statx.js';
import { cleanup, drive, needs, ring, tmp } from './helpers.js';

describe('statx', () => {
  afterEach(cleanup);

  it('matches fs.statSync (bigint)', { skip: needs('STATX') }, async () => {
    const r = ring();
    const f = join(tmp(), 'f');
    writeFileSync(f, Buffer.alloc(5000));
    const st = await drive(r, statx(r, -100, f));
    const ref = statSync(f, { bigint: true });
    assert.equal(st.size, 5000);
    assert.equal(BigInt(st.mode), ref.mode);
    assert.equal(BigInt(st.nlink), ref.nlink);
    assert.equal(BigInt(st.uid), ref.uid);
    assert.equal(BigInt(st.gid), ref.gid);
    assert.equal(st.ino, ref.ino);
    assert.equal(BigInt(st.dev), ref.dev);
    assert.equal(BigInt(st.blocks), ref.blocks);
    assert.equal(st.mtime, ref.mtimeNs);
    assert.equal(st.ctime, ref.ctimeNs);
    assert.equal(st.atime, ref.atimeNs);
    assert.ok((st.mask & STATX.BASIC_STATS) === STATX.BASIC_STATS);
    assert.equal(typeof st.attributes, 'bigint');
    if (st.mask & STATX.BTIME) assert.equal(st.btime, ref.birthtimeNs);
  });

  it('of an fd (AT_EMPTY_PATH), and ENOENT for a missing path', { skip: needs('STATX') }, async () => {
    const r = ring();
    const f = join(tmp(), 'g');
    writeFileSync(f, 'abc');
    const fd = openSync(f, 'r');
    try {
      assert.equal((await drive(r, fstatx(r, fd))).size, 3);
    } finally {
      closeSync(fd);
    }
    await assert.rejects(drive(r, statx(r, -100, f + '.missing')), (e: SystemError) => e.code === 'ENOENT');
    assert.throws(() => prepStatx(r, -100, '', () => {}), RangeError);
    assert.throws(() => prepStatx(r, -100, 'x', undefined as never), TypeError);
    assert.equal(r.arena.allocated, 0);
  });
});
