/**
 * The ring: one io_uring instance, driven from TypeScript.
 *
 * SQEs are written into the mapped SQE array and CQEs read from the mapped
 * CQ; the only native calls are io_uring_enter (one per batch) and the
 * register calls. Submissions that do not fit the SQ wait in a user-space
 * FIFO and drain in order. Completions are harvested in batches, either by
 * the caller (wait/reap: the event context's own loop) or, once attached,
 * from Node's loop (the ring fd watched by libuv; one JS call per batch).
 */
import { requireNative, type NativeBinding, type WatchHandle } from '../native.js';
import { SystemError, check } from '../util/errors.js';
import { CANCEL, CQE, ENTER, FEAT, OP, REGISTER, SETUP, SQE, type OpName } from './constants.js';
import { EVENTFD_FLAG_CHOICES, FLAG_CHOICES, probeOps, uringAvailability, type RingFeatures } from './features.js';
import { Arena } from './memory.js';
import { Op, encodeUserData, type OpCallback, type Submission } from './op.js';
import { SqeWriter } from './sqe.js';
import { clear, microtask } from '../util/hot.js';

export interface RingOptions {
  /** SQ size (rounded up to a power of two by the kernel); default 256 */
  entries?: number;
  /** CQ size; default 4 x entries */
  cqEntries?: number;
  /** setup flags; default: the best set this kernel accepts */
  flags?: number;
  /** harvest completions from Node's loop; default false */
  attach?: boolean;
  /**
   * How the owner learns of completions: 'enter' (it sleeps in io_uring_enter,
   * the standalone driver) or 'eventfd' (Node's loop watches the ring's
   * registered eventfd: the attached driver, attach()). Default: 'eventfd'
   * when attach is set, else 'enter'. Decides whether DEFER_TASKRUN is used,
   * see EVENTFD_FLAG_CHOICES.
   */
  wakeups?: 'enter' | 'eventfd';
}

/**
 * A placed chain whose members all are quiet but the last (Op.quiet,
 * IOSQE_CQE_SKIP_SUCCESS): who is where, so that completions the kernel
 * does not post can be told. Whatever CQE of the chain arrives, the members
 * before it posted none, so they succeeded. If it is not the last member's,
 * that member failed, and the kernel cancels the rest without posting their
 * CQEs (REQ_F_SKIP_LINK_CQES): they are completed here with ECANCELED.
 * (With a loud member in the middle, a quiet member's ECANCELED could mean
 * either case; such chains are placed without the flag.)
 */
class QuietChain {
  constructor(readonly subs: Submission[], readonly slots: number[], readonly gens: number[]) {}
}

/** A linked chain waiting for SQ room: placed whole or not at all. */
class Chain {
  constructor(readonly subs: Submission[], readonly hard: boolean) {}
}
type Queued = Submission | Chain;

const BATCH = 256;
/** the flag set this kernel accepted, per wake-up mode (probed once each) */
const chosenFlags = new Map<'enter' | 'eventfd', number>();
/** Buffers of ops abandoned at close; kept so the kernel never writes freed memory. */
const graveyard = new Set<unknown>();

export class Ring {
  readonly fd: number;
  readonly features: RingFeatures;
  readonly arena = new Arena();
  /** called with errors thrown by completion callbacks; default rethrows after the batch */
  onError: ((err: unknown) => void) | null = null;

  private readonly n: NativeBinding;
  private readonly sqe: SqeWriter;
  private readonly sqU32: Uint32Array;
  private readonly cqU32: Uint32Array;
  private readonly cqI32: Int32Array;
  private readonly sqHead: number;
  private readonly sqTailIdx: number;
  private readonly sqMask: number;
  private readonly sqEntries: number;
  private readonly cqHeadIdx: number;
  private readonly cqTailIdx: number;
  private readonly cqMask: number;
  private readonly cqesWord: number;
  private readonly cqeWords: number;
  private readonly deferTaskrun: boolean;
  private sqTail = 0;
  private cqHead: number;
  private slots: (Submission | undefined)[] = [];
  /** Per slot: the chain it belongs to, where that chain has quiet members (see Op.quiet). */
  private chainOf: (QuietChain | undefined)[] = [];
  private readonly skipCqe: boolean;
  private gens = new Uint32Array(0);
  private freeSlots: number[] = [];
  private queue: Queued[] = [];
  private queueHead = 0;
  private readonly batch = new Int32Array(BATCH * 4);
  private reaping = false;
  private closed = false;
  private watch: WatchHandle | null = null;
  private watchRef = false;
  private eventfd = -1;
  private readonly efdBuf = Buffer.alloc(8);
  private readonly cancelReg = Buffer.alloc(64);
  private flushScheduled = false;
  /**
   * Set by the owner that drives this ring (an EventContext): called when
   * an op is queued, so that ops submitted outside the owner's loop (from a
   * promise continuation, say) reach the kernel without waiting for
   * unrelated activity. The owner coalesces the calls.
   */
  ownerKick: (() => void) | null = null;
  private lazyFlush: NodeJS.Immediate | null = null;
  /** an SQE queued by submit()/submitLinked() has not been through an enter yet */
  private urgent = false;
  /** CQEs taken from the CQ since the ring was made */
  private cqSeq = 0;
  /** sequence number (see postedCqes()) of the CQE being dispatched */
  private dispatching = 0;
  private readonly lazyFlushTask = (): void => {
    this.lazyFlush = null;
    if (this.closed || (this.unsubmitted() === 0 && this.queued === 0)) return;
    // Their time is up: from now on they are as due as any submit()'s.
    this.urgent = true;
    this.scheduleFlush();
  };
  private readonly flushTask = (): void => {
    this.flushScheduled = false;
    if (!this.closed) this.flush();
  };
  /** ops submitted and not finally completed */
  inflight = 0;
  /** CQEs whose user_data named no live submission (should stay 0) */
  stale = 0;

  static open(opts: RingOptions = {}): Ring {
    const avail = uringAvailability();
    if (!avail.available) throw new SystemError('io_uring_setup', 38 /* ENOSYS */, avail.reason ?? undefined);
    return new Ring(opts);
  }

  private constructor(opts: RingOptions) {
    const n = (this.n = requireNative());
    const entries = opts.entries ?? 256;
    if (!Number.isInteger(entries) || entries < 1 || entries > 32768) throw new RangeError('entries must be an integer from 1 to 32768');
    const cqEntries = opts.cqEntries ?? entries * 4;
    if (!Number.isInteger(cqEntries) || cqEntries < entries || cqEntries > 65536 * 8) throw new RangeError('cqEntries must be an integer >= entries');
    const r = setup(n, entries, cqEntries, opts.flags, opts.wakeups ?? (opts.attach ? 'eventfd' : 'enter'));
    this.fd = r.fd;
    this.sqU32 = new Uint32Array(r.sqRing);
    this.cqU32 = new Uint32Array(r.cqRing);
    this.cqI32 = new Int32Array(r.cqRing);
    this.sqHead = r.sqOff.head >>> 2;
    this.sqTailIdx = r.sqOff.tail >>> 2;
    this.sqMask = this.sqU32[r.sqOff.ringMask >>> 2]!;
    this.sqEntries = r.sqEntries;
    this.cqHeadIdx = r.cqOff.head >>> 2;
    this.cqTailIdx = r.cqOff.tail >>> 2;
    this.cqMask = this.cqU32[r.cqOff.ringMask >>> 2]!;
    this.cqesWord = r.cqOff.cqes >>> 2;
    this.cqeWords = r.cqeSize >>> 2;
    // Identity SQ array, written once: SQE i is always slot i.
    const arr = r.sqOff.array >>> 2;
    for (let i = 0; i < r.sqEntries; i++) this.sqU32[arr + i] = i;
    this.sqTail = this.sqU32[this.sqTailIdx]!;
    this.cqHead = this.cqU32[this.cqHeadIdx]!;
    this.sqe = new SqeWriter(new Uint32Array(r.sqes), r.sqeSize >>> 2);
    this.deferTaskrun = (r.flags & SETUP.DEFER_TASKRUN) !== 0;
    this.skipCqe = (r.features & FEAT.CQE_SKIP) !== 0;
    this.features = { ops: probeOps(r.fd), featureBits: r.features, setupFlags: r.flags, sqEntries: r.sqEntries, cqEntries: r.cqEntries };
    this.growSlots(1024);
    if (opts.attach) this.attach();
  }

  supports(op: OpName | number): boolean {
    return this.features.ops.has(typeof op === 'number' ? op : OP[op]);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Submissions waiting in user space because the SQ was full. */
  get queued(): number {
    return this.queue.length - this.queueHead;
  }

  /** Queues one submission. It reaches the kernel on the next flush/wait. */
  submit(sub: Submission): void {
    this.enqueue(sub);
    this.urgent = true;
    this.scheduleFlush();
  }

  /**
   * Queues one submission without a flush of its own: it reaches the kernel
   * with the next flush or wait (another op's, the event loop's), and at the
   * latest from Node's check phase (setImmediate). For ops that cannot
   * complete before something else we submit soon, such as the receive of
   * a connection's next request while its answer is being made: one
   * io_uring_enter then carries both.
   */
  submitLazy(sub: Submission): void {
    this.enqueue(sub);
    this.lazyFlush ??= setImmediate(this.lazyFlushTask);
  }

  /** Into the SQ when nothing waits before it and there is room, else the user-space queue. */
  private enqueue(sub: Submission): void {
    if (this.closed) throw new SystemError('io_uring_enter', 9 /* EBADF */, 'ring is closed');
    if (this.queue.length === this.queueHead && this.sqSpace() > 0) {
      if (!this.place(sub, 0)) this.cancelNow(sub);
    } else {
      this.queue.push(sub);
    }
  }

  /** Queues a chain linked with IO_LINK (or IO_HARDLINK): placed in the SQ together. */
  submitLinked(subs: Submission[], hard = false): void {
    if (this.closed) throw new SystemError('io_uring_enter', 9, 'ring is closed');
    if (subs.length === 0) return;
    if (subs.length > this.sqEntries) throw new RangeError(`a chain of ${subs.length} does not fit an SQ of ${this.sqEntries}`);
    const chain = new Chain(subs.slice(), hard);
    this.urgent = true;
    if (this.queue.length === this.queueHead && this.sqSpace() >= chain.subs.length) this.placeChain(chain);
    else this.queue.push(chain);
    this.scheduleFlush();
  }

  /**
   * Moves queued submissions into the SQ and tells the kernel
   * (io_uring_enter), until the queue is empty or the kernel takes no more.
   * Returns the number of SQEs the kernel consumed.
   */
  flush(): number {
    if (this.closed) return 0;
    let total = 0;
    for (;;) {
      const pending = this.publish();
      if (pending === 0) break;
      const r = this.n.ringEnter(this.fd, pending, 0, this.inflight > 0 ? ENTER.GETEVENTS : 0, -1);
      if (r >= 0 && this.queued === 0) this.urgent = false;
      if (r < 0) {
        if (r === -4 /* EINTR */) continue;
        if (r === -16 /* EBUSY */ || r === -11 /* EAGAIN */) {
          if (this.reap() > 0) continue;
          break;
        }
        throw new SystemError('io_uring_enter', -r);
      }
      total += r;
      if (this.queued === 0 || r === 0) break;
    }
    if (this.watch) this.reap();
    this.updateRef();
    return total;
  }

  /**
   * flush(), but only when something is due: an SQE of submit() or
   * submitLinked(), or lazy ones whose setImmediate ran. Lazy SQEs alone stay
   * in the SQ for the next due flush, so that one io_uring_enter carries
   * them with it (a connection's next RECV with its answer's SEND).
   */
  flushDue(): number {
    if (this.closed) return 0;
    if (!this.urgent && this.queued === 0) {
      if (this.watch) this.reap();
      return 0;
    }
    return this.flush();
  }

  /**
   * Whether a zero-timeout wait would find nothing and submit nothing due:
   * the CQ is empty, no submission is due (see flushDue) and fewer than
   * `maxLazy` lazy ones wait. Only for an owner that Node's loop wakes
   * through the ring's eventfd: without DEFER_TASKRUN a completion is
   * posted by task work on the way back from any syscall (or directly, by
   * an io-wq worker), and its eventfd signal follows the CQE, so a poll
   * with an empty CQ learns nothing that the next wake-up would not tell.
   */
  pollIsIdle(maxLazy: number): boolean {
    return this.noEnterDue(maxLazy) && Atomics.load(this.cqU32, this.cqTailIdx) === this.cqHead;
  }

  /**
   * Nothing obliges an io_uring_enter now: completions come without one (no
   * DEFER_TASKRUN), no submit()/submitLinked() waits for its enter, and
   * fewer than `maxLazy` lazy submissions do.
   */
  private noEnterDue(maxLazy: number): boolean {
    return !this.closed && !this.deferTaskrun && !this.urgent && this.queued === 0 && this.unsubmitted() < maxLazy;
  }

  /** SQEs written to the SQ that the kernel has not consumed yet. */
  private unsubmitted(): number {
    return (this.sqTail - this.sqU32[this.sqHead]!) >>> 0;
  }

  /**
   * Submits what is queued, waits until at least `minComplete` completions
   * are there or `timeoutNs` passed (exactly: the kernel's own timeout, one
   * wait; -1 waits without limit), and dispatches every completion present.
   * Returns how many completions were dispatched.
   */
  wait(minComplete = 1, timeoutNs = -1): number {
    if (this.closed) return 0;
    const pending = this.publish();
    const avail = (Atomics.load(this.cqU32, this.cqTailIdx) - this.cqHead) >>> 0;
    let min = avail >= minComplete ? 0 : minComplete;
    // A zero timeout is a poll: min_complete 0 returns at once (after task work), where a
    // timed wait of 0 ns would arm and cancel a kernel timer, costly in a VM.
    if (timeoutNs === 0) {
      min = 0;
      timeoutNs = -1;
    }
    const r = this.n.ringEnter(this.fd, pending, min, ENTER.GETEVENTS, timeoutNs);
    if (r >= 0 && this.queued === 0) this.urgent = false;
    if (r < 0 && r !== -62 /* ETIME */ && r !== -4 /* EINTR */ && r !== -16 && r !== -11) {
      throw new SystemError('io_uring_enter', -r);
    }
    return this.reap();
  }

  /**
   * Dispatches the completions already in the CQ without entering the
   * kernel, where that loses nothing: the kernel posts CQEs without an enter
   * (no DEFER_TASKRUN: task work runs on the way back from any syscall),
   * nothing queued with submit()/submitLinked() waits for its enter, and
   * fewer than `maxLazy` lazy submissions do. Returns how many were
   * dispatched; 0 means the caller has to wait() (which submits).
   */
  reapReady(maxLazy: number): number {
    if (this.reaping || !this.noEnterDue(maxLazy)) return 0;
    if (Atomics.load(this.cqU32, this.cqTailIdx) === this.cqHead) return 0;
    return this.reap();
  }

  /**
   * How many CQEs the kernel has posted so far: the sequence number the next
   * one will get. A completion handler compares it with currentCqe to tell
   * whether its CQE was posted before or after some point in time.
   */
  postedCqes(): number {
    return this.cqSeq + ((Atomics.load(this.cqU32, this.cqTailIdx) - this.cqHead) >>> 0);
  }

  /** Sequence number of the CQE whose completion runs now (valid inside complete()). */
  get currentCqe(): number {
    return this.dispatching;
  }

  /** Dispatches the completions already in the CQ, in batches. */
  reap(): number {
    if (this.reaping) return 0;
    this.reaping = true;
    let total = 0;
    let firstError: unknown = undefined;
    let failed = false;
    try {
      for (;;) {
        const tail = Atomics.load(this.cqU32, this.cqTailIdx);
        let head = this.cqHead;
        if (head === tail) break;
        let count = 0;
        const b = this.batch;
        const u = this.cqU32;
        while (head !== tail && count < BATCH) {
          const w = this.cqesWord + (head & this.cqMask) * this.cqeWords;
          const o = count << 2;
          b[o] = u[w]!;
          b[o + 1] = u[w + 1]!;
          b[o + 2] = this.cqI32[w + 2]!;
          b[o + 3] = u[w + 3]!;
          head = (head + 1) >>> 0;
          count++;
        }
        this.cqHead = head;
        Atomics.store(this.cqU32, this.cqHeadIdx, head);
        const base = this.cqSeq;
        this.cqSeq = base + count;
        for (let i = 0; i < count; i++) {
          const o = i << 2;
          this.dispatching = base + i;
          try {
            this.dispatch(b[o]! >>> 0, b[o + 1]! >>> 0, b[o + 2]!, b[o + 3]! >>> 0);
          } catch (err) {
            if (!failed) {
              failed = true;
              firstError = err;
            }
          }
        }
        total += count;
      }
    } finally {
      this.reaping = false;
    }
    if (failed) {
      if (this.onError) this.onError(firstError);
      else throw firstError;
    }
    return total;
  }

  /** Harvests completions from Node's loop from now on. */
  attach(): void {
    if (this.watch || this.closed) return;
    const h = this.n.pollWatch(this.wakeFd(), 1, () => this.onReadable());
    if (typeof h === 'number') check('uv_poll_start', h);
    this.watch = h as WatchHandle;
    this.watchRef = true;
    this.updateRef();
  }

  detach(): void {
    if (!this.watch) return;
    this.n.pollStop(this.watch);
    this.watch = null;
  }

  get attached(): boolean {
    return this.watch !== null;
  }

  /** Asks the kernel to cancel one submission; its callback then completes with ECANCELED (or its result, if it won the race). */
  cancel(target: Submission, cb: OpCallback | null = null): void {
    const slot = this.slotOf(target);
    if (slot < 0) {
      // Still in the user-space queue: take it out and complete it now.
      const i = this.queue.indexOf(target, this.queueHead);
      if (i >= 0) {
        this.queue.splice(i, 1);
        this.cancelNow(target);
      }
      cb?.(null, 0, 0);
      return;
    }
    const op = new Op(OP.ASYNC_CANCEL, cb);
    op.addr = encodeUserData(slot, this.gens[slot]!);
    this.submit(op);
  }

  /**
   * Cancels every request on an fd synchronously (IORING_REGISTER_SYNC_CANCEL,
   * 6.0+) and delivers their completions before returning. One call with
   * CANCEL_FD|CANCEL_ALL: looping on single cancels never ends under
   * DEFER_TASKRUN, where a cancelled request stays findable until the next
   * io_uring_enter runs its task work (seen on 6.18). Returns the kernel's
   * result (>= 0).
   */
  syncCancelFd(fd: number, timeoutNs = 1e9): number {
    if (this.closed) return 0;
    this.flush();
    // struct io_uring_sync_cancel_reg: addr u64, fd s32, flags u32, timeout {s64 sec, s64 nsec}, opcode u8, pad
    const reg = this.cancelReg;
    reg.fill(0);
    reg.writeInt32LE(fd, 8);
    reg.writeUInt32LE(CANCEL.FD | CANCEL.ALL, 12);
    reg.writeBigInt64LE(BigInt(Math.floor(timeoutNs / 1e9)), 16);
    reg.writeBigInt64LE(BigInt(Math.floor(timeoutNs % 1e9)), 24);
    const r = this.n.ringRegister(this.fd, REGISTER.SYNC_CANCEL, reg, 1);
    if (r < 0 && r !== -2 /* ENOENT: nothing on that fd */) {
      if (r === -22 /* EINVAL: kernel without sync cancel */) return this.asyncCancelFdAndWait(fd);
      throw new SystemError('io_uring_register(SYNC_CANCEL)', -r);
    }
    this.wait(0, 0);
    return r > 0 ? r : 0;
  }

  /**
   * The ring's eventfd, signalled on completions and on DEFER_TASKRUN task
   * work (the ring fd itself does not wake pollers for the latter; seen on
   * 6.18). A ring takes one registered eventfd, so every watcher shares this
   * one; it is created on first use and closed with the ring.
   */
  wakeFd(): number {
    if (this.eventfd >= 0) return this.eventfd;
    const efd = check('eventfd', this.n.eventfd(0, 0x800 /* O_NONBLOCK */ | 0x80000 /* O_CLOEXEC */));
    const b = Buffer.alloc(4);
    b.writeInt32LE(efd, 0);
    const r = this.n.ringRegister(this.fd, REGISTER.EVENTFD, b, 1);
    if (r < 0) {
      this.n.close(efd);
      throw new SystemError('io_uring_register(EVENTFD)', -r);
    }
    this.eventfd = efd;
    return efd;
  }

  /** Registers the current credentials; returns the personality id for ops. */
  registerPersonality(): number {
    return check('io_uring_register(PERSONALITY)', this.n.ringRegister(this.fd, REGISTER.PERSONALITY, null, 0));
  }

  /** Registers the credentials of another user (the process must be root). */
  registerPersonalityAs(uid: number, gid: number, groups: number[] = []): number {
    for (const v of [uid, gid, ...groups]) {
      if (!Number.isInteger(v) || v < 0 || v > 0xfffffffe) throw new RangeError(`invalid uid/gid ${v}`);
    }
    return check('io_uring_register(PERSONALITY)', this.n.ringRegisterPersonalityAs(this.fd, uid, gid, Uint32Array.from(groups)));
  }

  unregisterPersonality(id: number): void {
    check('io_uring_register(UNREGISTER_PERSONALITY)', this.n.ringRegister(this.fd, REGISTER.UNREGISTER_PERSONALITY, null, id));
  }

  /** Raw register call for the buffer modules (they lay out their own structs). */
  register(opcode: number, arg: ArrayBufferView | null, nr: number): number {
    return this.n.ringRegister(this.fd, opcode, arg, nr);
  }

  /**
   * Closes the ring: queued submissions complete with ECANCELED at once,
   * in-flight ones are cancelled in the kernel and each callback completes
   * exactly once; then the fd is closed.
   */
  close(): void {
    if (this.closed) return;
    if (this.lazyFlush) clearImmediate(this.lazyFlush);
    this.lazyFlush = null;
    // User-space queue first: these never reached the kernel.
    const queued = this.queue.slice(this.queueHead);
    this.queue = [];
    this.queueHead = 0;
    for (const q of queued) for (const s of q instanceof Chain ? q.subs : [q]) this.cancelNow(s);
    if (this.inflight > 0) {
      // The cancel's own completion can come before those of the ops it
      // cancels (an io-wq worker finishing an OPENAT): wait for all of them,
      // since an op force-completed here while the kernel still runs it
      // leaves its result (a new fd) to nobody.
      const op = new Op(OP.ASYNC_CANCEL, null);
      op.opFlags = CANCEL.ANY | CANCEL.ALL;
      try {
        this.submit(op);
        const deadline = Date.now() + 2000;
        while (this.inflight > 0 && Date.now() < deadline) this.wait(1, 10e6);
      } catch {
        // fall through: whatever is left is completed below
      }
    }
    this.closed = true;
    this.detach();
    if (this.inflight > 0) {
      this.onError?.(new Error(`ring close: ${this.inflight} op(s) still in the kernel after cancel and 2 s; completed with ECANCELED, their results are lost`));
    }
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i];
      if (!s) continue;
      this.slots[i] = undefined;
      graveyard.add(s);
      try {
        s.complete(-125 /* ECANCELED */, 0);
      } catch (err) {
        this.onError?.(err);
      }
    }
    this.inflight = 0;
    this.n.close(this.fd);
    if (this.eventfd >= 0) this.n.close(this.eventfd);
    this.eventfd = -1;
  }

  // ---- internals ----

  /** Moves what fits from the user-space queue into the SQ and publishes the tail; returns SQEs not yet consumed. */
  private publish(): number {
    this.drainQueue();
    Atomics.store(this.sqU32, this.sqTailIdx, this.sqTail);
    return this.unsubmitted();
  }

  private sqSpace(): number {
    return this.sqEntries - this.unsubmitted();
  }

  private scheduleFlush(): void {
    if (this.watch && !this.flushScheduled) {
      this.flushScheduled = true;
      microtask(this.flushTask);
    } else if (this.ownerKick) {
      this.ownerKick();
    }
  }

  private growSlots(n: number): void {
    const old = this.slots.length;
    const gens = new Uint32Array(n);
    gens.set(this.gens);
    this.gens = gens;
    this.slots.length = n;
    this.chainOf.length = n;
    for (let i = n - 1; i >= old; i--) this.freeSlots.push(i);
  }

  private slotOf(sub: Submission): number {
    if (sub instanceof Op) return sub.slot >= 0 && this.slots[sub.slot] === sub ? sub.slot : -1;
    return this.slots.indexOf(sub);
  }

  /** Writes one SQE at the local tail; false when the hook cancelled it. */
  private place(sub: Submission, linkFlags: number): boolean {
    if (this.freeSlots.length === 0) this.growSlots(this.slots.length * 2);
    const slot = this.freeSlots.pop()!;
    // 21 bits of generation: user_data = slot + gen * 2^32 must stay an exact
    // double (< 2^53) for cancel/remove by target; 0 is never a live generation.
    const gen = ((this.gens[slot]! + 1) & 0x1fffff) || 1;
    this.gens[slot] = gen;
    const w = this.sqe.at(this.sqTail & this.sqMask);
    sub.prep(w);
    w.setUserData(slot, gen);
    if (linkFlags) w.flags = w.flags | linkFlags;
    if (sub.hook && sub.hook(w) === false) {
      this.freeSlots.push(slot);
      return false;
    }
    if (sub instanceof Op) {
      sub.slot = slot;
      sub.gen = gen;
      sub.done = false; // an Op may be reused once its final CQE arrived
    }
    this.slots[slot] = sub;
    this.sqTail = (this.sqTail + 1) >>> 0;
    this.inflight++;
    return true;
  }

  private placeChain(chain: Chain): void {
    const link = chain.hard ? SQE.IO_HARDLINK : SQE.IO_LINK;
    const subs = chain.subs;
    const start = this.sqTail;
    const last = subs.length - 1;
    let quiet = this.skipCqe && last > 0;
    for (let i = 0; i < last && quiet; i++) {
      const sub = subs[i]!;
      quiet = sub instanceof Op && sub.quiet;
    }
    const flags = quiet ? link | SQE.CQE_SKIP_SUCCESS : link;
    for (let i = 0; i <= last; i++) {
      if (!this.place(subs[i]!, i < last ? flags : 0)) {
        // A hook cancelled a member: the chain is withdrawn whole.
        for (let j = 0; j < i; j++) this.unplace(subs[j]!);
        this.sqTail = start;
        for (const s of subs) this.cancelNow(s);
        return;
      }
    }
    if (!quiet) return;
    const slots = subs.map((sub) => this.slotOf(sub));
    const qc = new QuietChain(subs, slots, slots.map((slot) => this.gens[slot]!));
    for (const slot of slots) this.chainOf[slot] = qc;
  }

  /** dispatch() for a member of a chain with quiet members. */
  private dispatchChained(chain: QuietChain, slot: number, sub: Submission, res: number, flags: number): void {
    const k = chain.slots.indexOf(slot);
    let error: unknown = null;
    for (let i = 0; i < k; i++) error ??= this.finishMember(chain, i, (chain.subs[i] as Op).len);
    if ((flags & CQE.F_MORE) === 0) {
      error ??= this.finishMember(chain, k, res);
      // Not the last member's CQE: it failed, and the kernel cancelled the rest silently.
      for (let i = k + 1; i < chain.subs.length; i++) error ??= this.finishMember(chain, i, -125 /* ECANCELED */);
    } else {
      // A multishot member goes on; the chain waits behind it.
      try {
        sub.complete(res, flags);
      } catch (err) {
        error ??= err;
      }
    }
    // A callback threw: reported once every completion it held up has run.
    if (error !== null) throw error;
  }

  /** Completes member i of a quiet chain with `res`, unless a CQE of its own did; returns what its callback threw, or null. */
  private finishMember(chain: QuietChain, i: number, res: number): unknown {
    const slot = chain.slots[i]!;
    const sub = chain.subs[i]!;
    if (this.slots[slot] !== sub || this.gens[slot] !== chain.gens[i]) return null;
    this.freeSlot(slot, sub);
    try {
      sub.complete(res, 0);
    } catch (err) {
      return err;
    }
    return null;
  }

  /** The submission in `slot` is finally done (or never went): its slot is free again. */
  private freeSlot(slot: number, sub: Submission): void {
    this.slots[slot] = undefined;
    this.chainOf[slot] = undefined;
    this.freeSlots.push(slot);
    this.inflight--;
    if (sub instanceof Op) sub.slot = -1;
  }

  private unplace(sub: Submission): void {
    const slot = this.slotOf(sub);
    if (slot >= 0) this.freeSlot(slot, sub);
  }

  private drainQueue(): void {
    while (this.queueHead < this.queue.length) {
      const q = this.queue[this.queueHead]!;
      if (q instanceof Chain) {
        if (this.sqSpace() < q.subs.length) break;
        this.placeChain(q);
      } else {
        if (this.sqSpace() < 1) break;
        if (!this.place(q, 0)) this.cancelNow(q);
      }
      this.queueHead++;
    }
    if (this.queueHead === this.queue.length) {
      clear(this.queue);
      this.queueHead = 0;
    } else if (this.queueHead > 1024) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  /** Completes a submission that never reached the kernel. */
  private cancelNow(sub: Submission): void {
    sub.complete(-125 /* ECANCELED */, 0);
  }

  private dispatch(slot: number, gen: number, res: number, flags: number): void {
    const sub = this.slots[slot];
    if (sub === undefined || this.gens[slot] !== gen) {
      this.stale++;
      return;
    }
    const chain = this.chainOf[slot];
    if (chain !== undefined) return this.dispatchChained(chain, slot, sub, res, flags);
    if ((flags & CQE.F_MORE) === 0) this.freeSlot(slot, sub);
    sub.complete(res, flags);
  }

  private onReadable(): void {
    if (this.closed) return;
    this.n.readSync(this.eventfd, this.efdBuf, 0, 8);
    // With DEFER_TASKRUN, completions are posted only when we enter with GETEVENTS.
    if (this.deferTaskrun) this.n.ringEnter(this.fd, 0, 0, ENTER.GETEVENTS, -1);
    this.reap();
    this.flush();
  }

  /** The ring keeps Node alive only while ops are in flight. */
  private updateRef(): void {
    if (!this.watch) return;
    const want = this.inflight > 0 || this.queued > 0;
    if (want !== this.watchRef) {
      this.watchRef = want;
      this.n.pollRef(this.watch, want);
    }
  }

  private asyncCancelFdAndWait(fd: number): number {
    let count = 0;
    const op = new Op(OP.ASYNC_CANCEL, (_e, res) => {
      count = res > 0 ? res : 0;
    });
    op.fd = fd;
    op.opFlags = CANCEL.FD | CANCEL.ALL;
    this.submit(op);
    while (!op.done) this.wait(1, 100e6);
    return count;
  }
}

function setup(n: NativeBinding, entries: number, cqEntries: number, flags: number | undefined, wakeups: 'enter' | 'eventfd') {
  const known = chosenFlags.get(wakeups);
  const choices = wakeups === 'eventfd' ? EVENTFD_FLAG_CHOICES : FLAG_CHOICES;
  const tryFlags = flags !== undefined ? [flags] : known !== undefined ? [known] : choices;
  let lastErr = -22;
  for (const f of tryFlags) {
    const r = n.ringSetup(entries, f, cqEntries, -1);
    if (typeof r !== 'number') {
      if (flags === undefined) chosenFlags.set(wakeups, f);
      return r;
    }
    lastErr = r;
    if (r !== -22 /* EINVAL: flag unknown to this kernel */) break;
  }
  throw new SystemError('io_uring_setup', -lastErr);
}
