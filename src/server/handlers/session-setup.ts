/** SESSION_SETUP (MS-SMB2 3.3.5.5): SPNEGO/NTLM through the server's authenticator. */
import { decodeSessionSetupRequest, encodeSessionSetupResponse } from '../../smb2/commands/session-setup.js';
import { SessionFlags, SessionSetupFlags, SecurityMode } from '../../smb2/constants.js';
import { NtStatus } from '../../smb2/status.js';
import { deriveSessionKeys, keysForRole } from '../../crypto/keys.js';
import { preauthUpdate } from '../../crypto/preauth.js';
import { errorReply, type Reply, type RequestContext } from '../context.js';
import { Session } from '../state.js';
import type { AuthExchange } from '../../auth/authenticator.js';

export async function handleSessionSetup(ctx: RequestContext): Promise<Reply> {
  const { conn, server, hdr } = ctx;
  const neg = conn.negotiated!;
  const req = decodeSessionSetupRequest(ctx.msg);
  if (req.flags & SessionSetupFlags.BINDING) {
    // Multichannel session binding arrives with the io_uring data path.
    return errorReply(NtStatus.REQUEST_NOT_ACCEPTED);
  }
  let session = ctx.session;
  if (!session) {
    if (hdr.sessionId !== 0n) return errorReply(NtStatus.USER_SESSION_DELETED);
    if (conn.sessions.size >= server.config.maxSessionsPerConnection) return errorReply(NtStatus.INSUFFICIENT_RESOURCES);
    session = new Session(server.state.newSessionId(), neg.dialect, conn.id);
    session.signingAlgorithm = neg.signingAlgorithm;
    server.state.sessions.set(session.id, session);
    conn.sessions.set(session.id, session);
    ctx.session = session;
  }
  if (session.auth === null) {
    session.auth = server.auth.start();
    if (neg.preauthHash) session.preauthHash = Buffer.from(neg.preauthHash);
  }
  if (session.preauthHash) session.preauthHash = preauthUpdate(session.preauthHash, ctx.msg);
  const step = (session.auth as AuthExchange).step(req.securityBuffer);
  if (step.status === 'more') {
    return { status: NtStatus.MORE_PROCESSING_REQUIRED, body: encodeSessionSetupResponse({ sessionFlags: 0, securityBuffer: step.token }), sessionId: session.id };
  }
  if (step.status === 'failed') {
    server.log.warn(`connection ${conn.id} (${conn.peer}): logon failed: ${step.reason}`);
    const wasValid = session.state === 'valid';
    if (!wasValid) server.removeSession(session);
    else session.auth = null;
    return { ...errorReply(NtStatus.LOGON_FAILURE), sessionId: session.id };
  }
  // Success (3.3.5.5.3).
  const anonymousOrGuest = step.isAnonymous || step.isGuest;
  if (step.isGuest && !server.config.guest) {
    server.removeSession(session);
    return errorReply(NtStatus.LOGON_FAILURE);
  }
  session.user = step.user;
  session.domain = step.domain;
  session.isGuest = step.isGuest;
  session.isAnonymous = step.isAnonymous;
  session.auth = null;
  if (!anonymousOrGuest && step.sessionKey.length > 0) {
    const keys = deriveSessionKeys({ dialect: neg.dialect, gssSessionKey: step.sessionKey, cipherId: neg.cipherId, preauthHash: session.preauthHash ?? undefined });
    const role = keysForRole(keys, 'server');
    session.sessionKey = keys.sessionKey;
    session.signingKey = keys.signingKey;
    session.encryptionKey = role.encryptionKey;
    session.decryptionKey = role.decryptionKey;
    session.applicationKey = keys.applicationKey;
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
  session.preauthHash = null;
  let flags = 0;
  if (step.isGuest) flags |= SessionFlags.IS_GUEST;
  if (step.isAnonymous) flags |= SessionFlags.IS_NULL;
  if (session.encryptData) flags |= SessionFlags.ENCRYPT_DATA;
  server.log.info(`connection ${conn.id} (${conn.peer}): session ${session.id.toString(16)} for ${step.isAnonymous ? 'anonymous' : `${step.domain ? step.domain + '\\' : ''}${step.user}`}${step.isGuest ? ' (guest)' : ''}, dialect ${neg.dialect.toString(16)}${session.encryptData ? ', encrypted' : session.signingRequired ? ', signed' : ''}`);
  return { status: 0, body: encodeSessionSetupResponse({ sessionFlags: flags, securityBuffer: step.token }), sessionId: session.id };
}
