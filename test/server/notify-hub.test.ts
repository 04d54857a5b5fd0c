/** NotifyHub (src/server/notify.ts): who gets the server's own changes, and the bound on its echo marks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NotifyHub, type DirWatch } from '../../src/server/notify.js';

/** A stand-in watch that records what it is given. */
function fakeWatch(base: string, recursive: boolean): DirWatch & { got: [number, number, string][] } {
  const got: [number, number, string][] = [];
  return { base, recursive, got, deliver: (action: number, filter: number, name: string) => got.push([action, filter, name]) } as unknown as DirWatch & { got: [number, number, string][] };
}

test('a post reaches the watch of its directory, and a WATCH_TREE above it with the path below; nothing else', () => {
  const hub = new NotifyHub();
  const share = {};
  const here = fakeWatch('a/b', false), above = fakeWatch('a', true), aboveFlat = fakeWatch('a', false), root = fakeWatch('', true), elsewhere = fakeWatch('c', true);
  for (const w of [here, above, aboveFlat, root, elsewhere]) hub.add(share, w);
  hub.add({}, fakeWatch('a/b', false)); // another share
  hub.post(share, 'a/b/f.txt', 1, 1);
  assert.deepEqual(here.got, [[1, 1, 'f.txt']]);
  assert.deepEqual(above.got, [[1, 1, 'b/f.txt']]);
  assert.deepEqual(aboveFlat.got, []);
  assert.deepEqual(root.got, [[1, 1, 'a/b/f.txt']]);
  assert.deepEqual(elsewhere.got, []);
});

test('echo marks: kept only while a share has watches, and at most 16384 however many names are written', () => {
  const hub = new NotifyHub();
  const share = {};
  hub.touch(share, 'before');
  const w = fakeWatch('', true);
  hub.add(share, w);
  assert.equal(hub.isOwn(share, 'before', Date.now()), false, 'nothing is marked while nobody watches');
  for (let i = 0; i < 20_000; i++) hub.touch(share, `f${i}`);
  const marks = (hub as unknown as { touched: Map<object, Map<string, number>> }).touched.get(share)!;
  assert.ok(marks.size <= 16384, `${marks.size} marks`);
  assert.equal(hub.isOwn(share, 'f19999', Date.now()), true, 'the newest are kept');
  assert.equal(hub.isOwn(share, 'f0', Date.now()), false, 'the oldest went');
  hub.remove(share, w);
  assert.equal((hub as unknown as { touched: Map<object, unknown> }).touched.has(share), false, 'the last watch gone, the marks go');
});
