// READ, WRITE, READV, WRITEV (files and pipes); READ_FIXED/WRITE_FIXED are in buffers.test.ts.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { readFileSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import type { SystemError } from '../../src/util/errors.js';
import { prepRead, prepWrite, read, readv, write, writev } from '../../src/uring/ops/rw.js';
import { cleanup, drive, n, needs, pipe, ring, tmp } from './helpers.js';

describe('rw', () => {
  afterEach(cleanup);

  it('WRITE then READ a file at offsets', { skip: needs('READ', 'WRITE') }, async () => {
    const r = ring();
    const f = join(tmp(), 'a');
    const fd = openSync(f, 'w+');
    try {
      assert.equal(await drive(r, write(r, fd, Buffer.from('hello world'), 0)), 11);
      assert.equal(await drive(r, write(r, fd, Buffer.from('XYZ'), 6, { length: 2 })), 2);
      const buf = Buffer.alloc(16);
      assert.equal(await drive(r, read(r, fd, buf, 0, { offset: 1, length: 15 })), 11);
      assert.equal(buf.toString('utf8', 1, 12), 'hello XYrld');
      assert.equal(readFileSync(f, 'utf8'), 'hello XYrld');
    } finally {
      closeSync(fd);
    }
  });

  it('READ and WRITE on a pipe at the current position (-1)', { skip: needs('READ', 'WRITE') }, () => {
    const r = ring();
    const [rd, wr] = pipe();
    const got: number[] = [];
    const buf = Buffer.alloc(8);
    r.submit(prepRead(r, rd, buf, -1, (e, res) => got.push(e ? -1 : res)));
    r.submit(prepWrite(r, wr, Buffer.from('pipe'), -1, (e, res) => got.push(e ? -1 : res)));
    while (got.length < 2) r.wait(1, 1e9);
    assert.deepEqual(got.sort(), [4, 4]);
    assert.equal(buf.toString('utf8', 0, 4), 'pipe');
  });

  it('READV and WRITEV scatter and gather', { skip: needs('READV', 'WRITEV') }, async () => {
    const r = ring();
    const f = join(tmp(), 'v');
    const fd = openSync(f, 'w+');
    try {
      assert.equal(await drive(r, writev(r, fd, [Buffer.from('abc'), Buffer.from('defg')], 0)), 7);
      const a = Buffer.alloc(2);
      const b = Buffer.alloc(5);
      assert.equal(await drive(r, readv(r, fd, [a, b], 0)), 7);
      assert.equal(a.toString() + b.toString(), 'abcdefg');
      assert.equal(r.arena.allocated, 0, 'iovec blocks go back to the arena');
    } finally {
      closeSync(fd);
    }
  });

  it('a READ on a closed fd completes with EBADF', { skip: needs('READ') }, async () => {
    const r = ring();
    const [rd, wr] = pipe();
    n.close(rd);
    n.close(wr);
    await assert.rejects(drive(r, read(r, rd, Buffer.alloc(1), -1)), (e: SystemError) => e.code === 'EBADF' && e.errno === 9 && e.syscall === 'READ');
  });

  it('bad arguments throw before the kernel', { skip: needs('READ') }, () => {
    const r = ring();
    assert.throws(() => prepRead(r, 0, Buffer.alloc(4), 0, null, { offset: 3, length: 2 }), RangeError);
    assert.throws(() => prepRead(r, 0, Buffer.alloc(4), 1.5), RangeError);
    assert.throws(() => prepRead(r, 0, Buffer.alloc(4), 0, 'cb' as never), TypeError);
    assert.throws(() => readv(r, 0, [], 0), RangeError);
    assert.throws(() => readv(r, 0, ['x' as never], 0), TypeError);
  });

  it('a reused Op reads again after its completion', { skip: needs('READ') }, () => {
    const r = ring();
    const f = join(tmp(), 'r');
    writeFileSync(f, 'abcdefgh');
    const fd = openSync(f, 'r');
    try {
      let sum = 0;
      const op = prepRead(r, fd, Buffer.alloc(4), 0, (e, res) => (sum += e ? -100 : res));
      for (let i = 0; i < 5; i++) {
        r.submit(op);
        r.wait(1, 1e9);
        assert.equal(op.done, true);
      }
      assert.equal(sum, 20);
    } finally {
      closeSync(fd);
    }
  });
});
