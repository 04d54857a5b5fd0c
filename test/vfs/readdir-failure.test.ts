/**
 * A directory listing whose statx batches fail part-way: the listing rejects
 * only once every batch under way has settled (each uses the directory's fd,
 * which the guard lets a CLOSE take back as soon as the call returns), and
 * no further batch starts after the failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ThreadpoolFile } from '../../src/vfs/threadpool-file.js';
import type { ThreadpoolSys } from '../../src/vfs/threadpool-sys.js';
import type { VfsStat } from '../../src/vfs/types.js';
import { SystemError } from '../../src/util/errors.js';

test('readdir: a failed statx batch rejects the listing only after the other batch under way settled; nothing starts after it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ringsmb-readdir-'));
  for (let i = 0; i < 300; i++) writeFileSync(join(dir, `f${i}`), '');
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    const calls: { settled: boolean }[] = [];
    // The first batch takes its time and succeeds (zeroed records: an entry each); the second fails at once.
    const sys = {
      call: async (op: string, a: { out: Buffer }): Promise<number> => {
        assert.equal(op, 'statxbatch');
        const me = { settled: false };
        calls.push(me);
        try {
          if (calls.length === 2) throw new SystemError('statxbatch', 11 /* EAGAIN: the pool refused */);
          await new Promise((r) => setTimeout(r, 40));
          a.out.fill(0);
          return 0;
        } finally {
          me.settled = true;
        }
      },
    } as unknown as ThreadpoolSys;
    const dirStat = { isDirectory: true, isFile: false } as VfsStat;
    const file = new ThreadpoolFile(sys, fd, false, dirStat);
    await assert.rejects(file.readdir(), (err: unknown) => (err as SystemError).code === 'EAGAIN');
    assert.equal(calls.length, 2, 'no batch started after the failure');
    assert.ok(calls.every((c) => c.settled), 'every batch under way had settled when the listing rejected');
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
});
