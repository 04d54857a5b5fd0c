/* io_uring ring setup, enter and register: nothing else.
 *
 * The SQ ring, CQ ring and SQE array are mapped and handed to JavaScript as
 * ArrayBuffers over the mapped memory, so SQEs are written and CQEs read
 * from TypeScript with no native call per op (ARCHITECTURE decision 3).
 * The mappings are released by the ArrayBuffers' finalizers, never while
 * JavaScript can still touch them: closing the ring fd only ends the ring. */
#include "addon.h"
#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <string.h>
#include <stdlib.h>
#include <signal.h>
#include <grp.h>
#include <time.h>

#ifndef IORING_FEAT_SINGLE_MMAP
#define IORING_FEAT_SINGLE_MMAP (1U << 0)
#endif
#ifndef IORING_SETUP_CQE32
#define IORING_SETUP_CQE32 (1U << 11)
#endif
#ifndef IORING_SETUP_SQE128
#define IORING_SETUP_SQE128 (1U << 10)
#endif

typedef struct {
  void *ptr;
  size_t len;
} mapping_t;

static void unmap_finalize(napi_env env, void *data, void *hint) {
  mapping_t *m = hint;
  munmap(m->ptr, m->len);
  free(m);
}

static napi_value external_ab(napi_env env, void *ptr, size_t len, int own) {
  napi_value ab;
  mapping_t *m = NULL;
  if (own) {
    m = malloc(sizeof(*m));
    if (!m) return NULL;
    m->ptr = ptr;
    m->len = len;
  }
  if (napi_create_external_arraybuffer(env, ptr, len, own ? unmap_finalize : NULL, m, &ab) != napi_ok) {
    free(m);
    return NULL;
  }
  return ab;
}

static void set_u32(napi_env env, napi_value obj, const char *k, uint32_t v) {
  napi_value n;
  napi_create_uint32(env, v, &n);
  napi_set_named_property(env, obj, k, n);
}

/* ringSetup(entries, flags, cqEntries, wqFd) -> object | -errno */
static napi_value RingSetup(napi_env env, napi_callback_info info) {
  ARGS(4);
  GET_U32(0, entries);
  GET_U32(1, flags);
  GET_U32(2, cq_entries);
  GET_I32(3, wq_fd);
  struct io_uring_params p;
  memset(&p, 0, sizeof(p));
  p.flags = flags;
  if (cq_entries) {
    p.flags |= IORING_SETUP_CQSIZE;
    p.cq_entries = cq_entries;
  }
  if (wq_fd >= 0) {
    p.flags |= IORING_SETUP_ATTACH_WQ;
    p.wq_fd = (uint32_t)wq_fd;
  }
  int fd = (int)syscall(__NR_io_uring_setup, entries, &p);
  if (fd < 0) return ret_i64(env, -errno);

  size_t cqe_size = (p.flags & IORING_SETUP_CQE32) ? 32 : 16;
  size_t sqe_size = (p.flags & IORING_SETUP_SQE128) ? 128 : 64;
  size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(uint32_t);
  size_t cq_len = p.cq_off.cqes + p.cq_entries * cqe_size;
  int single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
  if (single) {
    if (cq_len > sq_len) sq_len = cq_len;
    cq_len = sq_len;
  }
  void *sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
  if (sq == MAP_FAILED) {
    int e = errno;
    close(fd);
    return ret_i64(env, -e);
  }
  void *cq = sq;
  if (!single) {
    cq = mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
    if (cq == MAP_FAILED) {
      int e = errno;
      munmap(sq, sq_len);
      close(fd);
      return ret_i64(env, -e);
    }
  }
  size_t sqes_len = p.sq_entries * sqe_size;
  void *sqes = mmap(NULL, sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
  if (sqes == MAP_FAILED) {
    int e = errno;
    munmap(sq, sq_len);
    if (!single) munmap(cq, cq_len);
    close(fd);
    return ret_i64(env, -e);
  }

  napi_value obj, off;
  NAPI_OK(napi_create_object(env, &obj));
  set_u32(env, obj, "fd", (uint32_t)fd);
  set_u32(env, obj, "flags", p.flags);
  set_u32(env, obj, "features", p.features);
  set_u32(env, obj, "sqEntries", p.sq_entries);
  set_u32(env, obj, "cqEntries", p.cq_entries);
  set_u32(env, obj, "sqeSize", (uint32_t)sqe_size);
  set_u32(env, obj, "cqeSize", (uint32_t)cqe_size);
  napi_value sq_ab = external_ab(env, sq, sq_len, 1);
  napi_value cq_ab = single ? sq_ab : external_ab(env, cq, cq_len, 1);
  napi_value sqes_ab = external_ab(env, sqes, sqes_len, 1);
  if (!sq_ab || !cq_ab || !sqes_ab) {
    napi_throw_error(env, "ERR_RINGSMB_NATIVE", "cannot wrap ring memory");
    return NULL;
  }
  napi_set_named_property(env, obj, "sqRing", sq_ab);
  napi_set_named_property(env, obj, "cqRing", cq_ab);
  napi_set_named_property(env, obj, "sqes", sqes_ab);

  NAPI_OK(napi_create_object(env, &off));
  set_u32(env, off, "head", p.sq_off.head);
  set_u32(env, off, "tail", p.sq_off.tail);
  set_u32(env, off, "ringMask", p.sq_off.ring_mask);
  set_u32(env, off, "ringEntries", p.sq_off.ring_entries);
  set_u32(env, off, "flags", p.sq_off.flags);
  set_u32(env, off, "dropped", p.sq_off.dropped);
  set_u32(env, off, "array", p.sq_off.array);
  napi_set_named_property(env, obj, "sqOff", off);
  NAPI_OK(napi_create_object(env, &off));
  set_u32(env, off, "head", p.cq_off.head);
  set_u32(env, off, "tail", p.cq_off.tail);
  set_u32(env, off, "ringMask", p.cq_off.ring_mask);
  set_u32(env, off, "ringEntries", p.cq_off.ring_entries);
  set_u32(env, off, "overflow", p.cq_off.overflow);
  set_u32(env, off, "cqes", p.cq_off.cqes);
  set_u32(env, off, "flags", p.cq_off.flags);
  napi_set_named_property(env, obj, "cqOff", off);
  return obj;
}

/* ringEnter(fd, toSubmit, minComplete, flags, timeoutNs) -> result | -errno
 * timeoutNs < 0 waits without a timeout. With a timeout the kernel's own
 * EXT_ARG timespec is used: one wait of exactly that length (liburing's
 * submit_and_wait_timeout waited twice as long on some paths, seed 003 §9a). */
static napi_value RingEnter(napi_env env, napi_callback_info info) {
  ARGS(5);
  GET_I32(0, fd);
  GET_U32(1, to_submit);
  GET_U32(2, min_complete);
  GET_U32(3, flags);
  GET_F64(4, timeout_ns);
  long r;
  if (timeout_ns >= 0) {
    struct __kernel_timespec ts;
    ts.tv_sec = (long long)(timeout_ns / 1e9);
    ts.tv_nsec = (long long)(timeout_ns - (double)ts.tv_sec * 1e9);
    struct io_uring_getevents_arg arg;
    memset(&arg, 0, sizeof(arg));
    arg.sigmask = 0;
    arg.sigmask_sz = _NSIG / 8;
    arg.ts = (uint64_t)(uintptr_t)&ts;
    r = syscall(__NR_io_uring_enter, fd, to_submit, min_complete,
                flags | IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof(arg));
  } else {
    r = syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags, NULL, _NSIG / 8);
  }
  return ret_i64(env, r < 0 ? -errno : r);
}

/* ringRegister(fd, opcode, arg: bytes | null, nrArgs) -> result | -errno
 * The argument structures (probe, iovecs, buf_reg, eventfd, sync cancel...)
 * are laid out by TypeScript in the given bytes. */
static napi_value RingRegister(napi_env env, napi_callback_info info) {
  ARGS(4);
  GET_I32(0, fd);
  GET_U32(1, opcode);
  GET_U32(3, nr);
  void *data = NULL;
  size_t len = 0;
  napi_valuetype t;
  NAPI_OK(napi_typeof(env, argv[2], &t));
  if (t != napi_null && t != napi_undefined) {
    if (arg_bytes(env, argv[2], &data, &len)) return NULL;
  }
  long r = syscall(__NR_io_uring_register, fd, opcode, data, nr);
  return ret_i64(env, r < 0 ? -errno : r);
}

/* ringRegisterPersonalityAs(fd, uid, gid, groups: Uint32Array) -> id | -errno
 * Switches this thread's effective credentials with raw syscalls (which,
 * unlike the libc wrappers, touch only the calling thread), registers them,
 * and switches back. Needs root. */
static napi_value RingRegisterPersonalityAs(napi_env env, napi_callback_info info) {
  ARGS(4);
  GET_I32(0, fd);
  GET_U32(1, uid);
  GET_U32(2, gid);
  void *gdata = NULL;
  size_t glen = 0;
  if (arg_bytes(env, argv[3], &gdata, &glen)) return NULL;
  size_t ngroups = glen / sizeof(gid_t);

  uid_t ruid, euid, suid;
  gid_t rgid, egid, sgid;
  if (getresuid(&ruid, &euid, &suid) || getresgid(&rgid, &egid, &sgid)) return ret_i64(env, -errno);
  if (euid != 0) return ret_i64(env, -EPERM);
  int nold = getgroups(0, NULL);
  if (nold < 0) return ret_i64(env, -errno);
  gid_t *old = calloc((size_t)nold + 1, sizeof(gid_t));
  if (!old) return ret_i64(env, -ENOMEM);
  nold = getgroups(nold, old);

  long r = -1;
  int err = 0;
  if (syscall(SYS_setgroups, ngroups, gdata) != 0) { err = errno; goto out; }
  if (syscall(SYS_setresgid, -1, gid, -1) != 0) { err = errno; goto restore_groups; }
  if (syscall(SYS_setresuid, -1, uid, -1) != 0) { err = errno; goto restore_gid; }
  r = syscall(__NR_io_uring_register, fd, IORING_REGISTER_PERSONALITY, NULL, 0);
  if (r < 0) err = errno;
  syscall(SYS_setresuid, -1, euid, -1);
restore_gid:
  syscall(SYS_setresgid, -1, egid, -1);
restore_groups:
  syscall(SYS_setgroups, nold < 0 ? 0 : nold, old);
out:
  free(old);
  return ret_i64(env, err ? -err : r);
}

void ring_init(napi_env env, napi_value exports) {
  export_fn(env, exports, "ringSetup", RingSetup);
  export_fn(env, exports, "ringEnter", RingEnter);
  export_fn(env, exports, "ringRegister", RingRegister);
  export_fn(env, exports, "ringRegisterPersonalityAs", RingRegisterPersonalityAs);
}
