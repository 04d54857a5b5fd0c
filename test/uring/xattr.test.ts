// FSETXATTR/FGETXATTR/SETXATTR/GETXATTR.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SystemError } from '../../src/util/errors.js';
import { fgetxattr, fsetxattr, getxattr, setxattr, XATTR, prepFgetxattr } from '../../src/uring/ops/xattr.js';
import { cleanup, drive, needs, ring, tmp } from './helpers.js';

describe('xattr', () => {
  afterEach(cleanup);
  it('set and get user.* attributes by fd and by path', { skip: needs('FSETXATTR', 'FGETXATTR', 'SETXATTR', 'GETXATTR') }, async (t) => {
    const r = ring();
    const f = join(tmp(), 'x');
    writeFileSync(f, '');
    const fd = openSync(f, 'r+');
    try {
      try {
        await drive(r, fsetxattr(r, fd, 'user.ringsmb', Buffer.from('value1')));
      } catch (e) {
        if ((e as SystemError).code === 'EOPNOTSUPP' || (e as SystemError).code === 'ENOTSUP') {
          t.skip(`the filesystem of ${f} has no user xattrs`);
          return;
        }
        throw e;
      }
      const out = Buffer.alloc(64);
      assert.equal(await drive(r, fgetxattr(r, fd, 'user.ringsmb', out)), 6);
      assert.equal(out.toString('utf8', 0, 6), 'value1');
      await assert.rejects(drive(r, fsetxattr(r, fd, 'user.ringsmb', Buffer.from('v'), { flags: XATTR.CREATE })), (e: SystemError) => e.code === 'EEXIST');
      assert.equal(await drive(r, setxattr(r, f, 'user.other', Buffer.from('abc'))), 0);
      assert.equal(await drive(r, getxattr(r, f, 'user.other', out)), 3);
      assert.equal(out.toString('utf8', 0, 3), 'abc');
      await assert.rejects(drive(r, getxattr(r, f, 'user.none', out)), (e: SystemError) => e.code === 'ENODATA');
      await assert.rejects(drive(r, fgetxattr(r, fd, 'user.ringsmb', Buffer.alloc(2))), (e: SystemError) => e.code === 'ERANGE');
      assert.throws(() => prepFgetxattr(r, fd, '', out), RangeError);
      assert.equal(r.arena.allocated, 0);
    } finally {
      closeSync(fd);
    }
  });
});
