/** CREATE (MS-SMB2 3.3.5.9): named pipes on IPC$, files and directories on disk shares. */
import { decodeCreateRequest, encodeCreateResponse, type CreateRequest } from '../../smb2/commands/create.js';
import { channelSequence } from '../../smb2/header.js';
import { encodeMxAcResponse, encodeQFidResponse, findContext, type CreateContext } from '../../smb2/commands/create-contexts.js';
import { CreateAction, CreateContextName, CreateDisposition, CreateOptions, Dialect, FileAttributes, ImpersonationLevel, ShareAccess } from '../../smb2/constants.js';
import { NtStatus } from '../../smb2/status.js';
import { createPipe } from '../../rpc/pipe.js';
import type { OpenOptions, ShareRoot, VfsFile } from '../../vfs/types.js';
import type { CaseNames } from '../case-names.js';
import { Access, mapGeneric, MaskFull, MaskWriting } from '../access.js';
import { DOSATTRIB_XATTR, defaultDosAttributes, storableAttributes, loadDosInfo, storeDosAttributes, withCreateTime, type DosInfo } from '../dos-attributes.js';
import { NTACL_XATTR, bareDirs, defaultDescriptor, descriptorForCreate, effectiveAccess, inheritedDescriptor, loadDescriptor, storeDescriptor, tokenOf } from '../ntacl.js';
import type { SecurityDescriptor } from '../../smb2/security.js';
import { errorReply, type Reply, type RequestContext } from '../context.js';
import { shareCompatible, sharingViolation } from '../sharemode.js';
import { deletePending, openStream, parseCreateName, removeAllStreams, sameStream, streamXattr, type StreamFile } from '../streams.js';
import { breakBeforeOpen, grantCaching, parseCaching, reconnectIfAsked, replayIfAsked } from '../create-caching.js';
import type { ReplayAnswer, ReplaySlot } from '../replay.js';
import { parseDurable, type DurableAsk } from '../durable.js';
import { Open, ownerKey, type Session, type TreeConnect } from '../state.js';
import { allocationSize, decodeOr, deleteRefusal, endOfFile, fileAttributes, fileTimes, fsStatus, isReadOnly, parentPath } from './common.js';
import { takesOthersShare } from '../limits.js';
import { NotifyAction, NotifyFilter, nameBit } from '../notify.js';

const DATA_ACCESS = Access.FILE_READ_DATA | Access.FILE_EXECUTE;
/** Access mask bits no right is defined for (MS-DTYP 2.4.3: 9-15 of the specific rights, 21-23, 26-27). */
const RESERVED_ACCESS = 0x0ce0fe00;
/** CreateOptions bits 24-31, reserved (MS-SMB2 2.2.13). */
const RESERVED_OPTIONS = 0xff000000;
/** FILE_CREATE_TREE_CONNECTION, FILE_OPEN_BY_FILE_ID, FILE_RESERVE_OPFILTER (MS-SMB2 2.2.13). */
const UNSUPPORTED_OPTIONS = 0x00000080 | CreateOptions.OPEN_BY_FILE_ID | CreateOptions.RESERVE_OPFILTER;
/** VOLUME, DEVICE, INTEGRITY_STREAM and everything above 0xffff: INVALID_PARAMETER on CREATE, as Windows answers. */
const INVALID_ATTRIBUTES = 0xffff8048;
const PREFETCH = [NTACL_XATTR, DOSATTRIB_XATTR] as const;
const WRITE_DATA = Access.FILE_WRITE_DATA | Access.FILE_APPEND_DATA;
/** What MAXIMUM_ALLOWED loses on a file it may not write (its mode, or READONLY). */
const WRITE_RIGHTS = WRITE_DATA | Access.FILE_WRITE_EA;

function openCount(s: Session): number {
  let n = 0;
  for (const t of s.trees.values()) n += t.opens.size;
  return n;
}

function register(ctx: RequestContext, tree: TreeConnect, make: (p: bigint, v: bigint) => Open): Open {
  const ids = ctx.server.state.newOpenIds();
  const open = make(ids.persistent, ids.volatile);
  // 3.3.5.9: Open.ChannelSequence starts at the CREATE's (replay.ts).
  open.channelSequence = channelSequence(ctx.hdr);
  ctx.server.state.opens.set(open.volatileId, open);
  tree.opens.add(open);
  ctx.related.open = open;
  return open;
}

export async function handleCreate(ctx: RequestContext): Promise<Reply> {
  const req = decodeOr(() => decodeCreateRequest(ctx.msg));
  if (typeof req === 'number') return errorReply(req);
  // The durable contexts, read once: a reconnect, a replay and the open's caching all ask them (durable.ts).
  const durable = parseDurable(req.createContexts);
  if (typeof durable === 'number') return errorReply(durable);
  // A durable reconnect ignores the rest of the request (create-caching.ts).
  const reconnected = await reconnectIfAsked(ctx, req, durable);
  if (reconnected) return reconnected;
  // A CREATE with a DH2Q may replay one made or under way (replay.ts).
  const replay = replayIfAsked(ctx, req, durable);
  if ('reply' in replay) return replay.reply;
  const { slot } = replay;
  if (!slot) return create(ctx, req, durable, null, null);
  // Waiting for a break, it goes on if its connection goes and its session lives on another channel: a replay will ask for it.
  ctx.outlivesChannel = true;
  try {
    return await create(ctx, req, durable, null, slot);
  } finally {
    ctx.server.state.replays.abandon(slot); // unless it made its open
  }
}

/**
 * `onDisk`: the name as the share's case-insensitive lookup found it
 * (case-names.ts), when the name as spelt was not there; the request is then
 * handled again under that name, so that share modes, oplocks and the open
 * table see the file's one name.
 */
async function create(ctx: RequestContext, req: CreateRequest, durable: DurableAsk, onDisk: string | null, slot: ReplaySlot | null): Promise<Reply> {
  const { server } = ctx;
  const tree = ctx.tree!;
  const session = ctx.session!;
  if (req.impersonationLevel > ImpersonationLevel.Delegate) return errorReply(NtStatus.BAD_IMPERSONATION_LEVEL);
  if (req.createDisposition > CreateDisposition.OVERWRITE_IF) return errorReply(NtStatus.INVALID_PARAMETER);
  const opts = req.createOptions;
  if (opts & CreateOptions.DIRECTORY_FILE && opts & CreateOptions.NON_DIRECTORY_FILE) return errorReply(NtStatus.INVALID_PARAMETER);
  // What Windows refuses before it looks at the name (smbtorture smb2.create.gentest): reserved access
  // bits first, then reserved options and attributes a file cannot have (VOLUME, DEVICE, INTEGRITY_STREAM,
  // and the bits above 0xffff).
  if (req.desiredAccess & RESERVED_ACCESS) return errorReply(NtStatus.ACCESS_DENIED);
  if (opts & RESERVED_OPTIONS || req.fileAttributes & INVALID_ATTRIBUTES) return errorReply(NtStatus.INVALID_PARAMETER);
  // 3.3.5.9: opens by file id, tree connections by CREATE and filter reservations are not offered.
  if (opts & UNSUPPORTED_OPTIONS) return errorReply(NtStatus.NOT_SUPPORTED);
  if (openCount(session) >= server.config.maxOpensPerSession) {
    server.logRefused(`session ${session.id.toString(16)}: open refused, ${server.config.maxOpensPerSession} opens reached (max opens per session)`);
    return errorReply(NtStatus.INSUFFICIENT_RESOURCES);
  }
  // One fd table for every client (limits.ts): stop short of it, so that others can still connect.
  if (server.state.opens.size >= server.openLimit.limit) {
    server.logRefused(`session ${session.id.toString(16)}: open refused, ${server.openLimit.limit} files open on the server (max open files)`);
    return errorReply(NtStatus.TOO_MANY_OPENED_FILES);
  }
  // Nor may one user take the last quarter of them while another user has a session.
  const me = ownerKey(session);
  const { opens } = server.state;
  if (takesOthersShare(opens.size, server.openLimit.limit, opens.ownedBy(me), 1, () => server.state.otherUserPresent(me))) {
    server.logRefused(`session ${session.id.toString(16)} (${session.user}): open refused, the last quarter of ${server.openLimit.limit} opens is kept for other users (max open files)`, 'user share');
    return errorReply(NtStatus.TOO_MANY_OPENED_FILES);
  }
  // 3.3.5.9: ACCESS_SYSTEM_SECURITY needs a privilege we never grant.
  if (req.desiredAccess & Access.ACCESS_SYSTEM_SECURITY) return errorReply(NtStatus.PRIVILEGE_NOT_HELD);
  let granted = mapGeneric(req.desiredAccess, tree.maximalAccess);
  const maxAllowed = (req.desiredAccess & Access.MAXIMUM_ALLOWED) !== 0;
  if ((granted & ~tree.maximalAccess) !== 0) return errorReply(NtStatus.ACCESS_DENIED);

  if (tree.share.isIpc) return createPipeOpen(ctx, tree, req.name, granted, req.shareAccess);

  const root = tree.share.root;
  if (!root) return errorReply(NtStatus.BAD_NETWORK_NAME);
  // 3.3.5.9: a name starting with '\' is invalid on CREATE.
  if (req.name.startsWith('\\')) return errorReply(NtStatus.INVALID_PARAMETER);
  const named = parseCreateName(req.name, tree.share.streams);
  if (typeof named === 'number') return errorReply(named);
  const { stream } = named;
  const rel = onDisk ?? named.rel;

  const disp = req.createDisposition;
  const wantDir = (opts & CreateOptions.DIRECTORY_FILE) !== 0;
  // MS-FSA 2.1.5.1: a data stream, named or spelt `::$DATA`, is never a directory.
  if (wantDir && (stream !== null || named.explicitData)) return errorReply(NtStatus.NOT_A_DIRECTORY);
  const wantFile = (opts & CreateOptions.NON_DIRECTORY_FILE) !== 0 || named.explicitData;
  const truncate = disp === CreateDisposition.SUPERSEDE || disp === CreateDisposition.OVERWRITE || disp === CreateDisposition.OVERWRITE_IF;
  const mayCreate = disp !== CreateDisposition.OPEN && disp !== CreateDisposition.OVERWRITE;
  // MS-FSA 2.1.5.1: a directory cannot be superseded, overwritten or created temporary.
  if (wantDir && truncate) return errorReply(NtStatus.INVALID_PARAMETER);
  if (wantDir && req.fileAttributes & FileAttributes.TEMPORARY) return errorReply(NtStatus.INVALID_PARAMETER);
  if (rel === '' && stream === null && disp === CreateDisposition.CREATE) return errorReply(NtStatus.OBJECT_NAME_COLLISION);
  if (rel === '' && stream === null && truncate) return errorReply(NtStatus.ACCESS_DENIED);
  if (tree.share.readOnly && (truncate || disp === CreateDisposition.CREATE || (granted & MaskWriting))) return errorReply(NtStatus.ACCESS_DENIED);
  const deleteOnClose = (opts & CreateOptions.DELETE_ON_CLOSE) !== 0;
  // 3.3.5.9: FILE_DELETE_ON_CLOSE without DELETE access.
  if (deleteOnClose && !(granted & Access.DELETE)) return errorReply(NtStatus.ACCESS_DENIED);

  const here = server.state.opensAt(tree.share, rel);
  // MS-FSA 2.1.5.1.2: the kind of file is checked before share modes. Where another open shows
  // it, a file asked of a directory (or the other way round) is answered here (smbtorture smb2.streams.dir).
  const known = stream === null ? here.find((o) => o.stream === null) : undefined;
  if (known && wantFile && known.isDirectory) return errorReply(NtStatus.FILE_IS_A_DIRECTORY);
  if (known && wantDir && !known.isDirectory) return errorReply(NtStatus.NOT_A_DIRECTORY);
  // MS-FSA 2.1.5.1.2: a file (or stream) whose delete is pending takes no new opens (until its last handle closes and it is gone).
  if (deletePending(here, stream)) return errorReply(NtStatus.DELETE_PENDING);
  // MS-FSA 2.1.5.1.2: FILE_CREATE of a file that exists fails before share modes are looked at (and
  // breaks no oplock); another open of it says that it exists (smbtorture smb2.replay.replay-regular).
  if (disp === CreateDisposition.CREATE && here.some((o) => sameStream(o.stream, stream))) return errorReply(NtStatus.OBJECT_NAME_COLLISION);
  // MS-FSA 2.1.5.1.2: the share modes of the file's other opens (by path).
  // Oplock and lease breaks come first: a holder may close its handle (create-caching.ts).
  const caching = parseCaching(ctx, req, durable);
  if (typeof caching === 'number') return errorReply(caching);
  const appInstance = appInstanceOf(ctx, req.createContexts);
  if (typeof appInstance === 'number') return errorReply(appInstance);
  if (appInstance) await closeOtherInstances(ctx, rel, stream, appInstance);
  const held = await breakBeforeOpen(ctx, rel, stream, caching, granted, req.shareAccess, truncate);
  if (held !== null) return errorReply(held);
  if (shareConflict(server.state.opensAt(tree.share, rel), stream, granted, req.shareAccess, truncate)) return errorReply(NtStatus.SHARING_VIOLATION);

  // Context names are at least 4 bytes (2.2.13.2); Windows refuses shorter ones.
  if (req.createContexts.some((c) => c.name.length < 4)) return errorReply(NtStatus.INVALID_PARAMETER);
  // 3.3.5.9.6: a previous version (TWrp) is opened from a snapshot, and this server keeps none.
  if (findContext(req.createContexts, CreateContextName.TIMEWARP_TOKEN)) return errorReply(NtStatus.OBJECT_NAME_NOT_FOUND);

  // For a named stream the file is opened for reading (its extended attributes hold the stream,
  // streams.ts), and made when missing if the stream may be.
  const vopts: OpenOptions = {
    read: (granted & DATA_ACCESS) !== 0 || stream !== null,
    write: stream === null && ((granted & WRITE_DATA) !== 0 || truncate),
    create: disp === CreateDisposition.CREATE && stream === null ? 'exclusive' : mayCreate && !tree.share.readOnly ? 'always' : 'never',
    // Never O_TRUNC: an existing file is truncated only once its NT ACL and
    // its DOS attributes allow the overwrite (below), so a refused CREATE
    // loses no data.
    truncate: false,
    // A directory may have named streams: its stream is a file whatever the file part is.
    directory: stream !== null ? 'any' : wantDir ? 'must' : wantFile ? 'mustNot' : 'any',
    // An existing file's NT ACL is checked below and its DOS attributes answered: read both beside the open's statx.
    prefetchXattr: disp === CreateDisposition.CREATE && stream === null ? undefined : PREFETCH,
  };
  if (req.fileAttributes & FileAttributes.READONLY) vopts.mode = wantDir ? 0o555 : 0o444;
  const result = await openNamed(root, rel, vopts, onDisk === null ? tree.share.names : null);
  if ('onDisk' in result) return create(ctx, req, durable, result.onDisk, slot);
  let file: VfsFile;
  if ('file' in result) file = result.file;
  else {
    const code = (result.error as { code?: string }).code;
    // MAXIMUM_ALLOWED on a file we may not write: grant what the mode allows.
    if (code === 'EACCES' && maxAllowed && vopts.write && !truncate) {
      try {
        file = await root.open(rel, { ...vopts, write: false });
        granted &= ~WRITE_RIGHTS;
      } catch (err2) {
        return errorReply(await openError(ctx, rel, err2, wantDir));
      }
    } else if (code === 'ENOENT' && mayCreate && tree.share.readOnly) {
      return errorReply(NtStatus.ACCESS_DENIED);
    } else {
      // A 'mustNot' open of a directory: FILE_IS_A_DIRECTORY (EISDIR maps to it).
      return errorReply(await openError(ctx, rel, result.error, wantDir));
    }
  }
  let st = file.statAtOpen;
  let streamFile: StreamFile | null = null;
  // Things only knowable after the open.
  // A refused CREATE leaves nothing behind: a file, directory or stream it made goes again.
  const fail = async (status: number): Promise<Reply> => {
    if (streamFile?.created) await file.removeXattr(streamXattr(streamFile.stream!)).catch(() => undefined);
    await file.close().catch(() => undefined);
    if (file.created) await (file.isDirectory ? root.rmdir(rel) : root.unlink(rel)).catch(() => undefined);
    return errorReply(status);
  };
  if (wantDir && !file.isDirectory) return fail(NtStatus.NOT_A_DIRECTORY);
  if (wantFile && file.isDirectory && stream === null) return fail(NtStatus.FILE_IS_A_DIRECTORY);
  if (file.isDirectory && truncate && stream === null) return fail(NtStatus.INVALID_PARAMETER);
  // MS-FSA 2.1.5.1.2.1: a READONLY file is neither overwritten nor opened for writing its data.
  // The kernel refuses both to a server that is not root; this refuses them to one that is.
  if (!file.created && stream === null && isReadOnly(st)) {
    if (truncate) return fail(NtStatus.ACCESS_DENIED);
    if (granted & WRITE_DATA) {
      if (!maxAllowed) return fail(NtStatus.ACCESS_DENIED);
      granted &= ~WRITE_RIGHTS;
    }
  }
  if (deleteOnClose) {
    if (rel === '' && stream === null) return fail(NtStatus.ACCESS_DENIED);
    let refusal: number | null;
    try {
      refusal = await deleteRefusal(file, st);
    } catch (err) {
      return fail(fsStatus(ctx, err));
    }
    if (refusal !== null) return fail(refusal);
  }
  // NT ACL (ntacl.ts): a new file takes the descriptor the client sent; an existing one is checked against its own.
  const acl = await applyDescriptor(ctx, rel, req.createContexts, file, granted, req.desiredAccess, maxAllowed, truncate && stream === null);
  if ('status' in acl) return fail(acl.status);
  granted = acl.granted;
  if (stream !== null) {
    // The stream itself, in the file's extended attributes (streams.ts).
    const log = (m: string): void => server.log.warn(`share ${tree.share.name}: "${rel}": ${m}`);
    try {
      const s = await openStream(file, stream, { create: mayCreate && !tree.share.readOnly, exclusive: disp === CreateDisposition.CREATE, truncate }, log);
      // A stream a read-only share would have to make: ACCESS_DENIED, as for a file.
      if (s === NtStatus.OBJECT_NAME_NOT_FOUND && mayCreate && tree.share.readOnly) return fail(NtStatus.ACCESS_DENIED);
      if (typeof s === 'number') return fail(s);
      streamFile = s;
      st = s.statAtOpen;
    } catch (err) {
      return fail(fsStatus(ctx, err));
    }
  }
  // The stored DOS attributes and creation time of an existing file (read beside the open).
  const info: DosInfo = file.created ? { attrs: null, createNs: null } : await loadDosInfo(file);
  const stored = info.attrs;
  if (truncate && !file.created && stream === null) {
    // MS-FSA 2.1.5.1.2: overwriting or superseding a HIDDEN or SYSTEM file
    // must ask for that attribute too (CreateFile's CREATE_ALWAYS rule).
    const keep = (stored ?? 0) & (FileAttributes.HIDDEN | FileAttributes.SYSTEM);
    if ((keep & ~req.fileAttributes) !== 0) return fail(NtStatus.ACCESS_DENIED);
    try {
      await file.truncate(0);
      // MS-FSA 2.1.5.1.2.1: an overwrite replaces the named streams too.
      if (tree.share.streams && !file.isDirectory) await removeAllStreams(file);
      // ... and the attributes, READONLY (the mode's) among them (smbtorture smb2.openattr).
      if (req.fileAttributes & FileAttributes.READONLY) await file.setMode(st.mode & 0o7555);
      st = await file.stat();
    } catch (err) {
      return fail(fsStatus(ctx, err));
    }
  }
  // 3.3.5.9.4 / MS-FSA 2.1.5.1: AllocationSize reserves space on a file this open created or overwrote.
  const alsi = findContext(req.createContexts, CreateContextName.ALLOCATION_SIZE);
  if (alsi && !file.isDirectory && stream === null && (file.created || truncate)) {
    if (alsi.data.length < 8) return fail(NtStatus.INVALID_PARAMETER);
    const size = alsi.data.readBigUInt64LE(0);
    if (size > 0n) {
      try {
        await file.allocate(size, { keepSize: true });
        st = await file.stat();
      } catch (err) {
        return fail(fsStatus(ctx, err));
      }
    }
  }
  let dos: number | null;
  try {
    dos = await createDosAttributes(file, info, req.fileAttributes, truncate && stream === null);
  } catch (err) {
    return fail(fsStatus(ctx, err));
  }
  // The tree went while the file was being opened (its session logged off, its connection closed): 3.3.5.9.
  if (tree.disconnected) return fail(NtStatus.NETWORK_NAME_DELETED);
  // Data rights on a directory are kept as asked, like Windows; READ and WRITE refuse directories.
  const opened = streamFile ?? file;
  const open = register(ctx, tree, (p, v) => new Open(p, v, tree, opened, null, rel, opened.isDirectory, granted, req.shareAccess));
  open.deleteOnClose = deleteOnClose;
  open.appInstanceId = appInstance;
  let action: number = CreateAction.OPENED;
  if (opened.created) action = CreateAction.CREATED;
  else if (disp === CreateDisposition.SUPERSEDE) action = CreateAction.SUPERSEDED;
  else if (truncate) action = CreateAction.OVERWRITTEN;
  // Change notify (MS-FSA 2.1.5.1.1, 2.1.5.1.2.1): a new name, or an existing file's data and attributes replaced.
  if (file.created) server.notify.post(tree.share, rel, NotifyAction.ADDED, nameBit(file.isDirectory));
  if (streamFile) {
    const name = `${rel}:${streamFile.stream}`;
    if (action === CreateAction.CREATED) server.notify.post(tree.share, name, NotifyAction.ADDED_STREAM, NotifyFilter.STREAM_NAME);
    else if (action !== CreateAction.OPENED) server.notify.post(tree.share, name, NotifyAction.MODIFIED_STREAM, NotifyFilter.STREAM_SIZE | NotifyFilter.STREAM_WRITE);
  } else if (action === CreateAction.OVERWRITTEN || action === CreateAction.SUPERSEDED) {
    server.notify.post(tree.share, rel, NotifyAction.MODIFIED, NotifyFilter.ATTRIBUTES | NotifyFilter.SIZE | NotifyFilter.LAST_WRITE);
  }

  st = withCreateTime(st, info.createNs);
  const contexts = answerContexts(req.createContexts, acl.maximal, st.ino, st.dev);
  const cached = typeof contexts === 'number' ? contexts : grantCaching(ctx, open, caching, st.dev, st.ino);
  if (typeof contexts === 'number' || typeof cached === 'number') {
    open.deleteOnClose ||= opened.created;
    if (streamFile) open.deleteFile ||= file.created;
    await server.closeOpen(open);
    return errorReply(typeof contexts === 'number' ? contexts : (cached as number));
  }
  const answer: ReplayAnswer = {
    flags: 0,
    createAction: action,
    ...fileTimes(st),
    allocationSize: allocationSize(st),
    endofFile: endOfFile(st),
    fileAttributes: fileAttributes(st, dos),
    createContexts: contexts,
  };
  if (slot) server.state.replays.complete(slot, open, answer);
  return {
    status: NtStatus.SUCCESS,
    body: encodeCreateResponse({
      ...answer,
      oplockLevel: cached.oplockLevel,
      fileId: { persistent: open.persistentId, volatile: open.volatileId },
      createContexts: [...contexts, ...cached.contexts],
    }),
  };
}

/** The AppInstanceId of SMB2_CREATE_APP_INSTANCE_ID (2.2.13.2.13: StructureSize 20, Reserved, the GUID), on 3.x; null when absent. */
function appInstanceOf(ctx: RequestContext, contexts: CreateContext[]): Buffer | null | number {
  const c = findContext(contexts, CreateContextName.APP_INSTANCE_ID);
  if (!c || (ctx.conn.negotiated?.dialect ?? 0) < Dialect.SMB300) return null;
  if (c.data.length < 20 || c.data.readUInt16LE(0) !== 20) return NtStatus.INVALID_PARAMETER;
  return Buffer.from(c.data.subarray(4, 20));
}

/**
 * 3.3.5.9.13: an application instance that comes back from another client (a
 * cluster node taking over, a VM moved) closes the opens its earlier instance
 * left on the file, durable ones too, without breaking their oplocks first.
 */
async function closeOtherInstances(ctx: RequestContext, rel: string, stream: string | null, id: Buffer): Promise<void> {
  const me = ctx.conn.negotiated?.clientGuid;
  for (const o of ctx.server.state.opensAt(ctx.tree!.share, rel)) {
    if (!o.appInstanceId?.equals(id) || !sameStream(o.stream, stream)) continue;
    if (me && o.tree.session.clientGuid?.equals(me)) continue;
    ctx.server.log.info(`share ${ctx.tree!.share.name}: "${rel}": closed an open of an earlier instance of the application (AppInstanceId)`);
    await ctx.server.closeOpen(o);
  }
}

type Opened = { file: VfsFile } | { error: unknown } | { onDisk: string };

/**
 * The open of `rel`; on a case-insensitive share (names, case-names.ts) the
 * name as spelt is opened first, creating nothing, and only when it is not
 * there is it looked up in its directory, before anything is made: `onDisk`
 * when it is there in another case. A CREATE expects a new name and looks
 * it up first.
 */
async function openNamed(root: ShareRoot, rel: string, vopts: OpenOptions, names: CaseNames | null): Promise<Opened> {
  const open = (o: OpenOptions): Promise<Opened> => root.open(rel, o).then((file) => ({ file }), (error: unknown) => ({ error }));
  if (!names) return open(vopts);
  // A name that may be made: where its directory's listing is kept, that answers at once (no
  // failed open first). An existing file is opened as spelt at once, with no question asked.
  const known = vopts.create === 'never' ? null : names.known(rel);
  if (known !== null) return typeof known === 'object' ? known : open(vopts);
  if (vopts.create === 'exclusive') {
    const real = await names.resolve(rel);
    return real !== rel ? { onDisk: real } : open(vopts);
  }
  const first = await open(vopts.create === 'always' ? { ...vopts, create: 'never' } : vopts);
  if (!('error' in first) || (first.error as { code?: string }).code !== 'ENOENT') return first;
  const real = await names.resolve(rel);
  if (real !== rel) return { onDisk: real };
  return vopts.create === 'always' ? open(vopts) : first;
}

/**
 * MS-FSA 2.1.5.1.2: share modes are checked against the opens of the same
 * stream. A stream's open that does not share DELETE also keeps the file
 * from being opened for DELETE (the file's delete would take the stream);
 * the file's opens do not limit its streams (smbtorture smb2.streams.delete).
 * Overwriting the file, which takes its named streams, waits until none is open.
 */
function shareConflict(here: readonly Open[], stream: string | null, access: number, share: number, truncate: boolean): boolean {
  const same = here.filter((o) => sameStream(o.stream, stream));
  if (sharingViolation(access, share, same)) return true;
  if (stream === null && truncate && here.some((o) => o.stream !== null)) return true;
  if (stream !== null || !(access & Access.DELETE)) return false;
  const all = ShareAccess.READ | ShareAccess.WRITE | ShareAccess.DELETE;
  return here.some((o) => o.stream !== null && !shareCompatible(Access.DELETE, all, o));
}

/**
 * CREATE and NT ACLs: a file this open created stores the SD_BUFFER context's
 * descriptor (2.2.13.2.2), or else what its directory's stored descriptor
 * passes down (ntacl.ts inheritedDescriptor); its creator gets what it asked,
 * as on NTFS. An existing file with a stored descriptor grants only what that
 * descriptor allows (MS-DTYP 2.5.3.2): ACCESS_DENIED when an asked right is
 * missing, and MAXIMUM_ALLOWED narrowed to it. DELETE it does not grant comes
 * from FILE_DELETE_CHILD on the directory holding it (MS-FSA 2.1.5.1.2.1, as
 * NTFS; smbtorture smb2.delete-on-close-perms).
 */
async function applyDescriptor(ctx: RequestContext, rel: string, contexts: CreateContext[], file: VfsFile, granted: number, desired: number, maxAllowed: boolean, truncate: boolean): Promise<{ granted: number; maximal: number } | { status: number }> {
  const log = (m: string): void => ctx.server.log.warn(`share ${ctx.tree!.share.name}: ${m}`);
  const shareMax = ctx.tree!.maximalAccess;
  if (file.created) {
    const given = findContext(contexts, CreateContextName.SD_BUFFER);
    let sd: SecurityDescriptor | number | null;
    if (given) sd = descriptorForCreate(given.data, defaultDescriptor(file.statAtOpen, ctx.tree!.maximalAccess));
    else {
      const parent = await parentDescriptor(ctx, rel, log);
      sd = parent && inheritedDescriptor(parent, file.isDirectory, tokenOf(ctx.session));
    }
    if (typeof sd === 'number') return { status: sd };
    if (!sd) return { granted, maximal: shareMax };
    try {
      await storeDescriptor(file, sd, ctx.tree!.share);
    } catch (err) {
      return { status: fsStatus(ctx, err) };
    }
    // The creator may do what the share allows on the new file; MxAc says what the descriptor will allow.
    return { granted, maximal: (effectiveAccess(sd, tokenOf(ctx.session)) & shareMax) >>> 0 };
  }
  const sd = await loadDescriptor(file, log).catch(() => null);
  if (!sd) return { granted, maximal: shareMax };
  const token = tokenOf(ctx.session);
  let allowed = effectiveAccess(sd, token);
  let asked = mapGeneric(desired & ~Access.MAXIMUM_ALLOWED, MaskFull) & ~Access.SYNCHRONIZE;
  // Overwriting or superseding writes the file's data, whatever the open asks for itself (smbtorture smb2.acls OVERWRITE_READ_ONLY_FILE).
  if (truncate) asked |= Access.FILE_WRITE_DATA;
  // What the directory grants on its children (MS-FSA 2.1.5.1.2.1, as NTFS): DELETE by FILE_DELETE_CHILD, and
  // FILE_READ_ATTRIBUTES by FILE_LIST_DIRECTORY (smbtorture smb2.acls OWNER, GENERIC).
  const fromParent = (Access.DELETE | Access.FILE_READ_ATTRIBUTES) & ~allowed;
  const queryMaximal = () => findContext(contexts, CreateContextName.QUERY_MAXIMAL_ACCESS_REQUEST) !== undefined;
  if (fromParent && (asked & fromParent || maxAllowed || queryMaximal()) && rel !== '') {
    const parent = (await parentDescriptor(ctx, rel, log)) ?? defaultDescriptor(null, shareMax);
    const onChildren = effectiveAccess(parent, token);
    if (onChildren & Access.FILE_DELETE_CHILD) allowed |= Access.DELETE;
    if (onChildren & Access.FILE_LIST_DIRECTORY) allowed |= Access.FILE_READ_ATTRIBUTES;
  }
  if (asked & ~allowed) return { status: NtStatus.ACCESS_DENIED };
  // 3.3.5.9.5: MxAc answers the file's maximal access for this user (smbtorture smb2.acls OWNER-RIGHTS, DENY1).
  return { granted: maxAllowed ? (granted & (allowed | asked)) >>> 0 : granted, maximal: (allowed & shareMax) >>> 0 };
}

/** The stored descriptor of the directory holding `rel`, or null when it has none (bareDirs remembers that). */
async function parentDescriptor(ctx: RequestContext, rel: string, log: (m: string) => void): Promise<SecurityDescriptor | null> {
  const share = ctx.tree!.share;
  const parent = parentPath(rel);
  if (bareDirs.has(share, parent)) return null;
  let dir: VfsFile | null = null;
  try {
    dir = await share.root!.open(parent, { read: false, write: false, directory: 'must', prefetchXattr: NTACL_XATTR });
    const sd = await loadDescriptor(dir, log);
    if (!sd) bareDirs.add(share, parent);
    return sd;
  } catch {
    return null;
  } finally {
    await dir?.close().catch(() => undefined);
  }
}

/**
 * The DOS attributes after the open (dos-attributes.ts). A file this open
 * created, overwrote or superseded takes the ones asked, with ARCHIVE for a
 * file (MS-FSA 2.1.5.1.1, 2.1.5.1.2.1); they are written only when they say
 * more than the defaults, or replace stored ones (`stored`: what an existing
 * file had, read beside the open; a new file has none). An existing file
 * keeps its own.
 */
async function createDosAttributes(file: VfsFile, stored: DosInfo, asked: number, truncate: boolean): Promise<number | null> {
  if (!file.created && !truncate) return stored.attrs;
  const def = defaultDosAttributes(file.isDirectory);
  const attrs = storableAttributes(asked, file.isDirectory) | def;
  if (attrs === def && stored.attrs === null && stored.createNs === null) return null;
  // An overwrite keeps the file, and the creation time a client set on it.
  await storeDosAttributes(file, attrs, stored.createNs);
  return attrs;
}

/** Maps a failed open, telling a missing parent (OBJECT_PATH_NOT_FOUND) from a missing name. */
async function openError(ctx: RequestContext, rel: string, err: unknown, wantDir: boolean): Promise<number> {
  const code = (err as { code?: string }).code;
  if (code === 'ENOENT' && rel.includes('/')) {
    const parentOk = await ctx.tree!.share.root!.stat(parentPath(rel), { follow: true }).then((s) => s.isDirectory, () => false);
    return fsStatus(ctx, err, { parentMissing: !parentOk });
  }
  if (code === 'ENOTDIR' && wantDir) {
    // The final component exists but is a file: NOT_A_DIRECTORY; a file in the middle of the path: PATH_NOT_FOUND.
    const isFile = await ctx.tree!.share.root!.stat(rel, { follow: true }).then((s) => !s.isDirectory, () => false);
    return fsStatus(ctx, err, { wantDirectory: isFile });
  }
  return fsStatus(ctx, err);
}

/** MxAc and QFid answers (2.2.14.2.5, 2.2.14.2.9); other contexts are ignored. */
function answerContexts(list: CreateContext[], maximal: number, ino: bigint, dev: bigint): CreateContext[] | number {
  const out: CreateContext[] = [];
  const mxac = findContext(list, CreateContextName.QUERY_MAXIMAL_ACCESS_REQUEST);
  if (mxac) {
    if (mxac.data.length !== 0 && mxac.data.length !== 8) return NtStatus.INVALID_PARAMETER;
    out.push({ name: CreateContextName.QUERY_MAXIMAL_ACCESS_REQUEST, data: encodeMxAcResponse(0, maximal) });
  }
  if (findContext(list, CreateContextName.QUERY_ON_DISK_ID)) {
    out.push({ name: CreateContextName.QUERY_ON_DISK_ID, data: encodeQFidResponse(ino, dev) });
  }
  return out;
}

function createPipeOpen(ctx: RequestContext, tree: TreeConnect, name: string, granted: number, shareAccess: number): Reply {
  const { server } = ctx;
  const pipe = createPipe(name, {
    serverName: server.config.serverName,
    shares: () =>
      server
        .listShares()
        .filter((s) => s.browseable || s.isIpc)
        .map((s) => ({ name: s.name, type: s.isIpc ? ('ipc' as const) : ('disk' as const), comment: s.comment, ...(s.isIpc ? {} : { path: s.path }) })),
  });
  if (!pipe) return errorReply(NtStatus.OBJECT_NAME_NOT_FOUND);
  if (tree.disconnected) {
    pipe.close();
    return errorReply(NtStatus.NETWORK_NAME_DELETED);
  }
  const open = register(ctx, tree, (p, v) => new Open(p, v, tree, null, pipe, name, false, granted, shareAccess));
  return {
    status: NtStatus.SUCCESS,
    body: encodeCreateResponse({
      oplockLevel: 0,
      flags: 0,
      createAction: CreateAction.OPENED,
      creationTime: 0n,
      lastAccessTime: 0n,
      lastWriteTime: 0n,
      changeTime: 0n,
      allocationSize: 4096n,
      endofFile: 0n,
      fileAttributes: FileAttributes.NORMAL,
      fileId: { persistent: open.persistentId, volatile: open.volatileId },
      createContexts: [],
    }),
  };
}
