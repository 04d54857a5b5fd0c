/** Share confinement: malformed names, symlinks out of the share (absolute,
 * relative, chains, directories), magic links, and no fd leaks on failure. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { relPathError, validateRelPath, type ShareRoot } from '../../src/vfs/index.js';
import { describeEachVfs, makeTree, openFdCount, rejectsCode } from './helpers.js';

describe('validateRelPath', () => {
  const cases: [string, string | null][] = [
    ['', null], ['a', null], ['a/b/c', null], ['..a/b..', null], ['a b/ü', null],
    ['../x', 'EACCES'], ['a/../../x', 'EACCES'], ['a/..', 'EACCES'], ['..', 'EACCES'],
    ['/etc/passwd', 'EINVAL'], ['/', 'EINVAL'], ['a//b', 'EINVAL'], ['a/', 'EINVAL'],
    ['./a', 'EINVAL'], ['a/./b', 'EINVAL'], ['a\0b', 'EINVAL'],
    ['x'.repeat(256), 'ENAMETOOLONG'], [('abcdefgh/').repeat(500) + 'x', 'ENAMETOOLONG'],
  ];
  for (const [rel, code] of cases) {
    test(`${JSON.stringify(rel.length > 40 ? rel.slice(0, 40) + '...' : rel)} -> ${code ?? 'ok'}`, () => {
      assert.equal(relPathError(rel)?.code ?? null, code);
      if (code) assert.throws(() => validateRelPath(rel), { code });
    });
  }
});

describeEachVfs('confinement beneath the share root', (mod) => {
  const tree = makeTree();
  let share: ShareRoot;
  const secret = join(tree.outside, 'secret');

  before(async () => {
    writeFileSync(secret, 'top secret');
    mkdirSync(join(tree.outside, 'sub'));
    mkdirSync(join(tree.share, 'in'));
    writeFileSync(join(tree.share, 'in', 'file'), 'inside');
    symlinkSync('/etc', join(tree.share, 'toetc'));                       // absolute, directory
    symlinkSync(secret, join(tree.share, 'abssecret'));                  // absolute, file
    symlinkSync('../outside/secret', join(tree.share, 'relsecret'));     // relative escape
    symlinkSync('../outside', join(tree.share, 'dirout'));               // directory leading out
    symlinkSync('c2', join(tree.share, 'c1'));                           // chain c1 -> c2 -> in/c3 -> out
    symlinkSync('in/c3', join(tree.share, 'c2'));
    symlinkSync('../../outside/secret', join(tree.share, 'in', 'c3'));
    symlinkSync(join(tree.outside, 'created'), join(tree.share, 'dangling')); // O_CREAT through it
    symlinkSync('/proc/self/root/etc', join(tree.share, 'magic'));
    symlinkSync('in/file', join(tree.share, 'goodfile'));                // inside: allowed
    symlinkSync('in', join(tree.share, 'gooddir'));
    symlinkSync('../../share/in/file', join(tree.share, 'in', 'roundtrip')); // leaves and re-enters
    share = await mod().vfs.openShare(tree.share);
  });
  after(async () => {
    await share.close();
    tree.cleanup();
  });

  const R = { read: true, write: false } as const;
  const W = { read: true, write: true, create: 'always' } as const;

  test('malformed names are refused before the kernel', async () => {
    await rejectsCode(share.open('../outside/secret', R), 'EACCES');
    await rejectsCode(share.open('in/../../outside/secret', R), 'EACCES');
    await rejectsCode(share.open(secret, R), 'EINVAL');
    await rejectsCode(share.stat('../outside'), 'EACCES');
    await rejectsCode(share.unlink('in/../../outside/secret'), 'EACCES');
    await rejectsCode(share.mkdir('/tmp/x'), 'EINVAL');
    await rejectsCode(share.rename('in/file', '../stolen', { replace: true }), 'EACCES');
  });

  test('open through escaping symlinks fails EXDEV', async () => {
    for (const rel of ['toetc/passwd', 'toetc', 'abssecret', 'relsecret', 'dirout/secret', 'dirout', 'c1', 'c2',
      'in/c3', 'in/roundtrip']) {
      await rejectsCode(share.open(rel, R), 'EXDEV', `open ${rel}`);
    }
    await rejectsCode(share.open('abssecret', { read: false, write: true, truncate: true }), 'EXDEV');
    await rejectsCode(share.open('dangling', W), 'EXDEV', 'O_CREAT through a dangling link');
    await rejectsCode(share.open('dirout/new', W), 'EXDEV');
    await rejectsCode(share.open('dirout/newdir', { ...W, directory: 'must' }), 'EXDEV');
    await rejectsCode(share.open('toetc', { ...R, directory: 'must' }), 'EXDEV');
  });

  test('magic links are refused', async () => {
    await rejectsCode(share.open('magic/passwd', R), 'EXDEV');
  });

  test('every path op through a symlink leading out fails EXDEV', async () => {
    await rejectsCode(share.stat('dirout/secret'), 'EXDEV', 'stat');
    await rejectsCode(share.stat('toetc', { follow: true }), 'EXDEV', 'stat follow');
    await rejectsCode(share.stat('c1', { follow: true }), 'EXDEV', 'stat chain');
    await rejectsCode(share.mkdir('dirout/newdir'), 'EXDEV', 'mkdir');
    await rejectsCode(share.unlink('dirout/secret'), 'EXDEV', 'unlink');
    await rejectsCode(share.rmdir('dirout/sub'), 'EXDEV', 'rmdir');
    await rejectsCode(share.rename('dirout/secret', 'stolen', { replace: true }), 'EXDEV', 'rename from');
    await rejectsCode(share.rename('in/file', 'dirout/planted', { replace: true }), 'EXDEV', 'rename to');
    await rejectsCode(share.link('dirout/secret', 'hardstolen'), 'EXDEV', 'link from');
    await rejectsCode(share.link('in/file', 'dirout/hardplanted'), 'EXDEV', 'link to');
    await rejectsCode(share.symlink('x', 'dirout/planted'), 'EXDEV', 'symlink');
    await rejectsCode(share.readlink('toetc/os-release'), 'EXDEV', 'readlink');
    await rejectsCode(share.unlink('toetc/hostname'), 'EXDEV', 'unlink via /etc');
  });

  test('the outside was not touched', () => {
    assert.equal(readFileSync(secret, 'utf8'), 'top secret');
    assert.deepEqual(readdirSync(tree.outside).sort(), ['secret', 'sub']);
    assert.equal(existsSync(join(tree.outside, 'created')), false);
  });

  test('final-component symlinks are acted on, not followed', async () => {
    const st = await share.stat('abssecret');
    assert.equal(st.isSymlink, true);
    assert.equal(await share.readlink('toetc'), '/etc');
    await share.symlink('/etc/passwd', 'planted');
    await share.unlink('planted');
    await share.rename('relsecret', 'relsecret2', { replace: false });
    await share.rename('relsecret2', 'relsecret', { replace: false });
    assert.equal(readFileSync(secret, 'utf8'), 'top secret');
  });

  test('symlinks pointing inside work, unless followSymlinks is false', async () => {
    const f = await share.open('goodfile', R);
    const buf = Buffer.alloc(16);
    assert.equal(buf.subarray(0, await f.read(buf, 0, 16, 0)).toString(), 'inside');
    await f.close();
    const g = await share.open('gooddir/file', R);
    await g.close();
    assert.equal((await share.stat('goodfile', { follow: true })).isFile, true);
    await share.mkdir('gooddir/made');
    await share.rmdir('gooddir/made');
    await rejectsCode(share.open('goodfile', { ...R, followSymlinks: false }), 'ELOOP');
    await rejectsCode(share.open('gooddir/file', { ...R, followSymlinks: false }), 'ELOOP');
    const h = await share.open('in/file', { ...R, followSymlinks: false });
    await h.close();
  });

  test('no fd leaks across a batch of operations, failures included', async () => {
    const ops = async (): Promise<void> => {
      const attempts: Promise<unknown>[] = [
        share.open('toetc/passwd', R), share.open('dangling', W), share.open('missing', R),
        share.open('../x', R), share.stat('dirout/secret'), share.stat('in/file'),
        share.mkdir('dirout/x'), share.unlink('dirout/secret'), share.rename('in/file', 'dirout/y', { replace: true }),
        share.rename('nope', 'in/z', { replace: false }), share.readlink('toetc'), share.statfs(),
        share.open('in', { ...R, directory: 'mustNot' }), share.open('in/file', { ...R, directory: 'must' }),
        share.open('in/x', W).then(async (f) => { await f.write(Buffer.from('x'), 0, 1, 0); await f.close(); }),
        share.open('in', R).then(async (f) => { await f.readdir(); await f.close(); }),
      ];
      await Promise.allSettled(attempts);
    };
    await ops(); // warm up lazily opened fds (threadpool, io)
    const before = openFdCount();
    for (let i = 0; i < 20; i++) await ops();
    assert.equal(openFdCount(), before);
  });
});
