/**
 * Behaviours fixed for the smbtorture suites (issue 4, item 6), checked at the
 * handler level: share modes, rename vs. open parent, zero-length READ with a
 * MinimumCount, directory scans over removed entries, TEMPORARY on directories,
 * QUERY_INFO fixed sizes, 8.3 names.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NtStatus } from '../../src/smb2/status.js';
import { createServer, type SmbServer } from '../../src/server/server.js';
import { Session, TreeConnect } from '../../src/server/state.js';
import type { RequestContext, Reply } from '../../src/server/context.js';
import { createLogger } from '../../src/util/log.js';
import { MaskFull } from '../../src/server/access.js';
import { shareCompatible, sharingViolation } from '../../src/server/sharemode.js';
import { shortName, handleQueryInfo } from '../../src/server/handlers/query-info.js';
import { handleCreate } from '../../src/server/handlers/create.js';
import { handleClose } from '../../src/server/handlers/close.js';
import { handleRead } from '../../src/server/handlers/read.js';
import { handleSetInfo } from '../../src/server/handlers/set-info.js';
import { handleQueryDirectory } from '../../src/server/handlers/query-directory.js';
import { encodeCreateRequest, decodeCreateResponse } from '../../src/smb2/commands/create.js';
import { encodeCloseRequest } from '../../src/smb2/commands/close.js';
import { encodeReadRequest } from '../../src/smb2/commands/read.js';
import { encodeSetInfoRequest } from '../../src/smb2/commands/set-info.js';
import { encodeQueryInfoRequest, decodeQueryInfoResponse } from '../../src/smb2/commands/query-info.js';
import { encodeQueryDirectoryRequest, decodeQueryDirectoryResponse } from '../../src/smb2/commands/query-directory.js';
import { decodeDirectoryEntries, encodeFileBasicInformation, encodeFileRenameInformation } from '../../src/smb2/fscc/index.js';
import { CreateDisposition, CreateOptions, FileAttributes, FileInfoClass, FsInfoClass, InfoType, QueryDirectoryFlags, ShareAccess } from '../../src/smb2/constants.js';
import type { FileId } from '../../src/smb2/wire.js';

const READ_DATA = 0x1;
const WRITE_DATA = 0x2;
const READ_ATTRIBUTES = 0x80;
const DELETE = 0x10000;
const ALL_SHARE = ShareAccess.READ | ShareAccess.WRITE | ShareAccess.DELETE;

describe('share modes (MS-FSA 2.1.5.1.2)', () => {
  test('a right the other open did not share conflicts, both ways', () => {
    assert.equal(shareCompatible(READ_DATA, ALL_SHARE, { grantedAccess: READ_DATA, shareAccess: ShareAccess.READ }), true);
    assert.equal(shareCompatible(WRITE_DATA, ALL_SHARE, { grantedAccess: READ_DATA, shareAccess: ShareAccess.READ }), false);
    assert.equal(shareCompatible(DELETE, ALL_SHARE, { grantedAccess: READ_DATA, shareAccess: ShareAccess.READ | ShareAccess.WRITE }), false);
    // The existing open writes; the new one does not share write.
    assert.equal(shareCompatible(READ_DATA, ShareAccess.READ, { grantedAccess: WRITE_DATA, shareAccess: ALL_SHARE }), false);
  });
  test('attribute-only opens take part on neither side', () => {
    assert.equal(shareCompatible(READ_ATTRIBUTES, 0, { grantedAccess: READ_DATA, shareAccess: 0 }), true);
    assert.equal(shareCompatible(READ_DATA, 0, { grantedAccess: READ_ATTRIBUTES, shareAccess: 0 }), true);
    assert.equal(sharingViolation(READ_DATA, ALL_SHARE, []), false);
  });
});

describe('8.3 names', () => {
  const cases: [string, string][] = [
    ['a.txt', 'A.TXT'],
    ['dir/README', 'README'],
    ['torture_search.txt', 'TORTUR~1.TXT'],
    ['long name.html', 'LONGNA~1.HTM'],
    ['.profile', 'PROFIL~1'],
  ];
  for (const [path, want] of cases) test(`${path} -> ${want}`, () => assert.equal(shortName(path), want));
});

const HDR = Buffer.alloc(64);
const msg = (body: Buffer | Buffer[]) => Buffer.concat([HDR, ...(Array.isArray(body) ? body : [body])]);

describe('handlers: fixes for smbtorture', () => {
  let dir: string;
  let server: SmbServer;
  let tree: TreeConnect;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ringsmb-tf-'));
    writeFileSync(join(dir, 'data.bin'), '0123456789');
    server = createServer({
      shares: [{ name: 'share', path: dir, readOnly: false, comment: '', encrypt: false, browseable: true, guestOk: false }],
      users: [{ name: 'u', password: 'p' }],
      vfs: 'threadpool',
      logger: createLogger('error', () => undefined),
    });
    const share = server.findShare('share')!;
    share.root = await server.vfs.openShare(dir);
    const session = new Session(1n, 0x311, 1);
    session.state = 'valid';
    tree = new TreeConnect(1, session, share, MaskFull);
    session.trees.set(1, tree);
  });
  after(async () => {
    for (const o of [...server.state.opens.values()]) await server.closeOpen(o);
    await server.close(); // closes the share root and the server's event context
    rmSync(dir, { recursive: true, force: true });
  });

  function ctx(body: Buffer): RequestContext {
    const conn = {
      id: 1,
      negotiated: { dialect: 0x311, maxRead: 1 << 20, maxWrite: 1 << 20, maxTransact: 1 << 20 },
      transport: { localAddress: '127.0.0.1' },
      drop() {},
      canSendFile: () => false,
    };
    return { server, conn: conn as never, hdr: {} as never, msg: msg(body), session: tree.session, tree, encrypted: false, compound: false, related: { open: null } };
  }

  async function create(name: string, o: { access?: number; share?: number; disp?: number; options?: number; attrs?: number } = {}): Promise<{ status: number; id?: FileId }> {
    const body = encodeCreateRequest({
      securityFlags: 0, requestedOplockLevel: 0, impersonationLevel: 2, smbCreateFlags: 0n,
      desiredAccess: o.access ?? 0x0012019f, fileAttributes: o.attrs ?? 0, shareAccess: o.share ?? ALL_SHARE,
      createDisposition: o.disp ?? CreateDisposition.OPEN, createOptions: o.options ?? 0, name, createContexts: [],
    });
    const reply = await handleCreate(ctx(body));
    if (reply.status !== 0) return { status: reply.status };
    return { status: 0, id: decodeCreateResponse(msg(reply.body as Buffer)).fileId };
  }
  const close = (id: FileId) => handleClose(ctx(encodeCloseRequest({ flags: 0, fileId: id })));
  const setInfo = (id: FileId, cls: number, buffer: Buffer) =>
    handleSetInfo(ctx(encodeSetInfoRequest({ infoType: InfoType.FILE, fileInfoClass: cls, buffer, additionalInformation: 0, fileId: id })));
  const queryInfo = (id: FileId, infoType: number, cls: number, len: number) =>
    handleQueryInfo(ctx(encodeQueryInfoRequest({ infoType, fileInfoClass: cls, outputBufferLength: len, input: Buffer.alloc(0), additionalInformation: 0, flags: 0, fileId: id })));

  test('CREATE: SHARING_VIOLATION against an open that did not share', async () => {
    const a = await create('data.bin', { access: READ_DATA, share: ShareAccess.READ });
    assert.equal(a.status, 0);
    assert.equal((await create('data.bin', { access: WRITE_DATA })).status, NtStatus.SHARING_VIOLATION);
    assert.equal((await create('data.bin', { access: READ_DATA, share: ShareAccess.WRITE })).status, NtStatus.SHARING_VIOLATION);
    const stat = await create('data.bin', { access: READ_ATTRIBUTES, share: 0 });
    assert.equal(stat.status, 0);
    const reader = await create('data.bin', { access: READ_DATA, share: ALL_SHARE });
    assert.equal(reader.status, 0);
    for (const id of [a.id!, stat.id!, reader.id!]) await close(id);
    const w = await create('data.bin', { access: WRITE_DATA });
    assert.equal(w.status, 0);
    await close(w.id!);
  });

  test('CREATE: DELETE_PENDING once a delete-on-close handle closed while another stays open (MS-FSA 2.1.5.1.2)', async () => {
    writeFileSync(join(dir, 'doomed.bin'), 'x');
    const keeper = await create('doomed.bin', { access: READ_DATA });
    assert.equal(keeper.status, 0);
    // The delete-on-close option alone does not make the file pending: other opens still work.
    const doc = await create('doomed.bin', { access: 0x00010000 /* DELETE */, options: 0x1000 /* DELETE_ON_CLOSE */ });
    assert.equal(doc.status, 0);
    const meanwhile = await create('doomed.bin', { access: READ_DATA });
    assert.equal(meanwhile.status, 0);
    await close(meanwhile.id!);
    await close(doc.id!);
    // Now it is: new opens are refused (smb2_deltree relies on this to end), the name still exists.
    assert.equal((await create('doomed.bin', { access: READ_DATA })).status, NtStatus.DELETE_PENDING);
    assert.equal((await create('doomed.bin', { access: 0x00010000, options: 0x1000 })).status, NtStatus.DELETE_PENDING);
    assert.ok(existsSync(join(dir, 'doomed.bin')));
    // The last handle closing deletes it; the name is free again.
    await close(keeper.id!);
    assert.ok(!existsSync(join(dir, 'doomed.bin')));
    const again = await create('doomed.bin', { access: READ_DATA, disp: CreateDisposition.CREATE });
    assert.equal(again.status, 0);
    await close(again.id!);
    unlinkSync(join(dir, 'doomed.bin'));
  });

  test('READ: zero length with a MinimumCount is END_OF_FILE', async () => {
    const f = await create('data.bin', { access: READ_DATA });
    const rd = (off: bigint, length: number, minimumCount: number) =>
      handleRead(ctx(encodeReadRequest({ padding: 0x50, flags: 0, length, offset: off, fileId: f.id!, minimumCount, channel: 0, remainingBytes: 0, readChannelInfo: Buffer.alloc(0) })));
    assert.equal((await rd(10n, 0, 0)).status, 0);
    assert.equal((await rd(10n, 0, 1)).status, NtStatus.END_OF_FILE);
    assert.equal((await rd(0n, 1, 0x10000)).status, NtStatus.END_OF_FILE);
    await close(f.id!);
  });

  test('TEMPORARY is invalid on a directory, at CREATE and SET_INFO', async () => {
    const opts = { disp: CreateDisposition.CREATE, options: CreateOptions.DIRECTORY_FILE };
    assert.equal((await create('tmpdir', { ...opts, attrs: FileAttributes.TEMPORARY })).status, NtStatus.INVALID_PARAMETER);
    const d = await create('tmpdir', opts);
    assert.equal(d.status, 0);
    const basic = (attrs: number) => encodeFileBasicInformation({ creationTime: 0n, lastAccessTime: 0n, lastWriteTime: 0n, changeTime: 0n, fileAttributes: attrs });
    assert.equal((await setInfo(d.id!, FileInfoClass.FileBasicInformation, basic(FileAttributes.TEMPORARY))).status, NtStatus.INVALID_PARAMETER);
    assert.equal((await setInfo(d.id!, FileInfoClass.FileBasicInformation, basic(FileAttributes.DIRECTORY))).status, 0);
    await close(d.id!);
  });

  test('SET_INFO rename: an open parent with DELETE access, or not sharing delete, refuses', async () => {
    assert.equal((await create('pdir', { disp: CreateDisposition.CREATE, options: CreateOptions.DIRECTORY_FILE })).status, 0);
    writeFileSync(join(dir, 'pdir', 'f.txt'), 'x');
    const rename = (id: FileId, to: string) => setInfo(id, FileInfoClass.FileRenameInformation, encodeFileRenameInformation({ replaceIfExists: false, rootDirectory: 0n, fileName: to }));
    const f = await create('pdir\\f.txt', { access: 0x0013019f, share: 0 });
    const parentDel = await create('pdir', { access: READ_DATA | DELETE, options: CreateOptions.DIRECTORY_FILE });
    assert.equal((await rename(f.id!, 'pdir\\g.txt')).status, NtStatus.SHARING_VIOLATION);
    await close(parentDel.id!);
    const parentNoShare = await create('pdir', { access: READ_DATA, share: ShareAccess.READ | ShareAccess.WRITE, options: CreateOptions.DIRECTORY_FILE });
    assert.equal((await rename(f.id!, 'pdir\\g.txt')).status, NtStatus.SHARING_VIOLATION);
    await close(parentNoShare.id!);
    const parentOk = await create('pdir', { access: READ_DATA, options: CreateOptions.DIRECTORY_FILE });
    assert.equal((await rename(f.id!, 'pdir\\g.txt')).status, 0);
    // The directory itself cannot be renamed while a file below it is open.
    const d = await create('pdir', { access: 0x0013019f, options: CreateOptions.DIRECTORY_FILE });
    assert.equal((await rename(d.id!, 'pdir2')).status, NtStatus.ACCESS_DENIED);
    for (const id of [parentOk.id!, d.id!, f.id!]) await close(id);
  });

  test('QUERY_DIRECTORY: a continued scan skips entries removed since it started', async () => {
    assert.equal((await create('scan', { disp: CreateDisposition.CREATE, options: CreateOptions.DIRECTORY_FILE })).status, 0);
    for (const n of ['f1', 'f2', 'f3']) writeFileSync(join(dir, 'scan', n), n);
    const d = await create('scan', { access: 0x00100081, options: CreateOptions.DIRECTORY_FILE });
    const q = (flags: number) =>
      handleQueryDirectory(ctx(encodeQueryDirectoryRequest({ fileInformationClass: FileInfoClass.FileNamesInformation, flags, fileIndex: 0, fileId: d.id!, fileName: '*', outputBufferLength: 65536 })));
    const names = (r: Reply) => decodeDirectoryEntries(FileInfoClass.FileNamesInformation, decodeQueryDirectoryResponse(msg(r.body as Buffer)).output).map((e) => e.fileName);
    assert.deepEqual(names(await q(QueryDirectoryFlags.RETURN_SINGLE_ENTRY)), ['.']);
    for (const n of ['f1', 'f2', 'f3']) unlinkSync(join(dir, 'scan', n));
    const rest = await q(0);
    assert.equal(rest.status, 0);
    assert.deepEqual(names(rest), ['..']);
    await close(d.id!);
  });

  test('QUERY_INFO: Windows fixed sizes, FileFsControlInformation, alternate name', async () => {
    const f = await create('data.bin', { access: READ_DATA | READ_ATTRIBUTES });
    assert.equal((await queryInfo(f.id!, InfoType.FILE, FileInfoClass.FileAllInformation, 100)).status, NtStatus.INFO_LENGTH_MISMATCH);
    assert.equal((await queryInfo(f.id!, InfoType.FILE, FileInfoClass.FileAllInformation, 104)).status, NtStatus.BUFFER_OVERFLOW);
    assert.equal((await queryInfo(f.id!, InfoType.FILESYSTEM, FsInfoClass.FileFsVolumeInformation, 18)).status, NtStatus.INFO_LENGTH_MISMATCH);
    const ctl = await queryInfo(f.id!, InfoType.FILESYSTEM, FsInfoClass.FileFsControlInformation, 48);
    assert.equal(ctl.status, 0);
    const out = decodeQueryInfoResponse(msg(ctl.body as Buffer)).output;
    assert.equal(out.length, 48);
    assert.equal(out.readBigUInt64LE(32), 0xffffffffffffffffn);
    const alt = await queryInfo(f.id!, InfoType.FILE, FileInfoClass.FileAlternateNameInformation, 64);
    assert.equal(alt.status, 0);
    const name = decodeQueryInfoResponse(msg(alt.body as Buffer)).output;
    assert.equal(name.subarray(4, 4 + name.readUInt32LE(0)).toString('utf16le'), 'DATA.BIN');
    await close(f.id!);
  });
});
