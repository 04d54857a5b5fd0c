/* Waits and signal plumbing for the event backends (src/events/).
 *
 * Thin wrappers only (ARCHITECTURE decision 2): every function returns
 * result | -errno and all policy (which fde runs, rotation, re-validation of
 * batched readiness) lives in TypeScript. Results that are many numbers go
 * into caller-owned Int32Arrays so one native call serves a whole batch
 * (decision 3). */
#include "addon.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>

static struct timespec ns_to_ts(double ns) {
  struct timespec ts;
  ts.tv_sec = (time_t)(ns / 1e9);
  ts.tv_nsec = (long)(ns - (double)ts.tv_sec * 1e9);
  if (ts.tv_nsec < 0) ts.tv_nsec = 0;
  if (ts.tv_nsec > 999999999) ts.tv_nsec = 999999999;
  return ts;
}

/* epollCreate() -> epfd | -errno */
static napi_value EpollCreate(napi_env env, napi_callback_info info) {
  int fd = epoll_create1(EPOLL_CLOEXEC);
  return ret_i64(env, fd < 0 ? -errno : fd);
}

/* epollCtl(epfd, op, fd, events, data) -> 0 | -errno; data is a u32 tag */
static napi_value EpollCtl(napi_env env, napi_callback_info info) {
  ARGS(5);
  GET_I32(0, epfd);
  GET_I32(1, op);
  GET_I32(2, fd);
  GET_U32(3, events);
  GET_U32(4, data);
  struct epoll_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.events = events;
  ev.data.u64 = data;
  return ret_i64(env, epoll_ctl(epfd, op, fd, &ev) < 0 ? -errno : 0);
}

static int have_pwait2 = 1;

/* Output buffers bound to epoll fds: the hot wait then takes numbers only. */
#define EP_MAX_FD 65536
static struct epoll_event *ep_out[EP_MAX_FD];
static uint32_t ep_cap[EP_MAX_FD];
static napi_ref ep_ref[EP_MAX_FD];

/* epollEventSize() -> sizeof(struct epoll_event) (12 on x86-64, 16 elsewhere) */
static napi_value EpollEventSize(napi_env env, napi_callback_info info) {
  return ret_i64(env, (int64_t)sizeof(struct epoll_event));
}

/* epollBindOut(epfd, out | null) -> capacity in events | -errno. The kernel
 * writes struct epoll_event records straight into out: (events u32, data
 * u64) per record; data holds a u32 tag. */
static napi_value EpollBindOut(napi_env env, napi_callback_info info) {
  ARGS(2);
  GET_I32(0, epfd);
  if (epfd < 0 || epfd >= EP_MAX_FD) return ret_i64(env, -EINVAL);
  if (ep_ref[epfd]) {
    napi_delete_reference(env, ep_ref[epfd]);
    ep_ref[epfd] = NULL;
    ep_out[epfd] = NULL;
    ep_cap[epfd] = 0;
  }
  napi_valuetype t;
  NAPI_OK(napi_typeof(env, argv[1], &t));
  if (t == napi_null || t == napi_undefined) return ret_i64(env, 0);
  void *d;
  size_t len;
  if (arg_bytes(env, argv[1], &d, &len)) return NULL;
  NAPI_OK(napi_create_reference(env, argv[1], 1, &ep_ref[epfd]));
  ep_out[epfd] = d;
  ep_cap[epfd] = (uint32_t)(len / sizeof(struct epoll_event));
  return ret_i64(env, ep_cap[epfd]);
}

/* epollWait(epfd, maxevents, timeoutNs) -> n | -errno, into the bound
 * buffer; timeoutNs < 0 waits forever. epoll_pwait2 (5.11) gives an exact
 * timeout; older kernels get epoll_pwait with the timeout rounded up.
 * This wait, ppoll/pollOne and the 1-byte reads and writes below go through
 * syscall(2): glibc's wrappers are thread-cancellation points, which costs
 * two calls per syscall that a Node addon (threads never cancelled) does
 * not need. */
static napi_value EpollWait(napi_env env, napi_callback_info info) {
  ARGS(3);
  GET_I32(0, epfd);
  GET_I32(1, maxevents);
  GET_F64(2, tns);
  if (epfd < 0 || epfd >= EP_MAX_FD || !ep_out[epfd]) return ret_i64(env, -EINVAL);
  if ((uint32_t)maxevents > ep_cap[epfd]) maxevents = (int)ep_cap[epfd];
  if (maxevents < 1) return ret_i64(env, -EINVAL);
  struct epoll_event *evs = ep_out[epfd];
  int n = -1;
  if (have_pwait2 && tns > 0) {
    struct timespec ts = ns_to_ts(tns);
    n = (int)syscall(SYS_epoll_pwait2, epfd, evs, maxevents, &ts, NULL, 0);
    if (n < 0 && errno == ENOSYS) have_pwait2 = 0;
    else if (n < 0) return ret_i64(env, -errno);
  }
  if (n < 0) {
    int ms = tns < 0 ? -1 : (int)((tns + 999999.0) / 1e6);
    n = (int)syscall(SYS_epoll_pwait, epfd, evs, maxevents, ms, NULL, 0);
    if (n < 0) return ret_i64(env, -errno);
  }
  return ret_i64(env, n);
}

/* ppoll(pollfds: Int32Array laid out as struct pollfd {fd, events|revents<<16},
 *       nfds, timeoutNs) -> n | -errno. TypeScript owns the array. */
static napi_value Ppoll(napi_env env, napi_callback_info info) {
  ARGS(3);
  void *d;
  size_t len;
  if (arg_bytes(env, argv[0], &d, &len)) return NULL;
  GET_U32(1, nfds);
  GET_F64(2, tns);
  if ((size_t)nfds * sizeof(struct pollfd) > len) return ret_i64(env, -EINVAL);
  struct timespec ts = ns_to_ts(tns < 0 ? 0 : tns);
  int n = (int)syscall(SYS_ppoll, d, nfds, tns < 0 ? NULL : &ts, NULL, 0);
  return ret_i64(env, n < 0 ? -errno : n);
}

/* pollOne(fd, events) -> revents (0 = not ready) | -errno; never blocks.
 * Re-checks readiness seen before a handler ran (FdSlot.pollNow: queued
 * epoll batch entries, queued io_uring POLL_ADD completions). */
static napi_value PollOne(napi_env env, napi_callback_info info) {
  ARGS(2);
  GET_I32(0, fd);
  GET_I32(1, events);
  struct pollfd p = {.fd = fd, .events = (short)events, .revents = 0};
  struct timespec zero = {0, 0};
  int n = (int)syscall(SYS_ppoll, &p, 1, &zero, NULL, 0);
  if (n < 0) return ret_i64(env, -errno);
  return ret_i64(env, n == 0 ? 0 : (uint16_t)p.revents);
}

/* readByte(fd) -> the byte read (0-255), 256 at end of file, or -errno.
 * The 1-byte read of the pipe-events bench handlers and the events tests,
 * without a buffer argument (readSync in sys.c takes one). */
static napi_value ReadByte(napi_env env, napi_callback_info info) {
  ARGS(1);
  GET_I32(0, fd);
  unsigned char b;
  ssize_t r = syscall(SYS_read, fd, &b, 1);
  if (r < 0) return ret_i64(env, -errno);
  return ret_i64(env, r == 0 ? 256 : b);
}

/* writeByte(fd, byte) -> 1 | -errno */
static napi_value WriteByte(napi_env env, napi_callback_info info) {
  ARGS(2);
  GET_I32(0, fd);
  GET_I32(1, v);
  unsigned char b = (unsigned char)v;
  ssize_t r = syscall(SYS_write, fd, &b, 1);
  return ret_i64(env, r < 0 ? -errno : r);
}

/* ---- timers: an absolute CLOCK_MONOTONIC timerfd in the epoll set lets
 * the backend wait with epoll_wait(-1), the cheapest wait, and still wake
 * exactly at the next timer's due time. ---- */

/* timerfdCreate() -> fd | -errno (CLOCK_MONOTONIC, non-blocking) */
static napi_value TimerfdCreate(napi_env env, napi_callback_info info) {
  int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  return ret_i64(env, fd < 0 ? -errno : fd);
}

/* timerfdArm(fd, absNs) -> 0 | -errno; absNs is CLOCK_MONOTONIC, 0 disarms */
static napi_value TimerfdArm(napi_env env, napi_callback_info info) {
  ARGS(2);
  GET_I32(0, fd);
  GET_F64(1, ns);
  struct itimerspec its;
  memset(&its, 0, sizeof(its));
  if (ns > 0) {
    its.it_value = ns_to_ts(ns);
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) its.it_value.tv_nsec = 1;
  }
  int r = timerfd_settime(fd, ns > 0 ? TFD_TIMER_ABSTIME : 0, &its, NULL);
  return ret_i64(env, r < 0 ? -errno : 0);
}

/* monotonicNs() -> CLOCK_MONOTONIC in ns (a double: exact to ~0.1 us for years) */
static napi_value MonotonicNs(napi_env env, napi_callback_info info) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ret_f64(env, (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec);
}

/* ---- signals: tevent's model, a handler that only records and wakes ----
 *
 * Shared words (Int32Array over static memory):
 *   [0]                    total deliveries (any signal)
 *   [1 + s]                deliveries of signal s (s < 65)
 *   [SIG_INFO + (s*Q + k)*4 .. +3]  siginfo of delivery k mod Q of signal s:
 *                          si_code, si_pid, si_uid, si_value.sival_int
 * The handler fills the slot before bumping the counters; a signal does not
 * interrupt its own handler (no SA_NODEFER), so one writer per signal. */
#define SIG_MAX 65
#define SIG_Q 64
#define SIG_INFO (1 + SIG_MAX)
#define SIG_WORDS (SIG_INFO + SIG_MAX * SIG_Q * 4)
static int32_t sig_words[SIG_WORDS];
static int sig_pipe[2] = {-1, -1};
static struct sigaction sig_old[SIG_MAX];
static unsigned char sig_installed[SIG_MAX];

static void sig_handler(int signo, siginfo_t *si, void *uc) {
  int saved = errno;
  if (signo > 0 && signo < SIG_MAX) {
    int32_t k = __atomic_load_n(&sig_words[1 + signo], __ATOMIC_RELAXED);
    int32_t *slot = &sig_words[SIG_INFO + (signo * SIG_Q + ((uint32_t)k % SIG_Q)) * 4];
    slot[0] = si ? si->si_code : 0;
    slot[1] = si ? si->si_pid : 0;
    slot[2] = si ? (int32_t)si->si_uid : 0;
    slot[3] = si ? si->si_value.sival_int : 0;
    __atomic_store_n(&sig_words[1 + signo], k + 1, __ATOMIC_RELEASE);
    __atomic_fetch_add(&sig_words[0], 1, __ATOMIC_RELEASE);
  }
  if (sig_pipe[1] >= 0) {
    char c = 0;
    ssize_t r = write(sig_pipe[1], &c, 1); /* full pipe: already woken */
    (void)r;
  }
  errno = saved;
}

/* signalInit() -> { words: ArrayBuffer, fd: wake pipe read end } | -errno */
static napi_value SignalInit(napi_env env, napi_callback_info info) {
  if (sig_pipe[0] < 0 && pipe2(sig_pipe, O_NONBLOCK | O_CLOEXEC) < 0) return ret_i64(env, -errno);
  napi_value ab, obj;
  /* A copy-free view of the static words; external array buffers are fine
   * in Node 20 (no V8 sandbox). */
  if (napi_create_external_arraybuffer(env, sig_words, sizeof(sig_words), NULL, NULL, &ab) != napi_ok) {
    napi_throw_error(env, "ERR_RINGSMB_NATIVE", "cannot wrap signal words");
    return NULL;
  }
  NAPI_OK(napi_create_object(env, &obj));
  napi_set_named_property(env, obj, "words", ab);
  napi_set_named_property(env, obj, "fd", ret_i64(env, sig_pipe[0]));
  return obj;
}

/* signalAction(signo, install, saFlags) -> 0 | -errno. install=1 sets our
 * recording handler (SA_SIGINFO | saFlags, saving the old action);
 * install=0 restores the saved action. SA_RESETHAND is honoured by the
 * kernel only when passed; the TS layer decides whether to pass it. */
static napi_value SignalAction(napi_env env, napi_callback_info info) {
  ARGS(3);
  GET_I32(0, signo);
  GET_I32(1, install);
  GET_I32(2, flags);
  if (signo <= 0 || signo >= SIG_MAX || signo == SIGKILL || signo == SIGSTOP) return ret_i64(env, -EINVAL);
  if (install) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = sig_handler;
    sa.sa_flags = SA_SIGINFO | (flags & ~SA_SIGINFO);
    sigemptyset(&sa.sa_mask);
    struct sigaction *old = sig_installed[signo] ? NULL : &sig_old[signo];
    if (sigaction(signo, &sa, old) < 0) return ret_i64(env, -errno);
    sig_installed[signo] = 1;
    return ret_i64(env, 0);
  }
  if (!sig_installed[signo]) return ret_i64(env, 0);
  if (sigaction(signo, &sig_old[signo], NULL) < 0) return ret_i64(env, -errno);
  sig_installed[signo] = 0;
  return ret_i64(env, 0);
}

void events_init(napi_env env, napi_value exports) {
  export_fn(env, exports, "epollCreate", EpollCreate);
  export_fn(env, exports, "epollCtl", EpollCtl);
  export_fn(env, exports, "epollWait", EpollWait);
  export_fn(env, exports, "epollBindOut", EpollBindOut);
  export_fn(env, exports, "epollEventSize", EpollEventSize);
  export_fn(env, exports, "ppoll", Ppoll);
  export_fn(env, exports, "pollOne", PollOne);
  export_fn(env, exports, "readByte", ReadByte);
  export_fn(env, exports, "writeByte", WriteByte);
  export_fn(env, exports, "signalInit", SignalInit);
  export_fn(env, exports, "timerfdCreate", TimerfdCreate);
  export_fn(env, exports, "timerfdArm", TimerfdArm);
  export_fn(env, exports, "monotonicNs", MonotonicNs);
  export_fn(env, exports, "signalAction", SignalAction);
}
