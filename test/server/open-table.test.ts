/** The open table's index by share and path (state.ts OpenTable): what opensAt() answers from. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Open, ServerState, Session, TreeConnect, type ShareState } from '../../src/server/state.js';
import { MaskFull } from '../../src/server/access.js';
import type { VfsFile } from '../../src/vfs/types.js';

function share(name: string): ShareState {
  return { name, path: `/tmp/${name}`, readOnly: false, comment: '', encrypt: false, browseable: true, guestOk: false, isIpc: false, streams: true, caseSensitive: false, root: null, names: null };
}

const FILE = {} as VfsFile;

test('opensAt: by share and path through the index, kept right by set, delete, move and re-set', () => {
  const st = new ServerState();
  const a = share('a');
  const b = share('b');
  const s = new Session(1n, 0x311, 1);
  const ta = new TreeConnect(1, s, a, MaskFull);
  const tb = new TreeConnect(2, s, b, MaskFull);
  const mk = (id: bigint, tree: TreeConnect, path: string, file: VfsFile | null = FILE) =>
    new Open(id, id, tree, file, null, path, false, 0, 7);
  const o1 = mk(1n, ta, 'x/f');
  const o2 = mk(2n, ta, 'x/f');
  const o3 = mk(3n, tb, 'x/f');
  const o4 = mk(4n, ta, 'x/g');
  const pipe = mk(5n, ta, 'x/f', null);
  for (const o of [o1, o2, o3, o4, pipe]) st.opens.set(o.volatileId, o);
  const ids = (l: Open[]) => l.map((o) => o.volatileId).sort();

  assert.deepEqual(ids(st.opensAt(a, 'x/f')), [1n, 2n], 'same path on another share, and pipes, are not listed');
  assert.deepEqual(ids(st.opensAt(b, 'x/f')), [3n]);
  assert.deepEqual(ids(st.opensAt(a, 'x', true)), [1n, 2n, 4n], 'below a directory');
  assert.deepEqual(st.opensAt(a, 'nope'), []);

  st.opens.delete(2n);
  assert.deepEqual(ids(st.opensAt(a, 'x/f')), [1n]);

  st.opens.move(o1, 'y/f');
  assert.equal(o1.path, 'y/f');
  assert.deepEqual(st.opensAt(a, 'x/f'), []);
  assert.deepEqual(ids(st.opensAt(a, 'y/f')), [1n]);

  // A durable reconnect moves an open to another tree: set() again re-indexes it.
  o4.tree = tb;
  st.opens.set(4n, o4);
  assert.deepEqual(st.opensAt(a, 'x/g'), []);
  assert.deepEqual(ids(st.opensAt(b, 'x/g')), [4n]);
  st.opens.delete(4n);
  assert.deepEqual(st.opensAt(b, 'x/g'), []);

  st.opens.clear();
  assert.deepEqual(st.opensAt(a, 'y/f'), []);
  assert.equal(st.opens.size, 0);
});
