/**
 * Replayed CREATEs (MS-SMB2 3.3.5.9.10). A 3.x client that loses a connection
 * before a CREATE's answer sends the CREATE again, on another channel or a
 * new connection, with SMB2_FLAGS_REPLAY_OPERATION; its DH2Q context carries
 * the same CreateGuid. The server answers it with the open the first one made
 * (Open.IsReplayEligible, Open.CreateGuid), not with a second open that
 * would conflict with the first.
 *
 * Every CREATE with a DH2Q is kept here, by ClientGuid and CreateGuid, from
 * the moment it starts, whether or not durability is granted: while it is
 * still under way (waiting for an oplock or lease break) a replay of it is
 * answered STATUS_FILE_NOT_AVAILABLE, so the client retries it later; this
 * is Samba's answer (smbtorture smb2.replay dhv2-pending*-sane: Windows
 * answers ACCESS_DENIED or holds the replay until the first one ends). Once
 * it has made an open, the replay gets that open's answer, until the client
 * names the handle in a request of its own: it has had the answer then, and
 * a later replay is a CREATE like any other (Windows and Samba alike,
 * smbtorture smb2.replay.replay6). The same CreateGuid without the replay
 * flag, while its open lives, is STATUS_DUPLICATE_OBJECTID. The entry goes
 * when the open closes.
 *
 * Also here: the channel sequence of each open (3.3.5.2.10), by which a
 * WRITE, SET_INFO or IOCTL sent on a channel the client has since given up
 * is refused rather than applied after the client has moved on.
 */
import type { CreateResponse } from '../smb2/commands/create.js';
import { Command } from '../smb2/constants.js';
import type { Open } from './state.js';

/** What the first CREATE answered: a replay gets it again (its oplock and contexts recomputed). */
export type ReplayAnswer = Omit<CreateResponse, 'oplockLevel' | 'fileId'>;

export interface ReplaySlot {
  readonly key: string;
  /** null while the first CREATE is under way */
  open: Open | null;
  /** null once the client has used the handle: a replay is then a new CREATE */
  answer: ReplayAnswer | null;
}

export class ReplayTable {
  private readonly slots = new Map<string, ReplaySlot>();

  static key(clientGuid: Buffer, createGuid: Buffer): string {
    return clientGuid.toString('hex') + createGuid.toString('hex');
  }

  get size(): number {
    return this.slots.size;
  }

  find(key: string): ReplaySlot | undefined {
    return this.slots.get(key);
  }

  /** A CREATE with this CreateGuid starts (the caller has checked none is kept). */
  begin(key: string): ReplaySlot {
    const slot: ReplaySlot = { key, open: null, answer: null };
    this.slots.set(key, slot);
    return slot;
  }

  /** It made `open`, answering `answer`. */
  complete(slot: ReplaySlot, open: Open, answer: ReplayAnswer): void {
    if (this.slots.get(slot.key) !== slot || open.closed) return;
    slot.open = open;
    slot.answer = answer;
    open.replay = slot;
  }

  /** It failed, or was cancelled: a CREATE with the same CreateGuid is a new one. */
  abandon(slot: ReplaySlot): void {
    if (slot.open === null && this.slots.get(slot.key) === slot) this.slots.delete(slot.key);
  }

  /** The open closed: it can be replayed no more. */
  forget(open: Open): void {
    const slot = open.replay;
    if (slot && this.slots.get(slot.key) === slot) this.slots.delete(slot.key);
  }
}

/** The commands a stale channel sequence refuses (3.3.5.2.10); others go on, uncounted. */
const SEQUENCED = new Set<number>([Command.WRITE, Command.SET_INFO, Command.IOCTL]);

export function refusedWhenStale(command: number): boolean {
  return SEQUENCED.has(command);
}

/**
 * 3.3.5.2.10, for a 3.x request naming `open` with ChannelSequence `csn`.
 * A sequence within 0x7FFF ahead of the open's is newer and becomes the open's;
 * requests still running under the old one become "pre" requests, and while
 * any is outstanding a replayed request is refused (it may overtake its
 * original). Returns whether the request is counted; a request that is not
 * counted is refused when it is a WRITE, SET_INFO or IOCTL.
 */
export function sequenceRequest(open: Open, csn: number, replay: boolean): boolean {
  if (staleSequence(open, csn)) return false;
  if (csn === open.channelSequence) {
    if (replay && open.outstandingPre !== 0) return false;
    open.outstanding++;
    return true;
  }
  open.outstandingPre += open.outstanding;
  open.channelSequence = csn;
  if (replay && open.outstandingPre !== 0) {
    open.outstanding = 0;
    return false;
  }
  open.outstanding = 1;
  return true;
}

/** A counted request ended (3.3.4.1.x: by the sequence it came with); never below zero. */
export function sequenceDone(open: Open, csn: number): void {
  if (csn === open.channelSequence) open.outstanding = Math.max(0, open.outstanding - 1);
  else open.outstandingPre = Math.max(0, open.outstandingPre - 1);
}

/** Whether a request that is not a replay would be refused, without counting it (the spliced WRITE decides before its handler runs). */
export function staleSequence(open: Open, csn: number): boolean {
  return ((csn - open.channelSequence) & 0xffff) > 0x7fff;
}
