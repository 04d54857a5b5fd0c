/** The io_uring module beyond the shared suite: which ops reach the ring, fixed
 * buffers, errno parity with the threadpool module, fd hygiene, a ring closed
 * under load, liveness of ops submitted outside the loop, createVfs choices. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RegisteredBuffers } from '../../src/uring/buffers.js';
import { DataPool } from '../../src/uring/data-pool.js';
import type { Ring } from '../../src/uring/ring.js';
import { SystemError } from '../../src/util/errors.js';
import {
  UringFile, createVfs, missingUringOps, type ShareRoot, type UringVfs, type VfsFile,
} from '../../src/vfs/index.js';
import { makeTree, openFdCount, openModule, recordOps, rejectsCode, vfsSkip, type ModuleUnderTest } from './helpers.js';

const skip = vfsSkip('uring');

/** Records the opcode names the ring is given from now on (the ring itself still runs them). */
/** The error code a promise rejects with, or 'ok'. */
async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return err instanceof SystemError ? err.code : `${(err as Error).name}`;
  }
}

describe('uring vfs', { skip }, () => {
  const tree = makeTree();
  let mod: ModuleUnderTest;
  let vfs: UringVfs;
  let share: ShareRoot;

  before(async () => {
    mod = openModule('uring');
    vfs = mod.vfs as UringVfs;
    // Nothing inline: every call this module has an op for must be seen on the ring.
    share = await vfs.openShare(tree.share, { inline: 'none' });
  });
  after(async () => {
    await share.close();
    mod.close();
    tree.cleanup();
  });

  test('path, metadata and data ops are ring ops', async () => {
    const rec = recordOps(vfs.ring);
    try {
      const f = await share.open('ops', { read: true, write: true, create: 'always' });
      await f.write(Buffer.from('abc'), 0, 3, 0);
      await f.read(Buffer.alloc(3), 0, 3, 0);
      await f.stat();
      await f.sync(true);
      await f.truncate(10);
      await f.allocate(4096);
      await f.setXattr('user.k', Buffer.from('v')).catch(() => {});
      await f.getXattr('user.k').catch(() => {});
      await f.close();
      await share.mkdir('opsdir');
      await share.rename('ops', 'opsdir/ops2', { replace: false });
      await share.link('opsdir/ops2', 'opsdir/ops3');
      await share.symlink('ops2', 'opsdir/ops4');
      await share.unlink('opsdir/ops4');
      for (const n of ['ops2', 'ops3']) await share.unlink(`opsdir/${n}`);
      await share.rmdir('opsdir');
    } finally {
      rec.stop();
    }
    const used = new Set(rec.names);
    const probed = (['FTRUNCATE', 'FALLOCATE', 'FSETXATTR', 'FGETXATTR'] as const).filter((op) => vfs.ring.supports(op));
    for (const op of ['OPENAT2', 'STATX', 'WRITE', 'READ', 'FSYNC', 'CLOSE', 'MKDIRAT', 'RENAMEAT', 'LINKAT', 'SYMLINKAT', 'UNLINKAT', ...probed]) {
      assert.ok(used.has(op), `${op} went through the ring (saw ${[...used].join(', ')})`);
    }
    assert.equal(vfs.inflight, 0);
  });

  test('fixed buffers: readFixed/writeFixed, and read()/write() on a registered view take *_FIXED', async () => {
    const fixed = RegisteredBuffers.register(vfs.ring, 4, 65536);
    vfs.useFixedBuffers(fixed);
    const rec = recordOps(vfs.ring);
    const f = (await share.open('fixed', { read: true, write: true, create: 'always' })) as UringFile;
    try {
      assert.ok(f instanceof UringFile);
      fixed.view(1).fill(0x41, 0, 1000).fill(0x42, 1000, 2000);
      assert.equal(await f.writeFixed(1, 500, 1500, 100), 1500);
      assert.equal(await f.readFixed(2, 10, 1600, 0), 1600);
      const got = fixed.view(2).subarray(10, 1610);
      assert.deepEqual(got.subarray(0, 100), Buffer.alloc(100));
      assert.deepEqual(got.subarray(100, 600), Buffer.alloc(500, 0x41));
      assert.deepEqual(got.subarray(600, 1600), Buffer.alloc(1000, 0x42));
      // read() into a view of buffer 3: READ_FIXED picked by itself.
      const view = fixed.view(3).subarray(4096, 8192);
      assert.equal(await f.read(view, 100, 200, 500), 200);
      assert.deepEqual(view.subarray(100, 300), Buffer.alloc(200, 0x41).fill(0x42, 100));
      // A range across two registered buffers is not one fixed buffer: plain READ.
      const across = Buffer.from(fixed.region.buffer, 65536 - 8, 16);
      assert.equal(await f.read(across, 0, 16, 600), 16);
      assert.equal(await f.write(fixed.view(0).fill(0x43, 0, 4), 0, 4, 2000), 4);
      assert.equal(readFileSync(join(tree.share, 'fixed')).subarray(2000).toString(), 'CCCC');
      await assert.rejects(f.readFixed(4, 0, 1, 0), RangeError, 'index outside the set');
      await assert.rejects(f.readFixed(0, 65000, 1000, 0), RangeError, 'range outside the buffer');
    } finally {
      rec.stop();
      await f.close();
      vfs.useFixedBuffers(null);
      fixed.dispose();
    }
    assert.deepEqual(rec.names.filter((n) => n.endsWith('_FIXED')), ['WRITE_FIXED', 'READ_FIXED', 'READ_FIXED', 'WRITE_FIXED']);
    assert.ok(rec.names.includes('READ'), 'the straddling read went plain');
    const g = (await share.open('fixed', { read: true, write: false })) as UringFile;
    await assert.rejects(g.readFixed(0, 0, 1, 0), TypeError, 'no buffers registered any more');
    await g.close();
  });

  /**
   * A pool registered with the VFS's ring, a file of the share open for `body`; then the
   * VFS forgets the buffers, the pool and the file close. The ops the ring saw, but CLOSE.
   */
  async function withPool(opts: { count: number; spare?: number }, name: string, body: (pool: DataPool, f: UringFile) => Promise<void>): Promise<string[]> {
    const pool = new DataPool({ size: 65536, ...opts, ring: vfs.ring, onRegistered: (fixed) => vfs.useFixedBuffers(fixed) });
    const f = (await share.open(name, { read: true, write: true, create: 'always' })) as UringFile;
    const rec = recordOps(vfs.ring);
    try {
      await body(pool, f);
    } finally {
      rec.stop();
      vfs.useFixedBuffers(null);
      pool.close();
      await f.close();
    }
    assert.equal(pool.stats.registered, false, 'close() drops the registration');
    assert.equal(pool.take(10), null, 'a closed pool gives nothing');
    return rec.names.filter((n) => n !== 'CLOSE');
  }

  /** `n` bytes of `byte` written from `from` at offset 0 of f and read back into `to`: the same bytes. */
  async function throughFile(f: UringFile, from: Buffer, to: Buffer, n: number, byte: number): Promise<void> {
    from.fill(byte, 0, n);
    assert.equal(await f.write(from, 0, n, 0), n);
    assert.equal(await f.read(to, 0, n, 0), n);
    assert.ok(to.subarray(0, n).equals(from.subarray(0, n)));
  }

  test('DataPool: buffers made on first use, registered with the ring, read and written with *_FIXED, given back', async () => {
    const ops = await withPool({ count: 2 }, 'pooled', async (pool, f) => {
      assert.deepEqual(pool.stats, { made: 0, spares: 0, out: 0, misses: 0, registered: false }, 'nothing made before the first take');
      const a = pool.take(5000)!;
      const b = pool.take(65536)!;
      assert.equal(a.buf.length, 5000);
      assert.equal(pool.take(1), null, 'both buffers are out');
      assert.equal(pool.take(65537), null, 'larger than a buffer');
      assert.deepEqual(pool.stats, { made: 2, spares: 0, out: 2, misses: 1, registered: true });
      await throughFile(f, a.buf, b.buf, 5000, 0x5a);
      a.release();
      a.release(); // twice: no effect
      assert.equal(pool.stats.out, 1);
      const c = pool.take(10)!;
      assert.equal(c.buf.buffer, a.buf.buffer, 'the given-back buffer is reused');
      assert.equal(c.buf.byteOffset, a.buf.byteOffset);
      b.release();
      c.release();
      assert.deepEqual(pool.stats, { made: 2, spares: 0, out: 0, misses: 1, registered: true });
    });
    assert.deepEqual(ops, ['WRITE_FIXED', 'READ_FIXED']);
  });

  test('DataPool spares: past the region, plain buffers made one at a time up to `spare`, kept and reused; read and written plain', async () => {
    const ops = await withPool({ count: 1, spare: 2 }, 'spares', async (pool, f) => {
      const a = pool.take(65536)!;
      assert.deepEqual(pool.stats, { made: 1, spares: 0, out: 1, misses: 0, registered: true }, 'the region first');
      const b = pool.take(4096)!;
      const c = pool.take(65536)!;
      assert.ok(b && c, 'then spares');
      assert.notEqual(b.buf.buffer, a.buf.buffer, 'a spare is not in the region');
      assert.notEqual(b.buf.buffer, c.buf.buffer);
      assert.equal(pool.take(1), null, 'region and spares all out: a miss');
      assert.deepEqual(pool.stats, { made: 1, spares: 2, out: 3, misses: 1, registered: true });
      await throughFile(f, b.buf, c.buf, 4096, 0x6c);
      const bBuffer = b.buf.buffer;
      b.release();
      const d = pool.take(100)!;
      assert.equal(d.buf.buffer, bBuffer, 'a given-back spare is reused, none made');
      a.release();
      c.release();
      d.release();
      assert.deepEqual(pool.stats, { made: 1, spares: 2, out: 0, misses: 1, registered: true });
    });
    assert.deepEqual(ops, ['WRITE', 'READ'], 'spares go through plain WRITE and READ');
    assert.throws(() => new DataPool({ size: 65536, count: 1, spare: -1 }), RangeError);
  });

  test('DataPool without a ring: plain memory, same accounting', () => {
    const pool = new DataPool({ size: 8192, count: 1 });
    const a = pool.take(8192)!;
    assert.equal(pool.stats.registered, false);
    assert.equal(pool.take(1), null);
    a.release();
    assert.ok(pool.take(1));
    assert.throws(() => new DataPool({ size: 100, count: 1 }), RangeError);
  });

  test('advise: FADVISE where probed, a no-op hint otherwise', async () => {
    const f = (await share.open('adv', { read: true, write: true, create: 'always' })) as UringFile;
    const rec = recordOps(vfs.ring);
    await f.advise(0, 0, 'SEQUENTIAL');
    rec.stop();
    assert.deepEqual(rec.names, vfs.ring.supports('FADVISE') ? ['FADVISE'] : []);
    await f.close();
    await rejectsCode(f.advise(0, 0, 'WILLNEED'), 'EBADF');
  });

  test('a symlink planted through the share cannot be followed out', async () => {
    writeFileSync(join(tree.outside, 'loot'), 'secret');
    await share.symlink('../outside/loot', 'plant');
    await share.symlink(join(tree.outside, 'loot'), 'plant2');
    const rec = recordOps(vfs.ring);
    await rejectsCode(share.open('plant', { read: true, write: false }), 'EXDEV');
    await rejectsCode(share.open('plant2', { read: false, write: true, truncate: true }), 'EXDEV');
    await rejectsCode(share.stat('plant', { follow: true }), 'EXDEV');
    rec.stop();
    assert.ok(rec.names.every((n) => n === 'OPENAT2'), `refused by OPENAT2 itself: ${rec.names.join(', ')}`);
    assert.equal(readFileSync(join(tree.outside, 'loot'), 'utf8'), 'secret');
  });

  test('no fd leak over every kind of operation, failures included', async () => {
    const fixed = RegisteredBuffers.register(vfs.ring, 1, 4096);
    vfs.useFixedBuffers(fixed);
    mkdirSync(join(tree.share, 'leak'));
    const round = async (i: number): Promise<void> => {
      const f = (await share.open(`leak/f${i}`, { read: true, write: true, create: 'always' })) as UringFile;
      await Promise.allSettled([
        f.write(Buffer.alloc(8192, i), 0, 8192, 0), f.stat(), f.truncate(100), f.allocate(4096), f.sync(),
        f.setXattr('user.a', Buffer.from('x')), f.getXattr('user.missing'), f.writeFixed(0, 0, 10, 0),
        share.open('leak/missing', { read: true, write: false }), share.open('leak', { read: true, write: false, directory: 'mustNot' }),
        share.mkdir(`leak/d${i}`), share.rename(`leak/f${i}`, `leak/g${i}`, { replace: false }), share.readlink('leak'),
        share.statfs(), share.unlink('leak/nothere'),
      ]);
      await f.close();
      const d = await share.open('leak', { read: true, write: false });
      await d.readdir();
      await d.close();
      await share.rmdir(`leak/d${i}`);
    };
    await round(0);
    const before = openFdCount();
    for (let i = 1; i <= 15; i++) await round(i);
    assert.equal(openFdCount(), before);
    vfs.useFixedBuffers(null);
    fixed.dispose();
    assert.equal(vfs.inflight, 0);
  });
});

describe('uring vfs: errno parity with the threadpool module, on workers and inline', { skip }, () => {
  const tree = makeTree();
  const mods: ModuleUnderTest[] = [];
  const shares: ShareRoot[] = [];
  const names: string[] = [];

  before(async () => {
    mkdirSync(join(tree.share, 'full'));
    writeFileSync(join(tree.share, 'full', 'x'), 'x');
    writeFileSync(join(tree.share, 'file'), 'data');
    mkdirSync(join(tree.share, 'empty'));
    symlinkSync('file', join(tree.share, 'lnk'));
    symlinkSync('../outside', join(tree.share, 'out'));
    for (const kind of ['threadpool', 'uring'] as const) {
      const m = openModule(kind);
      mods.push(m);
      for (const inline of ['none', 'all'] as const) {
        shares.push(await m.vfs.openShare(tree.share, { inline }));
        names.push(`${kind}/${inline}`);
      }
    }
  });
  after(async () => {
    for (const s of shares) await s.close();
    for (const m of mods) m.close();
    tree.cleanup();
  });

  const R = { read: true, write: false } as const;
  // Each case must leave the tree as it found it (both modules run it in turn).
  const cases: [string, (s: ShareRoot) => Promise<unknown>, string][] = [
    ['open missing', (s) => s.open('nope', R), 'ENOENT'],
    ['open missing parent', (s) => s.open('nope/x', { ...R, create: 'always' }), 'ENOENT'],
    ['create exclusive existing', (s) => s.open('file', { read: true, write: true, create: 'exclusive' }), 'EEXIST'],
    ['mkdir existing', (s) => s.mkdir('empty'), 'EEXIST'],
    ['rename noreplace onto existing', (s) => s.rename('file', 'lnk', { replace: false }), 'EEXIST'],
    ['rmdir non-empty', (s) => s.rmdir('full'), 'ENOTEMPTY'],
    ['rmdir a file', (s) => s.rmdir('file'), 'ENOTDIR'],
    ['unlink a directory', (s) => s.unlink('empty'), 'EISDIR'],
    ['open file as directory', (s) => s.open('file', { ...R, directory: 'must' }), 'ENOTDIR'],
    ['open directory mustNot', (s) => s.open('empty', { ...R, directory: 'mustNot' }), 'EISDIR'],
    ['nofollow through a link', (s) => s.open('lnk', { ...R, followSymlinks: false }), 'ELOOP'],
    ['escape through a link', (s) => s.open('out/secret', R), 'EXDEV'],
    ['mkdir through a link out', (s) => s.mkdir('out/d'), 'EXDEV'],
    ['rename a directory into itself', (s) => s.rename('full', 'full/sub', { replace: true }), 'EINVAL'],
    ['link a directory', (s) => s.link('empty', 'empty2'), 'EPERM'],
    ['symlink onto existing', (s) => s.symlink('x', 'file'), 'EEXIST'],
    ['symlink with a 4 KiB target', (s) => s.symlink('t'.repeat(4096), 'longlink'), 'ENAMETOOLONG'],
    ['readlink of a file', (s) => s.readlink('file'), 'EINVAL'],
    ['write on a read-only handle', async (s) => {
      const f = await s.open('file', R);
      try {
        await f.write(Buffer.from('y'), 0, 1, 0);
      } finally {
        await f.close();
      }
    }, 'EBADF'],
    ['read a directory', async (s) => {
      const f = await s.open('empty', R);
      try {
        await f.read(Buffer.alloc(1), 0, 1, 0);
      } finally {
        await f.close();
      }
    }, 'EISDIR'],
    ['setXattr replace of a missing name', async (s) => xattrCase(s, (f) => f.setXattr('user.none', Buffer.from('1'), { replace: true })), 'ENODATA'],
    ['setXattr with a name past 255 bytes', async (s) => xattrCase(s, (f) => f.setXattr(`user.${'n'.repeat(251)}`, Buffer.from('1'))), 'ERANGE'],
    ['getXattr with a name past 255 bytes', async (s) => xattrCase(s, (f) => f.getXattr(`user.${'n'.repeat(251)}`)), 'ERANGE'],
    ['setXattr outside user/trusted/security (EOPNOTSUPP, 95)', async (s) => xattrCase(s, (f) => f.setXattr('bogus.name', Buffer.from('1'))), 'ENOTSUP'],
    ['use after close', async (s) => {
      const f = await s.open('file', R);
      await f.close();
      await f.stat();
    }, 'EBADF'],
  ];
  for (const [what, run, code] of cases) {
    test(`${what}: ${code} from each module, on workers and inline`, async () => {
      const got: string[] = [];
      for (const sh of shares) got.push(await outcome(run(sh)));
      assert.deepEqual(got, shares.map(() => code), names.map((n, i) => `${n} ${got[i]}`).join(', '));
    });
  }
});

async function xattrCase(s: ShareRoot, fn: (f: VfsFile) => Promise<unknown>): Promise<unknown> {
  const f = await s.open('file', { read: true, write: true });
  try {
    return await fn(f);
  } finally {
    await f.close();
  }
}

describe('uring vfs: the ring closes under load', { skip }, () => {
  test('every op in flight settles once (ECANCELED or its result), later ones fail EBADF, no fd is left', async () => {
    const tree = makeTree();
    for (let i = 0; i < 8; i++) writeFileSync(join(tree.share, `big${i}`), Buffer.alloc(1 << 20, i));
    const baseline = openFdCount();
    const mod = openModule('uring');
    const vfs = mod.vfs as UringVfs;
    // Every call on the ring (an inline stat of an open fd would still succeed after the ring closed).
    const share = await vfs.openShare(tree.share, { inline: 'none' });
    const files: VfsFile[] = [];
    for (let i = 0; i < 8; i++) files.push(await share.open(`big${i}`, { read: true, write: true }));
    const settled = new Map<number, string>();
    const track = (id: number, p: Promise<unknown>): Promise<void> => p.then(
      () => { settled.set(id, 'ok'); },
      (err) => { settled.set(id, (err as SystemError).code); },
    );
    const pending: Promise<void>[] = [];
    let id = 0;
    for (const f of files) {
      pending.push(track(id++, f.read(Buffer.alloc(1 << 20), 0, 1 << 20, 0)));
      pending.push(track(id++, f.write(Buffer.alloc(1 << 20, 9), 0, 1 << 20, 0)));
      pending.push(track(id++, f.sync()));
      pending.push(track(id++, f.stat()));
    }
    for (let i = 0; i < 16; i++) {
      pending.push(track(id++, share.open(`new${i}`, { read: true, write: true, create: 'always' }).then((f) => files.push(f))));
      pending.push(track(id++, share.stat(`big${i % 8}`)));
      pending.push(track(id++, share.mkdir(`dir${i}`)));
    }
    // Let the first submissions reach the kernel, then close the context (and its ring) under them.
    await new Promise((r) => queueMicrotask(() => r(null)));
    mod.ctx!.close();
    assert.equal(vfs.ring.isClosed, true);
    const timeout = new Promise((_, rej) => setTimeout(() => rej(new Error('ops still pending 5 s after the ring closed')), 5000).unref());
    await Promise.race([Promise.all(pending), timeout]);
    assert.equal(settled.size, id, 'every op settled');
    for (const [k, outcome] of settled) assert.ok(['ok', 'ECANCELED', 'EBADF'].includes(outcome), `op ${k}: ${outcome}`);
    assert.ok([...settled.values()].some((o) => o !== 'ok'), 'the close did cut some ops short');
    // A completion delivered twice would have taken this below zero.
    assert.equal(vfs.inflight, 0);
    await rejectsCode(share.stat('big0'), 'EBADF');
    await rejectsCode(files[0]!.stat(), 'EBADF');
    for (const f of files) await f.close(); // CLOSE cannot go on the ring now: close(2)
    await share.close();
    assert.equal(openFdCount(), baseline, 'every file fd closed');
    tree.cleanup();
  });
});

describe('uring vfs: liveness', { skip }, () => {
  test('ops awaited with nothing else alive complete (the ring wakes its owning context)', () => {
    const tree = makeTree();
    const url = (p: string): string => JSON.stringify(new URL(p, import.meta.url).href);
    const script = `
      import { createEventContext } from ${url('../../src/events/index.js')};
      import { createVfs } from ${url('../../src/vfs/index.js')};
      const ctx = createEventContext({ backend: 'uring', driver: 'node' });
      const vfs = createVfs('uring', ctx.ring);
      await new Promise((r) => setTimeout(r, 20)); // the loop goes idle first
      const share = await vfs.openShare(${JSON.stringify(tree.share)});
      const f = await share.open('x', { read: true, write: true, create: 'always' });
      await f.write(Buffer.from('live'), 0, 4, 0);
      await f.close();
      await share.close();
      process.stdout.write('done ' + vfs.inflight);
      ctx.close();
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10000 });
    tree.cleanup();
    assert.equal(r.stdout, 'done 0', `exit ${r.status}, stderr: ${r.stderr}`);
    assert.equal(r.status, 0);
  });
});

describe('createVfs', () => {
  test('threadpool, and auto without a ring, say why', () => {
    assert.equal(createVfs('threadpool').name, 'threadpool');
    const auto = createVfs('auto');
    assert.equal(auto.name, 'threadpool');
    assert.match(auto.reason, /no io_uring ring/);
  });

  test('uring without a ring, or with a ring lacking an op, throws naming what is missing', () => {
    assert.throws(() => createVfs('uring'), /no io_uring ring/);
    const lacking = { isClosed: false, supports: (op: string) => op !== 'OPENAT2' && op !== 'LINKAT' } as unknown as Ring;
    assert.deepEqual(missingUringOps(lacking), ['OPENAT2', 'LINKAT']);
    assert.throws(() => createVfs('uring', lacking), /io_uring lacks OPENAT2, LINKAT/);
    const auto = createVfs('auto', lacking);
    assert.equal(auto.name, 'threadpool');
    assert.equal(auto.reason, 'io_uring lacks OPENAT2, LINKAT');
  });

  test('auto takes uring when the ring has every op; RINGSMB_VFS=threadpool overrides', { skip }, () => {
    const mod = openModule('uring');
    try {
      const auto = createVfs('auto', mod.ctx!.ring);
      assert.equal(auto.name, 'uring');
      assert.ok(auto.reason.length > 0);
      process.env.RINGSMB_VFS = 'threadpool';
      try {
        const forced = createVfs('auto', mod.ctx!.ring);
        assert.equal(forced.name, 'threadpool');
        assert.match(forced.reason, /RINGSMB_VFS/);
      } finally {
        delete process.env.RINGSMB_VFS;
      }
      mod.ctx!.close();
      assert.throws(() => createVfs('uring', mod.ctx!.ring), /closed/);
    } finally {
      mod.close();
    }
  });
});
