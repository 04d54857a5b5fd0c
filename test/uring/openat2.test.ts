// OPENAT2: flags, mode, resolve (share confinement), errors.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { mkdirSync, openSync, closeSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { RESOLVE } from '../../src/uring/constants.js';
import type { SystemError } from '../../src/util/errors.js';
import { O, openat2, prepOpenat2 } from '../../src/uring/ops/openat2.js';
import { close } from '../../src/uring/ops/close.js';
import { write } from '../../src/uring/ops/rw.js';
import { cleanup, drive, needs, ring, tmp } from './helpers.js';

describe('openat2', () => {
  afterEach(cleanup);

  it('creates with mode, writes, and the fd is close-on-exec', { skip: needs('OPENAT2', 'WRITE', 'CLOSE') }, async () => {
    const r = ring();
    const d = tmp();
    const fd = await drive(r, openat2(r, -100, join(d, 'new'), { flags: O.CREAT | O.WRONLY | O.EXCL, mode: 0o640 }));
    assert.ok(fd >= 0);
    assert.equal(await drive(r, write(r, fd, Buffer.from('hi'), 0)), 2);
    assert.equal(await drive(r, close(r, fd)), 0);
    assert.equal(readFileSync(join(d, 'new'), 'utf8'), 'hi');
    assert.equal(statSync(join(d, 'new')).mode & 0o777, 0o640 & ~process.umask());
    assert.equal(r.arena.allocated, 0);
  });

  it('a missing file fails with ENOENT carrying code and errno', { skip: needs('OPENAT2') }, async () => {
    const r = ring();
    await assert.rejects(drive(r, openat2(r, -100, join(tmp(), 'missing'))), (e: SystemError) => {
      assert.equal(e.code, 'ENOENT');
      assert.equal(e.errno, 2);
      assert.ok(e instanceof Error);
      return true;
    });
  });

  it('RESOLVE_BENEATH refuses .. and absolute symlinks out of the dirfd (EXDEV)', { skip: needs('OPENAT2') }, async () => {
    const r = ring();
    const d = tmp();
    mkdirSync(join(d, 'share'));
    symlinkSync('/etc/passwd', join(d, 'share', 'out'));
    const dirfd = openSync(join(d, 'share'), 'r');
    try {
      const how = { resolve: RESOLVE.BENEATH | RESOLVE.NO_MAGICLINKS };
      await assert.rejects(drive(r, openat2(r, dirfd, '../share/x', how)), (e: SystemError) => e.code === 'EXDEV');
      await assert.rejects(drive(r, openat2(r, dirfd, 'out', how)), (e: SystemError) => e.code === 'EXDEV');
    } finally {
      closeSync(dirfd);
    }
  });

  it('bad arguments throw before the kernel', { skip: needs('OPENAT2') }, () => {
    const r = ring();
    assert.throws(() => prepOpenat2(r, -100, 5 as never), TypeError);
    assert.throws(() => prepOpenat2(r, -7, 'x'), RangeError);
    assert.throws(() => prepOpenat2(r, -100, 'x', { mode: 0o10000 }), RangeError);
    assert.throws(() => prepOpenat2(r, -100, 'x'.repeat(5000)), RangeError);
    assert.equal(r.arena.allocated, 0);
  });
});
