/** File command handlers: errno mapping, SMB paths, wildcards, and CREATE/READ/WRITE/... over a temp-dir share. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileWildcard, errnoToStatus, smbPathToRel, wildcardMatch } from '../../src/server/errno.js';
import { generator } from '../util/fuzz.js';
import { NtStatus } from '../../src/smb2/status.js';
import { createServer, type SmbServer } from '../../src/server/server.js';
import { Session, TreeConnect, type Open } from '../../src/server/state.js';
import type { RequestContext, Reply } from '../../src/server/context.js';
import { createLogger } from '../../src/util/log.js';
import { MaskFull, MaskRead } from '../../src/server/access.js';
import { encodeCreateRequest, decodeCreateResponse } from '../../src/smb2/commands/create.js';
import { encodeCloseRequest } from '../../src/smb2/commands/close.js';
import { encodeReadRequest, decodeReadResponse } from '../../src/smb2/commands/read.js';
import { encodeWriteRequest } from '../../src/smb2/commands/write.js';
import { encodeQueryDirectoryRequest, decodeQueryDirectoryResponse } from '../../src/smb2/commands/query-directory.js';
import { encodeQueryInfoRequest, decodeQueryInfoResponse } from '../../src/smb2/commands/query-info.js';
import { encodeSetInfoRequest } from '../../src/smb2/commands/set-info.js';
import { encodeLockRequest } from '../../src/smb2/commands/lock.js';
import { decodeDirectoryEntries, encodeFileRenameInformation, decodeFileStandardInformation, encodeFileDispositionInformation } from '../../src/smb2/fscc/index.js';
import { CreateAction, CreateDisposition, CreateOptions, FileInfoClass, InfoType, LockFlags, QueryDirectoryFlags } from '../../src/smb2/constants.js';
import { FILE_ID_ANY, type FileId } from '../../src/smb2/wire.js';
import { handleCreate } from '../../src/server/handlers/create.js';
import { handleClose } from '../../src/server/handlers/close.js';
import { handleRead } from '../../src/server/handlers/read.js';
import { handleWrite } from '../../src/server/handlers/write.js';
import { handleQueryDirectory } from '../../src/server/handlers/query-directory.js';
import { handleQueryInfo } from '../../src/server/handlers/query-info.js';
import { handleSetInfo } from '../../src/server/handlers/set-info.js';
import { handleLock } from '../../src/server/handlers/lock.js';
import { handleIoctl } from '../../src/server/handlers/ioctl.js';
import { encodeIoctlRequest, decodeIoctlResponse } from '../../src/smb2/commands/ioctl.js';
import { encodeValidateNegotiateInfoRequest, decodeValidateNegotiateInfoResponse, decodeNetworkInterfaceInfo } from '../../src/smb2/commands/fsctl.js';
import { Fsctl } from '../../src/smb2/constants.js';

const err = (code: string) => Object.assign(new Error(code), { code });

describe('errnoToStatus', () => {
  const cases: [string, number][] = [
    ['ENOENT', NtStatus.OBJECT_NAME_NOT_FOUND], ['EEXIST', NtStatus.OBJECT_NAME_COLLISION],
    ['EACCES', NtStatus.ACCESS_DENIED], ['EPERM', NtStatus.ACCESS_DENIED], ['EXDEV', NtStatus.ACCESS_DENIED],
    ['ENOTDIR', NtStatus.OBJECT_PATH_NOT_FOUND], ['EISDIR', NtStatus.FILE_IS_A_DIRECTORY],
    ['ENOTEMPTY', NtStatus.DIRECTORY_NOT_EMPTY], ['ENOSPC', NtStatus.DISK_FULL], ['EDQUOT', NtStatus.DISK_FULL],
    ['EFBIG', NtStatus.DISK_FULL], ['EROFS', NtStatus.MEDIA_WRITE_PROTECTED], ['ENAMETOOLONG', NtStatus.OBJECT_NAME_INVALID],
    ['EINVAL', NtStatus.INVALID_PARAMETER], ['ELOOP', NtStatus.OBJECT_NAME_NOT_FOUND], ['EMFILE', NtStatus.TOO_MANY_OPENED_FILES],
    ['ENFILE', NtStatus.TOO_MANY_OPENED_FILES], ['EBADF', NtStatus.FILE_CLOSED], ['EWHATEVER', NtStatus.UNEXPECTED_IO_ERROR],
  ];
  for (const [code, st] of cases) test(code, () => assert.equal(errnoToStatus(err(code)), st));
  test('flags', () => {
    assert.equal(errnoToStatus(err('ENOENT'), { parentMissing: true }), NtStatus.OBJECT_PATH_NOT_FOUND);
    assert.equal(errnoToStatus(err('ENOTDIR'), { wantDirectory: true }), NtStatus.NOT_A_DIRECTORY);
    assert.equal(errnoToStatus(err('ELOOP'), { symlinkStatus: true }), NtStatus.STOPPED_ON_SYMLINK);
    let logged = '';
    errnoToStatus(err('EXDEV'), { log: (m) => (logged = m) });
    assert.match(logged, /escaped/);
    assert.equal(errnoToStatus(new Error('no code')), NtStatus.UNEXPECTED_IO_ERROR);
  });
});

describe('smbPathToRel', () => {
  const ok: [string, string][] = [
    ['', ''], ['\\', ''], ['a', 'a'], ['\\a\\b', 'a/b'], ['dir\\file.txt', 'dir/file.txt'], ['a\\', 'a'],
    ['trailing. ', 'trailing. '], ['f.txt::$DATA', 'f.txt'], ['ü\\名前', 'ü/名前'],
    // '/' separates as '\\' does (as Samba takes it).
    ['a/b', 'a/b'], ['dir/sub\\f', 'dir/sub/f'], ['/a/', 'a'],
  ];
  for (const [i, o] of ok) test(`${JSON.stringify(i)} -> ${JSON.stringify(o)}`, () => assert.equal(smbPathToRel(i), o));
  for (const bad of ['a\\\\b', '.', 'a\\..\\b', 'a\\.', 'a*b', 'a?', 'a:b', 'a"b', 'a<b', 'a>b', 'a|b', 'a//b', 'a\x01b', 'x'.repeat(256)]) {
    test(`${JSON.stringify(bad.slice(0, 20))} invalid`, () => assert.equal(smbPathToRel(bad), NtStatus.OBJECT_NAME_INVALID));
  }
  // Climbing out of the share from its root: OBJECT_PATH_SYNTAX_BAD, as Windows answers (smbtorture smb2.mkdir).
  for (const up of ['..', '..\\x', '\\..\\x', '..\\..\\..']) {
    test(`${JSON.stringify(up)} climbs out: OBJECT_PATH_SYNTAX_BAD`, () => assert.equal(smbPathToRel(up), NtStatus.OBJECT_PATH_SYNTAX_BAD));
  }
});

describe('wildcardMatch', () => {
  const cases: [string, string, boolean][] = [
    ['*', 'anything', true], ['', 'x', true], ['*.txt', 'A.TXT', true], ['*.txt', 'a.txt.bak', false],
    ['a?c', 'abc', true], ['a?c', 'ac', false], ['ABC', 'abc', true], ['abc', 'abd', false],
    ['*a*b*', 'xxaxxbxx', true], ['*a*b*', 'xxbxxaxx', false],
    // DOS wildcards (MS-FSA 2.1.4.4): what clients send for "*.*" and "????????.???".
    ['<"*', 'file.txt', true], ['<"*', 'noext', true], ['<.txt', 'a.b.txt', true], ['<.txt', 'a.txt', true],
    ['<', 'a.b', false], ['<', 'noext', true], ['<.', 'a.b', false],
    ['>>>>>>>>">>>', 'abc.de', true], ['>>>>>>>>">>>', 'abc', true], ['>>"', 'abcd', false], ['a>', 'a', true], ['a>.txt', 'a.txt', true],
    ['a"', 'a', true], ['a"txt', 'a.txt', true], ['a"', 'ab', false],
    ['.', '.', true], ['.', '..', false], ['*', '..', true],
  ];
  for (const [p, n, want] of cases) test(`${p} ~ ${n} = ${want}`, () => assert.equal(wildcardMatch(p, n), want));
  test('no exponential blow-up', () => {
    assert.equal(wildcardMatch('*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(200)), false);
    assert.equal(wildcardMatch('*a'.repeat(127) + 'b', 'a'.repeat(255)), false);
    assert.equal(wildcardMatch('*a'.repeat(127) + '*', 'a'.repeat(255)), true);
  });
  test('compileWildcard answers as the memoised recursion did: 20,000 random patterns and names over a.b<>"*?', () => {
    const g = generator(7);
    const alpha = ['a', 'b', '.', 'A', '<', '>', '"', '*', '?'];
    let matched = 0;
    for (let i = 0; i < 20_000; i++) {
      const pat = Array.from({ length: g.int(9) }, () => g.pick(alpha)).join('');
      const m = compileWildcard(pat);
      for (let j = 0; j < 3; j++) {
        // Names from the same letters (a '<' or '*' in a name is legal on Linux, and must stay a plain character).
        const name = Array.from({ length: g.int(8) }, () => g.pick(['a', 'b', '.', 'B', g.int(10) ? 'a' : g.pick(['<', '*', '>'])])).join('');
        const want = oracleMatch(pat, name);
        if (want) matched++;
        assert.equal(m(name), want, `${JSON.stringify(pat)} ~ ${JSON.stringify(name)}`);
      }
    }
    assert.ok(matched > 5000 && matched < 55_000, `both answers were exercised (${matched} of 60000 matched)`);
  });
});

/** The memoised recursion wildcardMatch was before compileWildcard: the rules, slowly. */
function oracleMatch(pattern: string, name: string): boolean {
  if (pattern === '*' || pattern === '') return true;
  const P = pattern.toUpperCase();
  const N = name.toUpperCase();
  // A plain name (the common lookup of one entry): no matcher, no memo per entry.
  if (!/[*?<>"]/.test(pattern)) return P === N;
  const lastDot = N.lastIndexOf('.');
  const memo = new Map<number, boolean>();
  const W = N.length + 1;
  const m = (p: number, n: number): boolean => {
    const key = p * W + n;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    let r: boolean;
    if (p === P.length) r = n === N.length;
    else {
      const c = P[p]!;
      switch (c) {
        case '*':
          r = m(p + 1, n) || (n < N.length && m(p, n + 1));
          break;
        case '?':
          r = n < N.length && m(p + 1, n + 1);
          break;
        case '>':
          r = n === N.length || N[n] === '.' ? m(p + 1, n) : m(p + 1, n + 1);
          break;
        case '"':
          r = n === N.length ? m(p + 1, n) : N[n] === '.' && m(p + 1, n + 1);
          break;
        case '<': {
          // Zero or more characters, never past the final '.' (which it may consume).
          r = m(p + 1, n);
          if (!r && n < N.length && (lastDot < 0 || n <= lastDot)) r = m(p, n + 1);
          break;
        }
        default:
          r = n < N.length && N[n] === c && m(p + 1, n + 1);
      }
    }
    memo.set(key, r);
    return r;
  };
  return m(0, 0);
}


// ---- handlers over a temp-dir share

const HDR = Buffer.alloc(64);
/** A response message from a reply body, which is one buffer or parts (Reply.body). */
const msg = (body: Buffer | Buffer[]) => Buffer.concat([HDR, ...(Array.isArray(body) ? body : [body])]);

describe('file handlers', () => {
  let dir: string;
  let server: SmbServer;
  let tree: TreeConnect;
  let roTree: TreeConnect;
  let session: Session;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ringsmb-h-'));
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'a.txt'), 'hello world');
    writeFileSync(join(dir, 'sub', 'b.TXT'), 'b');
    server = createServer({
      shares: [
        { name: 'share', path: dir, readOnly: false, comment: '', encrypt: false, browseable: true, guestOk: false },
        { name: 'ro', path: dir, readOnly: true, comment: '', encrypt: false, browseable: true, guestOk: false },
      ],
      users: [{ name: 'u', password: 'p' }],
      vfs: 'threadpool',
      logger: createLogger('error', () => undefined),
    });
    const share = server.findShare('share')!;
    const ro = server.findShare('ro')!;
    share.root = await server.vfs.openShare(dir);
    ro.root = await server.vfs.openShare(dir);
    session = new Session(1n, 0x311, 1);
    session.state = 'valid';
    tree = new TreeConnect(1, session, share, MaskFull);
    roTree = new TreeConnect(2, session, ro, MaskRead);
    session.trees.set(1, tree);
    session.trees.set(2, roTree);
  });
  after(async () => {
    for (const o of [...server.state.opens.values()]) await server.closeOpen(o);
    await server.findShare('share')!.root!.close();
    await server.findShare('ro')!.root!.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const guid = Buffer.alloc(16, 7);
  let dropped = '';
  function ctx(body: Buffer, t: TreeConnect = tree, related: Open | null = null): RequestContext {
    const conn = {
      id: 1,
      negotiated: { dialect: 0x311, maxRead: 1 << 20, maxWrite: 1 << 20, maxTransact: 1 << 20, clientGuid: guid, clientCapabilities: 0x7f, clientSecurityMode: 1, serverCapabilities: 0x44 },
      transport: { localAddress: '::ffff:127.0.0.1' },
      drop(r: string) { dropped = r; },
      canSendFile: () => false,
    };
    return { server, conn: conn as never, hdr: {} as never, msg: msg(body), session, tree: t, encrypted: false, compound: false, related: { open: related } };
  }

  async function create(name: string, o: { access?: number; disp?: number; options?: number; attributes?: number; t?: TreeConnect } = {}): Promise<{ reply: Reply; id?: FileId; action?: number }> {
    const body = encodeCreateRequest({
      securityFlags: 0, requestedOplockLevel: 0, impersonationLevel: 2, smbCreateFlags: 0n,
      desiredAccess: o.access ?? 0x0012019f, fileAttributes: o.attributes ?? 0, shareAccess: 7,
      createDisposition: o.disp ?? CreateDisposition.OPEN, createOptions: o.options ?? 0, name, createContexts: [],
    });
    const reply = await handleCreate(ctx(body, o.t));
    if (reply.status !== 0) return { reply };
    const r = decodeCreateResponse(msg(reply.body as Buffer));
    return { reply, id: r.fileId, action: r.createAction };
  }
  const close = (id: FileId) => handleClose(ctx(encodeCloseRequest({ flags: 0, fileId: id })));

  test('CREATE: open, create, collisions, wrong type, missing parent', async () => {
    const a = await create('a.txt');
    assert.equal(a.reply.status, 0);
    assert.equal(a.action, CreateAction.OPENED);
    assert.equal((await close(a.id!)).status, 0);
    assert.equal((await close(a.id!)).status, NtStatus.FILE_CLOSED);
    assert.equal((await create('nope.txt')).reply.status, NtStatus.OBJECT_NAME_NOT_FOUND);
    assert.equal((await create('nodir\\x.txt')).reply.status, NtStatus.OBJECT_PATH_NOT_FOUND);
    assert.equal((await create('a.txt', { disp: CreateDisposition.CREATE })).reply.status, NtStatus.OBJECT_NAME_COLLISION);
    assert.equal((await create('a.txt', { options: CreateOptions.DIRECTORY_FILE })).reply.status, NtStatus.NOT_A_DIRECTORY);
    assert.equal((await create('sub', { options: CreateOptions.NON_DIRECTORY_FILE })).reply.status, NtStatus.FILE_IS_A_DIRECTORY);
    assert.equal((await create('\\a.txt')).reply.status, NtStatus.INVALID_PARAMETER);
    assert.equal((await create('a*')).reply.status, NtStatus.OBJECT_NAME_INVALID);
    const n = await create('new.txt', { disp: CreateDisposition.OPEN_IF });
    assert.equal(n.action, CreateAction.CREATED);
    await close(n.id!);
    const d = await create('newdir', { disp: CreateDisposition.CREATE, options: CreateOptions.DIRECTORY_FILE });
    assert.equal(d.action, CreateAction.CREATED);
    await close(d.id!);
    assert.ok(existsSync(join(dir, 'newdir')));
    const ow = await create('new.txt', { disp: CreateDisposition.OVERWRITE_IF });
    assert.equal(ow.action, CreateAction.OVERWRITTEN);
    await close(ow.id!);
  });

  test('CREATE refuses what Windows refuses before the name: reserved access bits, reserved options, impossible attributes, options not offered', async () => {
    const st = async (o: Parameters<typeof create>[1]) => (await create('gen.txt', { disp: CreateDisposition.OPEN_IF, ...o })).reply.status;
    assert.equal(await st({ access: 0x08000000, attributes: 0x8 }), NtStatus.ACCESS_DENIED, 'a reserved access bit first');
    assert.equal(await st({ access: 0x00000200 }), NtStatus.ACCESS_DENIED);
    assert.equal(await st({ options: 0xf0000000 }), NtStatus.INVALID_PARAMETER);
    for (const attributes of [0x8 /* VOLUME */, 0x40 /* DEVICE */, 0x8000 /* INTEGRITY_STREAM */, 0x10000]) {
      assert.equal(await st({ attributes }), NtStatus.INVALID_PARAMETER, `attributes 0x${attributes.toString(16)}`);
    }
    for (const options of [0x80 /* CREATE_TREE_CONNECTION */, 0x2000 /* OPEN_BY_FILE_ID */, 0x100000 /* RESERVE_OPFILTER */]) {
      assert.equal(await st({ options }), NtStatus.NOT_SUPPORTED, `options 0x${options.toString(16)}`);
    }
    assert.ok(!existsSync(join(dir, 'gen.txt')), 'none of them made the file');
    const ok = await create('gen.txt', { disp: CreateDisposition.OPEN_IF, attributes: 0x2 /* HIDDEN */, options: 0x00200000 });
    assert.equal(ok.reply.status, 0);
    await close(ok.id!);
  });

  test('CREATE on a read-only share', async () => {
    assert.equal((await create('a.txt', { access: 0x00120089, t: roTree })).reply.status, 0);
    assert.equal((await create('a.txt', { access: 0x0012019f, t: roTree })).reply.status, NtStatus.ACCESS_DENIED);
    assert.equal((await create('z.txt', { access: 0x00120089, disp: CreateDisposition.CREATE, t: roTree })).reply.status, NtStatus.ACCESS_DENIED);
    assert.equal((await create('z.txt', { access: 0x00120089, disp: CreateDisposition.OPEN_IF, t: roTree })).reply.status, NtStatus.ACCESS_DENIED);
    assert.equal((await create('a.txt', { access: 0x02000000, t: roTree })).reply.status, 0); // MAXIMUM_ALLOWED
  });

  test('WRITE then READ, END_OF_FILE, access checks', async () => {
    const f = await create('rw.bin', { disp: CreateDisposition.CREATE });
    const data = Buffer.from('0123456789');
    const w = await handleWrite(ctx(encodeWriteRequest({ offset: 5n, fileId: f.id!, channel: 0, remainingBytes: 0, flags: 0, data })));
    assert.equal(w.status, 0);
    assert.equal(readFileSync(join(dir, 'rw.bin')).subarray(5).toString(), '0123456789');
    const rd = (off: bigint, len: number, id = f.id!) =>
      handleRead(ctx(encodeReadRequest({ padding: 0x50, flags: 0, length: len, offset: off, fileId: id, minimumCount: 0, channel: 0, remainingBytes: 0, readChannelInfo: Buffer.alloc(0) })));
    const r = await rd(5n, 100);
    assert.equal(r.status, 0);
    assert.equal(decodeReadResponse(msg(Buffer.concat(r.body as Buffer[]))).data.toString(), '0123456789');
    assert.equal((await rd(15n, 10)).status, NtStatus.END_OF_FILE);
    assert.equal((await rd(0n, 2 << 20)).status, NtStatus.INVALID_PARAMETER);
    // Offsets at the edge of a signed 64 bits (smbtorture smb2.rw.invalid): past the end of file, or invalid.
    const INT64_MAX = 0x7fffffffffffffffn;
    assert.equal((await rd(INT64_MAX - 1n, 1)).status, NtStatus.END_OF_FILE);
    assert.equal((await rd(INT64_MAX, 0)).status, 0);
    assert.equal((await rd(INT64_MAX, 1)).status, NtStatus.INVALID_PARAMETER);
    const wr = (off: bigint, bytes: Buffer, id = f.id!) => handleWrite(ctx(encodeWriteRequest({ offset: off, fileId: id, channel: 0, remainingBytes: 0, flags: 0, data: bytes })));
    assert.equal((await wr(0xffffffffffffffffn, data)).status, NtStatus.INVALID_PARAMETER, 'all ones is no append offset for an open that may write anywhere');
    assert.equal((await wr(0xfffffff0000n, Buffer.from('x'))).status, NtStatus.INVALID_PARAMETER, "past NTFS's largest file");
    assert.equal((await wr(0xfffffff0000n, Buffer.alloc(0))).status, 0);
    assert.equal(readFileSync(join(dir, 'rw.bin')).length, 15, 'none of them wrote');
    await close(f.id!);
    // An append-only open writes at the end, whatever the offset.
    const ap = await create('rw.bin', { access: 0x00120084 /* FILE_APPEND_DATA | READ_ATTRIBUTES | READ_CONTROL | SYNCHRONIZE */ });
    assert.equal((await wr(0xffffffffffffffffn, Buffer.from('AB'), ap.id!)).status, 0);
    assert.equal(readFileSync(join(dir, 'rw.bin')).subarray(15).toString(), 'AB');
    await close(ap.id!);
    const ro = await create('rw.bin', { access: 0x00120089 });
    const w2 = await handleWrite(ctx(encodeWriteRequest({ offset: 0n, fileId: ro.id!, channel: 0, remainingBytes: 0, flags: 0, data })));
    assert.equal(w2.status, NtStatus.ACCESS_DENIED);
    // Related compound: the all-ones FileId means the previous request's open.
    const rel = await handleRead(ctx(encodeReadRequest({ padding: 0x50, flags: 0, length: 3, offset: 5n, fileId: FILE_ID_ANY, minimumCount: 0, channel: 0, remainingBytes: 0, readChannelInfo: Buffer.alloc(0) }), tree, server.state.opens.get(ro.id!.volatile)!));
    assert.equal(rel.status, 0);
    await close(ro.id!);
  });

  test('QUERY_DIRECTORY: dots first, patterns, continuation, NO_MORE_FILES / NO_SUCH_FILE', async () => {
    const d = await create('sub', { access: 0x00100081, options: CreateOptions.DIRECTORY_FILE });
    const q = (pattern: string, flags = 0, len = 65536) =>
      handleQueryDirectory(ctx(encodeQueryDirectoryRequest({ fileInformationClass: FileInfoClass.FileIdBothDirectoryInformation, flags, fileIndex: 0, fileId: d.id!, fileName: pattern, outputBufferLength: len })));
    const names = (r: Reply) => decodeDirectoryEntries(FileInfoClass.FileIdBothDirectoryInformation, decodeQueryDirectoryResponse(msg(r.body as Buffer)).output).map((e) => e.fileName);
    const r1 = await q('*');
    assert.equal(r1.status, 0);
    assert.deepEqual(names(r1), ['.', '..', 'b.TXT']);
    assert.equal((await q('*')).status, NtStatus.NO_MORE_FILES);
    const r2 = await q('*.txt', QueryDirectoryFlags.RESTART_SCANS);
    assert.deepEqual(names(r2), ['b.TXT']);
    assert.equal((await q('zzz', QueryDirectoryFlags.REOPEN)).status, NtStatus.NO_SUCH_FILE);
    const r3 = await q('*', QueryDirectoryFlags.RESTART_SCANS | QueryDirectoryFlags.RETURN_SINGLE_ENTRY);
    assert.deepEqual(names(r3), ['.']);
    assert.equal((await q('*', 0, 8)).status, NtStatus.INFO_LENGTH_MISMATCH);
    await close(d.id!);
  });

  test('QUERY_INFO standard, SET_INFO rename and disposition', async () => {
    const f = await create('ren.txt', { access: 0x0013019f, disp: CreateDisposition.CREATE });
    const qi = await handleQueryInfo(ctx(encodeQueryInfoRequest({ infoType: InfoType.FILE, fileInfoClass: FileInfoClass.FileStandardInformation, outputBufferLength: 24, input: Buffer.alloc(0), additionalInformation: 0, flags: 0, fileId: f.id! })));
    assert.equal(qi.status, 0);
    assert.equal(decodeFileStandardInformation(decodeQueryInfoResponse(msg(qi.body as Buffer)).output).directory, false);
    const small = await handleQueryInfo(ctx(encodeQueryInfoRequest({ infoType: InfoType.FILE, fileInfoClass: FileInfoClass.FileStandardInformation, outputBufferLength: 8, input: Buffer.alloc(0), additionalInformation: 0, flags: 0, fileId: f.id! })));
    assert.equal(small.status, NtStatus.INFO_LENGTH_MISMATCH);
    const set = (cls: number, buffer: Buffer, t = tree) => handleSetInfo(ctx(encodeSetInfoRequest({ infoType: InfoType.FILE, fileInfoClass: cls, buffer, additionalInformation: 0, fileId: f.id! }), t));
    assert.equal((await set(FileInfoClass.FileRenameInformation, encodeFileRenameInformation({ replaceIfExists: false, rootDirectory: 0n, fileName: 'a.txt' }))).status, NtStatus.OBJECT_NAME_COLLISION);
    assert.equal((await set(FileInfoClass.FileRenameInformation, encodeFileRenameInformation({ replaceIfExists: false, rootDirectory: 0n, fileName: 'sub\\moved.txt' }))).status, 0);
    assert.equal(server.state.opens.get(f.id!.volatile)!.path, 'sub/moved.txt');
    assert.ok(existsSync(join(dir, 'sub', 'moved.txt')));
    assert.equal((await set(FileInfoClass.FileDispositionInformation, encodeFileDispositionInformation(true))).status, 0);
    await close(f.id!);
    assert.ok(!existsSync(join(dir, 'sub', 'moved.txt')));
  });

  test("FileNormalizedNameInformation (3.1.1): the share-relative name with '\\', and a stream's handle names its stream", async () => {
    const norm = async (id: FileId): Promise<string> => {
      const r = await handleQueryInfo(ctx(encodeQueryInfoRequest({ infoType: InfoType.FILE, fileInfoClass: FileInfoClass.FileNormalizedNameInformation, outputBufferLength: 4096, input: Buffer.alloc(0), additionalInformation: 0, flags: 0, fileId: id })));
      assert.equal(r.status, 0);
      const out = decodeQueryInfoResponse(msg(r.body as Buffer)).output;
      return out.subarray(4, 4 + out.readUInt32LE(0)).toString('utf16le');
    };
    const f = await create('sub\\norm.txt', { disp: CreateDisposition.OPEN_IF });
    assert.equal(await norm(f.id!), 'sub\\norm.txt');
    const st = await create('sub\\norm.txt:sTrEaM', { disp: CreateDisposition.OPEN_IF });
    assert.equal(st.reply.status, 0);
    assert.equal(await norm(st.id!), 'sub\\norm.txt:sTrEaM');
    await close(st.id!);
    await close(f.id!);
  });

  test('SET_INFO rename and link over an existing file: READONLY or open targets refused and kept; a link replaces its target in one step', async () => {
    writeFileSync(join(dir, 'ro-target.txt'), 'keep me');
    chmodSync(join(dir, 'ro-target.txt'), 0o444);
    writeFileSync(join(dir, 'rw-target.txt'), 'old');
    const f = await create('src.txt', { access: 0x0013019f, disp: CreateDisposition.CREATE });
    const set = (cls: number, name: string) => handleSetInfo(ctx(encodeSetInfoRequest({
      infoType: InfoType.FILE, fileInfoClass: cls, additionalInformation: 0, fileId: f.id!,
      buffer: encodeFileRenameInformation({ replaceIfExists: true, rootDirectory: 0n, fileName: name }),
    })));
    for (const cls of [FileInfoClass.FileRenameInformation, FileInfoClass.FileLinkInformation]) {
      assert.equal((await set(cls, 'ro-target.txt')).status, NtStatus.ACCESS_DENIED, `class ${cls}: READONLY target`);
      assert.equal(readFileSync(join(dir, 'ro-target.txt'), 'utf8'), 'keep me');
    }
    const held = await create('rw-target.txt');
    assert.equal((await set(FileInfoClass.FileLinkInformation, 'rw-target.txt')).status, NtStatus.ACCESS_DENIED, 'a target someone has open');
    await close(held.id!);
    assert.equal((await set(FileInfoClass.FileLinkInformation, 'rw-target.txt')).status, 0);
    assert.equal(statSync(join(dir, 'rw-target.txt')).ino, statSync(join(dir, 'src.txt')).ino, 'the target is now a link to the file');
    assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.ringsmb-link-')), [], 'no temporary name left');
    await close(f.id!);
  });

  test('LOCK: conflicts and unlock', async () => {
    const a = await create('a.txt');
    const b = await create('a.txt');
    const lock = (id: FileId, flags: number, offset = 0n, length = 10n) => handleLock(ctx(encodeLockRequest({ lockSequenceNumber: 0, lockSequenceIndex: 0, fileId: id, locks: [{ offset, length, flags }] })));
    const X = LockFlags.EXCLUSIVE_LOCK | LockFlags.FAIL_IMMEDIATELY;
    const S = LockFlags.SHARED_LOCK | LockFlags.FAIL_IMMEDIATELY;
    assert.equal((await lock(a.id!, X)).status, 0);
    assert.equal((await lock(b.id!, S, 5n)).status, NtStatus.LOCK_NOT_GRANTED);
    assert.equal((await lock(b.id!, S, 10n)).status, 0);
    assert.equal((await lock(b.id!, LockFlags.UNLOCK, 0n, 10n)).status, NtStatus.RANGE_NOT_LOCKED);
    assert.equal((await lock(a.id!, LockFlags.UNLOCK)).status, 0);
    assert.equal((await lock(b.id!, S, 5n)).status, 0);
    await close(a.id!);
    await close(b.id!);
  });

  test('IOCTL: VALIDATE_NEGOTIATE_INFO, network interfaces, unknown FSCTL', async () => {
    const ioctl = (ctlCode: number, input: Buffer, fileId: FileId = FILE_ID_ANY) =>
      handleIoctl(ctx(encodeIoctlRequest({ ctlCode, fileId, input, maxInputResponse: 0, output: Buffer.alloc(0), maxOutputResponse: 65536, flags: 1 })));
    const vn = (caps: number, dialects: number[]) => ioctl(Fsctl.VALIDATE_NEGOTIATE_INFO, encodeValidateNegotiateInfoRequest({ capabilities: caps, guid, securityMode: 1, dialects }));
    const ok = await vn(0x7f, [0x300, 0x302, 0x311]);
    assert.equal(ok.status, 0);
    const v = decodeValidateNegotiateInfoResponse(decodeIoctlResponse(msg(ok.body as Buffer)).output);
    assert.equal(v.dialect, 0x311);
    assert.equal(v.capabilities, 0x44);
    assert.ok(v.guid.equals(server.guid));
    assert.equal(dropped, '');
    await vn(0x7e, [0x311]);
    assert.match(dropped, /capabilities/);
    const ni = await ioctl(Fsctl.QUERY_NETWORK_INTERFACE_INFO, Buffer.alloc(0));
    assert.equal(ni.status, 0);
    const list = decodeNetworkInterfaceInfo(decodeIoctlResponse(msg(ni.body as Buffer)).output);
    assert.deepEqual(list.map((e) => [e.address, e.family]), [['127.0.0.1', 'IPv4']]);
    assert.equal((await ioctl(Fsctl.DFS_GET_REFERRALS, Buffer.alloc(4))).status, NtStatus.FS_DRIVER_REQUIRED);
    const f = await create('a.txt');
    assert.equal((await ioctl(Fsctl.FILE_LEVEL_TRIM, Buffer.alloc(0), f.id!)).status, NtStatus.INVALID_DEVICE_REQUEST);
    assert.equal((await ioctl(Fsctl.PIPE_TRANSCEIVE, Buffer.alloc(0), f.id!)).status, NtStatus.INVALID_DEVICE_REQUEST);
    await close(f.id!);
  });
});
