/**
 * Samba's smbclient against ringsmb (ARCHITECTURE decision 7: real peers
 * decide correctness). Every transfer is checked byte for byte.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, symlinkSync, existsSync, statSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { smbclient, smbclientList, smbclientPath, startServer, until, USER, type Running } from './harness.js';

const skip = smbclientPath() ? false : 'smbclient is not installed (apt-get install smbclient)';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('smbclient interop', { skip }, () => {
  let srv: Running;
  let local: string;
  const payload = randomBytes(3 * 1024 * 1024 + 12345);

  before(async () => {
    srv = await startServer();
    local = mkdtempSync(join(tmpdir(), 'ringsmb-local-'));
    writeFileSync(join(srv.dir, 'hello.txt'), 'hello, world\n');
    mkdirSync(join(srv.dir, 'sub'));
    writeFileSync(join(srv.dir, 'sub', 'inner.bin'), payload);
    writeFileSync(join(local, 'up.bin'), payload);
  });
  after(async () => {
    await srv.stop();
    rmSync(local, { recursive: true, force: true });
  });

  test('ls lists files and directories', async () => {
    const r = await smbclient(srv.port, 'ls');
    assert.equal(r.code, 0, r.out);
    assert.match(r.stdout, /hello\.txt\s+A?N?\s+13/);
    assert.match(r.stdout, /sub\s+D/);
  });

  const variants: [string, string][] = [
    ['SMB2_02', 'sign'], ['SMB2_10', 'sign'], ['SMB3_00', 'sign'], ['SMB3_11', 'sign'],
    ['SMB3_00', 'encrypt'], ['SMB3_11', 'encrypt'],
  ];
  for (const [proto, prot] of variants) {
    test(`get and put byte for byte with -m ${proto} --client-protection=${prot}`, async () => {
      const out = join(local, `got-${proto}-${prot}.bin`);
      const g = await smbclient(srv.port, `get sub\\inner.bin ${out}`, ['-m', proto, `--client-protection=${prot}`]);
      assert.equal(g.code, 0, g.out);
      assert.equal(sha(readFileSync(out)), sha(payload));
      const name = `up-${proto}-${prot}.bin`;
      const p = await smbclient(srv.port, `put ${join(local, 'up.bin')} ${name}`, ['-m', proto, `--client-protection=${prot}`]);
      assert.equal(p.code, 0, p.out);
      assert.equal(sha(readFileSync(join(srv.dir, name))), sha(payload));
      // Signed and sealed READ data went through the data pool, and every buffer came back.
      const pool = srv.server.dataPool;
      assert.ok(pool.stats.made > 0, 'the pool was used');
      await until(() => pool.stats.out === 0, 2000, `pooled buffers still out: ${JSON.stringify(pool.stats)}`);
      if (srv.server.vfs.name === 'uring' && process.getuid?.() === 0) assert.equal(pool.stats.registered, true, 'registered with the ring (READ_FIXED)');
    });
  }

  test('mkdir, rename, allinfo, del, rmdir', async () => {
    const r = await smbclient(srv.port, 'mkdir newdir; put ' + join(local, 'up.bin') + ' newdir\\a.bin; rename newdir\\a.bin newdir\\b.bin; allinfo newdir\\b.bin');
    assert.equal(r.code, 0, r.out);
    assert.ok(existsSync(join(srv.dir, 'newdir', 'b.bin')));
    assert.ok(!existsSync(join(srv.dir, 'newdir', 'a.bin')));
    assert.match(r.stdout, /create_time:/);
    assert.match(r.stdout, /write_time:/);
    const d = await smbclient(srv.port, 'del newdir\\b.bin; rmdir newdir');
    assert.equal(d.code, 0, d.out);
    assert.ok(!existsSync(join(srv.dir, 'newdir')));
  });

  test('rmdir of a non-empty directory is refused', async () => {
    const r = await smbclient(srv.port, 'rmdir sub');
    assert.match(r.out, /NT_STATUS_DIRECTORY_NOT_EMPTY/);
    assert.ok(statSync(join(srv.dir, 'sub')).isDirectory());
  });

  test('smbclient -L lists the share over srvsvc', async () => {
    const r = await smbclientList(srv.port);
    assert.match(r.stdout, /^\s+share\s+Disk\s+test share/m, r.out);
    assert.match(r.stdout, /^\s+IPC\$\s+IPC/m);
  });

  test('a wrong password is refused with STATUS_LOGON_FAILURE and logged', async () => {
    const r = await smbclient(srv.port, 'ls', [], 'share', `${USER}%not-the-password`);
    assert.notEqual(r.code, 0);
    assert.match(r.out, /NT_STATUS_LOGON_FAILURE/);
    assert.ok(srv.logs.some((l) => /logon failed/.test(l)));
  });

  test('paths that climb out of the share or follow planted symlinks are refused', async () => {
    symlinkSync('/etc', join(srv.dir, 'evil'));
    symlinkSync('/etc/passwd', join(srv.dir, 'pw'));
    const out = join(local, 'stolen');
    for (const cmd of [`get evil\\passwd ${out}`, `get pw ${out}`, `get ..\\..\\..\\etc\\passwd ${out}`, `ls evil\\*`]) {
      const r = await smbclient(srv.port, cmd);
      assert.match(r.out, /NT_STATUS_(ACCESS_DENIED|OBJECT_NAME_INVALID|OBJECT_PATH_SYNTAX_BAD|OBJECT_PATH_NOT_FOUND|OBJECT_NAME_NOT_FOUND|NO_SUCH_FILE)/, `${cmd}: ${r.out}`);
      assert.ok(!existsSync(out), `${cmd} wrote ${out}`);
    }
    // The server still serves after the attempts.
    const ok = await smbclient(srv.port, 'ls');
    assert.equal(ok.code, 0, ok.out);
  });
});
