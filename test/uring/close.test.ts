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

  it('a failed op calls back with a SystemError that names the op and errno, without a captured stack', { skip: needs('CLOSE') }, async () => {
    const r = ring();
    const p = n.pipe2(0o2000000) as [number, number];
    n.close(p[0]);
    n.close(p[1]);
    const limit = Error.stackTraceLimit;
    let got: SystemError | null = null;
    let res = 0;
    r.submit(prepClose(r, p[0], (e, v) => {
      got = e;
      res = v;
    }));
    await drive(r, new Promise<void>((done) => setImmediate(done)));
    while (got === null) await drive(r, new Promise<void>((done) => setTimeout(done, 1)));
    const e = got as SystemError;
    assert.equal(res, -9);
    assert.equal(e.errno, 9);
    assert.equal(e.code, 'EBADF');
    assert.equal(e.syscall, 'CLOSE');
    assert.equal(e.message, 'CLOSE failed: EBADF');
    assert.ok(e instanceof Error);
    // The stack is the message line alone: no frames of the ring's reaping loop were captured.
    assert.equal(e.stack?.split('\n').length, 1, `stack: ${e.stack}`);
    assert.equal(Error.stackTraceLimit, limit, 'the stack trace limit is back');
  });
});
