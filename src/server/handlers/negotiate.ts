/** NEGOTIATE (MS-SMB2 3.3.5.3 / 3.3.5.4). */
import { decodeNegotiateRequest, encodeNegotiateResponse, type NegotiateContexts } from '../../smb2/commands/negotiate.js';
import { Capabilities, Cipher, Command, Dialect, HashAlgorithm, HeaderFlags, SecurityMode, SigningAlgorithm as SigAlg } from '../../smb2/constants.js';
import { smb1NegotiateDialects } from '../../smb2/compound.js';
import { msToFiletime } from '../../smb2/fscc/time.js';
import { encodeHeader, HEADER_SIZE, makeHeader } from '../../smb2/header.js';
import { NtStatus } from '../../smb2/status.js';
import { preauthInitial, preauthUpdate } from '../../crypto/preauth.js';
import { signingAlgorithmFor, type SigningAlgorithm } from '../../crypto/signing.js';
import { randomBytes } from 'node:crypto';
import { errorReply, type Reply, type RequestContext } from '../context.js';
import type { SmbConnection } from '../connection.js';
import type { SmbServer } from '../server.js';

const SERVER_DIALECTS = [Dialect.SMB311, Dialect.SMB302, Dialect.SMB300, Dialect.SMB210, Dialect.SMB202] as const;
/** Preference when the client offers several (3.3.5.4: the server chooses). */
const CIPHER_PREF = [Cipher.AES_128_GCM, Cipher.AES_128_CCM, Cipher.AES_256_GCM, Cipher.AES_256_CCM];
const SIGNING_PREF = [SigAlg.AES_GMAC, SigAlg.AES_CMAC, SigAlg.HMAC_SHA256];
const STATUS_NO_PREAUTH_INTEGRITY_HASH_OVERLAP = 0xc05d0000;

function securityMode(server: SmbServer): number {
  return SecurityMode.SIGNING_ENABLED | (server.config.signing === 'required' ? SecurityMode.SIGNING_REQUIRED : 0);
}

export async function handleNegotiate(ctx: RequestContext): Promise<Reply> {
  const { conn, server } = ctx;
  if (conn.negotiated) {
    // 3.3.5.3.1: a second NEGOTIATE on a connection is a protocol violation.
    conn.drop('second NEGOTIATE on the connection');
    return errorReply(NtStatus.INVALID_PARAMETER);
  }
  const req = decodeNegotiateRequest(ctx.msg);
  if (req.dialects.length === 0) return errorReply(NtStatus.INVALID_PARAMETER);
  const allowed = SERVER_DIALECTS.filter((d) => d >= server.config.minDialect && d <= server.config.maxDialect);
  const dialect = allowed.find((d) => req.dialects.includes(d));
  if (dialect === undefined) {
    server.log.info(`connection ${conn.id} (${conn.peer}): no common dialect in [${req.dialects.map((d) => d.toString(16)).join(', ')}]`);
    return errorReply(NtStatus.NOT_SUPPORTED);
  }
  const ours: NegotiateContexts = {};
  let cipherId = 0;
  let signingAlgorithm: SigningAlgorithm = signingAlgorithmFor(dialect);
  let preauth: Buffer | null = null;
  const c = req.negotiateContexts;
  if (dialect === Dialect.SMB311) {
    if (!c?.preauthIntegrity) return errorReply(NtStatus.INVALID_PARAMETER);
    if (!c.preauthIntegrity.hashAlgorithms.includes(HashAlgorithm.SHA_512)) return errorReply(STATUS_NO_PREAUTH_INTEGRITY_HASH_OVERLAP);
    ours.preauthIntegrity = { hashAlgorithms: [HashAlgorithm.SHA_512], salt: randomBytes(32) };
    if (c.encryption) {
      cipherId = CIPHER_PREF.find((x) => c.encryption!.ciphers.includes(x)) ?? 0;
      ours.encryption = { ciphers: [cipherId] };
    }
    if (c.signing) {
      const alg = SIGNING_PREF.find((x) => c.signing!.signingAlgorithms.includes(x));
      if (alg !== undefined) {
        signingAlgorithm = signingAlgorithmFor(dialect, alg as SigningAlgorithm);
        ours.signing = { signingAlgorithms: [alg] };
      }
    }
    preauth = preauthUpdate(preauthInitial(), ctx.msg);
  } else if (dialect >= Dialect.SMB300 && req.capabilities & Capabilities.ENCRYPTION) {
    cipherId = Cipher.AES_128_CCM;
  }
  let caps = 0;
  if (dialect >= Dialect.SMB210) caps |= Capabilities.LARGE_MTU | Capabilities.LEASING; // leases: oplock.ts
  if (dialect >= Dialect.SMB300 && dialect < Dialect.SMB311 && cipherId) caps |= Capabilities.ENCRYPTION;
  // Session binding (channel.ts) on 3.x connections, unless switched off.
  if (dialect >= Dialect.SMB300 && server.config.multichannel) caps |= Capabilities.MULTI_CHANNEL;
  const big = dialect >= Dialect.SMB210;
  const max = big ? server.config.maxReadWrite : 65536;
  conn.negotiated = {
    dialect,
    clientGuid: req.clientGuid,
    clientCapabilities: req.capabilities,
    clientSecurityMode: req.securityMode,
    serverCapabilities: caps,
    cipherId,
    signingAlgorithm,
    preauthHash: preauth,
    maxTransact: max,
    maxRead: max,
    maxWrite: max,
  };
  const body = encodeNegotiateResponse({
    securityMode: securityMode(server),
    dialectRevision: dialect,
    serverGuid: server.guid,
    capabilities: caps,
    maxTransactSize: max,
    maxReadSize: max,
    maxWriteSize: max,
    systemTime: msToFiletime(Date.now()),
    serverStartTime: 0n,
    securityBuffer: server.auth.initialToken(),
    negotiateContexts: dialect === Dialect.SMB311 ? ours : undefined,
  });
  server.log.debug(`connection ${conn.id} (${conn.peer}): dialect ${dialect.toString(16)}${cipherId ? ` cipher ${cipherId}` : ''}`);
  return { status: 0, body };
}

/**
 * An SMB1 NEGOTIATE (MS-SMB2 3.3.5.3.1): a client that offers "SMB 2.???"
 * gets an SMB2 NEGOTIATE response with dialect 0x02FF and goes on with
 * SMB2; "SMB 2.002" alone gets 2.0.2. Anything else is disconnected: SMB1
 * is not served.
 */
export function handleSmb1Negotiate(server: SmbServer, conn: SmbConnection, pdu: Buffer): void {
  const names = conn.negotiated ? null : smb1NegotiateDialects(pdu);
  if (!names) return conn.drop('SMB1 request other than NEGOTIATE');
  const wildcard = names.includes('SMB 2.???');
  const only202 = names.includes('SMB 2.002');
  if (!wildcard && !only202) return conn.drop('SMB1-only client (SMB1 is not supported)');
  const dialect = wildcard && server.config.maxDialect >= Dialect.SMB210 ? Dialect.WILDCARD : Dialect.SMB202;
  const body = encodeNegotiateResponse({
    securityMode: securityMode(server),
    dialectRevision: dialect,
    serverGuid: server.guid,
    capabilities: dialect === Dialect.WILDCARD ? Capabilities.LARGE_MTU : 0,
    maxTransactSize: 65536,
    maxReadSize: 65536,
    maxWriteSize: 65536,
    systemTime: msToFiletime(Date.now()),
    serverStartTime: 0n,
    securityBuffer: server.auth.initialToken(),
  });
  const out = Buffer.alloc(HEADER_SIZE + body.length);
  encodeHeader(makeHeader({ command: Command.NEGOTIATE, flags: HeaderFlags.SERVER_TO_REDIR, credits: conn.grantCredits(1) }), out, 0);
  body.copy(out, HEADER_SIZE);
  if (dialect === Dialect.SMB202) {
    // 2.0.2 chosen here is final: the client goes on without a second NEGOTIATE.
    conn.negotiated = {
      dialect, clientGuid: Buffer.alloc(16), clientCapabilities: 0, clientSecurityMode: 0, serverCapabilities: 0,
      cipherId: 0, signingAlgorithm: signingAlgorithmFor(dialect), preauthHash: null, maxTransact: 65536, maxRead: 65536, maxWrite: 65536,
    };
  }
  conn.sendRaw(out);
}
