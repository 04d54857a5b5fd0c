/**
 * Which path and metadata calls run inline (src/vfs/inline.ts): the choice
 * per filesystem, the override, and that the calls a level covers really
 * skip the ring while the ones that may free data stay on it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { mountsBeneath } from '../../src/vfs/share.js';
import { join } from 'node:path';
import { inlineLevelFor, runsInline } from '../../src/vfs/inline.js';
import { AT_EMPTY_PATH, O_CREAT, O_RDWR, O_TRUNC } from '../../src/vfs/linux.js';
import type { ShareRoot, UringVfs } from '../../src/vfs/index.js';
import { makeTree, openModule, recordOps, vfsSkip, type ModuleUnderTest } from './helpers.js';

const TMPFS = 0x01021994;
const EXT4 = 0xef53;
const NFS = 0x6969;

describe('inline metadata: the policy', () => {
  test('the level follows the filesystem; unknown and network filesystems keep everything on workers', () => {
    const saved = process.env.RINGSMB_INLINE_META;
    delete process.env.RINGSMB_INLINE_META;
    try {
      assert.deepEqual(inlineLevelFor(TMPFS), { level: 'all', fs: 'tmpfs', forced: false });
      assert.deepEqual(inlineLevelFor(BigInt(EXT4)), { level: 'stat', fs: 'ext4', forced: false });
      assert.deepEqual(inlineLevelFor(NFS), { level: 'none', fs: 'fs type 0x6969', forced: false });
      process.env.RINGSMB_INLINE_META = 'none';
      assert.deepEqual(inlineLevelFor(TMPFS), { level: 'none', fs: 'tmpfs', forced: true });
      process.env.RINGSMB_INLINE_META = 'bogus';
      assert.equal(inlineLevelFor(TMPFS).level, 'all', 'an unknown override is ignored');
    } finally {
      if (saved === undefined) delete process.env.RINGSMB_INLINE_META;
      else process.env.RINGSMB_INLINE_META = saved;
    }
  });

  test('what each level runs inline', () => {
    assert.equal(runsInline('none', 'statx', AT_EMPTY_PATH), false);
    assert.equal(runsInline('stat', 'statx', AT_EMPTY_PATH), true, 'stat of an open fd');
    assert.equal(runsInline('stat', 'statx', 0), false, 'a path lookup may read the disk');
    assert.equal(runsInline('stat', 'fgetxattr', 0), false);
    assert.equal(runsInline('stat', 'openat2', O_RDWR), false);
    for (const op of ['statx', 'fgetxattr', 'fsetxattr', 'flistxattr', 'fremovexattr', 'mkdirat', 'symlinkat', 'linkat', 'readlinkat'] as const) {
      assert.equal(runsInline('all', op, 0), true, op);
    }
    assert.equal(runsInline('all', 'openat2', O_RDWR | O_CREAT), true);
    // What may free a file's pages stays on a worker even on tmpfs.
    assert.equal(runsInline('all', 'openat2', O_RDWR | O_TRUNC), false);
    for (const op of ['unlinkat', 'renameat2', 'ftruncate', 'fallocate', 'fsync'] as const) {
      assert.equal(runsInline('all', op, 0), false, op);
    }
  });
});

const skip = vfsSkip('uring');

describe('inline metadata: uring shares', { skip }, () => {
  const tree = makeTree();
  let mod: ModuleUnderTest;
  let vfs: UringVfs;
  let all: ShareRoot;
  let stat: ShareRoot;
  let none: ShareRoot;

  before(async () => {
    mod = openModule('uring');
    vfs = mod.vfs as UringVfs;
    all = await vfs.openShare(tree.share, { inline: 'all' });
    stat = await vfs.openShare(tree.share, { inline: 'stat' });
    none = await vfs.openShare(tree.share, { inline: 'none' });
    writeFileSync(join(tree.share, 'f'), 'data');
  });
  after(async () => {
    await all.close();
    await stat.close();
    await none.close();
    mod.close();
    tree.cleanup();
  });

  test("'all': stat, xattrs, open, mkdir, link, symlink and close skip the ring; truncating opens, unlink, rename and data use it", async () => {
    const rec = recordOps(vfs.ring);
    const inline: string[] = [];
    const onRing: string[] = [];
    try {
      const f = await all.open('f', { read: true, write: true });
      await f.stat();
      await f.setXattr('user.k', Buffer.from('v')).catch(() => {});
      await f.getXattr('user.k').catch(() => {});
      await all.stat('f');
      await all.mkdir('d');
      await all.link('f', 'd/hard');
      await all.symlink('f', 'd/soft');
      assert.equal(await all.readlink('d/soft'), 'f');
      inline.push(...rec.names.splice(0));
      await f.write(Buffer.from('x'), 0, 1, 0);
      await f.close();
      const t = await all.open('f', { read: false, write: true, truncate: true });
      await t.close();
      await all.rename('d/hard', 'd/hard2', { replace: false });
      for (const n of ['d/hard2', 'd/soft']) await all.unlink(n);
      await all.rmdir('d');
      onRing.push(...rec.names);
    } finally {
      rec.stop();
    }
    assert.deepEqual(inline, [], `no ring op for the inline calls (saw ${inline.join(', ')})`);
    for (const op of ['WRITE', 'OPENAT2', 'RENAMEAT', 'UNLINKAT']) assert.ok(onRing.includes(op), `${op} on the ring (saw ${onRing.join(', ')})`);
    assert.ok(!onRing.includes('STATX'), 'no STATX at all');
    assert.ok(!onRing.includes('CLOSE'), `close(2) on the loop thread, as the CLOSE op would run (saw ${onRing.join(', ')})`);
    assert.equal(vfs.inflight, 0);
  });

  test("'stat': only the stat of an open file skips the ring", async () => {
    const rec = recordOps(vfs.ring);
    let names: string[];
    try {
      const f = await stat.open('f', { read: true, write: false });
      const afterOpen = rec.names.splice(0);
      assert.ok(afterOpen.includes('OPENAT2'), `open on the ring (saw ${afterOpen.join(', ')})`);
      await f.stat();
      await f.getXattr('user.k').catch(() => {});
      await f.close();
      names = rec.names;
    } finally {
      rec.stop();
    }
    assert.ok(!names.includes('STATX'), `stat inline (saw ${names.join(', ')})`);
    assert.ok(!names.includes('CLOSE'), `close inline (saw ${names.join(', ')})`);
    if (vfs.ring.supports('FGETXATTR')) assert.ok(names.includes('FGETXATTR'), `xattr read on the ring (saw ${names.join(', ')})`);
  });

  test("'none' (network and FUSE filesystems, whose ->flush io-wq runs): open, stat and close on the ring", async () => {
    const rec = recordOps(vfs.ring);
    let names: string[];
    try {
      const f = await none.open('f', { read: true, write: false });
      await f.stat();
      await f.close();
      names = rec.names;
    } finally {
      rec.stop();
    }
    for (const op of ['OPENAT2', 'STATX', 'CLOSE']) assert.ok(names.includes(op), `${op} on the ring (saw ${names.join(', ')})`);
  });

  test('an inline call is done before the loop turns', async () => {
    const f = await all.open('f', { read: true, write: false });
    let done = false;
    const p = f.stat().then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(done, true);
    await p;
    await f.close();
  });
});

describe('inline metadata: the level a share gets', { skip }, () => {
  test('a share on tmpfs runs path and metadata calls inline; the threadpool module chooses alike', { skip: !existsSync('/dev/shm') || statfsSync('/dev/shm').type !== TMPFS ? 'no tmpfs at /dev/shm' : false }, async () => {
    const saved = process.env.RINGSMB_INLINE_META;
    delete process.env.RINGSMB_INLINE_META;
    const dir = mkdtempSync('/dev/shm/ringsmb-inline-');
    const mods = [openModule('uring'), openModule('threadpool')];
    try {
      for (const m of mods) {
        const s = await m.vfs.openShare(dir);
        assert.deepEqual(s.metadata, { fs: 'tmpfs', inline: 'all', forced: false, nested: [] }, m.kind);
        const o = await m.vfs.openShare(dir, { inline: 'none' });
        assert.deepEqual(o.metadata, { fs: 'tmpfs', inline: 'none', forced: true, nested: [] }, m.kind);
        await s.close();
        await o.close();
      }
    } finally {
      for (const m of mods) m.close();
      rmSync(dir, { recursive: true, force: true });
      if (saved !== undefined) process.env.RINGSMB_INLINE_META = saved;
    }
  });

  test('a filesystem mounted beneath a tmpfs share takes the share down to its level (procfs: nothing inline)', async (t) => {
    if (!existsSync('/dev/shm') || statfsSync('/dev/shm').type !== TMPFS) return t.skip('no tmpfs at /dev/shm');
    const saved = process.env.RINGSMB_INLINE_META;
    delete process.env.RINGSMB_INLINE_META;
    const dir = mkdtempSync('/dev/shm/ringsmb-nested-');
    const mnt = join(dir, 'sub dir');
    mkdirSync(mnt);
    const m = openModule('uring');
    let mounted = false;
    try {
      mounted = spawnSync('mount', ['-t', 'proc', 'proc', mnt]).status === 0;
      if (!mounted) return t.skip('cannot mount here (needs root and CAP_SYS_ADMIN)');
      const s = await m.vfs.openShare(dir);
      assert.equal(s.metadata.fs, 'tmpfs');
      assert.equal(s.metadata.inline, 'none');
      assert.deepEqual(s.metadata.nested, [{ path: mnt, fs: 'fs type 0x9fa0', inline: 'none' }]);
      await s.close();
    } finally {
      if (mounted) spawnSync('umount', [mnt]);
      m.close();
      rmSync(dir, { recursive: true, force: true });
      if (saved !== undefined) process.env.RINGSMB_INLINE_META = saved;
    }
  });
});

test('mountsBeneath: mount points strictly beneath the directory, octal escapes undone', () => {
  const info = [
    '22 1 8:1 / / rw shared:1 - ext4 /dev/sda1 rw',
    '30 22 0:5 / /srv/share rw - tmpfs tmpfs rw',
    '31 30 0:40 / /srv/share/nfs\\040dir rw - nfs host:/x rw',
    '32 22 0:41 / /srv/shared rw - tmpfs tmpfs rw',
    '33 31 0:42 / /srv/share/nfs\\040dir/deeper rw - fuse.x x rw',
  ].join('\n');
  assert.deepEqual(mountsBeneath('/srv/share', info), ['/srv/share/nfs dir', '/srv/share/nfs dir/deeper']);
  assert.deepEqual(mountsBeneath('/srv/share/', info), ['/srv/share/nfs dir', '/srv/share/nfs dir/deeper']);
  assert.deepEqual(mountsBeneath('/elsewhere', info), []);
});
