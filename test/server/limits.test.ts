/** The server-wide open limit's arithmetic (limits.ts) and the throttled log line it uses. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openFileLimit, readNofile, reserveWanted } from '../../src/server/limits.js';
import { throttledLog } from '../../src/util/log.js';

test('readNofile takes the soft "Max open files" of /proc/self/limits', () => {
  const row = (soft: string, hard: string) => `Limit                     Soft Limit           Hard Limit           Units\nMax cpu time              unlimited            unlimited            seconds\nMax open files            ${soft}                ${hard}                files\n`;
  assert.equal(readNofile(row('20000', '20000')), 20000);
  assert.equal(readNofile(row('1024', '524288')), 1024);
  assert.equal(readNofile(row('unlimited', 'unlimited')), null);
  assert.equal(readNofile('nothing here'), null);
  const own = readNofile();
  assert.ok(own === null || (Number.isInteger(own) && own > 0), `this process: ${own}`);
});

test('openFileLimit keeps 256 plus four fds per allowed connection, never opens below a quarter of the limit, and lowers a configured figure that does not fit', () => {
  assert.equal(reserveWanted(1024, 20000), 256 + 4 * 1024);
  assert.deepEqual(openFileLimit(0, 1024, 20000), { limit: 20000 - 4352, nofile: 20000, reserve: 4352 });
  assert.equal(openFileLimit(5000, 1024, 20000).limit, 5000, 'a lower configured figure is taken');
  assert.equal(openFileLimit(50000, 1024, 20000).limit, 15648, 'a higher one is lowered to what fits');
  assert.equal(openFileLimit(0, 1024, 1024).limit, 256, 'a small limit: a quarter for opens, the rest for connections');
  assert.equal(openFileLimit(0, 0, 20000).limit, 15000, 'connections unlimited: a quarter kept');
  assert.equal(openFileLimit(0, 10, 1_048_576).limit, 1_048_576 - 296);
  assert.deepEqual(openFileLimit(0, 1024, null), { limit: 16384, nofile: null, reserve: 0 }, 'no fd limit known: the per-session default');
  assert.equal(openFileLimit(700, 1024, null).limit, 700);
});

test('throttledLog: the first line at once, then at most one per interval, counting those held back', async () => {
  const out: string[] = [];
  const log = throttledLog((m) => out.push(m), 50);
  log('a');
  log('b');
  log('c');
  assert.deepEqual(out, ['a']);
  await new Promise((r) => setTimeout(r, 70));
  log('d');
  log('e');
  assert.deepEqual(out, ['a', 'd (2 more like it since the last such line)']);
  await new Promise((r) => setTimeout(r, 70));
  log('f');
  assert.deepEqual(out, ['a', 'd (2 more like it since the last such line)', 'f (1 more like it since the last such line)']);
});
