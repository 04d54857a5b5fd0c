/**
 * The package as a user gets it: `import ... from 'ringsmb'` resolves (the
 * "main"/"exports" entry exists after the build and is the one package.json
 * names), gives the server, and the deep paths the README once showed still
 * resolve.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string; main: string; types: string; exports: Record<string, unknown>;
};

test('package entry: main and types exist; import by name gives a server that listens and closes', async () => {
  assert.ok(existsSync(join(root, pkg.main)), `main ${pkg.main} is built`);
  assert.ok(existsSync(join(root, pkg.types)), `types ${pkg.types} are built`);
  // Self-reference by package name goes through "exports", as a dependent's import does.
  const m = (await import(pkg.name)) as typeof import('../../src/index.js');
  assert.equal(typeof m.createServer, 'function');
  assert.equal(typeof m.createEventContext, 'function');
  const problems = m.validateConfig({ ...m.defaultConfig(), users: [], guest: false });
  assert.ok(problems.some((p) => /nobody could connect/.test(p)), `the configuration checks come with it: ${problems.join('; ')}`);
  const server = m.createServer({ listen: [{ host: '127.0.0.1', port: 0 }], shares: [], users: [{ name: 'u', password: 'p' }], logLevel: 'error' });
  assert.ok(server instanceof m.SmbServer);
  const addrs = await server.listen();
  assert.ok(addrs[0]!.port > 0, 'listening');
  await server.close();
  // The deep path of earlier READMEs still resolves.
  const deep = (await import(`${pkg.name}/dist/src/server/server.js`)) as { createServer: unknown };
  assert.equal(deep.createServer, m.createServer);
});
