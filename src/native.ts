/**
 * The only module that loads the native addon (build/Release/ringsmb_native.node).
 *
 * When the platform is not Linux or the addon cannot be loaded, `native` is
 * null and `nativeError` says why; every layer above then takes its fallback
 * (ARCHITECTURE decision 1). Argument checking with clear messages happens
 * in the callers; the addon itself only returns results or -errno.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface RingOffsetsSq {
  head: number; tail: number; ringMask: number; ringEntries: number;
  flags: number; dropped: number; array: number;
}
export interface RingOffsetsCq {
  head: number; tail: number; ringMask: number; ringEntries: number;
  overflow: number; cqes: number; flags: number;
}
export interface RingSetupResult {
  fd: number; flags: number; features: number;
  sqEntries: number; cqEntries: number; sqeSize: number; cqeSize: number;
  sqRing: ArrayBuffer; cqRing: ArrayBuffer; sqes: ArrayBuffer;
  sqOff: RingOffsetsSq; cqOff: RingOffsetsCq;
}
export type Bytes = ArrayBufferView | ArrayBuffer;
export type WatchHandle = { readonly __watch: unique symbol };

/** Numbers >= 0 are results; negative numbers are -errno. */
export interface NativeBinding {
  ringSetup(entries: number, flags: number, cqEntries: number, wqFd: number): RingSetupResult | number;
  ringEnter(fd: number, toSubmit: number, minComplete: number, flags: number, timeoutNs: number): number;
  ringRegister(fd: number, opcode: number, arg: Bytes | null, nrArgs: number): number;
  ringRegisterPersonalityAs(fd: number, uid: number, gid: number, groups: Uint32Array): number;
  allocBuffer(size: number): { buffer: ArrayBuffer; address: number } | number;
  addressOf(bytes: Bytes): number;
  pollWatch(fd: number, events: number, cb: (status: number, events: number) => void): WatchHandle | number;
  pollUpdate(h: WatchHandle, events: number): number;
  pollRef(h: WatchHandle, ref: boolean): number;
  pollStop(h: WatchHandle): number;
  sysAsync(op: number, dirfd: number, path: Uint8Array | null, dirfd2: number, path2: Uint8Array | null,
    flags: number, mode: number, resolve: number, num: number, num2: number, out: Bytes | null,
    cb: (result: number) => void): number;
  sysSync(op: number, dirfd: number, path: Uint8Array | null, dirfd2: number, path2: Uint8Array | null,
    flags: number, mode: number, resolve: number, num: number, num2: number, out: Bytes | null): number;
  close(fd: number): number;
  readSync(fd: number, buf: Bytes, offset: number, length: number): number;
  writeSync(fd: number, buf: Bytes, offset: number, length: number): number;
  /** one non-blocking sendmsg(2) (MSG_DONTWAIT | MSG_NOSIGNAL added) of 1 to 128 buffers: bytes sent or -errno */
  sendv(fd: number, bufs: readonly Bytes[], flags: number): number;
  /** one recv(2) with MSG_DONTWAIT into buf[offset, offset + length): bytes or -errno */
  recvSync(fd: number, buf: Bytes, offset: number, length: number): number;
  pipe2(flags: number): [number, number] | number;
  socketpair(type: number): [number, number] | number;
  eventfd(initval: number, flags: number): number;
  fcntlFlags(fd: number, set: number, clear: number): number;
  fcntlInt(fd: number, cmd: number, arg: number): number;
  fionread(fd: number): number;
  dup(fd: number): number;
  tcpListen(sockaddr: Bytes, backlog: number): number;
  sockName(fd: number, peer: boolean, out: Bytes): number;
  setsockoptInt(fd: number, level: number, name: number, value: number): number;
  /** inotify_init1(IN_NONBLOCK | IN_CLOEXEC): fd or -errno (read it with readSync) */
  inotifyInit(): number;
  /** inotify_add_watch(2); path NUL-terminated: watch descriptor or -errno */
  inotifyAddWatch(fd: number, path: Bytes, mask: number): number;
  inotifyRmWatch(fd: number, wd: number): number;
  // events.c (poll/epoll backends) adds its functions here; see src/events/native-events.ts
  [extra: string]: unknown;
}

function packageRoot(): string {
  // dist/src/native.js -> package root; also works from src/ with a loader.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'binding.gyp'))) return dir;
    dir = dirname(dir);
  }
  return dirname(dirname(dirname(fileURLToPath(import.meta.url))));
}

function load(): { binding: NativeBinding | null; error: string | null } {
  if (process.platform !== 'linux') {
    return { binding: null, error: `platform ${process.platform} is not Linux: io_uring and the native addon are unavailable` };
  }
  const root = packageRoot();
  const candidates = [join(root, 'build', 'Release', 'ringsmb_native.node'), join(root, 'build', 'Debug', 'ringsmb_native.node')];
  const path = candidates.find((p) => existsSync(p));
  if (!path) {
    return { binding: null, error: `native addon not built (looked for ${candidates[0]}); run "npm install" (or "npm run install" to rebuild it) in ${root}` };
  }
  try {
    const require = createRequire(import.meta.url);
    // The addon's exports object has ~40 properties added one by one, which
    // leaves it in dictionary mode: every `native.fn` load was a hash lookup
    // through a generic IC on the hottest paths (one per syscall). A copy made
    // by a literal has fast properties and inline-cached loads.
    return { binding: { ...(require(path) as NativeBinding) }, error: null };
  } catch (err) {
    return { binding: null, error: `cannot load ${path}: ${(err as Error).message}; rebuild with "npm run install" in ${root}` };
  }
}

const loaded = load();
export const native: NativeBinding | null = loaded.binding;
export const nativeError: string | null = loaded.error;

/** The addon, or a clear error when it is missing. */
export function requireNative(): NativeBinding {
  if (!native) throw new Error(nativeError ?? 'native addon unavailable');
  return native;
}
