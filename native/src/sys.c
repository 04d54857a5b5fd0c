/* The few syscalls Node lacks, as thin wrappers returning result | -errno.
 *
 * Path syscalls (openat2 with RESOLVE_BENEATH, the *at family, statx,
 * xattrs, fallocate) run on libuv's threadpool (sysAsync), for the
 * threadpool VFS when io_uring is missing. */
#include "addon.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <string.h>
#include <stdlib.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <linux/openat2.h>
#include <linux/stat.h>

enum {
  SYS_OP_OPENAT2 = 0,
  SYS_OP_UNLINKAT = 1,
  SYS_OP_RENAMEAT2 = 2,
  SYS_OP_MKDIRAT = 3,
  SYS_OP_SYMLINKAT = 4,
  SYS_OP_LINKAT = 5,
  SYS_OP_STATX = 6,
  SYS_OP_FGETXATTR = 7,
  SYS_OP_FSETXATTR = 8,
  SYS_OP_FLISTXATTR = 9,
  SYS_OP_FREMOVEXATTR = 10,
  SYS_OP_FALLOCATE = 11,
  SYS_OP_READLINKAT = 12,
  SYS_OP_FSYNC = 13,
  SYS_OP_FTRUNCATE = 14,
  SYS_OP_STATX_BATCH = 15, /* statx (+ lgetxattr through /proc/self/fd) of num names relative to dirfd */
};

/* One record of SYS_OP_STATX_BATCH in out: struct statx (256), the statx
 * result (i64: 0 or -errno), the xattr result (i64: length or -errno), the
 * xattr value (up to 256 bytes). */
#define BATCH_STATX 256
#define BATCH_XATTR_MAX 256
#define BATCH_RECORD (BATCH_STATX + 16 + BATCH_XATTR_MAX)

typedef struct {
  int op;
  int dirfd, dirfd2;
  const char *path, *path2; /* NUL-terminated, owned by JS buffers */
  uint64_t flags, mode, resolve;
  double num; /* offset/length/size for fallocate, ftruncate */
  double num2;
  void *out;
  size_t outlen;
  long result;
} sys_req_t;

static void sys_run(sys_req_t *q) {
  long r;
  switch (q->op) {
    case SYS_OP_OPENAT2: {
      struct open_how how;
      memset(&how, 0, sizeof(how));
      how.flags = q->flags;
      how.mode = q->mode;
      how.resolve = q->resolve;
      r = syscall(SYS_openat2, q->dirfd, q->path, &how, sizeof(how));
      break;
    }
    case SYS_OP_UNLINKAT: r = unlinkat(q->dirfd, q->path, (int)q->flags); break;
    case SYS_OP_RENAMEAT2:
      r = syscall(SYS_renameat2, q->dirfd, q->path, q->dirfd2, q->path2, (unsigned)q->flags);
      break;
    case SYS_OP_MKDIRAT: r = mkdirat(q->dirfd, q->path, (mode_t)q->mode); break;
    case SYS_OP_SYMLINKAT: r = symlinkat(q->path, q->dirfd2, q->path2); break;
    case SYS_OP_LINKAT: r = linkat(q->dirfd, q->path, q->dirfd2, q->path2, (int)q->flags); break;
    case SYS_OP_STATX:
      if (!q->out || q->outlen < sizeof(struct statx)) { errno = EINVAL; r = -1; break; }
      r = syscall(SYS_statx, q->dirfd, q->path ? q->path : "", (int)q->flags, (unsigned)q->mode, q->out);
      break;
    case SYS_OP_FGETXATTR: r = fgetxattr(q->dirfd, q->path, q->out, q->outlen); break;
    case SYS_OP_FSETXATTR: r = fsetxattr(q->dirfd, q->path, q->out, q->outlen, (int)q->flags); break;
    case SYS_OP_FLISTXATTR: r = flistxattr(q->dirfd, q->out, q->outlen); break;
    case SYS_OP_FREMOVEXATTR: r = fremovexattr(q->dirfd, q->path); break;
    case SYS_OP_FALLOCATE: r = fallocate(q->dirfd, (int)q->flags, (off_t)q->num, (off_t)q->num2); break;
    case SYS_OP_READLINKAT: r = readlinkat(q->dirfd, q->path, q->out, q->outlen); break;
    case SYS_OP_FSYNC: r = q->flags ? fdatasync(q->dirfd) : fsync(q->dirfd); break;
    case SYS_OP_FTRUNCATE: r = ftruncate(q->dirfd, (off_t)q->num); break;
    case SYS_OP_STATX_BATCH: {
      /* path: num NUL-terminated names back to back; path2: the xattr name or NULL. */
      size_t n = (size_t)q->num;
      if (!q->path || !q->out || q->outlen < n * BATCH_RECORD) { errno = EINVAL; r = -1; break; }
      const char *name = q->path;
      for (size_t i = 0; i < n; i++) {
        char *rec = (char *)q->out + i * BATCH_RECORD;
        int64_t sr = syscall(SYS_statx, q->dirfd, name, (int)q->flags, (unsigned)q->mode, rec);
        int64_t xr = -ENODATA;
        if (sr < 0) sr = -errno;
        else if (q->path2 && strlen(name) <= 255 && !strchr(name, '/')) {
          char p[64 + 256];
          snprintf(p, sizeof(p), "/proc/self/fd/%d/%s", q->dirfd, name);
          xr = lgetxattr(p, q->path2, rec + BATCH_STATX + 16, BATCH_XATTR_MAX);
          if (xr < 0) xr = -errno;
        }
        memcpy(rec + BATCH_STATX, &sr, 8);
        memcpy(rec + BATCH_STATX + 8, &xr, 8);
        name += strlen(name) + 1;
      }
      r = (long)n;
      break;
    }
    default: errno = EINVAL; r = -1;
  }
  q->result = r < 0 ? -errno : r;
}

/* Arguments of sysAsync (before its callback):
 * (op, dirfd, path|null, dirfd2, path2|null, flags, mode, resolve, num, num2, out|null) */
#define SYS_NARGS 11

static const char *opt_cstr(napi_env env, napi_value v, int *bad) {
  napi_valuetype t;
  *bad = 0;
  if (napi_typeof(env, v, &t) != napi_ok || t == napi_null || t == napi_undefined) return NULL;
  void *d;
  size_t n;
  if (arg_bytes(env, v, &d, &n)) { *bad = 1; return NULL; }
  if (n == 0 || ((const char *)d)[n - 1] != 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "path bytes must end in NUL");
    *bad = 1;
    return NULL;
  }
  return d;
}

static int parse_req(napi_env env, napi_value *argv, sys_req_t *q) {
  int32_t op, dirfd, dirfd2;
  double flags, mode, resolve;
  int bad;
  memset(q, 0, sizeof(*q));
  if (arg_i32(env, argv[0], &op) || arg_i32(env, argv[1], &dirfd) || arg_i32(env, argv[3], &dirfd2)) return -1;
  if (arg_f64(env, argv[5], &flags) || arg_f64(env, argv[6], &mode) || arg_f64(env, argv[7], &resolve)) return -1;
  if (arg_f64(env, argv[8], &q->num) || arg_f64(env, argv[9], &q->num2)) return -1;
  q->op = op;
  q->dirfd = dirfd;
  q->dirfd2 = dirfd2;
  q->flags = (uint64_t)flags;
  q->mode = (uint64_t)mode;
  q->resolve = (uint64_t)resolve;
  q->path = opt_cstr(env, argv[2], &bad);
  if (bad) return -1;
  q->path2 = opt_cstr(env, argv[4], &bad);
  if (bad) return -1;
  napi_valuetype t;
  napi_typeof(env, argv[10], &t);
  if (t != napi_null && t != napi_undefined) {
    if (arg_bytes(env, argv[10], &q->out, &q->outlen)) return -1;
  }
  return 0;
}

typedef struct {
  sys_req_t q;
  napi_async_work work;
  napi_ref refs[4]; /* path, path2, out, callback */
} sys_async_t;

static void async_exec(napi_env env, void *data) {
  sys_run(&((sys_async_t *)data)->q);
}

static void async_done(napi_env env, napi_status status, void *data) {
  sys_async_t *a = data;
  async_finish(env, status, a, a->work, a->refs, 4, a->q.result);
}

static napi_value SysAsync(napi_env env, napi_callback_info info) {
  ARGS(SYS_NARGS + 1);
  napi_valuetype t;
  if (arg_callback(env, argv[SYS_NARGS])) return NULL;
  sys_async_t *a = calloc(1, sizeof(*a));
  if (!a) return ret_i64(env, -ENOMEM);
  if (parse_req(env, argv, &a->q)) {
    free(a);
    return NULL;
  }
  /* Keep the buffers the kernel reads or writes alive until done. */
  int idx[3] = {2, 4, 10};
  for (int i = 0; i < 3; i++) {
    napi_typeof(env, argv[idx[i]], &t);
    if (t == napi_object) napi_create_reference(env, argv[idx[i]], 1, &a->refs[i]);
  }
  napi_create_reference(env, argv[SYS_NARGS], 1, &a->refs[3]);
  return ret_i64(env, async_queue(env, "ringsmb:sys", async_exec, async_done, a, &a->work, a->refs, 4));
}

/* sysSync(op, dirfd, path|null, dirfd2, path2|null, flags, mode, resolve, num, num2, out|null)
 * -> result | -errno, on this thread. */
static napi_value SysSync(napi_env env, napi_callback_info info) {
  ARGS(SYS_NARGS);
  sys_req_t q;
  if (parse_req(env, argv, &q)) return NULL;
  sys_run(&q);
  return ret_i64(env, q.result);
}

/* sendv(fd, buffers, flags) -> bytes sent | -errno: one non-blocking
 * sendmsg(2) of up to SENDV_MAX buffers (MSG_DONTWAIT | MSG_NOSIGNAL
 * added). For a transport's send on a socket with room, where a ring
 * SENDMSG would run the same copy inline and add a CQE (transport/uring.ts). */
#define SENDV_MAX 128
static napi_value Sendv(napi_env env, napi_callback_info info) {
  ARGS(3);
  GET_I32(0, fd);
  uint32_t n = 0;
  if (napi_get_array_length(env, argv[1], &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "buffers must be an array");
    return NULL;
  }
  GET_U32(2, flags);
  if (n == 0 || n > SENDV_MAX) return ret_i64(env, -EINVAL);
  struct iovec iov[SENDV_MAX];
  for (uint32_t i = 0; i < n; i++) {
    napi_value el;
    if (napi_get_element(env, argv[1], i, &el) != napi_ok) return NULL;
    if (arg_bytes(env, el, &iov[i].iov_base, &iov[i].iov_len)) return NULL;
  }
  struct msghdr m;
  memset(&m, 0, sizeof(m));
  m.msg_iov = iov;
  m.msg_iovlen = n;
  ssize_t r = sendmsg(fd, &m, (int)flags | MSG_DONTWAIT | MSG_NOSIGNAL);
  return ret_i64(env, r < 0 ? -errno : r);
}

enum { IO_READ, IO_WRITE, IO_RECV };

/* readSync/writeSync/recvSync(fd, bytes, offset, length) -> n | -errno:
 * plain read(2)/write(2) without Node's exceptions (EAGAIN is a result
 * here); recv(2) with MSG_DONTWAIT, for a socket libuv reported readable. */
static napi_value io_call(napi_env env, napi_callback_info info, int op) {
  ARGS(4);
  GET_I32(0, fd);
  void *d;
  size_t n;
  if (arg_bytes(env, argv[1], &d, &n)) return NULL;
  GET_U32(2, off);
  GET_U32(3, len);
  if ((size_t)off + len > n) return ret_i64(env, -EINVAL);
  char *p = (char *)d + off;
  ssize_t r = op == IO_READ ? read(fd, p, len) : op == IO_WRITE ? write(fd, p, len) : recv(fd, p, len, MSG_DONTWAIT);
  return ret_i64(env, r < 0 ? -errno : r);
}

static napi_value ReadSync(napi_env env, napi_callback_info info) { return io_call(env, info, IO_READ); }
static napi_value WriteSync(napi_env env, napi_callback_info info) { return io_call(env, info, IO_WRITE); }
static napi_value RecvSync(napi_env env, napi_callback_info info) { return io_call(env, info, IO_RECV); }

static napi_value Close(napi_env env, napi_callback_info info) {
  ARGS(1);
  GET_I32(0, fd);
  return ret_i64(env, close(fd) < 0 ? -errno : 0);
}

static napi_value pair_result(napi_env env, int r, int fds[2]) {
  if (r < 0) return ret_i64(env, -errno);
  napi_value arr;
  NAPI_OK(napi_create_array_with_length(env, 2, &arr));
  napi_set_element(env, arr, 0, ret_i64(env, fds[0]));
  napi_set_element(env, arr, 1, ret_i64(env, fds[1]));
  return arr;
}

/* pipe2(flags) -> [readFd, writeFd] | -errno */
static napi_value Pipe2(napi_env env, napi_callback_info info) {
  ARGS(1);
  GET_I32(0, flags);
  int fds[2];
  return pair_result(env, pipe2(fds, flags), fds);
}

/* socketpair(type) -> [fd0, fd1] | -errno (AF_UNIX) */
static napi_value SocketPair(napi_env env, napi_callback_info info) {
  ARGS(1);
  GET_I32(0, type);
  int fds[2];
  return pair_result(env, socketpair(AF_UNIX, type, 0, fds), fds);
}

static napi_value EventFd(napi_env env, napi_callback_info info) {
  ARGS(2);
  GET_U32(0, initval);
  GET_I32(1, flags);
  int fd = eventfd(initval, flags);
  return ret_i64(env, fd < 0 ? -errno : fd);
}

/* fcntlFlags(fd, set, clear) -> new status flags | -errno (F_GETFL/F_SETFL) */
static napi_value FcntlFlags(napi_env env, napi_callback_info info) {
  ARGS(3);
  GET_I32(0, fd);
  GET_I32(1, set);
  GET_I32(2, clear);
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0) return ret_i64(env, -errno);
  int nfl = (fl | set) & ~clear;
  if (nfl != fl && fcntl(fd, F_SETFL, nfl) < 0) return ret_i64(env, -errno);
  return ret_i64(env, nfl);
}

/* fionread(fd) -> bytes queued for reading | -errno */
static napi_value Fionread(napi_env env, napi_callback_info info) {
  ARGS(1);
  GET_I32(0, fd);
  int n = 0;
  if (ioctl(fd, FIONREAD, &n) < 0) return ret_i64(env, -errno);
  return ret_i64(env, n);
}

static napi_value Dup(napi_env env, napi_callback_info info) {
  ARGS(1);
  GET_I32(0, fd);
  int r = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  return ret_i64(env, r < 0 ? -errno : r);
}

/* fcntlInt(fd, cmd, arg) -> result | -errno: F_SETPIPE_SZ, F_GETPIPE_SZ ... */
static napi_value FcntlInt(napi_env env, napi_callback_info info) {
  ARGS(3);
  GET_I32(0, fd);
  GET_I32(1, cmd);
  GET_I32(2, arg);
  int r = fcntl(fd, cmd, arg);
  return ret_i64(env, r < 0 ? -errno : r);
}

/* tcpListen(sockaddr, backlog) -> listening fd | -errno: socket (CLOEXEC),
 * SO_REUSEADDR, IPV6_V6ONLY for IPv6, bind, listen. The io_uring transport
 * accepts on it with multishot ACCEPT; Node has no way to hand out such an fd. */
static napi_value TcpListen(napi_env env, napi_callback_info info) {
  ARGS(2);
  void *sa; size_t salen;
  if (arg_bytes(env, argv[0], &sa, &salen)) return NULL;
  GET_I32(1, backlog);
  if (salen < sizeof(sa_family_t)) return ret_i64(env, -EINVAL);
  int family = ((struct sockaddr *)sa)->sa_family;
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ret_i64(env, -errno);
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
      (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) ||
      bind(fd, (struct sockaddr *)sa, (socklen_t)salen) < 0 || listen(fd, backlog) < 0) {
    int e = errno;
    close(fd);
    return ret_i64(env, -e);
  }
  return ret_i64(env, fd);
}

/* sockName(fd, peer, out) -> address length | -errno: getpeername/getsockname into out */
static napi_value SockName(napi_env env, napi_callback_info info) {
  ARGS(3);
  GET_I32(0, fd);
  bool peer;
  if (napi_get_value_bool(env, argv[1], &peer) != napi_ok) { napi_throw_type_error(env, NULL, "peer must be a boolean"); return NULL; }
  void *out; size_t outlen;
  if (arg_bytes(env, argv[2], &out, &outlen)) return NULL;
  socklen_t len = (socklen_t)outlen;
  int r = peer ? getpeername(fd, out, &len) : getsockname(fd, out, &len);
  return ret_i64(env, r < 0 ? -errno : (int64_t)len);
}

/* setsockoptInt(fd, level, name, value) -> 0 | -errno (TCP_NODELAY, SO_SNDBUF ...) */
static napi_value SetsockoptInt(napi_env env, napi_callback_info info) {
  ARGS(4);
  GET_I32(0, fd);
  GET_I32(1, level);
  GET_I32(2, name);
  GET_I32(3, value);
  int r = setsockopt(fd, level, name, &value, sizeof value);
  return ret_i64(env, r < 0 ? -errno : 0);
}

/* inotifyInit() -> fd | -errno: non-blocking, close-on-exec; read with readSync. */
static napi_value InotifyInit(napi_env env, napi_callback_info info) {
  (void)info;
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  return ret_i64(env, fd < 0 ? -errno : fd);
}

/* inotifyAddWatch(fd, path, mask) -> watch descriptor | -errno; path NUL-terminated. */
static napi_value InotifyAddWatch(napi_env env, napi_callback_info info) {
  ARGS(3);
  GET_I32(0, fd);
  void *path; size_t pathlen;
  if (arg_bytes(env, argv[1], &path, &pathlen)) return NULL;
  GET_I32(2, mask);
  if (pathlen == 0 || ((const char *)path)[pathlen - 1] != '\0') return ret_i64(env, -EINVAL);
  int wd = inotify_add_watch(fd, path, (uint32_t)mask);
  return ret_i64(env, wd < 0 ? -errno : wd);
}

/* inotifyRmWatch(fd, wd) -> 0 | -errno */
static napi_value InotifyRmWatch(napi_env env, napi_callback_info info) {
  ARGS(2);
  GET_I32(0, fd);
  GET_I32(1, wd);
  return ret_i64(env, inotify_rm_watch(fd, wd) < 0 ? -errno : 0);
}

void sys_init(napi_env env, napi_value exports) {
  export_fn(env, exports, "sysAsync", SysAsync);
  export_fn(env, exports, "sysSync", SysSync);
  export_fn(env, exports, "close", Close);
  export_fn(env, exports, "sendv", Sendv);
  export_fn(env, exports, "recvSync", RecvSync);
  export_fn(env, exports, "readSync", ReadSync);
  export_fn(env, exports, "writeSync", WriteSync);
  export_fn(env, exports, "pipe2", Pipe2);
  export_fn(env, exports, "socketpair", SocketPair);
  export_fn(env, exports, "eventfd", EventFd);
  export_fn(env, exports, "fcntlFlags", FcntlFlags);
  export_fn(env, exports, "fcntlInt", FcntlInt);
  export_fn(env, exports, "fionread", Fionread);
  export_fn(env, exports, "dup", Dup);
  export_fn(env, exports, "tcpListen", TcpListen);
  export_fn(env, exports, "sockName", SockName);
  export_fn(env, exports, "setsockoptInt", SetsockoptInt);
  export_fn(env, exports, "inotifyInit", InotifyInit);
  export_fn(env, exports, "inotifyAddWatch", InotifyAddWatch);
  export_fn(env, exports, "inotifyRmWatch", InotifyRmWatch);
}
