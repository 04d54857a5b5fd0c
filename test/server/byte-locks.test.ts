/**
 * FileLocks (byte-locks.ts) against the plain list it replaced: random
 * grants, stacked and zero-length locks, unlocks, owners leaving and I/O
 * checks, each answered the same by both; and the large requests that were
 * quadratic before answer as the rules say.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FileLocks } from '../../src/server/byte-locks.js';
import { generator } from '../util/fuzz.js';

/** The rules as the list had them (MS-FSA 2.1.5.7, 2.1.4.10), one lock at a time. */
class Oracle {
  list: { owner: object; offset: bigint; length: bigint; exclusive: boolean }[] = [];
  static meets(a: { offset: bigint; length: bigint }, b: { offset: bigint; length: bigint }): boolean {
    if (a.length === 0n && b.length === 0n) return false;
    if (a.length === 0n) return b.offset < a.offset && a.offset < b.offset + b.length;
    if (b.length === 0n) return a.offset < b.offset && b.offset < a.offset + a.length;
    return a.offset < b.offset + b.length && b.offset < a.offset + a.length;
  }
  grantable(owner: object, offset: bigint, length: bigint, exclusive: boolean): boolean {
    const want = { offset, length };
    return !this.list.some((x) => Oracle.meets(x, want) && (exclusive || (x.exclusive && x.owner !== owner)));
  }
  conflicts(owner: object, offset: bigint, length: bigint, write: boolean): boolean {
    if (length === 0n) return false;
    const want = { offset, length };
    return this.list.some((l) => Oracle.meets(l, want) && (write ? !l.exclusive || l.owner !== owner : l.exclusive && l.owner !== owner));
  }
  removeOldest(owner: object, offset: bigint, length: bigint): boolean {
    const i = this.list.findIndex((x) => x.owner === owner && x.offset === offset && x.length === length);
    if (i < 0) return false;
    this.list.splice(i, 1);
    return true;
  }
}

test('FileLocks answers every grant, I/O check and unlock as the plain list did (random operations, 8 seeds)', () => {
  const U64 = 0xffffffffffffffffn;
  for (let seed = 1; seed <= 8; seed++) {
    const g = generator(seed);
    const owners = [{}, {}, {}, {}];
    const fl = new FileLocks();
    const o = new Oracle();
    const seen = { granted: 0, refused: 0, conflict: 0, free: 0, peak: 0 };
    // Small offsets so that ranges meet often; now and then ones near 2^64.
    const range = (): [bigint, bigint] => {
      if (g.int(20) === 0) {
        const len = BigInt(g.int(3));
        return [U64 - len - BigInt(g.int(5)), len];
      }
      const off = BigInt(g.int(1500));
      const len = g.int(6) === 0 ? 0n : BigInt(1 + g.int(g.int(2) ? 8 : 60));
      return [off, len];
    };
    for (let step = 0; step < 6000; step++) {
      const owner = owners[g.int(owners.length)]!;
      const [off, len] = range();
      const op = g.int(10);
      if (op < 5) {
        const exclusive = g.int(2) === 0;
        const want = o.grantable(owner, off, len, exclusive);
        assert.equal(fl.grantable(owner, off, len, exclusive), want, `seed ${seed} step ${step}: grantable ${exclusive ? 'X' : 'S'} ${off}+${len}`);
        if (want) seen.granted++;
        else seen.refused++;
        if (want) {
          fl.add(owner, off, len, exclusive);
          o.list.push({ owner, offset: off, length: len, exclusive });
        }
      } else if (op < 8) {
        const write = g.int(2) === 0;
        if (o.conflicts(owner, off, len === 0n ? 1n : len, write)) seen.conflict++;
        else seen.free++;
        assert.equal(fl.conflicts(owner, off, len === 0n ? 1n : len, write), o.conflicts(owner, off, len === 0n ? 1n : len, write), `seed ${seed} step ${step}: ${write ? 'write' : 'read'} ${off}+${len}`);
      } else if (op < 9) {
        // Unlock a range the owner holds (or, a third of the time, one it may not hold).
        const mine = o.list.filter((x) => x.owner === owner);
        const pick = mine.length && g.int(3) ? mine[g.int(mine.length)]! : { offset: off, length: len };
        assert.equal(fl.removeOldest(owner, pick.offset, pick.length), o.removeOldest(owner, pick.offset, pick.length), `seed ${seed} step ${step}: unlock`);
      } else if (g.int(40) === 0) {
        const n = o.list.filter((x) => x.owner === owner).length;
        assert.equal(fl.removeOwner(owner), n, `seed ${seed} step ${step}: owner leaves`);
        o.list = o.list.filter((x) => x.owner !== owner);
      }
      assert.equal(fl.size, o.list.length);
      seen.peak = Math.max(seen.peak, fl.size);
    }
    // The walk went through both answers of each question, with many locks held at once.
    for (const k of ['granted', 'refused', 'conflict', 'free'] as const) assert.ok(seen[k] > 200, `seed ${seed}: ${JSON.stringify(seen)}`);
    assert.ok(seen.peak > 250, `seed ${seed}: ${JSON.stringify(seen)}`);
    for (const owner of owners) fl.removeOwner(owner);
    assert.equal(fl.size, 0);
  }
});

test('stacked locks go oldest first: a shared lock on an exclusive one of the same owner, unlocked twice', () => {
  const a = {};
  const b = {};
  const fl = new FileLocks();
  fl.add(a, 10n, 10n, true);
  assert.equal(fl.grantable(a, 10n, 10n, false), true, 'the owner stacks a shared lock on its exclusive one');
  assert.equal(fl.grantable(a, 12n, 2n, true), false, 'not an exclusive one');
  fl.add(a, 10n, 10n, false);
  assert.equal(fl.conflicts(a, 15n, 1n, false), false, 'the owner reads');
  assert.equal(fl.conflicts(a, 15n, 1n, true), true, 'its own shared lock stops its write');
  assert.equal(fl.conflicts(b, 15n, 1n, false), true, 'another owner may not read under the exclusive lock');
  assert.equal(fl.removeOldest(a, 10n, 10n), true);
  // The exclusive lock (older) went first: b may read now, nobody may write.
  assert.equal(fl.conflicts(b, 15n, 1n, false), false);
  assert.equal(fl.conflicts(b, 15n, 1n, true), true);
  assert.equal(fl.removeOldest(a, 10n, 10n), true);
  assert.equal(fl.removeOldest(a, 10n, 10n), false);
  assert.equal(fl.size, 0);
});

test('65535 exclusive locks of one owner, side by side: every rule still holds at both ends and between', () => {
  const a = {};
  const b = {};
  const fl = new FileLocks();
  const n = 65535;
  for (let i = 0; i < n; i++) {
    const off = BigInt(i) * 4n;
    assert.equal(fl.grantable(a, off, 2n, true), true);
    fl.add(a, off, 2n, true);
  }
  assert.equal(fl.size, n);
  assert.equal(fl.grantable(a, 0n, 1n, true), false, 'the first lock is held');
  assert.equal(fl.grantable(b, 2n, 2n, true), true, 'the gap after it is free');
  assert.equal(fl.grantable(b, BigInt(n - 1) * 4n + 1n, 1n, false), false, "another owner's shared lock inside the last one");
  assert.equal(fl.grantable(a, 0n, BigInt(n) * 4n, false), true, 'a shared lock of the owner over all of its own');
  assert.equal(fl.conflicts(a, 0n, BigInt(n) * 4n, false), false, 'the owner reads all of it');
  assert.equal(fl.conflicts(b, 0n, BigInt(n) * 4n, false), true, 'another does not');
  assert.equal(fl.conflicts(b, 2n + 4n * 30000n, 2n, true), false, 'another writes into a gap');
  assert.equal(fl.removeOwner(a), n);
  assert.equal(fl.size, 0);
  assert.equal(fl.conflicts(b, 0n, 1n, true), false);
});
