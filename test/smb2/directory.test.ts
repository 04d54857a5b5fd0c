import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FileInfoClass as C } from '../../src/smb2/constants.js';
import {
  DirectoryEncoder,
  decodeDirectoryEntries,
  directoryEntrySize,
  encodeDirectoryEntries,
  type DirectoryEntry,
} from '../../src/smb2/fscc/directory.js';
import { MalformedError } from '../../src/smb2/wire.js';
import { hex, le64, u16hex } from './helpers.js';

function entry(name: string, extra: Partial<DirectoryEntry> = {}): DirectoryEntry {
  return {
    fileName: name, fileIndex: 0, creationTime: 1n, lastAccessTime: 2n, lastWriteTime: 3n, changeTime: 4n,
    endOfFile: 5n, allocationSize: 4096n, fileAttributes: 0x20, ...extra,
  };
}

test('FileDirectoryInformation (2.4.10): known bytes of one entry', () => {
  const b = encodeDirectoryEntries(C.FileDirectoryInformation, [entry('ab')]);
  assert.deepEqual(b, hex(`00000000 00000000 ${le64(1n)} ${le64(2n)} ${le64(3n)} ${le64(4n)} ${le64(5n)} ${le64(4096n)} 20000000 04000000 ${u16hex('ab')}`));
});

test('FileIdBothDirectoryInformation (2.4.17): short name and FileId offsets', () => {
  const b = encodeDirectoryEntries(C.FileIdBothDirectoryInformation, [entry('long name.txt', { eaSize: 0, shortName: 'LONGNA~1.TXT', fileId: 0x1234n })]);
  assert.equal(b.readUInt8(68), 24); // ShortNameLength
  assert.equal(b.toString('utf16le', 70, 94), 'LONGNA~1.TXT');
  assert.equal(b.readBigUInt64LE(96), 0x1234n);
  assert.equal(b.readUInt32LE(60), 26);
  assert.equal(b.toString('utf16le', 104), 'long name.txt');
});

test('NextEntryOffset chaining is 8-aligned and the last entry is 0', () => {
  for (const cls of [C.FileDirectoryInformation, C.FileFullDirectoryInformation, C.FileBothDirectoryInformation, C.FileIdBothDirectoryInformation, C.FileIdFullDirectoryInformation, C.FileNamesInformation, C.FileIdExtdDirectoryInformation]) {
    const entries = [entry('.'), entry('..'), entry('a.txt', { fileId: 9n, eaSize: 0, shortName: '' }), entry('odd')];
    const b = encodeDirectoryEntries(cls, entries);
    let off = 0;
    const offs: number[] = [];
    for (;;) {
      offs.push(off);
      const next = b.readUInt32LE(off);
      if (next === 0) break;
      assert.equal(next % 8, 0, `class ${cls}`);
      off += next;
    }
    assert.equal(offs.length, 4);
    assert.equal(b.length, offs[3]! + directoryEntrySize(cls, 'odd'));
    const d = decodeDirectoryEntries(cls, b);
    assert.deepEqual(d.map((e) => e.fileName), ['.', '..', 'a.txt', 'odd']);
    if (cls !== C.FileNamesInformation) assert.equal(d[2]!.endOfFile, 5n);
  }
});

test('round trip of every field for the Id classes', () => {
  const e = entry('x', { fileIndex: 0, eaSize: 3, shortName: 'X', fileId: 77n, reparsePointTag: 0 });
  const both = decodeDirectoryEntries(C.FileIdBothDirectoryInformation, encodeDirectoryEntries(C.FileIdBothDirectoryInformation, [e]))[0]!;
  assert.deepEqual(both, {
    fileName: 'x', fileIndex: 0, creationTime: 1n, lastAccessTime: 2n, lastWriteTime: 3n, changeTime: 4n,
    endOfFile: 5n, allocationSize: 4096n, fileAttributes: 0x20, eaSize: 3, shortName: 'X', fileId: 77n,
  });
  const extd = decodeDirectoryEntries(C.FileIdExtdDirectoryInformation, encodeDirectoryEntries(C.FileIdExtdDirectoryInformation, [{ ...e, reparsePointTag: 0xa000000c }]))[0]!;
  assert.equal(extd.reparsePointTag, 0xa000000c);
  assert.equal(extd.fileId, 77n);
  assert.equal(extd.eaSize, 3);
});

test('DirectoryEncoder stops at the output buffer limit without writing a partial entry', () => {
  const size = directoryEntrySize(C.FileDirectoryInformation, 'aaaa'); // 72
  const limit = 72 + 72 + 8; // two entries (72 -> 72 is 8-aligned), not a third
  const enc = new DirectoryEncoder(C.FileDirectoryInformation, limit);
  assert.equal(size, 72);
  assert.ok(enc.add(entry('aaaa')));
  assert.ok(enc.add(entry('bbbb')));
  assert.ok(!enc.add(entry('cccc')));
  assert.equal(enc.count, 2);
  const out = enc.finish();
  assert.equal(out.length, 144);
  assert.equal(out.readUInt32LE(72), 0, 'the refused entry must not be linked');
  assert.deepEqual(decodeDirectoryEntries(C.FileDirectoryInformation, out).map((e) => e.fileName), ['aaaa', 'bbbb']);
  // The first entry larger than the limit is refused too.
  assert.ok(!new DirectoryEncoder(C.FileDirectoryInformation, 60).add(entry('a')));
});

test('DirectoryEncoder grows past its initial buffer', () => {
  const enc = new DirectoryEncoder(C.FileNamesInformation, 1 << 20);
  let n = 0;
  while (enc.add(entry(`file-${n}-${'x'.repeat(100)}`))) n++;
  assert.ok(n > 1000);
  const d = decodeDirectoryEntries(C.FileNamesInformation, enc.finish());
  assert.equal(d.length, n);
  assert.equal(d[n - 1]!.fileName, `file-${n - 1}-${'x'.repeat(100)}`);
});

test('decoder rejects truncated entries and bad NextEntryOffset', () => {
  const b = encodeDirectoryEntries(C.FileDirectoryInformation, [entry('a'), entry('b')]);
  assert.throws(() => decodeDirectoryEntries(C.FileDirectoryInformation, b.subarray(0, b.length - 1)), MalformedError);
  const bad = Buffer.from(b);
  bad.writeUInt32LE(8, 0);
  assert.throws(() => decodeDirectoryEntries(C.FileDirectoryInformation, bad), MalformedError);
  assert.throws(() => encodeDirectoryEntries(99, [entry('a')]), RangeError);
});
