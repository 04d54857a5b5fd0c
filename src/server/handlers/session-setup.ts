/**
 * SESSION_SETUP (MS-SMB2 3.3.5.5): SPNEGO/NTLM through the server's
 * authenticator. A new session (SessionId 0), a re-authentication of a
 * valid one (its keys stay, 3.3.5.5.3), or a binding of this connection
 * as a new channel (session-bind.ts).
 */
import { decodeSessionSetupRequest, encodeSessionSetupResponse, type SessionSetupRequest } from '../../smb2/commands/session-setup.js';
import { SessionFlags, SessionSetupFlags, SecurityMode } from '../../smb2/constants.js';
import { NtStatus } from '../../smb2/status.js';
import { deriveSessionKeys, keysForRole } from '../../crypto/keys.js';
import { preauthUpdate } from '../../crypto/preauth.js';
import { errorReply, type Reply, type RequestContext } from '../context.js';
import { Session } from '../state.js';
import { channelOf, openChannel, type Channel } from '../channel.js';
import { handleBind, sameUser } from './session-bind.js';
import type { AuthExchange, AuthStepResult } from '../../auth/authenticator.js';

type AuthOk = Extract<AuthStepResult, { status: 'ok' }>;

export async function handleSessionSetup(ctx: RequestContext): Promise<Reply> {
  const { conn, server, hdr } = ctx;
  const neg = conn.negotiated!;
  const req = decodeSessionSetupRequest(ctx.msg);
  // SessionId zero is a new authentication whatever the flags say (3.3.5.5 step 3).
  if (req.flags & SessionSetupFlags.BINDING && hdr.sessionId !== 0n) return handleBind(ctx, req);
  let session = ctx.session;
  if (!session) {
    if (hdr.sessionId !== 0n) return errorReply(NtStatus.USER_SESSION_DELETED);
    if (conn.sessions.size >= server.config.maxSessionsPerConnection) return errorReply(NtStatus.INSUFFICIENT_RESOURCES);
    session = new Session(server.state.newSessionId(), neg.dialect, conn.id);
    session.signingAlgorithm = neg.signingAlgorithm;
    session.clientGuid = neg.clientGuid;
    session.cipherId = neg.cipherId;
    server.state.sessions.set(session.id, session);
    conn.sessions.set(session.id, session);
    openChannel(session, conn);
    ctx.session = session;
  }
  const ch = channelOf(session, conn);
  // A binding under way on this connection, continued without the flag.
  if (!ch || (session.state === 'valid' && ch.state !== 'valid')) return { ...errorReply(NtStatus.REQUEST_NOT_ACCEPTED), sessionId: session.id };
  const reauth = session.state === 'valid';
  if (session.auth === null) {
    session.auth = server.auth.start();
    // Each authentication hashes its own exchange (3.3.5.5.1 / 3.3.5.5.2).
    if (reauth) ch.preauthHash = neg.preauthHash ? Buffer.from(neg.preauthHash) : null;
  }
  if (ch.preauthHash) ch.preauthHash = preauthUpdate(ch.preauthHash, ctx.msg);
  const step = (session.auth as AuthExchange).step(req.securityBuffer);
  if (step.status === 'more') {
    return { status: NtStatus.MORE_PROCESSING_REQUIRED, body: encodeSessionSetupResponse({ sessionFlags: 0, securityBuffer: step.token }), sessionId: session.id };
  }
  session.auth = null;
  if (step.status === 'failed') {
    server.log.warn(`connection ${conn.id} (${conn.peer}): ${reauth ? 're-authentication' : 'logon'} failed: ${step.reason}`);
    // 3.3.5.5.3: a failed authentication removes the session, a re-authenticated one with its trees and opens.
    await endSession(ctx, session, reauth);
    return { ...errorReply(step.invalid ? NtStatus.INVALID_PARAMETER : NtStatus.LOGON_FAILURE), sessionId: session.id };
  }
  if (step.isGuest && !server.config.guest) {
    await endSession(ctx, session, reauth);
    return { ...errorReply(NtStatus.LOGON_FAILURE), sessionId: session.id };
  }
  return reauth ? finishReauth(ctx, session, ch, step) : finishNew(ctx, session, ch, step, req);
}

async function endSession(ctx: RequestContext, s: Session, hadTrees: boolean): Promise<void> {
  if (hadTrees) await ctx.server.logoff(s);
  else ctx.server.removeSession(s);
}

/** 3.3.5.5.3 for a new session: keys, signing and encryption, the first channel. */
async function finishNew(ctx: RequestContext, session: Session, ch: Channel, step: AuthOk, req: SessionSetupRequest): Promise<Reply> {
  const { conn, server } = ctx;
  const neg = conn.negotiated!;
  session.user = step.user;
  session.domain = step.domain;
  session.isGuest = step.isGuest;
  session.isAnonymous = step.isAnonymous;
  if (!step.isAnonymous && !step.isGuest && step.sessionKey.length > 0) {
    const keys = deriveSessionKeys({ dialect: neg.dialect, gssSessionKey: step.sessionKey, cipherId: neg.cipherId, preauthHash: ch.preauthHash ?? undefined });
    const role = keysForRole(keys, 'server');
    session.sessionKey = keys.sessionKey;
    session.signingKey = keys.signingKey;
    session.encryptionKey = role.encryptionKey;
    session.decryptionKey = role.decryptionKey;
    session.applicationKey = keys.applicationKey;
    // The first channel's key is Session.SigningKey (3.3.5.5.3).
    ch.signingKey = keys.signingKey;
    const clientRequires = (req.securityMode & SecurityMode.SIGNING_REQUIRED) !== 0;
    session.signingRequired = server.config.signing === 'required' || clientRequires;
    session.encryptData = server.config.encrypt && neg.cipherId !== 0 && session.encryptionKey !== null;
  }
  if (server.config.encrypt && !session.encryptData) {
    // Encryption required globally, and this client cannot do it (2.x, or a guest).
    server.log.warn(`connection ${conn.id} (${conn.peer}): encryption is required but the session cannot encrypt`);
    server.removeSession(session);
    return errorReply(NtStatus.ACCESS_DENIED);
  }
  session.state = 'valid';
  ch.state = 'valid';
  ch.preauthHash = null;
  conn.loggedOn();
  await endPreviousSession(ctx, session, req.previousSessionId);
  let flags = 0;
  if (step.isGuest) flags |= SessionFlags.IS_GUEST;
  if (step.isAnonymous) flags |= SessionFlags.IS_NULL;
  if (session.encryptData) flags |= SessionFlags.ENCRYPT_DATA;
  server.log.info(`connection ${conn.id} (${conn.peer}): session ${session.id.toString(16)} for ${who(step)}, dialect ${neg.dialect.toString(16)}${session.encryptData ? ', encrypted' : session.signingRequired ? ', signed' : ''}`);
  return { status: 0, body: encodeSessionSetupResponse({ sessionFlags: flags, securityBuffer: step.token }), sessionId: session.id };
}

/**
 * Re-authentication (3.3.5.5.3 with Session.State Valid): the session takes
 * the new identity; its keys, channels, trees and opens stay, so requests
 * signed with the channel keys go on working.
 */
function finishReauth(ctx: RequestContext, session: Session, ch: Channel, step: AuthOk): Reply {
  const { conn, server } = ctx;
  session.user = step.user;
  session.domain = step.domain;
  session.isGuest = step.isGuest;
  session.isAnonymous = step.isAnonymous;
  ch.preauthHash = null;
  server.log.info(`connection ${conn.id} (${conn.peer}): session ${session.id.toString(16)} re-authenticated as ${who(step)}`);
  const flags = session.encryptData ? SessionFlags.ENCRYPT_DATA : 0;
  return { status: 0, body: encodeSessionSetupResponse({ sessionFlags: flags, securityBuffer: step.token }), sessionId: session.id };
}

/**
 * PreviousSessionId (3.3.5.5.3): a client reconnecting after a network loss
 * names its old session; the same user's old session is logged off, its
 * durable opens kept for reconnection.
 */
async function endPreviousSession(ctx: RequestContext, session: Session, previousId: bigint): Promise<void> {
  if (previousId === 0n || previousId === session.id) return;
  const prev = ctx.server.state.sessions.get(previousId);
  if (!prev || prev.state !== 'valid' || prev.isAnonymous || prev.isGuest || !sameUser(prev, session)) return;
  ctx.server.log.info(`connection ${ctx.conn.id} (${ctx.conn.peer}): session ${session.id.toString(16)} replaces session ${prev.id.toString(16)}`);
  await ctx.server.logoff(prev);
}

function who(step: AuthOk): string {
  if (step.isAnonymous) return 'anonymous';
  return `${step.domain ? step.domain + '\\' : ''}${step.user}${step.isGuest ? ' (guest)' : ''}`;
}
