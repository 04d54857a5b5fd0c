/**
 * Session channels (MS-SMB2 3.3.1.14): every connection a session is usable
 * on is one channel, with its own signing key. The first channel is made by
 * the first SESSION_SETUP; a 3.x client adds more by session binding
 * (SMB2_SESSION_FLAG_BINDING, 3.3.5.5). Trees and opens belong to the
 * session, so a request on any channel finds them (3.3.5.2.9); the session
 * lives while one of its channels does.
 */
import { Capabilities, Dialect, SessionSetupFlags, SigningAlgorithm } from '../smb2/constants.js';
import { HEADER_SIZE } from '../smb2/header.js';
import { NtStatus } from '../smb2/status.js';
import type { SigningAlgorithm as SigAlg } from '../crypto/signing.js';
import type { AuthExchange } from '../auth/authenticator.js';
import type { SmbConnection, NegotiatedState } from './connection.js';
import type { Session } from './state.js';

export class Channel {
  /** 'pending' while the authentication that makes it (first setup or binding) runs */
  state: 'pending' | 'valid' = 'pending';
  /** Channel.SigningKey; null until the authentication ends */
  signingKey: Buffer | null = null;
  /** the connection's negotiated signing algorithm */
  signingAlgorithm: SigAlg;
  /** 3.1.1: this channel's preauth integrity hash while its authentication runs */
  preauthHash: Buffer | null = null;
  /** the binding authentication in progress */
  auth: AuthExchange | null = null;

  constructor(readonly conn: SmbConnection) {
    this.signingAlgorithm = conn.negotiated!.signingAlgorithm;
  }
}

/** Adds (or restarts) the channel of `conn` on `s`; its preauth hash starts from the connection's (3.3.5.5.1). */
export function openChannel(s: Session, conn: SmbConnection): Channel {
  const ch = new Channel(conn);
  if (conn.negotiated?.preauthHash) ch.preauthHash = Buffer.from(conn.negotiated.preauthHash);
  s.channels.set(conn.id, ch);
  return ch;
}

export function channelOf(s: Session, conn: SmbConnection): Channel | undefined {
  return s.channels.get(conn.id);
}

/** Whether `s` may be used for requests other than SESSION_SETUP on `conn`. */
export function boundTo(s: Session, conn: SmbConnection): boolean {
  return s.channels.get(conn.id)?.state === 'valid';
}

/**
 * The key and algorithm that sign and verify on `conn` (3.3.4.1.1, 3.3.5.2.4):
 * the channel's once it has one, else Session.SigningKey (a binding request,
 * error responses to it, and a first SESSION_SETUP's final response before
 * the channel key exists).
 */
export function signingFor(s: Session, conn: SmbConnection): { key: Buffer; alg: SigAlg } | null {
  const ch = s.channels.get(conn.id);
  if (ch?.state === 'valid' && ch.signingKey) return { key: ch.signingKey, alg: ch.signingAlgorithm };
  return s.signingKey ? { key: s.signingKey, alg: s.signingAlgorithm } : null;
}

/**
 * A connection went away: its channel leaves each of its sessions. Returns
 * the sessions left without a valid channel, which the caller logs off; the
 * others go on, their notifications moving to a surviving channel.
 */
export function dropChannels(conn: SmbConnection): Session[] {
  const orphans: Session[] = [];
  for (const s of conn.sessions.values()) {
    s.channels.delete(conn.id);
    const survivor = channelBesides(s, conn);
    if (!survivor) orphans.push(s);
    else if (s.connectionId === conn.id) s.connectionId = survivor.conn.id;
  }
  return orphans;
}

/** A valid channel of `s` on a live connection other than `conn`: the session lives on without `conn`. */
export function channelBesides(s: Session, conn: SmbConnection): Channel | undefined {
  for (const ch of s.channels.values()) if (ch.conn !== conn && ch.state === 'valid' && !ch.conn.isClosed) return ch;
  return undefined;
}

/** Every live connection of the session (logoff cancels their pending requests). */
export function sessionConnections(s: Session): SmbConnection[] {
  return [...s.channels.values()].map((ch) => ch.conn).filter((c) => !c.isClosed);
}

/** Channels per session: Windows Server 2012 R2 and later allow 32 (smbtorture multichannel.generic.num_channels). */
export const MAX_CHANNELS = 32;
const GMAC = SigningAlgorithm.AES_GMAC;
/** MS-ERREF 2.3.1 */
const STATUS_REQUEST_OUT_OF_SEQUENCE = 0xc000042a;

/**
 * Why a session may not be bound to this connection, or null (3.3.5.5 step 4).
 * The order of the checks decides the status a client sees when several
 * apply; it is the one Windows shows in the smbtorture bind_negative tests:
 * signing algorithms first (a GMAC session cannot move to another algorithm,
 * REQUEST_OUT_OF_SEQUENCE; a GMAC connection cannot take a session of
 * another, NOT_SUPPORTED), then the dialect family, cipher and dialect.
 */
export function bindRejection(s: Session, neg: NegotiatedState): number | null {
  const sessAlg = s.signingAlgorithm;
  const connAlg = neg.signingAlgorithm;
  if (sessAlg >= GMAC && connAlg !== sessAlg) return STATUS_REQUEST_OUT_OF_SEQUENCE;
  if (connAlg >= GMAC && connAlg !== sessAlg) return NtStatus.NOT_SUPPORTED;
  if (neg.dialect < Dialect.SMB300) return NtStatus.REQUEST_NOT_ACCEPTED;
  if (s.cipherId !== neg.cipherId) return NtStatus.INVALID_PARAMETER;
  if (!(neg.serverCapabilities & Capabilities.MULTI_CHANNEL)) return NtStatus.REQUEST_NOT_ACCEPTED;
  if (s.dialect !== neg.dialect) return NtStatus.INVALID_PARAMETER;
  if (s.state === 'inProgress') return NtStatus.REQUEST_NOT_ACCEPTED;
  if (s.state === 'expired') return NtStatus.NETWORK_SESSION_EXPIRED;
  if (s.isAnonymous || s.isGuest) return NtStatus.NOT_SUPPORTED;
  return null;
}

/** SESSION_SETUP request Flags (2.2.5) carry SMB2_SESSION_FLAG_BINDING; read before the handler decodes it. */
export function isBindingRequest(msg: Buffer): boolean {
  return msg.length > HEADER_SIZE + 2 && (msg[HEADER_SIZE + 2]! & SessionSetupFlags.BINDING) !== 0;
}
