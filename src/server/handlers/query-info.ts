/** QUERY_INFO (MS-SMB2 3.3.5.20): FILE, FILESYSTEM and SECURITY information. */
import { createHash } from 'node:crypto';
import { encodeErrorResponse } from '../../smb2/commands/error.js';
import { decodeQueryInfoRequest, encodeQueryInfoResponse } from '../../smb2/commands/query-info.js';
import { DeviceCharacteristics, DeviceType, Dialect, FileInfoClass as F, FsAttributes, FsInfoClass as FS, InfoType } from '../../smb2/constants.js';
import { NtStatus } from '../../smb2/status.js';
import * as fscc from '../../smb2/fscc/index.js';
import { encodeSecurityDescriptor } from '../../smb2/security.js';
import { defaultDescriptor, loadDescriptor, SecInfo } from '../ntacl.js';
import type { VfsStat } from '../../vfs/types.js';
import { statWithDos } from '../dos-attributes.js';
import { fileOf, listStreams, streamAllocationSize } from '../streams.js';
import { Access } from '../access.js';
import { errorReply, type Reply, type RequestContext } from '../context.js';
import type { Open } from '../state.js';
import { allocationSize, decodeOr, endOfFile, fileAttributes, fileTimes, fsStatus, lookupOpen, smbName } from './common.js';

/** Result of one class: the bytes, the least a buffer must hold, and whether it may be cut (variable-length classes). */
interface Info {
  data: Buffer;
  /** Fixed part: a smaller OutputBufferLength is STATUS_INFO_LENGTH_MISMATCH (3.3.5.20.1). */
  min: number;
  /** Variable-length: a buffer holding the fixed part but not all gets the prefix and STATUS_BUFFER_OVERFLOW. */
  variable?: boolean;
}

type InfoResult = Info | number;

/** MS-DTYP 2.4.7: the integrity label's part of a descriptor. */
const LABEL_SECURITY_INFORMATION = 0x10;

/** Error response whose ErrorData is the required size (2.2.2: STATUS_BUFFER_TOO_SMALL for SECURITY). */
function bufferTooSmall(needed: number): Reply {
  const errorData = Buffer.alloc(4);
  errorData.writeUInt32LE(needed, 0);
  return { status: NtStatus.BUFFER_TOO_SMALL, body: encodeErrorResponse({ errorData }) };
}

export async function handleQueryInfo(ctx: RequestContext): Promise<Reply> {
  const req = decodeOr(() => decodeQueryInfoRequest(ctx.msg));
  if (typeof req === 'number') return errorReply(req);
  const open = lookupOpen(ctx, req.fileId);
  if (typeof open === 'number') return errorReply(open);
  if (req.outputBufferLength > ctx.conn.negotiated!.maxTransact) return errorReply(NtStatus.INVALID_PARAMETER);
  let r: InfoResult;
  try {
    switch (req.infoType) {
      case InfoType.FILE:
        r = await fileInfo(ctx, open, req.fileInfoClass);
        break;
      case InfoType.FILESYSTEM:
        r = await fsInfo(ctx, open, req.fileInfoClass);
        break;
      case InfoType.SECURITY: {
        // MS-FSA 2.1.5.13: READ_CONTROL is needed for what is asked; asked for nothing, the answer
        // is an empty descriptor, as Windows gives it (smbtorture smb2.sdread).
        const asked = req.additionalInformation & (SecInfo.OWNER | SecInfo.GROUP | SecInfo.DACL | SecInfo.SACL | LABEL_SECURITY_INFORMATION);
        if (asked && !(open.grantedAccess & Access.READ_CONTROL)) return errorReply(NtStatus.ACCESS_DENIED);
        r = await securityInfo(ctx, open, req.additionalInformation);
        if (typeof r !== 'number' && r.data.length > req.outputBufferLength) return bufferTooSmall(r.data.length);
        break;
      }
      case InfoType.QUOTA:
        r = NtStatus.NOT_SUPPORTED;
        break;
      default:
        r = NtStatus.INVALID_PARAMETER;
    }
  } catch (err) {
    return errorReply(fsStatus(ctx, err));
  }
  if (typeof r === 'number') return errorReply(r);
  if (req.outputBufferLength < r.min) return errorReply(NtStatus.INFO_LENGTH_MISMATCH);
  if (r.data.length > req.outputBufferLength) {
    if (!r.variable) return errorReply(NtStatus.INFO_LENGTH_MISMATCH);
    return { status: NtStatus.BUFFER_OVERFLOW, body: encodeQueryInfoResponse({ output: r.data.subarray(0, req.outputBufferLength) }) };
  }
  return { status: NtStatus.SUCCESS, body: encodeQueryInfoResponse({ output: r.data }) };
}

const fixed = (data: Buffer): Info => ({ data, min: data.length });

function basic(st: VfsStat, dos: number | null): fscc.FileBasicInformation {
  return { ...fileTimes(st), fileAttributes: fileAttributes(st, dos) };
}


function standard(st: VfsStat, open: Open): fscc.FileStandardInformation {
  return {
    allocationSize: allocationSize(st),
    endOfFile: endOfFile(st),
    numberOfLinks: st.nlink,
    deletePending: open.deleteOnClose || open.deleteFile,
    directory: st.isDirectory,
  };
}

async function fileInfo(ctx: RequestContext, open: Open, cls: number): Promise<InfoResult> {
  if (open.pipe) {
    // Named pipes: what clients ask of them (FileStandardInformation); the rest is not applicable.
    if (cls === F.FileStandardInformation) {
      return fixed(fscc.encodeFileStandardInformation({ allocationSize: 4096n, endOfFile: 0n, numberOfLinks: 1, deletePending: true, directory: false }));
    }
    return NtStatus.INVALID_PARAMETER;
  }
  const file = open.file!;
  const needAttr = (): number | null => (open.grantedAccess & Access.FILE_READ_ATTRIBUTES ? null : NtStatus.ACCESS_DENIED);
  switch (cls) {
    case F.FileBasicInformation: {
      const d = needAttr();
      if (d !== null) return d;
      return fixed(fscc.encodeFileBasicInformation(basic(...(await statWithDos(file)))));
    }
    case F.FileStandardInformation:
      return fixed(fscc.encodeFileStandardInformation(standard(await file.stat(), open)));
    case F.FileInternalInformation:
      // An open fd keeps its inode and device: no statx needed for them.
      return fixed(fscc.encodeFileInternalInformation(file.statAtOpen.ino));
    case F.FileEaInformation:
      return fixed(fscc.encodeFileEaInformation(0));
    case F.FileAccessInformation:
      return fixed(fscc.encodeFileAccessInformation(open.grantedAccess));
    case F.FilePositionInformation:
      return fixed(fscc.encodeFilePositionInformation(BigInt(open.position)));
    case F.FileModeInformation:
      return fixed(fscc.encodeFileModeInformation(open.mode));
    case F.FileAlignmentInformation:
      return fixed(fscc.encodeFileAlignmentInformation(0));
    case F.FileAllInformation: {
      const d = needAttr();
      if (d !== null) return d;
      const [st, dos] = await statWithDos(file);
      const data = fscc.encodeFileAllInformation({
        basic: basic(st, dos),
        standard: standard(st, open),
        indexNumber: st.ino,
        eaSize: 0,
        accessFlags: open.grantedAccess,
        currentByteOffset: BigInt(open.position),
        mode: open.mode,
        alignmentRequirement: 0,
        fileName: smbName(open.path),
      });
      // Windows takes 104 bytes as the fixed part (the 100 of the structure, 8-aligned); smbtorture checks it.
      return { data, min: 104, variable: true };
    }
    case F.FileNetworkOpenInformation: {
      const d = needAttr();
      if (d !== null) return d;
      const [st, dos] = await statWithDos(file);
      return fixed(fscc.encodeFileNetworkOpenInformation({ ...basic(st, dos), allocationSize: allocationSize(st), endOfFile: endOfFile(st) }));
    }
    case F.FileAttributeTagInformation: {
      const d = needAttr();
      if (d !== null) return d;
      const [st, dos] = await statWithDos(file);
      return fixed(fscc.encodeFileAttributeTagInformation(fileAttributes(st, dos), 0));
    }
    case F.FileStreamInformation: {
      // The file's streams, whichever of them the handle is of: the unnamed data stream of a
      // file (a directory has none, MS-FSCC 2.4.43), then the named ones (streams.ts).
      const base = fileOf(file);
      const st = await base.stat();
      const list: fscc.FileStreamEntry[] = st.isDirectory ? [] : [{ streamName: '::$DATA', streamSize: st.size, streamAllocationSize: st.allocSize }];
      if (ctx.tree!.share.streams) {
        for (const s of await listStreams(base)) {
          const size = BigInt(s.size);
          list.push({ streamName: `:${s.name}:$DATA`, streamSize: size, streamAllocationSize: streamAllocationSize(size) });
        }
      }
      // Fixed part as Windows counts it: one entry with an 8-byte name (getinfo.qfile_buffercheck).
      return { data: fscc.encodeFileStreamInformation(list), min: 32, variable: true };
    }
    case F.FileNameInformation:
      // A stream's handle names its stream too, without the type (`\\dir\\file:name`).
      return { data: fscc.encodeFileNameInformation(smbName(open.path) + (open.stream !== null ? `:${open.stream}` : '')), min: 4, variable: true };
    case F.FileNormalizedNameInformation:
      // 3.3.5.20.1: only on 3.1.1; the name relative to the share, without a leading '\'.
      if (ctx.conn.negotiated!.dialect < Dialect.SMB311) return NtStatus.NOT_SUPPORTED;
      // A stream's handle names its stream too, as FileNameInformation does (smbtorture smb2.getinfo.normalized).
      return { data: fscc.encodeFileNormalizedNameInformation(open.path.replace(/\//g, '\\') + (open.stream !== null ? `:${open.stream}` : '')), min: 4, variable: true };
    case F.FileCompressionInformation: {
      const st = await file.stat();
      return fixed(fscc.encodeFileCompressionInformation({ compressedFileSize: endOfFile(st), compressionFormat: 0, compressionUnitShift: 0, chunkShift: 0, clusterShift: 0 }));
    }
    case F.FileIdInformation:
      return fixed(fscc.encodeFileIdInformation(file.statAtOpen.dev, file.statAtOpen.ino));
    case F.FileFullEaInformation:
      // MS-FSA 2.1.5.11.11 (FileFullEaInformation): needs FILE_READ_EA.
      if (!(open.grantedAccess & Access.FILE_READ_EA)) return NtStatus.ACCESS_DENIED;
      // No EAs are stored: an empty list (what Windows and Samba answer over SMB2).
      return { data: Buffer.alloc(0), min: 0 };
    case F.FileAlternateNameInformation:
      // The 8.3 name (MS-FSCC 2.4.5), generated: names are not stored in 8.3 form here.
      return { data: fscc.encodeFileNameInformation(shortName(open.path)), min: 8, variable: true };
    default:
      return NtStatus.INVALID_INFO_CLASS;
  }
}

async function fsInfo(ctx: RequestContext, open: Open, cls: number): Promise<InfoResult> {
  const share = ctx.tree!.share;
  if (open.pipe || !share.root) {
    if (cls === FS.FileFsDeviceInformation) return fixed(fscc.encodeFileFsDeviceInformation(DeviceType.NAMED_PIPE, 0));
    return NtStatus.INVALID_PARAMETER;
  }
  const root = share.root;
  switch (cls) {
    case FS.FileFsVolumeInformation: {
      const data = fscc.encodeFileFsVolumeInformation({
        volumeCreationTime: 0n,
        volumeSerialNumber: Number(open.file!.statAtOpen.dev & 0xffffffffn),
        supportsObjects: false,
        volumeLabel: share.name,
      });
      // Fixed part as Windows counts it: 18 bytes plus an 8-aligned name slot (getinfo.qfs_buffercheck).
      return { data, min: 24, variable: true };
    }
    case FS.FileFsSizeInformation: {
      const s = await root.statfs();
      return fixed(fscc.encodeFileFsSizeInformation({
        totalAllocationUnits: s.totalBlocks,
        availableAllocationUnits: s.availBlocks,
        sectorsPerAllocationUnit: Math.max(1, Math.floor(s.blockSize / 512)),
        bytesPerSector: 512,
      }));
    }
    case FS.FileFsFullSizeInformation: {
      const s = await root.statfs();
      return fixed(fscc.encodeFileFsFullSizeInformation({
        totalAllocationUnits: s.totalBlocks,
        callerAvailableAllocationUnits: s.availBlocks,
        actualAvailableAllocationUnits: s.freeBlocks,
        sectorsPerAllocationUnit: Math.max(1, Math.floor(s.blockSize / 512)),
        bytesPerSector: 512,
      }));
    }
    case FS.FileFsDeviceInformation:
      return fixed(fscc.encodeFileFsDeviceInformation(DeviceType.DISK, DeviceCharacteristics.DEVICE_IS_MOUNTED | (share.readOnly ? DeviceCharacteristics.READ_ONLY_DEVICE : 0)));
    case FS.FileFsAttributeInformation: {
      // Honest flags: names are case-preserved and case-sensitive on disk, Unicode; sparse files (server/fsctl/sparse.ts);
      // named streams where the share keeps them (streams.ts).
      let attrs = FsAttributes.CASE_SENSITIVE_SEARCH | FsAttributes.CASE_PRESERVED_NAMES | FsAttributes.UNICODE_ON_DISK | FsAttributes.SUPPORTS_SPARSE_FILES;
      if (share.readOnly) attrs |= FsAttributes.READ_ONLY_VOLUME;
      if (share.streams) attrs |= FsAttributes.NAMED_STREAMS;
      // "NTFS" like Samba: some clients (Office, Explorer) change behaviour for unknown file system names.
      const data = fscc.encodeFileFsAttributeInformation({ fileSystemAttributes: attrs, maximumComponentNameLength: 255, fileSystemName: 'NTFS' });
      return { data, min: 16, variable: true };
    }
    case FS.FileFsSectorSizeInformation:
      return fixed(fscc.encodeFileFsSectorSizeInformation({
        logicalBytesPerSector: 512,
        physicalBytesPerSectorForAtomicity: 512,
        physicalBytesPerSectorForPerformance: 512,
        fileSystemEffectivePhysicalBytesPerSectorForAtomicity: 512,
        flags: fscc.SectorSizeFlags.ALIGNED_DEVICE | fscc.SectorSizeFlags.PARTITION_ALIGNED_ON_DEVICE,
        byteOffsetForSectorAlignment: 0,
        byteOffsetForPartitionAlignment: 0,
      }));
    case FS.FileFsControlInformation:
      // MS-FSCC 2.5.2: no quotas; default threshold and limit -1 (none).
      return fixed(encodeFsControlNoQuota());
    case FS.FileFsObjectIdInformation:
      // MS-FSCC 2.5.6: an ObjectId stable for the share (derived from its path), no extended info.
      return fixed(Buffer.concat([createHash('sha256').update(share.path).digest().subarray(0, 16), Buffer.alloc(48)]));
    default:
      return NtStatus.INVALID_INFO_CLASS;
  }
}

/** The file's stored descriptor (ntacl.ts), or the default one; only the parts asked for (3.3.5.20.3). */
async function securityInfo(ctx: RequestContext, open: Open, additional: number): Promise<InfoResult> {
  const stored = open.file ? await loadDescriptor(open.file, (m) => ctx.server.log.warn(`"${open.path}": ${m}`)) : null;
  const sd = stored ?? defaultDescriptor(open.file ? await open.file.stat() : null, ctx.tree!.maximalAccess);
  const data = encodeSecurityDescriptor(sd, additional & (SecInfo.OWNER | SecInfo.GROUP | SecInfo.DACL));
  return { data, min: 0 };
}

/** FileFsControlInformation (MS-FSCC 2.5.2) for a volume without quotas. */
function encodeFsControlNoQuota(): Buffer {
  const b = Buffer.alloc(48);
  b.writeBigUInt64LE(0xffffffffffffffffn, 24); // DefaultQuotaThreshold
  b.writeBigUInt64LE(0xffffffffffffffffn, 32); // DefaultQuotaLimit
  return b;
}

const SHORT_INVALID = /[^A-Z0-9!#$%&'()\-@^_`{}~]/g;

/**
 * An 8.3 name for the last component of `path` (MS-FSCC 2.1.5.2.1): the name itself,
 * upper-cased, when it already fits, else up to six characters of the base, "~1" and
 * up to three of the extension.
 */
export function shortName(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1);
  if (name === '') return '';
  const dot = name.lastIndexOf('.');
  const base = dot > 0 ? name.slice(0, dot) : name;
  const ext = dot > 0 ? name.slice(dot + 1) : '';
  const cleanBase = base.toUpperCase().replace(SHORT_INVALID, '');
  const cleanExt = ext.toUpperCase().replace(SHORT_INVALID, '');
  const fits = base.length <= 8 && ext.length <= 3 && cleanBase === base.toUpperCase() && cleanExt === ext.toUpperCase() && cleanBase.length > 0;
  if (fits) return cleanExt ? `${cleanBase}.${cleanExt}` : cleanBase;
  const stem = (cleanBase || 'FILE').slice(0, 6);
  return cleanExt ? `${stem}~1.${cleanExt.slice(0, 3)}` : `${stem}~1`;
}
