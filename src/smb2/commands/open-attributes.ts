/**
 * The attribute block that CREATE and CLOSE responses share (MS-SMB2 2.2.14 / 2.2.16):
 * CreationTime through FileAttributes, 52 bytes at body offset 8, laid out as
 * FileNetworkOpenInformation (MS-FSCC 2.4.29) is. The spec spells it "EndofFile" here.
 */
import { readFileTimes, writeFileTimes, type FileTimes } from '../fscc/time.js';

export interface OpenAttributes extends FileTimes {
  allocationSize: bigint;
  endofFile: bigint;
  fileAttributes: number;
}

export function writeOpenAttributes(b: Buffer, off: number, r: OpenAttributes): void {
  writeFileTimes(b, off, r);
  b.writeBigInt64LE(r.allocationSize, off + 32);
  b.writeBigInt64LE(r.endofFile, off + 40);
  b.writeUInt32LE(r.fileAttributes >>> 0, off + 48);
}

/** The caller has checked that the 52 bytes are there. */
export function readOpenAttributes(msg: Buffer, off: number): OpenAttributes {
  return {
    ...readFileTimes(msg, off),
    allocationSize: msg.readBigInt64LE(off + 32),
    endofFile: msg.readBigInt64LE(off + 40),
    fileAttributes: msg.readUInt32LE(off + 48),
  };
}
