/* c_loop: the raw-syscall reference for bench/uring-ops (no liburing).
 * usage: c_loop nop|read <batch> <ops> <setup-flags> <entries> <cq-entries> [file]
 * Submits <batch> SQEs per io_uring_enter (GETEVENTS, min_complete = batch),
 * reaps them, repeats until <ops>; prints "ops=<n> ns=<elapsed>". */
#define _GNU_SOURCE
#include <linux/io_uring.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int setup(unsigned entries, struct io_uring_params *p) {
  return (int)syscall(__NR_io_uring_setup, entries, p);
}
static int enter(int fd, unsigned submit, unsigned min, unsigned flags) {
  return (int)syscall(__NR_io_uring_enter, fd, submit, min, flags, NULL, 0);
}

int main(int argc, char **argv) {
  if (argc < 7) { fprintf(stderr, "usage: c_loop nop|read batch ops flags entries cq [file]\n"); return 2; }
  int isread = strcmp(argv[1], "read") == 0;
  unsigned batch = (unsigned)atoi(argv[2]);
  long total = atol(argv[3]);
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  p.flags = (unsigned)strtoul(argv[4], NULL, 0) | IORING_SETUP_CQSIZE;
  p.cq_entries = (unsigned)atoi(argv[6]);
  int fd = setup((unsigned)atoi(argv[5]), &p);
  if (fd < 0) { perror("io_uring_setup"); return 1; }
  size_t sqlen = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  size_t cqlen = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  if (p.features & IORING_FEAT_SINGLE_MMAP) { if (cqlen > sqlen) sqlen = cqlen; cqlen = sqlen; }
  char *sq = mmap(0, sqlen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
  char *cq = (p.features & IORING_FEAT_SINGLE_MMAP) ? sq
           : mmap(0, cqlen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
  struct io_uring_sqe *sqes = mmap(0, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
                                   MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
  if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) { perror("mmap"); return 1; }
  unsigned *sqtail = (unsigned *)(sq + p.sq_off.tail);
  unsigned sqmask = *(unsigned *)(sq + p.sq_off.ring_mask);
  unsigned *sqarray = (unsigned *)(sq + p.sq_off.array);
  for (unsigned i = 0; i < p.sq_entries; i++) sqarray[i] = i;
  unsigned *cqhead = (unsigned *)(cq + p.cq_off.head);
  unsigned *cqtail = (unsigned *)(cq + p.cq_off.tail);
  unsigned cqmask = *(unsigned *)(cq + p.cq_off.ring_mask);
  struct io_uring_cqe *cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);

  int file = -1;
  static char buf[4096] __attribute__((aligned(4096)));
  if (isread) {
    file = open(argv[7], O_RDONLY);
    if (file < 0) { perror("open"); return 1; }
  }
  unsigned tail = *sqtail;
  long done = 0, errors = 0;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  while (done < total) {
    for (unsigned i = 0; i < batch; i++) {
      struct io_uring_sqe *s = &sqes[tail & sqmask];
      memset(s, 0, sizeof *s);
      if (isread) {
        s->opcode = IORING_OP_READ;
        s->fd = file;
        s->addr = (unsigned long)buf;
        s->len = 4096;
        s->off = (unsigned long long)((done + i) % 256) * 4096;
      } else {
        s->opcode = IORING_OP_NOP;
      }
      s->user_data = i;
      tail++;
    }
    __atomic_store_n(sqtail, tail, __ATOMIC_RELEASE);
    int r = enter(fd, batch, batch, IORING_ENTER_GETEVENTS);
    if (r < 0) { perror("io_uring_enter"); return 1; }
    unsigned got = 0;
    while (got < batch) {
      unsigned head = *cqhead;
      unsigned t = __atomic_load_n(cqtail, __ATOMIC_ACQUIRE);
      for (; head != t; head++, got++) if (cqes[head & cqmask].res < 0) errors++;
      __atomic_store_n(cqhead, head, __ATOMIC_RELEASE);
      if (got < batch) enter(fd, 0, batch - got, IORING_ENTER_GETEVENTS);
    }
    done += batch;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long long ns = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
  printf("ops=%ld ns=%lld errors=%ld\n", done, ns, errors);
  return errors ? 1 : 0;
}
