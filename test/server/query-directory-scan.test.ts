/**
 * QUERY_DIRECTORY over a big directory with a costly pattern: the answer is
 * right, and the scan does not hold the event loop until it ends (another
 * client's ECHO, sent once the scan is matching names, is answered before
 * the scan's answer). Before,
 * the matcher was a memoised recursion (15 ms a name for this pattern, so
 * this scan was about 45 s of one turn of the loop) and the scan never
 * yielded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serverWithClient, TestClient } from './smb-client.js';
import { USER, PASSWORD } from '../interop/harness.js';
import { Command, CreateOptions, FileInfoClass } from '../../src/smb2/constants.js';
import { NtStatus } from '../../src/smb2/status.js';
import { encodeQueryDirectoryRequest, decodeQueryDirectoryResponse } from '../../src/smb2/commands/query-directory.js';
import { decodeDirectoryEntries } from '../../src/smb2/fscc/index.js';
import { encodeEchoRequest } from '../../src/smb2/commands/echo.js';

const env = serverWithClient({ signing: 'enabled' });

test("a 255-character '*a*a…*b' over 3000 long names: the one match comes back, and another client is served while the scan runs", { timeout: 120_000 }, async () => {
  const dir = join(env.srv.dir, 'big');
  mkdirSync(dir);
  // Names of 200-odd 'a's: the pattern walks far into each before it fails.
  for (let i = 0; i < 3000; i++) writeFileSync(join(dir, 'a'.repeat(200) + i), '');
  const hit = 'a'.repeat(127) + 'b';
  writeFileSync(join(dir, hit), '');
  const d = await env.c.create('big', { access: 0x00100081, options: CreateOptions.DIRECTORY_FILE });
  assert.equal(d.status, 0);
  const other = await TestClient.connect(env.srv.port, USER, PASSWORD, 'share');
  try {
    const order: string[] = [];
    const scan = env.c.request(Command.QUERY_DIRECTORY, encodeQueryDirectoryRequest({
      fileInformationClass: FileInfoClass.FileNamesInformation, flags: 0, fileIndex: 0, fileId: d.res!.fileId, fileName: '*a'.repeat(127) + 'b', outputBufferLength: 65536,
    })).then((r) => (order.push('scan'), r));
    // Sent once the server has read the directory and is matching names: from then on the loop is
    // free for this test's timer only if the scan lets it in (without that, the scan is over by then).
    const open = env.srv.server.state.opens.get(d.res!.fileId.volatile)!;
    while (!open.dir?.entries) await new Promise((r) => setTimeout(r, 1));
    const echo = other.request(Command.ECHO, encodeEchoRequest()).then((r) => (order.push('echo'), r));
    const [s, e] = await Promise.all([scan, echo]);
    assert.equal(e.hdr.status, NtStatus.SUCCESS);
    assert.equal(s.hdr.status, NtStatus.SUCCESS);
    const names = decodeDirectoryEntries(FileInfoClass.FileNamesInformation, decodeQueryDirectoryResponse(s.msg).output).map((x) => x.fileName);
    assert.deepEqual(names, [hit], 'exactly the one name the pattern matches');
    assert.deepEqual(order, ['echo', 'scan'], 'the other client was answered while the scan went on');
    assert.equal(await env.c.close(d.res!.fileId), 0);
  } finally {
    other.destroy();
  }
});

test('a CLOSE sent right behind a QUERY_DIRECTORY of a big directory waits for it: the listing comes back whole, then the handle closes', { timeout: 120_000 }, async () => {
  const dir = join(env.srv.dir, 'closing');
  mkdirSync(dir);
  for (let i = 0; i < 5000; i++) writeFileSync(join(dir, `file${i}`), '');
  const d = await env.c.create('closing', { access: 0x00100081, options: CreateOptions.DIRECTORY_FILE });
  assert.equal(d.status, 0);
  const scan = env.c.request(Command.QUERY_DIRECTORY, encodeQueryDirectoryRequest({
    fileInformationClass: FileInfoClass.FileBothDirectoryInformation, flags: 0, fileIndex: 0, fileId: d.res!.fileId, fileName: '*', outputBufferLength: 8 << 20,
  }));
  const close = env.c.close(d.res!.fileId);
  const [s, c] = await Promise.all([scan, close]);
  assert.equal(s.hdr.status, NtStatus.SUCCESS);
  const names = decodeDirectoryEntries(FileInfoClass.FileBothDirectoryInformation, decodeQueryDirectoryResponse(s.msg).output).map((x) => x.fileName);
  assert.equal(names.filter((n) => n.startsWith('file')).length, 5000);
  assert.equal(c, 0);
  assert.equal(env.srv.server.state.opens.get(d.res!.fileId.volatile), undefined, 'closed');
});
