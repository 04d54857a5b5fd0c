#!/usr/bin/env node
// Runs the compiled tests (dist/test/**/*.test.js) with Node's test runner.
// Usage: node scripts/run-tests.mjs [area ...]   (area = a folder under test/)
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const testRoot = join(root, 'dist', 'test');
if (!existsSync(testRoot)) {
  console.error('no compiled tests: run "npx tsc -p ." first');
  process.exit(2);
}
const areas = process.argv.slice(2);
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js')) files.push(p);
  }
})(testRoot);
const chosen = areas.length
  ? files.filter((f) => areas.some((a) => relative(testRoot, f).startsWith(a + '/') || relative(testRoot, f).startsWith(a)))
  : files;
if (chosen.length === 0) {
  console.error(`no test files for ${areas.join(', ')}`);
  process.exit(2);
}
const concurrency = process.env.RINGSMB_TEST_CONCURRENCY ?? '1';
const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, ...chosen], { stdio: 'inherit' });
process.exit(r.status ?? 1);
