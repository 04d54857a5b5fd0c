/**
 * OPLOCK_BREAK: oplock break notification / acknowledgment / response (MS-SMB2 2.2.23.1,
 * 2.2.24.1, 2.2.25.1; StructureSize 24) and the lease forms (2.2.23.2 notification,
 * StructureSize 44; 2.2.24.2 / 2.2.25.2 acknowledgment and response, StructureSize 36).
 * The StructureSize tells which one a message is.
 */
import { HEADER_SIZE } from '../header.js';
import { FileId, MalformedError, copy16, need, put16, readFileId, writeFileId, zeroed } from '../wire.js';

const B = HEADER_SIZE;
export const OPLOCK_BREAK_SIZE = 24;
export const LEASE_BREAK_NOTIFICATION_SIZE = 44;
export const LEASE_BREAK_ACK_SIZE = 36;

/** Notification, acknowledgment and response share this layout. */
export interface OplockBreak {
  kind: 'oplock';
  oplockLevel: number;
  fileId: FileId;
}

export interface LeaseBreakNotification {
  kind: 'leaseNotification';
  newEpoch: number;
  flags: number;
  leaseKey: Buffer;
  currentLeaseState: number;
  newLeaseState: number;
  breakReason: number;
  accessMaskHint: number;
  shareMaskHint: number;
}

/** Acknowledgment (client) and response (server) share this layout. */
export interface LeaseBreakAck {
  kind: 'leaseAck';
  flags: number;
  leaseKey: Buffer;
  leaseState: number;
  leaseDuration: bigint;
}

export type OplockBreakMessage = OplockBreak | LeaseBreakNotification | LeaseBreakAck;

export function encodeOplockBreak(m: OplockBreakMessage): Buffer {
  switch (m.kind) {
    case 'oplock': {
      const b = zeroed(24);
      b.writeUInt16LE(OPLOCK_BREAK_SIZE, 0);
      b.writeUInt8(m.oplockLevel, 2);
      writeFileId(b, 8, m.fileId);
      return b;
    }
    case 'leaseNotification': {
      const b = zeroed(44);
      b.writeUInt16LE(LEASE_BREAK_NOTIFICATION_SIZE, 0);
      b.writeUInt16LE(m.newEpoch, 2);
      b.writeUInt32LE(m.flags, 4);
      put16(b, 8, m.leaseKey, 'leaseKey');
      b.writeUInt32LE(m.currentLeaseState, 24);
      b.writeUInt32LE(m.newLeaseState, 28);
      b.writeUInt32LE(m.breakReason, 32);
      b.writeUInt32LE(m.accessMaskHint, 36);
      b.writeUInt32LE(m.shareMaskHint, 40);
      return b;
    }
    case 'leaseAck': {
      const b = zeroed(36);
      b.writeUInt16LE(LEASE_BREAK_ACK_SIZE, 0);
      b.writeUInt32LE(m.flags, 4);
      put16(b, 8, m.leaseKey, 'leaseKey');
      b.writeUInt32LE(m.leaseState, 24);
      b.writeBigUInt64LE(m.leaseDuration, 28);
      return b;
    }
  }
}

/** Decodes any of the five forms, telling them apart by StructureSize. */
export function decodeOplockBreak(msg: Buffer): OplockBreakMessage {
  need(msg, B, 2, 'OPLOCK_BREAK');
  const size = msg.readUInt16LE(B);
  switch (size) {
    case OPLOCK_BREAK_SIZE:
      need(msg, B, 24, 'OPLOCK_BREAK');
      return { kind: 'oplock', oplockLevel: msg.readUInt8(B + 2), fileId: readFileId(msg, B + 8) };
    case LEASE_BREAK_NOTIFICATION_SIZE:
      need(msg, B, 44, 'lease break notification');
      return {
        kind: 'leaseNotification',
        newEpoch: msg.readUInt16LE(B + 2),
        flags: msg.readUInt32LE(B + 4),
        leaseKey: copy16(msg, B + 8),
        currentLeaseState: msg.readUInt32LE(B + 24),
        newLeaseState: msg.readUInt32LE(B + 28),
        breakReason: msg.readUInt32LE(B + 32),
        accessMaskHint: msg.readUInt32LE(B + 36),
        shareMaskHint: msg.readUInt32LE(B + 40),
      };
    case LEASE_BREAK_ACK_SIZE:
      need(msg, B, 36, 'lease break acknowledgment');
      return {
        kind: 'leaseAck',
        flags: msg.readUInt32LE(B + 4),
        leaseKey: copy16(msg, B + 8),
        leaseState: msg.readUInt32LE(B + 24),
        leaseDuration: msg.readBigUInt64LE(B + 28),
      };
    default:
      throw new MalformedError(`OPLOCK_BREAK: StructureSize ${size}`);
  }
}

/** Aliases by role, so server and client code reads like the spec. */
export const decodeOplockBreakRequest = decodeOplockBreak;
export const encodeOplockBreakRequest = encodeOplockBreak;
export const decodeOplockBreakResponse = decodeOplockBreak;
export const encodeOplockBreakResponse = encodeOplockBreak;
