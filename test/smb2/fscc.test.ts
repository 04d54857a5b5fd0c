import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as f from '../../src/smb2/fscc/index.js';
import { MalformedError } from '../../src/smb2/wire.js';
import { hex, le32, le64, u16hex, zeros } from './helpers.js';

const BASIC = { creationTime: 1n, lastAccessTime: 2n, lastWriteTime: 3n, changeTime: 4n, fileAttributes: 0x20 };
const STD = { allocationSize: 4096n, endOfFile: 5n, numberOfLinks: 1, deletePending: false, directory: true };

test('FILETIME helpers', () => {
  assert.equal(f.unixNsToFiletime(0n), 116444736000000000n);
  assert.equal(f.filetimeToUnixNs(116444736000000000n), 0n);
  const ns = 1700000000123456700n;
  assert.equal(f.filetimeToUnixNs(f.unixNsToFiletime(ns)), ns);
  assert.equal(f.filetimeToMs(f.msToFiletime(1700000000123)), 1700000000123);
  assert.equal(f.filetimeToDate(f.dateToFiletime(new Date(Date.UTC(2020, 0, 1)))).toISOString(), '2020-01-01T00:00:00.000Z');
  assert.ok(f.isSpecialFiletime(0n) && f.isSpecialFiletime(f.FILETIME_FREEZE) && !f.isSpecialFiletime(5n));
});

test('FileBasicInformation (2.4.7): 40 bytes', () => {
  const b = f.encodeFileBasicInformation(BASIC);
  assert.deepEqual(b, hex(`${le64(1n)} ${le64(2n)} ${le64(3n)} ${le64(4n)} 20000000 00000000`));
  assert.deepEqual(f.decodeFileBasicInformation(b), BASIC);
  assert.throws(() => f.decodeFileBasicInformation(b.subarray(0, 30)), MalformedError);
});

test('FileStandardInformation (2.4.41): 24 bytes', () => {
  const b = f.encodeFileStandardInformation(STD);
  assert.deepEqual(b, hex(`${le64(4096n)} ${le64(5n)} 01000000 00 01 0000`));
  assert.deepEqual(f.decodeFileStandardInformation(b), STD);
});

test('FileAllInformation (2.4.2): 100 bytes + name, parts at spec offsets', () => {
  const all = { basic: BASIC, standard: STD, indexNumber: 0x55n, eaSize: 0, accessFlags: 0x1f01ff, currentByteOffset: 0n, mode: 0, alignmentRequirement: 0, fileName: '\\a.txt' };
  const b = f.encodeFileAllInformation(all);
  assert.equal(b.length, 100 + 12);
  assert.equal(b.readBigUInt64LE(64), 0x55n);
  assert.equal(b.readUInt32LE(76), 0x1f01ff);
  assert.equal(b.readUInt32LE(96), 12);
  assert.equal(b.toString('hex', 100), u16hex('\\a.txt'));
  assert.deepEqual(f.decodeFileAllInformation(b), all);
});

test('single-value classes and name information', () => {
  assert.deepEqual(f.encodeFileInternalInformation(0x0102n), hex('0201000000000000'));
  assert.deepEqual(f.encodeFileEaInformation(0), hex('00000000'));
  assert.deepEqual(f.encodeFileAccessInformation(0x12019f), hex('9f011200'));
  assert.deepEqual(f.encodeFilePositionInformation(7n), hex('0700000000000000'));
  assert.deepEqual(f.encodeFileModeInformation(0x20), hex('20000000'));
  assert.deepEqual(f.encodeFileAlignmentInformation(0), hex('00000000'));
  const n = f.encodeFileNameInformation('\\d\\x');
  assert.deepEqual(n, hex(`08000000 ${u16hex('\\d\\x')}`));
  assert.equal(f.decodeFileNameInformation(n), '\\d\\x');
  assert.deepEqual(f.encodeFileAlternateNameInformation('X~1'), hex(`06000000 ${u16hex('X~1')}`));
  assert.throws(() => f.decodeFileNameInformation(hex('10000000 6100')), MalformedError);
});

test('FileNetworkOpenInformation (2.4.29), AttributeTag (2.4.6), Compression (2.4.9)', () => {
  const i = { creationTime: 1n, lastAccessTime: 2n, lastWriteTime: 3n, changeTime: 4n, allocationSize: 8n, endOfFile: 6n, fileAttributes: 0x80 };
  const b = f.encodeFileNetworkOpenInformation(i);
  assert.equal(b.length, 56);
  assert.equal(b.toString('hex', 48), '8000000000000000');
  assert.deepEqual(f.decodeFileNetworkOpenInformation(b), i);
  assert.deepEqual(f.encodeFileAttributeTagInformation(0x10, 0), hex('10000000 00000000'));
  const c = { compressedFileSize: 100n, compressionFormat: 0, compressionUnitShift: 0, chunkShift: 0, clusterShift: 0 };
  assert.equal(f.encodeFileCompressionInformation(c).length, 16);
  assert.deepEqual(f.decodeFileCompressionInformation(f.encodeFileCompressionInformation(c)), c);
});

test('FileStreamInformation (2.4.43): 8-aligned chain', () => {
  const list = [
    { streamName: '::$DATA', streamSize: 10n, streamAllocationSize: 4096n },
    { streamName: ':s:$DATA', streamSize: 1n, streamAllocationSize: 8n },
  ];
  const b = f.encodeFileStreamInformation(list);
  // 24 + 14 = 38 -> 40.
  assert.equal(b.readUInt32LE(0), 40);
  assert.equal(b.readUInt32LE(4), 14);
  assert.equal(b.readUInt32LE(40), 0);
  assert.equal(b.length, 40 + 24 + 16);
  assert.deepEqual(f.decodeFileStreamInformation(b), list);
  assert.deepEqual(f.encodeFileStreamInformation([]), Buffer.alloc(0));
});

test('FileRenameInformation, SMB2 form (2.4.37.2): RootDirectory is 8 bytes', () => {
  const r = { replaceIfExists: true, rootDirectory: 0n, fileName: 'new\\name' };
  const b = f.encodeFileRenameInformation(r);
  assert.deepEqual(b, hex(`01 ${zeros(7)} ${zeros(8)} ${le32(16)} ${u16hex('new\\name')}`));
  assert.deepEqual(f.decodeFileRenameInformation(b), r);
  assert.deepEqual(f.decodeFileLinkInformation(b), r);
  assert.throws(() => f.decodeFileRenameInformation(b.subarray(0, 30)), MalformedError);
  assert.throws(() => f.decodeFileRenameInformation(hex(`00 ${zeros(7)} ${zeros(8)} 00000000`)), /empty/);
});

test('disposition, end of file, allocation, position, mode', () => {
  assert.deepEqual(f.decodeFileDispositionInformation(hex('01')), { deletePending: true });
  assert.deepEqual(f.decodeFileDispositionInformation(hex('00')), { deletePending: false });
  assert.deepEqual(f.encodeFileDispositionInformation(true), hex('01'));
  assert.deepEqual(f.decodeFileDispositionInformationEx(hex('03000000')), { flags: 3 });
  assert.deepEqual(f.decodeFileEndOfFileInformation(hex('0010000000000000')), { endOfFile: 4096n });
  assert.deepEqual(f.decodeFileEndOfFileInformation(hex('ffffffffffffffff')), { endOfFile: -1n });
  assert.deepEqual(f.decodeFileAllocationInformation(f.encodeI64(8192n)), { allocationSize: 8192n });
  assert.deepEqual(f.decodeFilePositionInformation(hex('0100000000000000')), { currentByteOffset: 1n });
  assert.deepEqual(f.decodeFileModeInformation(hex('02000000')), { mode: 2 });
  assert.throws(() => f.decodeFileDispositionInformation(Buffer.alloc(0)), MalformedError);
  assert.throws(() => f.decodeFileEndOfFileInformation(hex('01')), MalformedError);
});

test('FileFullEaInformation (2.4.15) and FileGetEaInformation (2.4.15.1)', () => {
  const list = [
    { flags: 0, eaName: 'USER.A', eaValue: hex('010203') },
    { flags: 0x80, eaName: 'B', eaValue: Buffer.alloc(0) },
  ];
  const b = f.encodeFileFullEaInformation(list);
  // 8 + 6 + 1 + 3 = 18 -> 20.
  assert.deepEqual(b, hex(`14000000 00 06 0300 ${Buffer.from('USER.A').toString('hex')} 00 010203 0000 00000000 80 01 0000 42 00`));
  assert.deepEqual(f.decodeFileFullEaInformation(b), list);
  const noNul = Buffer.from(b);
  noNul[14] = 0x41;
  assert.throws(() => f.decodeFileFullEaInformation(noNul), /NUL/);
  assert.deepEqual(f.decodeFileGetEaInformation(hex('08000000 01 4100 00 00000000 02 424300')), ['A', 'BC']);
});

test('file system classes (2.5.x)', () => {
  const vol = { volumeCreationTime: 5n, volumeSerialNumber: 0xdeadbeef, supportsObjects: false, volumeLabel: 'share' };
  const v = f.encodeFileFsVolumeInformation(vol);
  assert.deepEqual(v, hex(`${le64(5n)} efbeadde 0a000000 00 00 ${u16hex('share')}`));
  assert.deepEqual(f.decodeFileFsVolumeInformation(v), vol);
  const size = { totalAllocationUnits: 100n, availableAllocationUnits: 50n, sectorsPerAllocationUnit: 8, bytesPerSector: 512 };
  assert.deepEqual(f.encodeFileFsSizeInformation(size), hex(`${le64(100n)} ${le64(50n)} 08000000 00020000`));
  assert.deepEqual(f.decodeFileFsSizeInformation(f.encodeFileFsSizeInformation(size)), size);
  const full = { totalAllocationUnits: 100n, callerAvailableAllocationUnits: 40n, actualAvailableAllocationUnits: 50n, sectorsPerAllocationUnit: 8, bytesPerSector: 512 };
  assert.equal(f.encodeFileFsFullSizeInformation(full).length, 32);
  assert.deepEqual(f.decodeFileFsFullSizeInformation(f.encodeFileFsFullSizeInformation(full)), full);
  assert.deepEqual(f.encodeFileFsDeviceInformation(7, 0x20), hex('07000000 20000000'));
  const attr = { fileSystemAttributes: 0x0000008f, maximumComponentNameLength: 255, fileSystemName: 'NTFS' };
  const a = f.encodeFileFsAttributeInformation(attr);
  assert.deepEqual(a, hex(`8f000000 ff000000 08000000 ${u16hex('NTFS')}`));
  assert.deepEqual(f.decodeFileFsAttributeInformation(a), attr);
  const sector = {
    logicalBytesPerSector: 512, physicalBytesPerSectorForAtomicity: 4096, physicalBytesPerSectorForPerformance: 4096,
    fileSystemEffectivePhysicalBytesPerSectorForAtomicity: 4096, flags: 3, byteOffsetForSectorAlignment: 0, byteOffsetForPartitionAlignment: 0,
  };
  const s = f.encodeFileFsSectorSizeInformation(sector);
  assert.deepEqual(s, hex(`00020000 00100000 00100000 00100000 03000000 00000000 00000000`));
  assert.deepEqual(f.decodeFileFsSectorSizeInformation(s), sector);
  const o = f.encodeFileFsObjectIdInformation(Buffer.alloc(16, 1));
  assert.equal(o.length, 64);
  assert.deepEqual(f.decodeFileFsObjectIdInformation(o).objectId, Buffer.alloc(16, 1));
  assert.throws(() => f.decodeFileFsVolumeInformation(v.subarray(0, 20)), MalformedError);
});

test('FileIdInformation (2.4.21): 128-bit FileId', () => {
  const b = f.encodeFileIdInformation(0x1122n, (5n << 64n) | 7n);
  assert.deepEqual(b, hex(`2211000000000000 0700000000000000 0500000000000000`));
  assert.deepEqual(f.decodeFileIdInformation(b), { volumeSerialNumber: 0x1122n, fileId: (5n << 64n) | 7n });
});
