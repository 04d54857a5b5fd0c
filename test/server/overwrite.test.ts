/**
 * CREATE with an overwriting disposition (SUPERSEDE, OVERWRITE, OVERWRITE_IF)
 * on an existing file: the file is truncated only after the checks that may
 * refuse the open, so a refused CREATE loses no data. MS-FSA 2.1.5.1.2: a
 * HIDDEN or SYSTEM file is overwritten only by a request that asks for that
 * attribute too (ACCESS_DENIED otherwise); a stored NT ACL that does not
 * grant the asked rights refuses the open before any byte goes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, USER, PASSWORD, type Running } from '../interop/harness.js';
import { TestClient } from './smb-client.js';
import { CreateAction, CreateContextName, CreateDisposition } from '../../src/smb2/constants.js';
import { NtStatus } from '../../src/smb2/status.js';
import { AceType, WellKnownSid, encodeSecurityDescriptor } from '../../src/smb2/security.js';

const HIDDEN = 0x2, SYSTEM = 0x4, ARCHIVE = 0x20, NORMAL = 0x80;
const CONTENT = 'precious data';

let srv: Running;
let c: TestClient;

before(async () => {
  srv = await startServer({ signing: 'enabled' }); // the test client does not sign
  c = await TestClient.connect(srv.port, USER, PASSWORD, 'share');
});
after(async () => {
  c.destroy();
  await srv.stop();
});

/** Creates `name` on the server with these attributes and CONTENT on disk. */
async function seed(name: string, attributes: number): Promise<void> {
  const r = await c.create(name, { disposition: CreateDisposition.OVERWRITE_IF, attributes });
  assert.equal(r.status, 0);
  assert.equal(await c.close(r.res!.fileId), 0);
  writeFileSync(join(srv.dir, name), CONTENT);
}

describe('CREATE overwrite of an existing file', () => {
  for (const [label, attr] of [['HIDDEN', HIDDEN], ['SYSTEM', SYSTEM]] as const) {
    for (const disp of [CreateDisposition.OVERWRITE, CreateDisposition.OVERWRITE_IF, CreateDisposition.SUPERSEDE]) {
      test(`a ${label} file, disposition ${disp}: ACCESS_DENIED without ${label} and the data stays; with it the file is emptied`, async () => {
        const name = `ow-${label}-${disp}.txt`;
        await seed(name, attr);
        const denied = await c.create(name, { disposition: disp, attributes: NORMAL });
        assert.equal(denied.status, NtStatus.ACCESS_DENIED);
        assert.equal(readFileSync(join(srv.dir, name), 'utf8'), CONTENT, 'a refused overwrite loses nothing');

        const ok = await c.create(name, { disposition: disp, attributes: attr });
        assert.equal(ok.status, 0);
        assert.equal(ok.res!.createAction, disp === CreateDisposition.SUPERSEDE ? CreateAction.SUPERSEDED : CreateAction.OVERWRITTEN);
        assert.equal(ok.res!.endofFile, 0n, 'the answer carries the truncated size');
        assert.equal(ok.res!.fileAttributes, attr | ARCHIVE);
        assert.equal(await c.close(ok.res!.fileId), 0);
        assert.equal(readFileSync(join(srv.dir, name)).length, 0);
      });
    }
  }

  test('a plain file is overwritten whatever attributes are asked, and takes them', async () => {
    await seed('ow-plain.txt', NORMAL);
    const r = await c.create('ow-plain.txt', { disposition: CreateDisposition.OVERWRITE_IF, attributes: HIDDEN });
    assert.equal(r.status, 0);
    assert.equal(r.res!.createAction, CreateAction.OVERWRITTEN);
    assert.equal(r.res!.fileAttributes, HIDDEN | ARCHIVE);
    assert.equal(await c.close(r.res!.fileId), 0);
    assert.equal(readFileSync(join(srv.dir, 'ow-plain.txt')).length, 0);
  });

  test('a file whose NT ACL grants only reading: an overwrite is ACCESS_DENIED and the data stays', async () => {
    const sd = encodeSecurityDescriptor({
      owner: WellKnownSid.BUILTIN_ADMINISTRATORS,
      dacl: [{ aceType: AceType.ACCESS_ALLOWED, aceFlags: 0, mask: 0x00120089 /* FILE_GENERIC_READ */, sid: WellKnownSid.EVERYONE }],
    });
    const r = await c.create('ow-acl.txt', { disposition: CreateDisposition.CREATE, contexts: [{ name: CreateContextName.SD_BUFFER, data: sd }] });
    assert.equal(r.status, 0);
    assert.equal(await c.close(r.res!.fileId), 0);
    writeFileSync(join(srv.dir, 'ow-acl.txt'), CONTENT);
    for (const disp of [CreateDisposition.OVERWRITE, CreateDisposition.OVERWRITE_IF, CreateDisposition.SUPERSEDE]) {
      const w = await c.create('ow-acl.txt', { disposition: disp });
      assert.equal(w.status, NtStatus.ACCESS_DENIED, `disposition ${disp}`);
      assert.equal(readFileSync(join(srv.dir, 'ow-acl.txt'), 'utf8'), CONTENT, `disposition ${disp}: nothing lost`);
    }
    const rd = await c.create('ow-acl.txt', { disposition: CreateDisposition.OPEN, access: 0x00120089 });
    assert.equal(rd.status, 0, 'reading is still allowed');
    assert.equal(await c.close(rd.res!.fileId), 0);
  });
});
