/**
 * Session binding (MS-SMB2 3.3.5.5 step 4, 3.3.5.5.3): a SESSION_SETUP with
 * SMB2_SESSION_FLAG_BINDING adds this connection to an existing session as
 * a new channel. The client authenticates again as the session's user; the
 * channel's signing key comes from that authentication (and, for 3.1.1,
 * this channel's preauth hash). The session's own keys do not change. A
 * failed binding leaves the session as it was.
 */
import { encodeSessionSetupResponse, type SessionSetupRequest } from '../../smb2/commands/session-setup.js';
import { HeaderFlags, SessionFlags } from '../../smb2/constants.js';
import { NtStatus, statusName } from '../../smb2/status.js';
import { deriveSessionKeys } from '../../crypto/keys.js';
import { preauthUpdate } from '../../crypto/preauth.js';
import { errorReply, type Reply, type RequestContext } from '../context.js';
import { bindRejection, channelOf, MAX_CHANNELS, openChannel } from '../channel.js';
import type { Session } from '../state.js';

/** The binding user must be the session's (Windows answers ACCESS_DENIED otherwise). */
export function sameUser(a: Session, b: { user: string; isGuest: boolean; isAnonymous: boolean }): boolean {
  return !b.isGuest && !b.isAnonymous && a.user.toLowerCase() === b.user.toLowerCase();
}

export async function handleBind(ctx: RequestContext, req: SessionSetupRequest): Promise<Reply> {
  const { conn, server, hdr } = ctx;
  const neg = conn.negotiated!;
  const s = ctx.session;
  // The connection found no session by this id in the global table.
  if (!s) return errorReply(NtStatus.USER_SESSION_DELETED);
  const fail = (status: number, why: string): Reply => {
    server.log.info(`connection ${conn.id} (${conn.peer}): binding to session ${s.id.toString(16)} refused (${statusName(status)}): ${why}`);
    return { ...errorReply(status), sessionId: s.id };
  };
  if (!(hdr.flags & HeaderFlags.SIGNED)) return fail(NtStatus.INVALID_PARAMETER, 'request not signed');
  let ch = channelOf(s, conn);
  if (ch?.state === 'valid') return fail(NtStatus.REQUEST_NOT_ACCEPTED, 'the connection is already a channel of the session');
  if (!ch?.auth) {
    const why = bindRejection(s, neg);
    if (why !== null) return fail(why, `session dialect ${s.dialect.toString(16)} signing ${s.signingAlgorithm} cipher ${s.cipherId}, connection dialect ${neg.dialect.toString(16)} signing ${neg.signingAlgorithm} cipher ${neg.cipherId}`);
    if (s.channels.size >= MAX_CHANNELS) return fail(NtStatus.INSUFFICIENT_RESOURCES, `the session has ${s.channels.size} channels`);
    ch = openChannel(s, conn);
    ch.auth = server.auth.start();
    // Listed here so that the channel goes when the connection does (channel.ts dropChannels).
    conn.sessions.set(s.id, s);
  }
  if (ch.preauthHash) ch.preauthHash = preauthUpdate(ch.preauthHash, ctx.msg);
  const step = ch.auth!.step(req.securityBuffer);
  if (step.status === 'more') {
    return { status: NtStatus.MORE_PROCESSING_REQUIRED, body: encodeSessionSetupResponse({ sessionFlags: 0, securityBuffer: step.token }), sessionId: s.id };
  }
  if (step.status === 'failed' || !sameUser(s, step) || step.sessionKey.length === 0) {
    s.channels.delete(conn.id);
    conn.sessions.delete(s.id);
    if (step.status === 'failed') return fail(step.invalid ? NtStatus.INVALID_PARAMETER : NtStatus.LOGON_FAILURE, step.reason);
    return fail(NtStatus.ACCESS_DENIED, `authenticated as ${step.isAnonymous ? 'anonymous' : step.user}${step.isGuest ? ' (guest)' : ''}, not as the session's user`);
  }
  // 3.3.5.5.3: Channel.SigningKey from this authentication's key; 3.1.1 with this channel's preauth hash.
  const keys = deriveSessionKeys({ dialect: neg.dialect, gssSessionKey: step.sessionKey, cipherId: neg.cipherId, preauthHash: ch.preauthHash ?? undefined });
  ch.signingKey = keys.signingKey;
  ch.auth = null;
  ch.preauthHash = null;
  ch.state = 'valid';
  conn.loggedOn();
  server.log.info(`connection ${conn.id} (${conn.peer}): bound to session ${s.id.toString(16)} (${s.channels.size} channels)`);
  const flags = s.encryptData ? SessionFlags.ENCRYPT_DATA : 0;
  return { status: 0, body: encodeSessionSetupResponse({ sessionFlags: flags, securityBuffer: step.token }), sessionId: s.id };
}
