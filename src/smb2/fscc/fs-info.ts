/**
 * File system information classes of QUERY_INFO with InfoType FILESYSTEM (MS-FSCC 2.5):
 * encoders for the server, decoders for the client.
 */
import { fromUtf16, need, utf16, zeroed } from '../wire.js';

/** FileFsVolumeInformation (2.5.9): 18 bytes + label. */
export interface FileFsVolumeInformation {
  volumeCreationTime: bigint;
  volumeSerialNumber: number;
  supportsObjects: boolean;
  volumeLabel: string;
}

export function encodeFileFsVolumeInformation(i: FileFsVolumeInformation): Buffer {
  const label = utf16(i.volumeLabel);
  const b = zeroed(18 + label.length);
  b.writeBigUInt64LE(i.volumeCreationTime, 0);
  b.writeUInt32LE(i.volumeSerialNumber >>> 0, 8);
  b.writeUInt32LE(label.length, 12);
  b.writeUInt8(i.supportsObjects ? 1 : 0, 16);
  label.copy(b, 18);
  return b;
}

export function decodeFileFsVolumeInformation(b: Buffer): FileFsVolumeInformation {
  need(b, 0, 18, 'FileFsVolumeInformation');
  const len = b.readUInt32LE(12);
  need(b, 18, len, 'FileFsVolumeInformation label');
  return {
    volumeCreationTime: b.readBigUInt64LE(0),
    volumeSerialNumber: b.readUInt32LE(8),
    supportsObjects: b[16] !== 0,
    volumeLabel: fromUtf16(b.subarray(18, 18 + len)),
  };
}

/** FileFsSizeInformation (2.5.8): 24 bytes. */
export interface FileFsSizeInformation {
  totalAllocationUnits: bigint;
  availableAllocationUnits: bigint;
  sectorsPerAllocationUnit: number;
  bytesPerSector: number;
}

export function encodeFileFsSizeInformation(i: FileFsSizeInformation): Buffer {
  const b = zeroed(24);
  b.writeBigInt64LE(i.totalAllocationUnits, 0);
  b.writeBigInt64LE(i.availableAllocationUnits, 8);
  b.writeUInt32LE(i.sectorsPerAllocationUnit, 16);
  b.writeUInt32LE(i.bytesPerSector, 20);
  return b;
}

export function decodeFileFsSizeInformation(b: Buffer): FileFsSizeInformation {
  need(b, 0, 24, 'FileFsSizeInformation');
  return {
    totalAllocationUnits: b.readBigInt64LE(0),
    availableAllocationUnits: b.readBigInt64LE(8),
    sectorsPerAllocationUnit: b.readUInt32LE(16),
    bytesPerSector: b.readUInt32LE(20),
  };
}

/** FileFsFullSizeInformation (2.5.4): 32 bytes. */
export interface FileFsFullSizeInformation {
  totalAllocationUnits: bigint;
  callerAvailableAllocationUnits: bigint;
  actualAvailableAllocationUnits: bigint;
  sectorsPerAllocationUnit: number;
  bytesPerSector: number;
}

export function encodeFileFsFullSizeInformation(i: FileFsFullSizeInformation): Buffer {
  const b = zeroed(32);
  b.writeBigInt64LE(i.totalAllocationUnits, 0);
  b.writeBigInt64LE(i.callerAvailableAllocationUnits, 8);
  b.writeBigInt64LE(i.actualAvailableAllocationUnits, 16);
  b.writeUInt32LE(i.sectorsPerAllocationUnit, 24);
  b.writeUInt32LE(i.bytesPerSector, 28);
  return b;
}

export function decodeFileFsFullSizeInformation(b: Buffer): FileFsFullSizeInformation {
  need(b, 0, 32, 'FileFsFullSizeInformation');
  return {
    totalAllocationUnits: b.readBigInt64LE(0),
    callerAvailableAllocationUnits: b.readBigInt64LE(8),
    actualAvailableAllocationUnits: b.readBigInt64LE(16),
    sectorsPerAllocationUnit: b.readUInt32LE(24),
    bytesPerSector: b.readUInt32LE(28),
  };
}

/** FileFsDeviceInformation (2.5.10): 8 bytes. */
export function encodeFileFsDeviceInformation(deviceType: number, characteristics: number): Buffer {
  const b = zeroed(8);
  b.writeUInt32LE(deviceType >>> 0, 0);
  b.writeUInt32LE(characteristics >>> 0, 4);
  return b;
}

export function decodeFileFsDeviceInformation(b: Buffer): { deviceType: number; characteristics: number } {
  need(b, 0, 8, 'FileFsDeviceInformation');
  return { deviceType: b.readUInt32LE(0), characteristics: b.readUInt32LE(4) };
}

/** FileFsAttributeInformation (2.5.1): 12 bytes + name ('NTFS'). */
export interface FileFsAttributeInformation {
  fileSystemAttributes: number;
  maximumComponentNameLength: number;
  fileSystemName: string;
}

export function encodeFileFsAttributeInformation(i: FileFsAttributeInformation): Buffer {
  const n = utf16(i.fileSystemName);
  const b = zeroed(12 + n.length);
  b.writeUInt32LE(i.fileSystemAttributes >>> 0, 0);
  b.writeInt32LE(i.maximumComponentNameLength, 4);
  b.writeUInt32LE(n.length, 8);
  n.copy(b, 12);
  return b;
}

export function decodeFileFsAttributeInformation(b: Buffer): FileFsAttributeInformation {
  need(b, 0, 12, 'FileFsAttributeInformation');
  const len = b.readUInt32LE(8);
  need(b, 12, len, 'FileFsAttributeInformation name');
  return {
    fileSystemAttributes: b.readUInt32LE(0),
    maximumComponentNameLength: b.readInt32LE(4),
    fileSystemName: fromUtf16(b.subarray(12, 12 + len)),
  };
}

/** FileFsSectorSizeInformation (2.5.7): 28 bytes. */
export interface FileFsSectorSizeInformation {
  logicalBytesPerSector: number;
  physicalBytesPerSectorForAtomicity: number;
  physicalBytesPerSectorForPerformance: number;
  fileSystemEffectivePhysicalBytesPerSectorForAtomicity: number;
  flags: number;
  byteOffsetForSectorAlignment: number;
  byteOffsetForPartitionAlignment: number;
}

const SECTOR_FIELDS = [
  'logicalBytesPerSector',
  'physicalBytesPerSectorForAtomicity',
  'physicalBytesPerSectorForPerformance',
  'fileSystemEffectivePhysicalBytesPerSectorForAtomicity',
  'flags',
  'byteOffsetForSectorAlignment',
  'byteOffsetForPartitionAlignment',
] as const;

export function encodeFileFsSectorSizeInformation(i: FileFsSectorSizeInformation): Buffer {
  const b = zeroed(28);
  SECTOR_FIELDS.forEach((k, n) => b.writeUInt32LE(i[k] >>> 0, n * 4));
  return b;
}

export function decodeFileFsSectorSizeInformation(b: Buffer): FileFsSectorSizeInformation {
  need(b, 0, 28, 'FileFsSectorSizeInformation');
  const o = {} as FileFsSectorSizeInformation;
  SECTOR_FIELDS.forEach((k, n) => (o[k] = b.readUInt32LE(n * 4)));
  return o;
}

/** FileFsSectorSizeInformation Flags (2.5.7). */
export const SectorSizeFlags = {
  ALIGNED_DEVICE: 0x00000001,
  PARTITION_ALIGNED_ON_DEVICE: 0x00000002,
  NO_SEEK_PENALTY: 0x00000004,
  TRIM_ENABLED: 0x00000008,
} as const;

/** FileFsObjectIdInformation (2.5.6): ObjectId(16) ExtendedInfo(48). */
export function encodeFileFsObjectIdInformation(objectId: Buffer, extendedInfo?: Buffer): Buffer {
  if (objectId.length !== 16) throw new RangeError('objectId must be 16 bytes');
  if (extendedInfo && extendedInfo.length !== 48) throw new RangeError('extendedInfo must be 48 bytes');
  const b = zeroed(64);
  objectId.copy(b, 0);
  extendedInfo?.copy(b, 16);
  return b;
}

export function decodeFileFsObjectIdInformation(b: Buffer): { objectId: Buffer; extendedInfo: Buffer } {
  need(b, 0, 64, 'FileFsObjectIdInformation');
  return { objectId: Buffer.from(b.subarray(0, 16)), extendedInfo: Buffer.from(b.subarray(16, 64)) };
}
