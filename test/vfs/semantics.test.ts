/** VFS semantics, run against every module (threadpool, uring): open/create
 * semantics, I/O, stat, readdir, path ops, xattrs, statfs. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createVfs, type ShareRoot } from '../../src/vfs/index.js';
import { readdirSync } from 'node:fs';
import { describeEachVfs, makeTree, rejectsCode } from './helpers.js';

describeEachVfs('vfs semantics', (mod) => {
  const tree = makeTree();
  let share: ShareRoot;

  before(async () => {
    share = await mod().vfs.openShare(tree.share);
  });
  after(async () => {
    await share.close();
    tree.cleanup();
  });

  test('name and root path', () => {
    assert.equal(mod().vfs.name, mod().kind);
    assert.equal(createVfs('auto').name, 'threadpool', 'auto without a ring');
    assert.equal(share.rootPath, tree.share);
  });

  test('open never/always/exclusive and created flag', async () => {
    await rejectsCode(share.open('f1', { read: true, write: false }), 'ENOENT');
    const a = await share.open('f1', { read: true, write: true, create: 'always', mode: 0o640 });
    assert.equal(a.created, true);
    assert.equal(a.isDirectory, false);
    assert.equal(a.statAtOpen.mode & 0o777, 0o640 & ~process.umask());
    await a.close();
    const b = await share.open('f1', { read: true, write: true, create: 'always' });
    assert.equal(b.created, false);
    await b.close();
    await rejectsCode(share.open('f1', { read: true, write: true, create: 'exclusive' }), 'EEXIST');
    const c = await share.open('f2', { read: false, write: true, create: 'exclusive' });
    assert.equal(c.created, true);
    await c.close();
    await assert.rejects(share.open('f1', { read: true, write: false, truncate: true }), TypeError);
  });

  test('an open file keeps its access mode and is blocking (O_NONBLOCK, used for the open only, is cleared)', async () => {
    for (const [o, acc] of [[{ read: true, write: false }, 0], [{ read: false, write: true }, 1], [{ read: true, write: true }, 2]] as const) {
      const f = await share.open('modes', { ...o, create: 'always' });
      const flags = parseInt(/^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${f.fd}`, 'utf8'))![1]!, 8);
      await f.close();
      assert.equal(flags & 0o3, acc, `access mode of ${JSON.stringify(o)}`);
      assert.equal(flags & 0o4000, 0, 'O_NONBLOCK cleared');
    }
  });
  test('hold(): close() waits until every hold is let go, the fd stays the file until then, later holds fail EBADF', async () => {
    const f = await share.open('held', { read: true, write: true, create: 'always' });
    await f.write(Buffer.from('held bytes'), 0, 10, 0);
    const fdPath = `/proc/self/fd/${f.fd}`;
    const target = readlinkSync(fdPath);
    const a = f.hold();
    const b = f.hold();
    let closed = false;
    const closing = f.close().then(() => { closed = true; });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(closed, false, 'close() waits for the holds');
    assert.equal(readlinkSync(fdPath), target, 'the fd is still the file');
    assert.throws(() => f.hold(), (e: NodeJS.ErrnoException) => e.code === 'EBADF', 'no new hold once closing');
    a();
    a(); // a second call lets go of nothing more
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(closed, false, 'one hold is still there');
    const buf = Buffer.alloc(10);
    assert.equal(readSync(f.fd, buf, 0, 10, 0), 10, 'what held the fd can still read through it');
    assert.equal(buf.toString(), 'held bytes');
    b();
    await closing;
    assert.equal(closed, true);
  });


  test('read/write at offsets, truncate option, size', async () => {
    const f = await share.open('io', { read: true, write: true, create: 'always' });
    assert.equal(await f.write(Buffer.from('xxhelloxx'), 2, 5, 10), 5);
    assert.equal(await f.write(Buffer.from('AB'), 0, 2, 1n), 2);
    const buf = Buffer.alloc(32, 0x2e);
    const n = await f.read(buf, 4, 32 - 4, 0);
    assert.equal(n, 15);
    assert.deepEqual(buf.subarray(4, 4 + n), Buffer.from('\0AB\0\0\0\0\0\0\0hello'));
    assert.equal(await f.read(buf, 0, 8, 15), 0, 'EOF reads 0');
    assert.equal((await f.stat()).size, 15n);
    await f.close();
    const t = await share.open('io', { read: false, write: true, truncate: true });
    assert.equal(t.created, false);
    assert.equal(t.statAtOpen.size, 0n);
    await t.close();
    const r = await share.open('io', { read: true, write: false });
    await rejectsCode(r.write(Buffer.from('x'), 0, 1, 0), 'EBADF');
    await r.close();
  });

  test('truncate, allocate, sync, setTimes on the handle', async () => {
    const f = await share.open('sized', { read: true, write: true, create: 'always' });
    await f.truncate(10000);
    assert.equal((await f.stat()).size, 10000n);
    await f.allocate(1 << 20);
    let st = await f.stat();
    assert.equal(st.size, 10000n, 'keepSize leaves EOF');
    assert.ok(st.allocSize >= 1n << 20n, `allocSize ${st.allocSize}`);
    await f.allocate(20000, { keepSize: false });
    assert.equal((await f.stat()).size, 20000n);
    await f.truncate(5n);
    await f.sync();
    await f.sync(true);
    const mtimeNs = 1_600_000_000_123_456_000n;
    await f.setTimes({ mtimeNs });
    st = await f.stat();
    // futimes through a double: within a microsecond.
    assert.ok(st.mtimeNs - mtimeNs < 1000n && mtimeNs - st.mtimeNs < 1000n, `mtime ${st.mtimeNs}`);
    await f.setTimes({ atimeNs: 1_500_000_000_000_000_000n });
    const st2 = await f.stat();
    assert.equal(st2.atimeNs, 1_500_000_000_000_000_000n);
    assert.equal(st2.mtimeNs, st.mtimeNs, 'mtime kept when left out');
    await f.close();
  });

  test('punchHole: zeros read back, end of file kept, blocks freed', async () => {
    const f = await share.open('holes', { read: true, write: true, create: 'always' });
    try {
      const size = 1 << 20;
      assert.equal(await f.write(Buffer.alloc(size, 0x5a), 0, size, 0), size);
      await f.sync(true);
      const before = await f.stat();
      await f.punchHole(65536, 262144n);
      await f.punchHole(0, 0); // nothing to do
      const after = await f.stat();
      assert.equal(after.size, before.size, 'KEEP_SIZE');
      assert.ok(after.allocSize <= before.allocSize - 262144n, `allocSize ${before.allocSize} -> ${after.allocSize}`);
      const buf = Buffer.alloc(4);
      await f.read(buf, 0, 4, 65536 + 1000);
      assert.deepEqual(buf, Buffer.alloc(4));
      await f.read(buf, 0, 4, 65536 + 262144);
      assert.deepEqual(buf, Buffer.alloc(4, 0x5a));
      await assert.rejects(f.punchHole(-1, 10), RangeError);
    } finally {
      await f.close();
    }
  });

  test('stat fields match Node and have a birth time', async () => {
    writeFileSync(join(tree.share, 'st'), 'abc');
    const st = await share.stat('st');
    const ns = statSync(join(tree.share, 'st'), { bigint: true });
    assert.equal(st.size, 3n);
    assert.equal(st.isFile, true);
    assert.equal(st.isDirectory, false);
    assert.equal(st.ino, ns.ino);
    assert.equal(st.dev, ns.dev);
    assert.equal(st.mode, Number(ns.mode));
    assert.equal(st.nlink, 1);
    assert.equal(st.uid, Number(ns.uid));
    assert.equal(st.mtimeNs, ns.mtimeNs);
    assert.equal(st.ctimeNs, ns.ctimeNs);
    assert.equal(st.allocSize, ns.blocks * 512n);
    assert.notEqual(st.birthtimeNs, null, 'this kernel and filesystem report btime');
    const root = await share.stat('');
    assert.equal(root.isDirectory, true);
  });

  test('directories: create, mustNot, write access, readdir with stats', async () => {
    const d = await share.open('dir', { read: true, write: false, create: 'always', directory: 'must' });
    assert.equal(d.created, true);
    assert.equal(d.isDirectory, true);
    await d.close();
    await rejectsCode(share.open('dir', { read: true, write: false, create: 'exclusive', directory: 'must' }), 'EEXIST');
    await rejectsCode(share.open('dir', { read: true, write: false, directory: 'mustNot' }), 'EISDIR');
    await rejectsCode(share.open('st', { read: true, write: false, directory: 'must' }), 'ENOTDIR');
    writeFileSync(join(tree.share, 'dir', 'a'), 'aaaa');
    mkdirSync(join(tree.share, 'dir', 'b'));
    await share.symlink('a', 'dir/c');
    writeFileSync(join(tree.share, 'dir', 'é ü'), '');
    const w = await share.open('dir', { read: true, write: true });
    assert.equal(w.isDirectory, true, 'write access to a directory opens it read-only');
    const entries = await w.readdir();
    const byName = new Map(entries.map((e) => [e.name, e.stat]));
    assert.deepEqual([...byName.keys()].sort(), ['a', 'b', 'c', 'é ü']);
    assert.equal(byName.get('a')!.size, 4n);
    assert.equal(byName.get('b')!.isDirectory, true);
    assert.equal(byName.get('c')!.isSymlink, true);
    await w.close();
    const f = await share.open('st', { read: true, write: false });
    await rejectsCode(f.readdir(), 'ENOTDIR');
    await f.close();
    const root = await share.open('', { read: true, write: false });
    assert.ok((await root.readdir()).some((e) => e.name === 'dir'));
    await root.close();
  });

  test('rename with and without replace', async () => {
    writeFileSync(join(tree.share, 'r1'), '1');
    writeFileSync(join(tree.share, 'r2'), '2');
    await rejectsCode(share.rename('r1', 'r2', { replace: false }), 'EEXIST');
    await share.rename('r1', 'r2', { replace: true });
    assert.equal(readFileSync(join(tree.share, 'r2'), 'utf8'), '1');
    assert.equal(existsSync(join(tree.share, 'r1')), false);
    mkdirSync(join(tree.share, 'rd'));
    await share.rename('r2', 'rd/r3', { replace: false });
    assert.equal(readFileSync(join(tree.share, 'rd', 'r3'), 'utf8'), '1');
    await rejectsCode(share.rename('missing', 'x', { replace: true }), 'ENOENT');
    await rejectsCode(share.rename('', 'x', { replace: true }), 'EINVAL');
  });

  test('mkdir, unlink, rmdir, link, symlink, readlink', async () => {
    await share.mkdir('m');
    await rejectsCode(share.mkdir('m'), 'EEXIST');
    await share.mkdir('m/n', 0o700);
    assert.equal(statSync(join(tree.share, 'm', 'n')).mode & 0o777, 0o700 & ~process.umask());
    await rejectsCode(share.rmdir('m'), 'ENOTEMPTY');
    await rejectsCode(share.unlink('m'), 'EISDIR');
    writeFileSync(join(tree.share, 'm', 'file'), 'x');
    await rejectsCode(share.rmdir('m/file'), 'ENOTDIR');
    await share.link('m/file', 'm/hard');
    assert.equal((await share.stat('m/hard')).nlink, 2);
    await share.symlink('file', 'm/soft');
    assert.equal(await share.readlink('m/soft'), 'file');
    assert.equal((await share.stat('m/soft')).isSymlink, true);
    assert.equal((await share.stat('m/soft', { follow: true })).isFile, true);
    await rejectsCode(share.readlink('m/file'), 'EINVAL');
    for (const n of ['file', 'hard', 'soft']) await share.unlink(`m/${n}`);
    await share.rmdir('m/n');
    await share.rmdir('m');
    await rejectsCode(share.unlink('m'), 'ENOENT');
    await rejectsCode(share.unlink(''), 'EINVAL');
    await rejectsCode(share.rmdir(''), 'EINVAL');
  });

  test('xattrs (user.* namespace)', async (t) => {
    const f = await share.open('xa', { read: true, write: true, create: 'always' });
    try {
      try {
        await f.setXattr('user.probe', Buffer.from('1'));
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
          t.skip(`the temp filesystem refuses user xattrs (${code})`);
          return;
        }
        throw err;
      }
      assert.equal(await f.getXattr('user.missing'), null);
      const big = Buffer.alloc(3000, 7); // ext4 keeps values up to a block
      await f.setXattr('user.DOSATTRIB', big);
      assert.deepEqual(await f.getXattr('user.DOSATTRIB'), big);
      await f.setXattr('user.empty', Buffer.alloc(0));
      assert.deepEqual(await f.getXattr('user.empty'), Buffer.alloc(0));
      await rejectsCode(f.setXattr('user.probe', Buffer.from('2'), { create: true }), 'EEXIST');
      await rejectsCode(f.setXattr('user.nothere', Buffer.from('2'), { replace: true }), 'ENODATA');
      assert.deepEqual((await f.listXattr()).filter((n) => n.startsWith('user.')).sort(),
        ['user.DOSATTRIB', 'user.empty', 'user.probe']);
      await f.removeXattr('user.probe');
      await rejectsCode(f.removeXattr('user.probe'), 'ENODATA');
      assert.equal(await f.getXattr('user.probe'), null);
      const d = await share.open('', { read: true, write: false });
      await d.setXattr('user.onroot', Buffer.from('r'));
      assert.deepEqual(await d.getXattr('user.onroot'), Buffer.from('r'));
      await d.close();
    } finally {
      await f.close();
    }
  });

  test('prefetchXattr: read beside the open, taken once, forgotten after a set; errors of the open still close the fd', async (t) => {
    const w = await share.open('pf', { read: true, write: true, create: 'always' });
    try {
      await w.setXattr('user.pf', Buffer.from('v1'));
    } catch (err) {
      await w.close();
      const code = (err as { code?: string }).code;
      if (code === 'ENOTSUP' || code === 'EOPNOTSUPP') return t.skip(`the temp filesystem refuses user xattrs (${code})`);
      throw err;
    }
    await w.close();
    const f = await share.open('pf', { read: true, write: true, prefetchXattr: 'user.pf' });
    try {
      assert.equal(f.statAtOpen.isFile, true, 'the stat is the real one');
      assert.equal(f.takeXattrAtOpen('user.other'), undefined, 'another name was not prefetched');
      assert.deepEqual(f.takeXattrAtOpen('user.pf'), Buffer.from('v1'));
      assert.equal(f.takeXattrAtOpen('user.pf'), undefined, 'taken once');
    } finally {
      await f.close();
    }
    const g = await share.open('pf', { read: true, write: true, prefetchXattr: 'user.pf' });
    await g.setXattr('user.pf', Buffer.from('v2'));
    assert.equal(g.takeXattrAtOpen('user.pf'), undefined, 'a set since the open: stale, not given');
    await g.close();
    const h = await share.open('pf', { read: true, write: false, prefetchXattr: 'user.none' });
    assert.equal(h.takeXattrAtOpen('user.none'), null, 'absent: null, as getXattr says');
    await h.close();
    // The open fails after the prefetch started (a directory where a file must be): no fd is left open.
    await share.mkdir('pfdir');
    const before = readdirSync('/proc/self/fd').length;
    await rejectsCode(share.open('pfdir', { read: true, write: false, directory: 'mustNot', prefetchXattr: 'user.pf' }), 'EISDIR');
    assert.equal(readdirSync('/proc/self/fd').length, before);
  });

  test('prefetchXattr with several names: each read beside the open, each taken once', async (t) => {
    const w = await share.open('pf2', { read: true, write: true, create: 'always' });
    try {
      await w.setXattr('user.a', Buffer.from('A'));
      await w.setXattr('user.b', Buffer.from('BB'));
    } catch (err) {
      await w.close();
      return t.skip(`the temp filesystem refuses user xattrs (${(err as { code?: string }).code})`);
    }
    await w.close();
    const f = await share.open('pf2', { read: true, write: false, prefetchXattr: ['user.a', 'user.b', 'user.c'] });
    try {
      assert.deepEqual(f.takeXattrAtOpen('user.b'), Buffer.from('BB'));
      assert.deepEqual(f.takeXattrAtOpen('user.a'), Buffer.from('A'));
      assert.equal(f.takeXattrAtOpen('user.c'), null);
      assert.equal(f.takeXattrAtOpen('user.a'), undefined, 'taken once');
    } finally {
      await f.close();
    }
  });

  test('readdir({ xattr }): each entry with that attribute of its own, null where there is none or it is too long', async (t) => {
    await share.mkdir('rx');
    const a = await share.open('rx/a', { read: true, write: true, create: 'always' });
    try {
      await a.setXattr('user.tag', Buffer.from('first'));
    } catch (err) {
      await a.close();
      return t.skip(`the temp filesystem refuses user xattrs (${(err as { code?: string }).code})`);
    }
    await a.close();
    const b = await share.open('rx/b', { read: true, write: true, create: 'always' });
    await b.setXattr('user.tag', Buffer.alloc(300, 1)); // longer than STATX_BATCH_XATTR_MAX
    await b.close();
    const c = await share.open('rx/c', { read: true, write: true, create: 'always' });
    await c.close();
    await share.symlink('a', 'rx/l');
    const d = await share.open('rx', { read: true, write: false, directory: 'must' });
    try {
      const got = new Map((await d.readdir({ xattr: 'user.tag' })).map((e) => [e.name, e.xattr]));
      assert.deepEqual([...got.keys()].sort(), ['a', 'b', 'c', 'l']);
      assert.deepEqual(got.get('a'), Buffer.from('first'));
      assert.equal(got.get('b'), null, 'too long');
      assert.equal(got.get('c'), null, 'none');
      assert.equal(got.get('l'), null, 'a symlink is not followed');
      const plain = await d.readdir();
      assert.ok(plain.every((e) => e.xattr === undefined), 'not asked: not read');
    } finally {
      await d.close();
    }
  });

  test('readdir of a directory larger than one native batch: every entry, each with its own stat', async () => {
    await share.mkdir('many');
    for (let i = 0; i < 150; i++) {
      const f = await share.open(`many/f${i}`, { read: true, write: true, create: 'always' });
      await f.write(Buffer.alloc(i), 0, i, 0);
      await f.close();
    }
    const d = await share.open('many', { read: true, write: false, directory: 'must' });
    try {
      const list = await d.readdir({ xattr: 'user.none' });
      assert.equal(list.length, 150);
      for (const e of list) {
        assert.equal(e.stat.size, BigInt(Number(e.name.slice(1))), e.name);
        assert.equal(e.xattr, null);
      }
    } finally {
      await d.close();
    }
  });

  test('setMode changes the permission bits', async () => {
    const f = await share.open('md', { read: true, write: true, create: 'always', mode: 0o644 });
    try {
      await f.setMode(0o444);
      assert.equal((await f.stat()).mode & 0o777, 0o444);
      await f.setMode(0o640);
      assert.equal((await f.stat()).mode & 0o777, 0o640);
    } finally {
      await f.close();
    }
  });

  test('statfs', async () => {
    const s = await share.statfs();
    assert.ok(s.blockSize > 0);
    assert.ok(s.totalBlocks > 0n);
    assert.ok(s.freeBlocks >= s.availBlocks);
  });

  test('closed handles fail EBADF and close waits for I/O in flight', async () => {
    const f = await share.open('cl', { read: true, write: true, create: 'always' });
    const pending = f.write(Buffer.alloc(1 << 20, 1), 0, 1 << 20, 0);
    const closing = f.close();
    assert.equal(await pending, 1 << 20);
    await closing;
    await f.close(); // idempotent
    await rejectsCode(f.read(Buffer.alloc(1), 0, 1, 0), 'EBADF');
    await rejectsCode(f.stat(), 'EBADF');
    const other = await mod().vfs.openShare(tree.share);
    await other.close();
    await rejectsCode(other.stat(''), 'EBADF');
  });

  test('FIFOs and other special files are refused without blocking', async () => {
    const { spawnSync } = await import('node:child_process');
    if (spawnSync('mkfifo', [join(tree.share, 'fifo')]).status !== 0) return;
    await rejectsCode(share.open('fifo', { read: true, write: false }), 'EACCES');
    assert.equal((await share.stat('fifo')).isFile, false);
  });
});
