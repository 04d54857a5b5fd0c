/**
 * io_uring ABI numbers (include/uapi/linux/io_uring.h). They are kernel ABI,
 * stable once released; whether this kernel has one is asked of the probe,
 * never assumed from a version number.
 */

/** Opcodes, in kernel order. */
export const OPS = [
  'NOP', 'READV', 'WRITEV', 'FSYNC', 'READ_FIXED', 'WRITE_FIXED', 'POLL_ADD', 'POLL_REMOVE',
  'SYNC_FILE_RANGE', 'SENDMSG', 'RECVMSG', 'TIMEOUT', 'TIMEOUT_REMOVE', 'ACCEPT', 'ASYNC_CANCEL',
  'LINK_TIMEOUT', 'CONNECT', 'FALLOCATE', 'OPENAT', 'CLOSE', 'FILES_UPDATE', 'STATX', 'READ',
  'WRITE', 'FADVISE', 'MADVISE', 'SEND', 'RECV', 'OPENAT2', 'EPOLL_CTL', 'SPLICE',
  'PROVIDE_BUFFERS', 'REMOVE_BUFFERS', 'TEE', 'SHUTDOWN', 'RENAMEAT', 'UNLINKAT', 'MKDIRAT',
  'SYMLINKAT', 'LINKAT', 'MSG_RING', 'FSETXATTR', 'SETXATTR', 'FGETXATTR', 'GETXATTR', 'SOCKET',
  'URING_CMD', 'SEND_ZC', 'SENDMSG_ZC', 'READ_MULTISHOT', 'WAITID', 'FUTEX_WAIT', 'FUTEX_WAKE',
  'FUTEX_WAITV', 'FIXED_FD_INSTALL', 'FTRUNCATE', 'BIND', 'LISTEN', 'RECV_ZC', 'EPOLL_WAIT',
  'READV_FIXED', 'WRITEV_FIXED', 'PIPE',
] as const;
export type OpName = (typeof OPS)[number];
export const OP = Object.fromEntries(OPS.map((n, i) => [n, i])) as { readonly [K in OpName]: number };

/** Setup flags (io_uring_params.flags). */
export const SETUP = {
  IOPOLL: 1 << 0, SQPOLL: 1 << 1, SQ_AFF: 1 << 2, CQSIZE: 1 << 3, CLAMP: 1 << 4,
  ATTACH_WQ: 1 << 5, R_DISABLED: 1 << 6, SUBMIT_ALL: 1 << 7, COOP_TASKRUN: 1 << 8,
  TASKRUN_FLAG: 1 << 9, SQE128: 1 << 10, CQE32: 1 << 11, SINGLE_ISSUER: 1 << 12,
  DEFER_TASKRUN: 1 << 13, NO_MMAP: 1 << 14, REGISTERED_FD_ONLY: 1 << 15, NO_SQARRAY: 1 << 16,
} as const;

/** Feature bits reported by io_uring_setup (io_uring_params.features). */
export const FEAT = {
  SINGLE_MMAP: 1 << 0, NODROP: 1 << 1, SUBMIT_STABLE: 1 << 2, RW_CUR_POS: 1 << 3,
  CUR_PERSONALITY: 1 << 4, FAST_POLL: 1 << 5, POLL_32BITS: 1 << 6, SQPOLL_NONFIXED: 1 << 7,
  EXT_ARG: 1 << 8, NATIVE_WORKERS: 1 << 9, RSRC_TAGS: 1 << 10, CQE_SKIP: 1 << 11,
  LINKED_FILE: 1 << 12, REG_REG_RING: 1 << 13, RECVSEND_BUNDLE: 1 << 14, MIN_TIMEOUT: 1 << 15,
  RW_ATTR: 1 << 16, NO_IOWAIT: 1 << 17,
} as const;

/** Per-SQE flags (sqe.flags). */
export const SQE = {
  FIXED_FILE: 1 << 0, IO_DRAIN: 1 << 1, IO_LINK: 1 << 2, IO_HARDLINK: 1 << 3,
  ASYNC: 1 << 4, BUFFER_SELECT: 1 << 5, CQE_SKIP_SUCCESS: 1 << 6,
} as const;

/** Completion flags (cqe.flags); the buffer id sits in the upper 16 bits. */
export const CQE = {
  F_BUFFER: 1 << 0, F_MORE: 1 << 1, F_SOCK_NONEMPTY: 1 << 2, F_NOTIF: 1 << 3, F_BUF_MORE: 1 << 4,
  BUFFER_SHIFT: 16,
} as const;

export const ENTER = {
  GETEVENTS: 1 << 0, SQ_WAKEUP: 1 << 1, SQ_WAIT: 1 << 2, EXT_ARG: 1 << 3, REGISTERED_RING: 1 << 4,
} as const;

export const REGISTER = {
  BUFFERS: 0, UNREGISTER_BUFFERS: 1, FILES: 2, UNREGISTER_FILES: 3, EVENTFD: 4,
  UNREGISTER_EVENTFD: 5, FILES_UPDATE: 6, EVENTFD_ASYNC: 7, PROBE: 8, PERSONALITY: 9,
  UNREGISTER_PERSONALITY: 10, RESTRICTIONS: 11, ENABLE_RINGS: 12, FILES2: 13, FILES_UPDATE2: 14,
  BUFFERS2: 15, BUFFERS_UPDATE: 16, IOWQ_AFF: 17, UNREGISTER_IOWQ_AFF: 18, IOWQ_MAX_WORKERS: 19,
  RING_FDS: 20, UNREGISTER_RING_FDS: 21, PBUF_RING: 22, UNREGISTER_PBUF_RING: 23, SYNC_CANCEL: 24,
  FILE_ALLOC_RANGE: 25, PBUF_STATUS: 26,
} as const;

export const POLL_ADD_MULTI = 1 << 0;
export const POLL_UPDATE_EVENTS = 1 << 1;
export const POLL_UPDATE_USER_DATA = 1 << 2;

export const TIMEOUT_FLAGS = { ABS: 1 << 0, UPDATE: 1 << 1, BOOTTIME: 1 << 2, REALTIME: 1 << 3, ETIME_SUCCESS: 1 << 5, MULTISHOT: 1 << 6 } as const;

export const CANCEL = { ALL: 1 << 0, FD: 1 << 1, ANY: 1 << 2, FD_FIXED: 1 << 3, USERDATA: 1 << 4, OP: 1 << 5 } as const;

export const FSYNC_DATASYNC = 1;
export const ACCEPT_MULTISHOT = 1 << 0;
export const RECV_MULTISHOT = 1 << 1;
export const RECVSEND_POLL_FIRST = 1 << 0;
export const RECVSEND_FIXED_BUF = 1 << 2;
export const SEND_ZC_REPORT_USAGE = 1 << 3;
export const NOTIF_USAGE_ZC_COPIED = 1 << 31;

/** poll(2) event bits as io_uring uses them (poll32_events). */
export const POLL = { IN: 0x001, PRI: 0x002, OUT: 0x004, ERR: 0x008, HUP: 0x010, NVAL: 0x020, RDHUP: 0x2000 } as const;

/** openat2 resolve flags (linux/openat2.h). */
export const RESOLVE = { NO_XDEV: 0x01, NO_MAGICLINKS: 0x02, NO_SYMLINKS: 0x04, BENEATH: 0x08, IN_ROOT: 0x10, CACHED: 0x20 } as const;

export const AT = { FDCWD: -100, SYMLINK_NOFOLLOW: 0x100, REMOVEDIR: 0x200, SYMLINK_FOLLOW: 0x400, EMPTY_PATH: 0x1000 } as const;

export const SPLICE_F = { MOVE: 1, NONBLOCK: 2, MORE: 4, GIFT: 8, FD_IN_FIXED: 1 << 31 } as const;

export const MSG = { DONTWAIT: 0x40, WAITALL: 0x100, NOSIGNAL: 0x4000, MORE: 0x8000, ZEROCOPY: 0x4000000 } as const;

/** struct sizes (x86-64/arm64 LP64). */
export const SIZEOF = { SQE: 64, CQE: 16, IOVEC: 16, MSGHDR: 56, OPEN_HOW: 24, STATX: 256, TIMESPEC: 16, PROBE_OP: 8 } as const;
