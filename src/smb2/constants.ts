/**
 * Numbers of the SMB2/3 protocol (MS-SMB2 2.2) and of the file system information it
 * carries (MS-FSCC, MS-DTYP). Grouped as `as const` objects named after the spec's
 * field they fill; members keep the spec's names without the common prefix.
 */

/** SMB2 header Command (2.2.1.2). */
export const Command = {
  NEGOTIATE: 0x0000,
  SESSION_SETUP: 0x0001,
  LOGOFF: 0x0002,
  TREE_CONNECT: 0x0003,
  TREE_DISCONNECT: 0x0004,
  CREATE: 0x0005,
  CLOSE: 0x0006,
  FLUSH: 0x0007,
  READ: 0x0008,
  WRITE: 0x0009,
  LOCK: 0x000a,
  IOCTL: 0x000b,
  CANCEL: 0x000c,
  ECHO: 0x000d,
  QUERY_DIRECTORY: 0x000e,
  CHANGE_NOTIFY: 0x000f,
  QUERY_INFO: 0x0010,
  SET_INFO: 0x0011,
  OPLOCK_BREAK: 0x0012,
  SERVER_TO_CLIENT_NOTIFICATION: 0x0013,
} as const;

const commandNames = new Map<number, string>(Object.entries(Command).map(([k, v]) => [v, k]));
export function commandName(c: number): string {
  return commandNames.get(c) ?? `COMMAND_0x${c.toString(16)}`;
}

/** SMB2 header Flags (2.2.1.2). */
export const HeaderFlags = {
  SERVER_TO_REDIR: 0x00000001,
  ASYNC_COMMAND: 0x00000002,
  RELATED_OPERATIONS: 0x00000004,
  SIGNED: 0x00000008,
  PRIORITY_MASK: 0x00000070,
  DFS_OPERATIONS: 0x10000000,
  REPLAY_OPERATION: 0x20000000,
} as const;

/** Dialect revisions (2.2.3). WILDCARD (0x02FF) answers an SMB1 multi-protocol negotiate. */
export const Dialect = {
  SMB202: 0x0202,
  SMB210: 0x0210,
  SMB300: 0x0300,
  SMB302: 0x0302,
  SMB311: 0x0311,
  WILDCARD: 0x02ff,
} as const;

/** Capabilities of NEGOTIATE and SESSION_SETUP (2.2.3). */
export const Capabilities = {
  DFS: 0x00000001,
  LEASING: 0x00000002,
  LARGE_MTU: 0x00000004,
  MULTI_CHANNEL: 0x00000008,
  PERSISTENT_HANDLES: 0x00000010,
  DIRECTORY_LEASING: 0x00000020,
  ENCRYPTION: 0x00000040,
  NOTIFICATIONS: 0x00000080,
} as const;

/** SecurityMode (2.2.3). */
export const SecurityMode = {
  SIGNING_ENABLED: 0x0001,
  SIGNING_REQUIRED: 0x0002,
} as const;

/** Negotiate context ContextType (2.2.3.1). */
export const NegotiateContextType = {
  PREAUTH_INTEGRITY_CAPABILITIES: 0x0001,
  ENCRYPTION_CAPABILITIES: 0x0002,
  COMPRESSION_CAPABILITIES: 0x0003,
  NETNAME_NEGOTIATE_CONTEXT_ID: 0x0005,
  TRANSPORT_CAPABILITIES: 0x0006,
  RDMA_TRANSFORM_CAPABILITIES: 0x0007,
  SIGNING_CAPABILITIES: 0x0008,
} as const;

export const HashAlgorithm = { SHA_512: 0x0001 } as const;

export const Cipher = {
  AES_128_CCM: 0x0001,
  AES_128_GCM: 0x0002,
  AES_256_CCM: 0x0003,
  AES_256_GCM: 0x0004,
} as const;

export const SigningAlgorithm = {
  HMAC_SHA256: 0x0000,
  AES_CMAC: 0x0001,
  AES_GMAC: 0x0002,
} as const;

export const CompressionAlgorithm = {
  NONE: 0x0000,
  LZNT1: 0x0001,
  LZ77: 0x0002,
  LZ77_HUFFMAN: 0x0003,
  PATTERN_V1: 0x0004,
  LZ4: 0x0005,
} as const;

export const CompressionCapabilitiesFlags = { NONE: 0, CHAINED: 1 } as const;
export const TransportCapabilitiesFlags = { ACCEPT_TRANSPORT_LEVEL_SECURITY: 1 } as const;
export const RdmaTransformId = { NONE: 0x0000, ENCRYPTION: 0x0001, SIGNING: 0x0002 } as const;

/** SESSION_SETUP request Flags (2.2.5) and response SessionFlags (2.2.6). */
export const SessionSetupFlags = { BINDING: 0x01 } as const;
export const SessionFlags = { IS_GUEST: 0x0001, IS_NULL: 0x0002, ENCRYPT_DATA: 0x0004 } as const;

/** TREE_CONNECT request Flags, 3.1.1 only (2.2.9). */
export const TreeConnectFlags = {
  CLUSTER_RECONNECT: 0x0001,
  REDIRECT_TO_OWNER: 0x0002,
  EXTENSION_PRESENT: 0x0004,
} as const;

/** TREE_CONNECT response (2.2.10). */
export const ShareType = { DISK: 0x01, PIPE: 0x02, PRINT: 0x03 } as const;

export const ShareFlags = {
  MANUAL_CACHING: 0x00000000,
  AUTO_CACHING: 0x00000010,
  VDO_CACHING: 0x00000020,
  NO_CACHING: 0x00000030,
  DFS: 0x00000001,
  DFS_ROOT: 0x00000002,
  RESTRICT_EXCLUSIVE_OPENS: 0x00000100,
  FORCE_SHARED_DELETE: 0x00000200,
  ALLOW_NAMESPACE_CACHING: 0x00000400,
  ACCESS_BASED_DIRECTORY_ENUM: 0x00000800,
  FORCE_LEVELII_OPLOCK: 0x00001000,
  ENABLE_HASH_V1: 0x00002000,
  ENABLE_HASH_V2: 0x00004000,
  ENCRYPT_DATA: 0x00008000,
  IDENTITY_REMOTING: 0x00040000,
  COMPRESS_DATA: 0x00100000,
  ISOLATED_TRANSPORT: 0x00200000,
} as const;

export const ShareCapabilities = {
  DFS: 0x00000008,
  CONTINUOUS_AVAILABILITY: 0x00000010,
  SCALEOUT: 0x00000020,
  CLUSTER: 0x00000040,
  ASYMMETRIC: 0x00000080,
  REDIRECT_TO_OWNER: 0x00000100,
} as const;

/** CREATE RequestedOplockLevel / OplockLevel (2.2.13). */
export const OplockLevel = { NONE: 0x00, II: 0x01, EXCLUSIVE: 0x08, BATCH: 0x09, LEASE: 0xff } as const;

export const ImpersonationLevel = {
  Anonymous: 0,
  Identification: 1,
  Impersonation: 2,
  Delegate: 3,
} as const;

export const CreateDisposition = {
  SUPERSEDE: 0,
  OPEN: 1,
  CREATE: 2,
  OPEN_IF: 3,
  OVERWRITE: 4,
  OVERWRITE_IF: 5,
} as const;

export const CreateOptions = {
  DIRECTORY_FILE: 0x00000001,
  WRITE_THROUGH: 0x00000002,
  SEQUENTIAL_ONLY: 0x00000004,
  NO_INTERMEDIATE_BUFFERING: 0x00000008,
  SYNCHRONOUS_IO_ALERT: 0x00000010,
  SYNCHRONOUS_IO_NONALERT: 0x00000020,
  NON_DIRECTORY_FILE: 0x00000040,
  COMPLETE_IF_OPLOCKED: 0x00000100,
  NO_EA_KNOWLEDGE: 0x00000200,
  OPEN_REMOTE_INSTANCE: 0x00000400,
  RANDOM_ACCESS: 0x00000800,
  DELETE_ON_CLOSE: 0x00001000,
  OPEN_BY_FILE_ID: 0x00002000,
  OPEN_FOR_BACKUP_INTENT: 0x00004000,
  NO_COMPRESSION: 0x00008000,
  OPEN_REQUIRING_OPLOCK: 0x00010000,
  DISALLOW_EXCLUSIVE: 0x00020000,
  RESERVE_OPFILTER: 0x00100000,
  OPEN_REPARSE_POINT: 0x00200000,
  OPEN_NO_RECALL: 0x00400000,
  OPEN_FOR_FREE_SPACE_QUERY: 0x00800000,
} as const;

export const CreateAction = { SUPERSEDED: 0, OPENED: 1, CREATED: 2, OVERWRITTEN: 3 } as const;
export const CreateResponseFlags = { REPARSEPOINT: 0x01 } as const;

/** Create context names (2.2.13.2), 4 ASCII characters each. */
export const CreateContextName = {
  EA_BUFFER: 'ExtA',
  SD_BUFFER: 'SecD',
  DURABLE_HANDLE_REQUEST: 'DHnQ',
  DURABLE_HANDLE_RECONNECT: 'DHnC',
  ALLOCATION_SIZE: 'AlSi',
  QUERY_MAXIMAL_ACCESS_REQUEST: 'MxAc',
  TIMEWARP_TOKEN: 'TWrp',
  QUERY_ON_DISK_ID: 'QFid',
  REQUEST_LEASE: 'RqLs',
  DURABLE_HANDLE_REQUEST_V2: 'DH2Q',
  DURABLE_HANDLE_RECONNECT_V2: 'DH2C',
  /** 2.2.13.2.13: a GUID name, kept as upper-case hex (create-contexts.ts nameString) */
  APP_INSTANCE_ID: '45BCA66AEFA7F74A9008FA462E144D74',
} as const;

export const LeaseState = { NONE: 0, READ_CACHING: 0x01, HANDLE_CACHING: 0x02, WRITE_CACHING: 0x04 } as const;
export const LeaseFlags = { BREAK_IN_PROGRESS: 0x02, PARENT_LEASE_KEY_SET: 0x04 } as const;
export const DurableHandleFlags = { PERSISTENT: 0x02 } as const;

/** Access mask (MS-SMB2 2.2.13.1, MS-DTYP 2.4.3). Directory aliases share the bits. */
export const Access = {
  FILE_READ_DATA: 0x00000001,
  FILE_LIST_DIRECTORY: 0x00000001,
  FILE_WRITE_DATA: 0x00000002,
  FILE_ADD_FILE: 0x00000002,
  FILE_APPEND_DATA: 0x00000004,
  FILE_ADD_SUBDIRECTORY: 0x00000004,
  FILE_READ_EA: 0x00000008,
  FILE_WRITE_EA: 0x00000010,
  FILE_EXECUTE: 0x00000020,
  FILE_TRAVERSE: 0x00000020,
  FILE_DELETE_CHILD: 0x00000040,
  FILE_READ_ATTRIBUTES: 0x00000080,
  FILE_WRITE_ATTRIBUTES: 0x00000100,
  DELETE: 0x00010000,
  READ_CONTROL: 0x00020000,
  WRITE_DAC: 0x00040000,
  WRITE_OWNER: 0x00080000,
  SYNCHRONIZE: 0x00100000,
  ACCESS_SYSTEM_SECURITY: 0x01000000,
  MAXIMUM_ALLOWED: 0x02000000,
  GENERIC_ALL: 0x10000000,
  GENERIC_EXECUTE: 0x20000000,
  GENERIC_WRITE: 0x40000000,
  GENERIC_READ: 0x80000000,
  /** Every specific and standard right of a file (MS-SMB2 3.3.5.9 grants it for MAXIMUM_ALLOWED). */
  FILE_ALL_ACCESS: 0x001f01ff,
} as const;

/** Generic rights mapped to file rights (MS-SMB2 3.3.5.9 / Windows' file generic mapping). */
export const FILE_GENERIC_READ = 0x00120089;
export const FILE_GENERIC_WRITE = 0x00120116;
export const FILE_GENERIC_EXECUTE = 0x001200a0;

/** FileAttributes (MS-FSCC 2.6). */
export const FileAttributes = {
  READONLY: 0x00000001,
  HIDDEN: 0x00000002,
  SYSTEM: 0x00000004,
  DIRECTORY: 0x00000010,
  ARCHIVE: 0x00000020,
  NORMAL: 0x00000080,
  TEMPORARY: 0x00000100,
  SPARSE_FILE: 0x00000200,
  REPARSE_POINT: 0x00000400,
  COMPRESSED: 0x00000800,
  OFFLINE: 0x00001000,
  NOT_CONTENT_INDEXED: 0x00002000,
  ENCRYPTED: 0x00004000,
  INTEGRITY_STREAM: 0x00008000,
  NO_SCRUB_DATA: 0x00020000,
  RECALL_ON_OPEN: 0x00040000,
  PINNED: 0x00080000,
  UNPINNED: 0x00100000,
  RECALL_ON_DATA_ACCESS: 0x00400000,
} as const;

export const ShareAccess = { READ: 0x01, WRITE: 0x02, DELETE: 0x04 } as const;

/** CLOSE Flags (2.2.15). */
export const CloseFlags = { POSTQUERY_ATTRIB: 0x0001 } as const;

/** READ (2.2.19, 2.2.20) and WRITE (2.2.21) flags and channels. */
export const ReadFlags = { READ_UNBUFFERED: 0x01, REQUEST_COMPRESSED: 0x02 } as const;
export const ReadResponseFlags = { RDMA_TRANSFORM: 0x00000001 } as const;
export const WriteFlags = { WRITE_THROUGH: 0x00000001, WRITE_UNBUFFERED: 0x00000002 } as const;
export const Channel = { NONE: 0, RDMA_V1: 1, RDMA_V1_INVALIDATE: 2, RDMA_TRANSFORM: 3 } as const;

/** LOCK element Flags (2.2.26.1). */
export const LockFlags = {
  SHARED_LOCK: 0x00000001,
  EXCLUSIVE_LOCK: 0x00000002,
  UNLOCK: 0x00000004,
  FAIL_IMMEDIATELY: 0x00000010,
} as const;

/** IOCTL Flags (2.2.31). */
export const IoctlFlags = { IS_FSCTL: 0x00000001 } as const;

/** FSCTL / IOCTL codes (MS-SMB2 2.2.31, MS-FSCC 2.3). */
export const Fsctl = {
  DFS_GET_REFERRALS: 0x00060194,
  DFS_GET_REFERRALS_EX: 0x000601b0,
  PIPE_PEEK: 0x0011400c,
  PIPE_WAIT: 0x00110018,
  PIPE_TRANSCEIVE: 0x0011c017,
  SRV_COPYCHUNK: 0x001440f2,
  SRV_COPYCHUNK_WRITE: 0x001480f2,
  SRV_ENUMERATE_SNAPSHOTS: 0x00144064,
  SRV_REQUEST_RESUME_KEY: 0x00140078,
  SRV_READ_HASH: 0x001441bb,
  LMR_REQUEST_RESILIENCY: 0x001401d4,
  QUERY_NETWORK_INTERFACE_INFO: 0x001401fc,
  VALIDATE_NEGOTIATE_INFO: 0x00140204,
  IS_PATHNAME_VALID: 0x0009002c,
  GET_COMPRESSION: 0x0009003c,
  SET_COMPRESSION: 0x0009c040,
  FILESYSTEM_GET_STATISTICS: 0x00090060,
  GET_NTFS_VOLUME_DATA: 0x00090064,
  SET_OBJECT_ID: 0x00090098,
  GET_OBJECT_ID: 0x0009009c,
  DELETE_OBJECT_ID: 0x000900a0,
  SET_REPARSE_POINT: 0x000900a4,
  GET_REPARSE_POINT: 0x000900a8,
  DELETE_REPARSE_POINT: 0x000900ac,
  CREATE_OR_GET_OBJECT_ID: 0x000900c0,
  SET_SPARSE: 0x000900c4,
  SET_ZERO_DATA: 0x000980c8,
  QUERY_ALLOCATED_RANGES: 0x000940cf,
  FILE_LEVEL_TRIM: 0x00098208,
  OFFLOAD_READ: 0x00094264,
  OFFLOAD_WRITE: 0x00098268,
  GET_INTEGRITY_INFORMATION: 0x0009027c,
  SET_INTEGRITY_INFORMATION: 0x0009c280,
  QUERY_FILE_REGIONS: 0x00090284,
  DUPLICATE_EXTENTS_TO_FILE: 0x00098344,
} as const;

/** QUERY_DIRECTORY Flags (2.2.33). */
export const QueryDirectoryFlags = {
  RESTART_SCANS: 0x01,
  RETURN_SINGLE_ENTRY: 0x02,
  INDEX_SPECIFIED: 0x04,
  REOPEN: 0x10,
} as const;

/** CHANGE_NOTIFY Flags and CompletionFilter (2.2.35), FILE_NOTIFY_INFORMATION Action (MS-FSCC 2.7.1). */
export const ChangeNotifyFlags = { WATCH_TREE: 0x0001 } as const;
export const CompletionFilter = {
  FILE_NAME: 0x00000001,
  DIR_NAME: 0x00000002,
  ATTRIBUTES: 0x00000004,
  SIZE: 0x00000008,
  LAST_WRITE: 0x00000010,
  LAST_ACCESS: 0x00000020,
  CREATION: 0x00000040,
  EA: 0x00000080,
  SECURITY: 0x00000100,
  STREAM_NAME: 0x00000200,
  STREAM_SIZE: 0x00000400,
  STREAM_WRITE: 0x00000800,
} as const;
export const FileAction = {
  ADDED: 1,
  REMOVED: 2,
  MODIFIED: 3,
  RENAMED_OLD_NAME: 4,
  RENAMED_NEW_NAME: 5,
  ADDED_STREAM: 6,
  REMOVED_STREAM: 7,
  MODIFIED_STREAM: 8,
} as const;

/** QUERY_INFO / SET_INFO InfoType (2.2.37). */
export const InfoType = { FILE: 0x01, FILESYSTEM: 0x02, SECURITY: 0x03, QUOTA: 0x04 } as const;

/** QUERY_INFO Flags (2.2.37). */
export const QueryInfoFlags = {
  RESTART_SCAN: 0x00000001,
  RETURN_SINGLE_ENTRY: 0x00000002,
  INDEX_SPECIFIED: 0x00000004,
} as const;

/** AdditionalInformation for InfoType SECURITY (MS-DTYP 2.4.7 SECURITY_INFORMATION). */
export const SecurityInformation = {
  OWNER: 0x00000001,
  GROUP: 0x00000002,
  DACL: 0x00000004,
  SACL: 0x00000008,
  LABEL: 0x00000010,
  ATTRIBUTE: 0x00000020,
  SCOPE: 0x00000040,
  BACKUP: 0x00010000,
} as const;

/** File information classes (MS-FSCC 2.4). */
export const FileInfoClass = {
  FileDirectoryInformation: 1,
  FileFullDirectoryInformation: 2,
  FileBothDirectoryInformation: 3,
  FileBasicInformation: 4,
  FileStandardInformation: 5,
  FileInternalInformation: 6,
  FileEaInformation: 7,
  FileAccessInformation: 8,
  FileNameInformation: 9,
  FileRenameInformation: 10,
  FileLinkInformation: 11,
  FileNamesInformation: 12,
  FileDispositionInformation: 13,
  FilePositionInformation: 14,
  FileFullEaInformation: 15,
  FileModeInformation: 16,
  FileAlignmentInformation: 17,
  FileAllInformation: 18,
  FileAllocationInformation: 19,
  FileEndOfFileInformation: 20,
  FileAlternateNameInformation: 21,
  FileStreamInformation: 22,
  FilePipeInformation: 23,
  FilePipeLocalInformation: 24,
  FilePipeRemoteInformation: 25,
  FileCompressionInformation: 28,
  FileObjectIdInformation: 29,
  FileQuotaInformation: 32,
  FileReparsePointInformation: 33,
  FileNetworkOpenInformation: 34,
  FileAttributeTagInformation: 35,
  FileIdBothDirectoryInformation: 37,
  FileIdFullDirectoryInformation: 38,
  FileValidDataLengthInformation: 39,
  FileShortNameInformation: 40,
  FileHardLinkInformation: 46,
  FileNormalizedNameInformation: 48,
  FileIdGlobalTxDirectoryInformation: 50,
  FileStandardLinkInformation: 54,
  FileIdInformation: 59,
  FileIdExtdDirectoryInformation: 60,
  FileDispositionInformationEx: 64,
  FileRenameInformationEx: 65,
  FileStatInformation: 68,
  FileCaseSensitiveInformation: 71,
} as const;

/** File system information classes (MS-FSCC 2.5). */
export const FsInfoClass = {
  FileFsVolumeInformation: 1,
  FileFsLabelInformation: 2,
  FileFsSizeInformation: 3,
  FileFsDeviceInformation: 4,
  FileFsAttributeInformation: 5,
  FileFsControlInformation: 6,
  FileFsFullSizeInformation: 7,
  FileFsObjectIdInformation: 8,
  FileFsDriverPathInformation: 9,
  FileFsVolumeFlagsInformation: 10,
  FileFsSectorSizeInformation: 11,
} as const;

/** FileFsAttributeInformation FileSystemAttributes (MS-FSCC 2.5.1). */
export const FsAttributes = {
  CASE_SENSITIVE_SEARCH: 0x00000001,
  CASE_PRESERVED_NAMES: 0x00000002,
  UNICODE_ON_DISK: 0x00000004,
  PERSISTENT_ACLS: 0x00000008,
  FILE_COMPRESSION: 0x00000010,
  VOLUME_QUOTAS: 0x00000020,
  SUPPORTS_SPARSE_FILES: 0x00000040,
  SUPPORTS_REPARSE_POINTS: 0x00000080,
  SUPPORTS_REMOTE_STORAGE: 0x00000100,
  VOLUME_IS_COMPRESSED: 0x00008000,
  SUPPORTS_OBJECT_IDS: 0x00010000,
  SUPPORTS_ENCRYPTION: 0x00020000,
  NAMED_STREAMS: 0x00040000,
  READ_ONLY_VOLUME: 0x00080000,
  SEQUENTIAL_WRITE_ONCE: 0x00100000,
  SUPPORTS_TRANSACTIONS: 0x00200000,
  SUPPORTS_HARD_LINKS: 0x00400000,
  SUPPORTS_EXTENDED_ATTRIBUTES: 0x00800000,
  SUPPORTS_OPEN_BY_FILE_ID: 0x01000000,
  SUPPORTS_USN_JOURNAL: 0x02000000,
  SUPPORTS_INTEGRITY_STREAMS: 0x04000000,
  SUPPORTS_BLOCK_REFCOUNTING: 0x08000000,
  SUPPORTS_SPARSE_VDL: 0x10000000,
} as const;

/** FileFsDeviceInformation DeviceType and Characteristics (MS-FSCC 2.5.10). */
export const DeviceType = { CD_ROM: 0x02, DISK: 0x07, NAMED_PIPE: 0x11 } as const;
export const DeviceCharacteristics = {
  REMOVABLE_MEDIA: 0x00000001,
  READ_ONLY_DEVICE: 0x00000002,
  REMOTE_DEVICE: 0x00000010,
  DEVICE_IS_MOUNTED: 0x00000020,
  VIRTUAL_VOLUME: 0x00000040,
} as const;

/** FileDispositionInformationEx Flags (MS-FSCC 2.4.12). */
export const DispositionFlags = {
  DO_NOT_DELETE: 0x00000000,
  DELETE: 0x00000001,
  POSIX_SEMANTICS: 0x00000002,
  FORCE_IMAGE_SECTION_CHECK: 0x00000004,
  ON_CLOSE: 0x00000008,
  IGNORE_READONLY_ATTRIBUTE: 0x00000010,
} as const;

/** Reparse tags (MS-FSCC 2.1.2.1) a server may report. */
export const ReparseTag = { SYMLINK: 0xa000000c, MOUNT_POINT: 0xa0000003, NFS: 0x80000014 } as const;

/** SMB2 ERROR Context ErrorId (2.2.2.1). */
export const ErrorId = { DEFAULT: 0x00000000, SHARE_REDIRECT: 0x72645253 } as const;

/** NETWORK_INTERFACE_INFO Capability (2.2.32.5). */
export const InterfaceCapability = { RSS_CAPABLE: 0x00000001, RDMA_CAPABLE: 0x00000002 } as const;
