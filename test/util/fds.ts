/**
 * The open file descriptors of this process, for the tests that check a
 * server closed everything it had (the server runs in the test's process).
 */
import { readdirSync, readlinkSync } from 'node:fs';

/** Each open fd as "N -> target". */
export function openFds(): string[] {
  return readdirSync('/proc/self/fd').map((fd) => {
    try {
      return `${fd} -> ${readlinkSync(`/proc/self/fd/${fd}`)}`;
    } catch {
      return `${fd} (gone)`;
    }
  });
}

/**
 * The fds open now that were not in `before`, once sockets closed by their
 * peers have had a second to go (Node closes them on later turns). libuv's
 * inotify instance, kept once any fs.watch ran, is not counted.
 */
export async function fdsLeftSince(before: readonly string[], slack = 1): Promise<string[]> {
  for (let i = 0; i < 50 && openFds().length > before.length + slack; i++) await new Promise((r) => setTimeout(r, 20));
  return openFds().filter((f) => !before.includes(f) && !f.endsWith('anon_inode:inotify'));
}
