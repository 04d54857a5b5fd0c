// SPLICE file -> pipe -> file, and TEE pipe -> pipe.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SystemError } from '../../src/util/errors.js';
import { prepSplice, splice, tee } from '../../src/uring/ops/splice.js';
import { cleanup, drive, n, needs, pipe, ring, tmp } from './helpers.js';

describe('splice/tee', () => {
  afterEach(cleanup);

  it('SPLICE moves a file range through a pipe into another file', { skip: needs('SPLICE') }, async () => {
    const r = ring();
    const d = tmp();
    writeFileSync(join(d, 'src'), '0123456789');
    const src = openSync(join(d, 'src'), 'r');
    const dst = openSync(join(d, 'dst'), 'w');
    const [pr, pw] = pipe();
    try {
      assert.equal(await drive(r, splice(r, src, 2, pw, -1, 5)), 5);
      assert.equal(await drive(r, splice(r, pr, -1, dst, 0, 5)), 5);
      assert.equal(readFileSync(join(d, 'dst'), 'utf8'), '23456');
      await assert.rejects(drive(r, splice(r, src, 0, dst, 0, 1)), (e: SystemError) => e.code === 'EINVAL');
      assert.throws(() => prepSplice(r, src, -2, pw, -1, 1), RangeError);
    } finally {
      closeSync(src);
      closeSync(dst);
    }
  });

  it('TEE duplicates pipe data without consuming it', { skip: needs('TEE') }, async () => {
    const r = ring();
    const [ar, aw] = pipe();
    const [cr, cw] = pipe();
    n.writeSync(aw, Buffer.from('teed'), 0, 4);
    assert.equal(await drive(r, tee(r, ar, cw, 4)), 4);
    const x = Buffer.alloc(4);
    const y = Buffer.alloc(4);
    assert.equal(n.readSync(ar, x, 0, 4), 4);
    assert.equal(n.readSync(cr, y, 0, 4), 4);
    assert.equal(x.toString() + y.toString(), 'teedteed');
  });
});
