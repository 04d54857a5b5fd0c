/* floor.c - what the kernel alone costs to move file data over loopback TCP,
 * the two ways an SMB server can do it, with nothing of SMB around it.
 *
 *   floor MODE FILE BYTES CHUNK
 *
 *   send-copy    pread(file -> buffer), write(buffer -> socket)      smbd's READ
 *   send-splice  splice(file -> pipe), splice(pipe -> socket)        ringsmb's unsigned READ
 *   recv-copy    read(socket -> buffer) until CHUNK, pwrite(-> file) smbd's WRITE
 *   recv-splice  splice(socket -> pipe), splice(pipe -> file)        ringsmb's unsigned WRITE
 *
 * This process is the server; a forked child is the client on 127.0.0.1:
 * for send-* it reads into a 1 MiB buffer and drops the bytes (smbclient's
 * get to /dev/null), for recv-* it writes BYTES from a 1 MiB buffer (put).
 * FILE is read for send-* and created (then removed) for recv-*. CHUNK is
 * the unit of one pread/pwrite or one pipe-full (an SMB READ/WRITE of 8 MiB).
 * Plain blocking syscalls, one thread: no io-wq hand-off, no event loop, no
 * protocol, so this is a floor for either design, not a model of a server.
 *
 * Prints one line: mode=M bytes=N secs=WALL cpu=SERVER_CPU_SECONDS
 * where cpu is this process's user+system time (getrusage) from accept to
 * the last byte: on loopback the sender also runs the receiver's TCP
 * processing (softirq in its own context), as the servers do.
 *
 * Built and run by bench/tcp-floor/run.ts; uses only libc and Linux headers.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PEER_BUF (1 << 20)

static void die(const char *what) {
  fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
  exit(2);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static double cpu(void) {
  struct rusage r;
  getrusage(RUSAGE_SELF, &r);
  return r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6 + r.ru_stime.tv_sec + r.ru_stime.tv_usec / 1e6;
}

/* A buffer touched once, as a server's pooled buffer is. */
static char *buffer(size_t n) {
  char *b = malloc(n);
  if (!b) die("malloc");
  memset(b, 0x5a, n);
  return b;
}

static void write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("write");
    }
    p += w;
    n -= (size_t)w;
  }
}

static void peer(int port, int sending, long long bytes) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
  char *b = buffer(PEER_BUF);
  if (sending) {
    for (long long left = bytes; left > 0;) {
      size_t n = left < PEER_BUF ? (size_t)left : PEER_BUF;
      write_all(s, b, n);
      left -= (long long)n;
    }
  } else {
    for (;;) {
      ssize_t r = read(s, b, PEER_BUF);
      if (r == 0) break;
      if (r < 0 && errno != EINTR) die("peer read");
    }
  }
  close(s);
  _exit(0);
}

/* A pipe of one CHUNK where allowed (root may exceed pipe-max-size), else 1 MiB, else the default. */
static size_t make_pipe(int p[2], size_t chunk) {
  if (pipe2(p, O_CLOEXEC) < 0) die("pipe2");
  int got = fcntl(p[1], F_SETPIPE_SZ, (int)chunk);
  if (got < 0) got = fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
  if (got < 0) got = fcntl(p[1], F_GETPIPE_SZ);
  return (size_t)got;
}

/* Moves everything in the pipe to `out` (at *off when off is not NULL). */
static void drain(int pr, int out, loff_t *off, size_t n) {
  while (n > 0) {
    ssize_t w = splice(pr, NULL, out, off, n, SPLICE_F_MOVE | SPLICE_F_MORE);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("splice from pipe");
    }
    n -= (size_t)w;
  }
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: floor send-copy|send-splice|recv-copy|recv-splice FILE BYTES CHUNK\n");
    return 2;
  }
  const char *mode = argv[1], *path = argv[2];
  long long bytes = atoll(argv[3]);
  size_t chunk = (size_t)atoll(argv[4]);
  int sending = strncmp(mode, "send-", 5) == 0, spliced = strstr(mode, "splice") != NULL;
  if (bytes <= 0 || chunk == 0 || (!sending && strncmp(mode, "recv-", 5) != 0)) {
    fprintf(stderr, "floor: bad arguments\n");
    return 2;
  }

  int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 1) < 0 || getsockname(l, (struct sockaddr *)&a, &al) < 0) die("listen");
  int file = sending ? open(path, O_RDONLY | O_CLOEXEC) : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (file < 0) die(path);
  char *b = spliced ? NULL : buffer(chunk);
  int p[2] = {-1, -1};
  size_t psz = spliced ? make_pipe(p, chunk) : 0;

  pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) peer(ntohs(a.sin_port), !sending, bytes);
  int s = accept(l, NULL, NULL);
  if (s < 0) die("accept");

  double t0 = now(), c0 = cpu();
  loff_t off = 0;
  if (sending) {
    while (off < bytes) {
      size_t want = (size_t)(bytes - off) < chunk ? (size_t)(bytes - off) : chunk;
      if (spliced) {
        /* one pipe-full at a time, as the server's linked SPLICE pair per pipe-full */
        size_t n = want < psz ? want : psz;
        ssize_t r = splice(file, &off, p[1], NULL, n, SPLICE_F_MOVE | SPLICE_F_MORE);
        if (r <= 0) die("splice file -> pipe");
        drain(p[0], s, NULL, (size_t)r);
      } else {
        ssize_t r = pread(file, b, want, off);
        if (r <= 0) die("pread");
        write_all(s, b, (size_t)r);
        off += r;
      }
    }
    shutdown(s, SHUT_WR);
  } else {
    while (off < bytes) {
      size_t want = (size_t)(bytes - off) < chunk ? (size_t)(bytes - off) : chunk;
      if (spliced) {
        size_t n = want < psz ? want : psz;
        ssize_t r = splice(s, NULL, p[1], NULL, n, SPLICE_F_MOVE | SPLICE_F_MORE);
        if (r <= 0) die("splice socket -> pipe");
        drain(p[0], file, &off, (size_t)r);
      } else {
        size_t got = 0;
        while (got < want) {
          ssize_t r = read(s, b + got, want - got);
          if (r <= 0) die("read socket");
          got += (size_t)r;
        }
        for (size_t done = 0; done < got;) {
          ssize_t w = pwrite(file, b + done, got - done, off + (loff_t)done);
          if (w < 0) die("pwrite");
          done += (size_t)w;
        }
        off += (loff_t)got;
      }
    }
  }
  double c1 = cpu();
  int st;
  if (waitpid(child, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "floor: peer failed\n");
    return 2;
  }
  double t1 = now();
  if (!sending) unlink(path);
  printf("mode=%s bytes=%lld secs=%.4f cpu=%.4f\n", mode, (long long)off, t1 - t0, c1 - c0);
  return 0;
}
