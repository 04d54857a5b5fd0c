/**
 * Per-dialect session keys (MS-SMB2 3.2.5.3.1 client, 3.3.5.5.3 server,
 * 3.1.4.2 KDF).
 *
 * - 2.0.2 / 2.1: the signing key is Session.SessionKey itself; no encryption.
 * - 3.0 / 3.0.2: SMB3KDF with fixed labels and contexts.
 * - 3.1.1: SMB3KDF with the session's preauth integrity hash as context.
 *
 * Session.SessionKey is the first 16 bytes of the GSS key, right-padded with
 * zeros when shorter. For AES-256 ciphers the cipher keys are derived from
 * the full GSS key (Session.FullSessionKey) with L = 256; the signing and
 * application keys stay 128-bit and come from SessionKey.
 */
import { Dialect } from '../smb2/constants.js';
import { smb3Kdf } from './kdf.js';
import { CipherId, cipherKeyLength } from './encryption.js';

export { Dialect };

export interface SessionKeys {
  /** Session.SessionKey (16 bytes). */
  sessionKey: Buffer;
  signingKey: Buffer;
  /** Key for client-to-server traffic: the client's EncryptionKey, the server's DecryptionKey. */
  clientToServerKey: Buffer | null;
  /** Key for server-to-client traffic: the server's EncryptionKey, the client's DecryptionKey. */
  serverToClientKey: Buffer | null;
  applicationKey: Buffer | null;
}

export interface DeriveOptions {
  dialect: number;
  /** The key the authentication produced (NTLM: 16 bytes; Kerberos may give 32). */
  gssSessionKey: Buffer;
  /** Negotiated cipher (3.1.1 ENCRYPTION_CAPABILITIES), or AES-128-CCM for 3.0.x; 0 = none. */
  cipherId?: number;
  /** Session.PreauthIntegrityHashValue, required for 3.1.1. */
  preauthHash?: Buffer;
}

/** Session.SessionKey: first 16 bytes of the GSS key, zero-padded. */
function truncateSessionKey(gss: Buffer): Buffer {
  const k = Buffer.alloc(16);
  gss.copy(k, 0, 0, Math.min(16, gss.length));
  return k;
}

export function deriveSessionKeys(opts: DeriveOptions): SessionKeys {
  const { dialect, gssSessionKey } = opts;
  const sessionKey = truncateSessionKey(gssSessionKey);
  if (dialect < Dialect.SMB300) {
    return { sessionKey, signingKey: sessionKey, clientToServerKey: null, serverToClientKey: null, applicationKey: null };
  }
  const cipherId = opts.cipherId ?? (dialect < Dialect.SMB311 ? CipherId.AES_128_CCM : 0);
  const bits = cipherId ? cipherKeyLength(cipherId) * 8 : 128;
  // MS-SMB2 3.2.5.3.1: with a 256-bit cipher Ki is Session.FullSessionKey.
  const cipherKi = bits === 256 ? gssSessionKey : sessionKey;
  if (dialect === Dialect.SMB311) {
    const ctx = opts.preauthHash;
    if (!ctx || ctx.length !== 64) throw new RangeError('3.1.1 key derivation needs the 64-byte preauth hash');
    return {
      sessionKey,
      signingKey: smb3Kdf(sessionKey, 'SMBSigningKey', ctx),
      clientToServerKey: smb3Kdf(cipherKi, 'SMBC2SCipherKey', ctx, bits),
      serverToClientKey: smb3Kdf(cipherKi, 'SMBS2CCipherKey', ctx, bits),
      applicationKey: smb3Kdf(sessionKey, 'SMBAppKey', ctx),
    };
  }
  // 3.0 / 3.0.2. Note the trailing space of "ServerIn " (its size is 10 with the NUL).
  return {
    sessionKey,
    signingKey: smb3Kdf(sessionKey, 'SMB2AESCMAC', 'SmbSign'),
    clientToServerKey: smb3Kdf(cipherKi, 'SMB2AESCCM', 'ServerIn ', bits),
    serverToClientKey: smb3Kdf(cipherKi, 'SMB2AESCCM', 'ServerOut', bits),
    applicationKey: smb3Kdf(sessionKey, 'SMB2APP', 'SmbRpc'),
  };
}

/** The keys one side uses: a server encrypts server-to-client and decrypts client-to-server. */
export function keysForRole(keys: SessionKeys, role: 'server' | 'client'): { encryptionKey: Buffer | null; decryptionKey: Buffer | null } {
  return role === 'server'
    ? { encryptionKey: keys.serverToClientKey, decryptionKey: keys.clientToServerKey }
    : { encryptionKey: keys.clientToServerKey, decryptionKey: keys.serverToClientKey };
}
