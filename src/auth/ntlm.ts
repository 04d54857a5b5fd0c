/**
 * NTLMv2 authentication (MS-NLMP), both ends.
 *
 * Server: NEGOTIATE -> CHALLENGE (with TargetInfo and MsvAvTimestamp, which
 * obliges modern clients to send a MIC) -> AUTHENTICATE verified against a
 * lookup of the user's NT hash. NTLMv1 and LM-only responses are refused.
 * Client: NEGOTIATE, then AUTHENTICATE with NTLMv2, KEY_EXCH, MsvAvFlags and
 * a MIC.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { rc4 } from '../crypto/rc4.js';
import {
  AUTH_MIC_OFFSET, AV_FLAG_MIC_PRESENT, AvId, avString, decodeAuthenticate, decodeAvPairs, decodeChallenge,
  decodeNegotiate, encodeAuthenticate, encodeAvPairs, encodeChallenge, encodeNegotiate, findAv, NtlmFlags,
  type AuthenticateMessage, type AvPair,
} from './ntlm-messages.js';
import {
  computeNtlmv2Response, fileTime, hmacMd5, ntHash, ntowfv2, NtlmSecurityContext, NTLMV2_BLOB_AV_OFFSET,
  verifyNtlmv2Response,
} from './ntlm-crypto.js';

export { ntHash } from './ntlm-crypto.js';

export interface NtlmServerOptions {
  /** Returns the user's NT hash; the name comparison policy is the store's. */
  lookup(user: string, domain: string): { ntHash: Buffer } | null;
  /** Unknown users become guests (Samba's "map to guest = bad user"). */
  allowGuest?: boolean;
  netbiosName: string;
  dnsName?: string;
  /** NetBIOS domain (workgroup) name. */
  domain: string;
  dnsDomain?: string;
}

export type NtlmAuthResult =
  | { ok: true; user: string; domain: string; workstation: string; sessionKey: Buffer; isGuest: boolean; isAnonymous: boolean }
  | { ok: false; status: 'LOGON_FAILURE' | 'INVALID_PARAMETER'; reason: string };

/** What the server offers; the challenge answers with the intersection. */
const SERVER_ECHOED_FLAGS =
  NtlmFlags.SIGN | NtlmFlags.SEAL | NtlmFlags.ALWAYS_SIGN | NtlmFlags.EXTENDED_SESSIONSECURITY |
  NtlmFlags.NEGOTIATE_128 | NtlmFlags.NEGOTIATE_56 | NtlmFlags.KEY_EXCH | NtlmFlags.VERSION;

function fail(reason: string): NtlmAuthResult {
  return { ok: false, status: 'LOGON_FAILURE', reason };
}

export class NtlmServer {
  private negotiateRaw: Buffer | null = null;
  private challengeRaw: Buffer | null = null;
  private serverChallenge: Buffer | null = null;
  /** Session security state after a successful, non-guest, non-anonymous logon. */
  security: NtlmSecurityContext | null = null;

  constructor(private readonly opts: NtlmServerOptions) {}

  negotiate(msg: Buffer): Buffer {
    const neg = decodeNegotiate(msg);
    this.negotiateRaw = Buffer.from(msg);
    let flags = NtlmFlags.REQUEST_TARGET | NtlmFlags.NTLM | NtlmFlags.TARGET_INFO | NtlmFlags.TARGET_TYPE_SERVER;
    flags |= neg.flags & NtlmFlags.UNICODE ? NtlmFlags.UNICODE : NtlmFlags.OEM;
    flags |= neg.flags & SERVER_ECHOED_FLAGS;
    const o = this.opts;
    const pairs: AvPair[] = [
      { id: AvId.NbDomainName, value: avString(o.domain.toUpperCase()) },
      { id: AvId.NbComputerName, value: avString(o.netbiosName.toUpperCase()) },
      { id: AvId.DnsDomainName, value: avString(o.dnsDomain ?? o.domain.toLowerCase()) },
      { id: AvId.DnsComputerName, value: avString(o.dnsName ?? o.netbiosName.toLowerCase()) },
      { id: AvId.Timestamp, value: fileTime() },
    ];
    this.serverChallenge = randomBytes(8);
    const challenge = encodeChallenge({
      flags: flags >>> 0,
      targetName: o.netbiosName.toUpperCase(),
      serverChallenge: this.serverChallenge,
      targetInfo: encodeAvPairs(pairs),
    });
    this.challengeRaw = challenge;
    return challenge;
  }

  authenticate(msg: Buffer): NtlmAuthResult {
    if (!this.serverChallenge) return fail('AUTHENTICATE before NEGOTIATE');
    let auth: AuthenticateMessage;
    try {
      auth = decodeAuthenticate(msg);
    } catch (e) {
      return fail((e as Error).message);
    }
    const base = { user: auth.user, domain: auth.domain, workstation: auth.workstation };
    // MS-NLMP 3.3.x anonymous: empty user and NT response, LM empty or Z(1).
    if (auth.user === '' && auth.ntResponse.length === 0 &&
        (auth.lmResponse.length === 0 || (auth.lmResponse.length === 1 && auth.lmResponse[0] === 0))) {
      return { ok: true, ...base, sessionKey: Buffer.alloc(0), isGuest: false, isAnonymous: true };
    }
    if (auth.ntResponse.length <= 24) return fail('NTLMv1/LM responses are refused');
    const malformed = ntlmv2BlobProblem(auth.ntResponse);
    if (malformed) return { ok: false, status: 'INVALID_PARAMETER', reason: malformed };
    const rec = this.opts.lookup(auth.user, auth.domain);
    if (!rec) {
      if (this.opts.allowGuest) return { ok: true, ...base, sessionKey: Buffer.alloc(0), isGuest: true, isAnonymous: false };
      return fail('unknown user');
    }
    const sessionBaseKey = this.findSessionBaseKey(rec.ntHash, auth);
    if (!sessionBaseKey) return fail('wrong password');
    return this.finish(auth, msg, sessionBaseKey, base);
  }

  /**
   * Windows servers accept NTOWFv2 over the domain the client sent, and
   * also the empty domain and their own: clients fill UserDom differently.
   */
  private findSessionBaseKey(hash: Buffer, auth: AuthenticateMessage): Buffer | null {
    const domains = [...new Set([auth.domain, '', this.opts.domain, this.opts.domain.toUpperCase(), auth.domain.toUpperCase()])];
    for (const d of domains) {
      const k = verifyNtlmv2Response(ntowfv2(hash, auth.user, d), this.serverChallenge!, auth.ntResponse);
      if (k) return k;
    }
    return null;
  }

  private finish(
    auth: AuthenticateMessage, raw: Buffer, sessionBaseKey: Buffer,
    base: { user: string; domain: string; workstation: string },
  ): NtlmAuthResult {
    // NTLMv2: KeyExchangeKey = SessionBaseKey (MS-NLMP 3.4.5.1).
    let exported = sessionBaseKey;
    if (auth.flags & NtlmFlags.KEY_EXCH) {
      if (auth.encryptedRandomSessionKey.length !== 16) return fail('KEY_EXCH without a 16-byte session key');
      exported = rc4(sessionBaseKey, auth.encryptedRandomSessionKey);
    }
    let clientPairs: AvPair[];
    try {
      clientPairs = decodeAvPairs(auth.ntResponse.subarray(16 + NTLMV2_BLOB_AV_OFFSET));
    } catch (e) {
      return fail((e as Error).message);
    }
    const avFlags = findAv(clientPairs, AvId.Flags);
    const micPresent = avFlags !== undefined && avFlags.length >= 4 && (avFlags.readUInt32LE(0) & AV_FLAG_MIC_PRESENT) !== 0;
    if (micPresent) {
      // MS-NLMP 3.2.5.1.2: MIC = HMAC_MD5(ExportedSessionKey, NEGOTIATE || CHALLENGE || AUTHENTICATE with MIC zeroed).
      if (!auth.mic) return fail('MsvAvFlags announces a MIC the message lacks');
      const zeroed = Buffer.from(raw);
      zeroed.fill(0, AUTH_MIC_OFFSET, AUTH_MIC_OFFSET + 16);
      const expect = hmacMd5(exported, this.negotiateRaw!, this.challengeRaw!, zeroed);
      if (!timingSafeEqual(expect, auth.mic)) return fail('MIC mismatch');
    }
    if (auth.flags & NtlmFlags.EXTENDED_SESSIONSECURITY) {
      this.security = new NtlmSecurityContext(exported, auth.flags, 'server');
    }
    return { ok: true, ...base, sessionKey: exported, isGuest: false, isAnonymous: false };
  }
}

/**
 * A structural fault of an NTLMv2 response (MS-NLMP 2.2.2.7
 * NTLMv2_CLIENT_CHALLENGE: RespType and HiRespType 1, AV pairs ending in
 * MsvAvEOL inside the blob), or null. Checked before the password, as
 * Windows and Samba do: a malformed message is INVALID_PARAMETER, not a
 * failed logon (Samba bug 14932).
 */
function ntlmv2BlobProblem(ntResponse: Buffer): string | null {
  const blob = ntResponse.subarray(16);
  if (blob.length < NTLMV2_BLOB_AV_OFFSET + 4) return 'NTLMv2 response too short';
  if (blob[0] !== 1 || blob[1] !== 1) return `NTLMv2 response type ${blob[0]}.${blob[1]}`;
  try {
    decodeAvPairs(blob.subarray(NTLMV2_BLOB_AV_OFFSET));
  } catch (e) {
    return `NTLMv2 response: ${(e as Error).message}`;
  }
  return null;
}

export interface NtlmClientOptions {
  user: string;
  password?: string;
  ntHash?: Buffer;
  domain?: string;
  workstation?: string;
  /** SPN for MsvAvTargetName, e.g. "cifs/server". */
  targetName?: string;
}

const CLIENT_FLAGS =
  NtlmFlags.UNICODE | NtlmFlags.OEM | NtlmFlags.REQUEST_TARGET | NtlmFlags.SIGN | NtlmFlags.SEAL | NtlmFlags.NTLM |
  NtlmFlags.ALWAYS_SIGN | NtlmFlags.EXTENDED_SESSIONSECURITY | NtlmFlags.VERSION | NtlmFlags.NEGOTIATE_128 |
  NtlmFlags.KEY_EXCH | NtlmFlags.NEGOTIATE_56;

export class NtlmClient {
  private negotiateRaw: Buffer | null = null;
  sessionKey: Buffer = Buffer.alloc(0);
  security: NtlmSecurityContext | null = null;
  private readonly hash: Buffer | null;

  constructor(private readonly opts: NtlmClientOptions) {
    this.hash = opts.ntHash ?? (opts.password !== undefined ? ntHash(opts.password) : null);
    if (opts.user !== '' && !this.hash) throw new TypeError('NtlmClient needs a password or an NT hash');
  }

  get anonymous(): boolean {
    return this.opts.user === '';
  }

  negotiate(): Buffer {
    const flags = this.anonymous ? CLIENT_FLAGS | NtlmFlags.ANONYMOUS : CLIENT_FLAGS;
    this.negotiateRaw = encodeNegotiate({ flags: flags >>> 0, domain: '', workstation: '' });
    return this.negotiateRaw;
  }

  authenticate(challengeRaw: Buffer): Buffer {
    if (!this.negotiateRaw) throw new Error('NtlmClient.authenticate before negotiate');
    const ch = decodeChallenge(challengeRaw);
    const flags = (ch.flags & CLIENT_FLAGS) >>> 0;
    const o = this.opts;
    const base = { flags, domain: o.domain ?? '', user: o.user, workstation: (o.workstation ?? '').toUpperCase() };
    if (this.anonymous) {
      this.sessionKey = Buffer.alloc(0);
      return encodeAuthenticate({
        ...base, flags: (flags | NtlmFlags.ANONYMOUS) >>> 0, lmResponse: Buffer.alloc(1), ntResponse: Buffer.alloc(0),
        encryptedRandomSessionKey: Buffer.alloc(0), mic: null,
      }, false);
    }
    const serverPairs = decodeAvPairs(ch.targetInfo);
    const timestamp = findAv(serverPairs, AvId.Timestamp);
    const ntowf = ntowfv2(this.hash!, o.user, base.domain);
    const r = computeNtlmv2Response(ntowf, ch.serverChallenge, randomBytes(8), timestamp ?? fileTime(), this.clientAvPairs(serverPairs));
    let exported: Buffer = r.sessionBaseKey;
    let encryptedKey: Buffer = Buffer.alloc(0);
    if (flags & NtlmFlags.KEY_EXCH) {
      exported = randomBytes(16);
      encryptedKey = rc4(r.sessionBaseKey, exported);
    }
    // MS-NLMP 3.1.5.1.2: with a server timestamp the LM response is Z(24).
    const msg = encodeAuthenticate({
      ...base, lmResponse: timestamp ? Buffer.alloc(24) : r.lmResponse, ntResponse: r.ntResponse,
      encryptedRandomSessionKey: encryptedKey, mic: null,
    }, true);
    hmacMd5(exported, this.negotiateRaw, challengeRaw, msg).copy(msg, AUTH_MIC_OFFSET);
    this.sessionKey = exported;
    if (flags & NtlmFlags.EXTENDED_SESSIONSECURITY) this.security = new NtlmSecurityContext(exported, flags, 'client');
    return msg;
  }

  /** The server's pairs, with MsvAvFlags announcing our MIC and an optional target name. */
  private clientAvPairs(serverPairs: AvPair[]): Buffer {
    const pairs = serverPairs.filter((p) => p.id !== AvId.Flags && p.id !== AvId.TargetName);
    const f = Buffer.alloc(4);
    const old = findAv(serverPairs, AvId.Flags);
    f.writeUInt32LE(((old && old.length >= 4 ? old.readUInt32LE(0) : 0) | AV_FLAG_MIC_PRESENT) >>> 0);
    pairs.push({ id: AvId.Flags, value: f });
    if (this.opts.targetName) pairs.push({ id: AvId.TargetName, value: avString(this.opts.targetName) });
    return encodeAvPairs(pairs);
  }
}
