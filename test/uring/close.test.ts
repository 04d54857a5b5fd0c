// CLOSE.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { SystemError } from '../../src/util/errors.js';
import { close, prepClose } from '../../src/uring/ops/close.js';
import { cleanup, drive, fdCount, isOpen, n, needs, ring } from './helpers.js';

describe('close', () => {
  afterEach(cleanup);
  it('closes an fd; EBADF the second time', { skip: needs('CLOSE') }, async () => {
    const r = ring();
    const before = fdCount();
    const p = n.pipe2(0o2000000) as [number, number];
    assert.equal(await drive(r, close(r, p[0])), 0);
    assert.equal(await drive(r, close(r, p[1])), 0);
    assert.equal(isOpen(p[0]) || isOpen(p[1]), false);
    assert.equal(fdCount(), before);
    await assert.rejects(drive(r, close(r, p[0])), (e: SystemError) => e.code === 'EBADF');
    assert.throws(() => prepClose(r, -1), RangeError);
    assert.throws(() => prepClose(r, '3' as never), TypeError);
  });
});
