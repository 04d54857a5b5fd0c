import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NdrReader, NdrWriter, NdrError } from '../../src/rpc/ndr.js';
import { uuidFromBytes, uuidToBytes } from '../../src/rpc/pdu.js';

test('alignment pads with zeros relative to the stub start', () => {
  const w = new NdrWriter();
  w.u8(1).u32(2).u16(3).u64(4n);
  assert.equal(w.finish().toString('hex'), '01000000' + '02000000' + '0300' + '000000000000' + '0400000000000000');
});

test('embedded referents follow the whole constructed type, depth first', () => {
  const w = new NdrWriter();
  // struct { ptr a -> struct { ptr x -> "x" }; ptr b -> "b" }: order a, x, b.
  w.constructed(() => {
    w.uniquePtr('a', () => w.constructed(() => w.wstringPtr('x')));
    w.wstringPtr('b');
  });
  const r = new NdrReader(w.finish());
  const ids = [r.ptr(), r.ptr()];
  assert.deepEqual(ids, [0x20000, 0x20004]);
  assert.equal(r.ptr(), 0x20008, 'a referent: pointer to x');
  assert.equal(r.wstring(), 'x');
  assert.equal(r.wstring(), 'b');
  assert.equal(r.remaining, 0);
});

test('top-level pointer referents follow at once; NULL is 0', () => {
  const w = new NdrWriter();
  w.wstringPtr('hi').wstringPtr(null).u32(9);
  const r = new NdrReader(w.finish());
  assert.equal(r.wstringPtr(), 'hi');
  assert.equal(r.wstringPtr(), null);
  assert.equal(r.u32(), 9);
});

test('wide strings count the NUL and pad to 4 afterwards', () => {
  const w = new NdrWriter();
  w.wstring('abc').u32(1);
  const b = w.finish();
  assert.deepEqual([b.readUInt32LE(0), b.readUInt32LE(4), b.readUInt32LE(8)], [4, 0, 4]);
  assert.equal(b.toString('utf16le', 12, 20), 'abc\0');
  assert.equal(b.length, 24);
});

test('reader rejects truncation and bad string bounds', () => {
  assert.throws(() => new NdrReader(Buffer.alloc(3)).u32(), NdrError);
  const bad = Buffer.alloc(12);
  bad.writeUInt32LE(1, 0);
  bad.writeUInt32LE(0, 4);
  bad.writeUInt32LE(5, 8);
  assert.throws(() => new NdrReader(bad).wstring(), /bad varying string bounds/);
  const long = Buffer.alloc(12);
  long.writeUInt32LE(100, 0);
  long.writeUInt32LE(100, 8);
  assert.throws(() => new NdrReader(long).wstring(), /truncated/);
});

test('UUIDs use the mixed-endian NDR layout', () => {
  const b = uuidToBytes('8a885d04-1ceb-11c9-9fe8-08002b104860');
  assert.equal(b.toString('hex'), '045d888aeb1cc9119fe808002b104860');
  assert.equal(uuidFromBytes(b), '8a885d04-1ceb-11c9-9fe8-08002b104860');
  assert.throws(() => uuidToBytes('nope'), RangeError);
});
