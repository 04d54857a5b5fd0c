// RegisteredBuffers (READ_FIXED/WRITE_FIXED) and BufRing registration; no leaks.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BufRing, RegisteredBuffers } from '../../src/uring/buffers.js';
import { addressOf } from '../../src/uring/memory.js';
import { prepReadFixed, readFixed, writeFixed } from '../../src/uring/ops/rw.js';
import { cleanup, drive, fdCount, needs, noUring, ring, tmp } from './helpers.js';

describe('buffers', () => {
  afterEach(cleanup);

  it('READ_FIXED/WRITE_FIXED go through views over the registered memory', { skip: needs('READ_FIXED', 'WRITE_FIXED') }, async () => {
    const r = ring();
    const fb = RegisteredBuffers.register(r, 4, 4096);
    try {
      const f = join(tmp(), 'f');
      writeFileSync(f, 'fixed buffers!');
      const fd = openSync(f, 'r+');
      try {
        assert.equal(await drive(r, readFixed(r, fd, fb, 2, 0)), 14);
        const v = fb.view(2);
        assert.equal(v.toString('utf8', 0, 14), 'fixed buffers!');
        assert.equal(addressOf(v), fb.address(2));
        fb.view(3).write('WRITE', 0);
        assert.equal(await drive(r, writeFixed(r, fd, fb, 3, 0, { length: 5 })), 5);
        assert.equal(readFileSync(f, 'utf8'), 'WRITE buffers!');
        assert.throws(() => prepReadFixed(r, fd, fb, 4, 0), RangeError);
        assert.throws(() => prepReadFixed(r, fd, fb, 0, 0, null, { length: 5000 }), RangeError);
      } finally {
        closeSync(fd);
      }
    } finally {
      fb.dispose();
    }
    assert.equal(fb.isRegistered, false);
  });

  it('registering twice fails (EBUSY) until disposed', { skip: noUring }, () => {
    const r = ring();
    const a = RegisteredBuffers.register(r, 2, 1024);
    assert.throws(() => RegisteredBuffers.register(r, 2, 1024), (e: Error & { code: string }) => e.code === 'EBUSY');
    a.dispose();
    RegisteredBuffers.register(r, 2, 1024).dispose();
    assert.throws(() => RegisteredBuffers.register(r, 0, 1024), RangeError);
  });

  it('BufRing registers, views its buffers, unregisters; bad sizes throw', { skip: noUring }, () => {
    const r = ring();
    const br = BufRing.register(r, { bgid: 3, entries: 8, size: 256 });
    assert.equal(br.view(5, 10).length, 10);
    assert.equal(addressOf(br.view(5)), br.address(5));
    assert.throws(() => BufRing.register(r, { bgid: 3, entries: 8, size: 256 }), (e: Error & { code: string }) => e.code === 'EEXIST');
    br.recycle(5);
    assert.throws(() => br.recycle(8), RangeError);
    br.dispose();
    BufRing.register(r, { bgid: 3, entries: 4, size: 64 }).dispose();
    assert.throws(() => BufRing.register(r, { entries: 6, size: 64 }), RangeError);
  });

  it('rings with registered buffers and buffer rings leak no fd', { skip: noUring }, () => {
    const before = fdCount();
    for (let i = 0; i < 10; i++) {
      const r = ring();
      RegisteredBuffers.register(r, 2, 4096);
      BufRing.register(r, { entries: 4, size: 128 });
      r.close();
    }
    assert.equal(fdCount(), before);
  });
});
