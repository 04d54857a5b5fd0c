/**
 * NTLM cryptography (MS-NLMP 3.3.2 NTLMv2, 3.4 session security).
 * Only NTLMv2 with extended session security is implemented: NTLMv1 and
 * the pre-ESS signing scheme are refused by the server.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { md4 } from '../crypto/md4.js';
import { Rc4 } from '../crypto/rc4.js';
import { NtlmFlags } from './ntlm-messages.js';

export function hmacMd5(key: Buffer, ...data: Buffer[]): Buffer {
  const h = createHmac('md5', key);
  for (const d of data) h.update(d);
  return h.digest();
}

/** NT hash = NTOWFv1 = MD4(UNICODE(password)) (MS-NLMP 3.3.1). */
export function ntHash(password: string): Buffer {
  return md4(Buffer.from(password, 'utf16le'));
}

/**
 * NTOWFv2 = HMAC_MD5(NT hash, UNICODE(Uppercase(User) || UserDom))
 * (MS-NLMP 3.3.2). The domain is *not* uppercased.
 */
export function ntowfv2(ntHashValue: Buffer, user: string, domain: string): Buffer {
  return hmacMd5(ntHashValue, Buffer.from(user.toUpperCase() + domain, 'utf16le'));
}

/** Windows FILETIME (100 ns since 1601) as 8 LE bytes. */
export function fileTime(date: Date = new Date()): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE((BigInt(date.getTime()) + 11644473600000n) * 10000n);
  return b;
}

/** Offset of the AV pairs inside the NTLMv2 client blob ("temp" in MS-NLMP 3.3.2). */
export const NTLMV2_BLOB_AV_OFFSET = 28;

/** temp = RespType(1) HiRespType(1) Z(6) Time(8) ClientChallenge(8) Z(4) AvPairs Z(4). */
export function ntlmv2Blob(time: Buffer, clientChallenge: Buffer, avPairs: Buffer): Buffer {
  const head = Buffer.alloc(NTLMV2_BLOB_AV_OFFSET);
  head[0] = 1;
  head[1] = 1;
  time.copy(head, 8, 0, 8);
  clientChallenge.copy(head, 16, 0, 8);
  return Buffer.concat([head, avPairs, Buffer.alloc(4)]);
}

export interface Ntlmv2Response {
  ntResponse: Buffer;
  lmResponse: Buffer;
  ntProofStr: Buffer;
  sessionBaseKey: Buffer;
}

/** ComputeResponse for NTLMv2 (MS-NLMP 3.3.2). */
export function computeNtlmv2Response(
  ntowf: Buffer, serverChallenge: Buffer, clientChallenge: Buffer, time: Buffer, avPairs: Buffer,
): Ntlmv2Response {
  const temp = ntlmv2Blob(time, clientChallenge, avPairs);
  const ntProofStr = hmacMd5(ntowf, serverChallenge, temp);
  return {
    ntProofStr,
    ntResponse: Buffer.concat([ntProofStr, temp]),
    lmResponse: Buffer.concat([hmacMd5(ntowf, serverChallenge, clientChallenge), clientChallenge]),
    sessionBaseKey: hmacMd5(ntowf, ntProofStr),
  };
}

/**
 * Server side: checks an NTLMv2 NtChallengeResponse against one NTOWFv2
 * and returns the SessionBaseKey, or null.
 */
export function verifyNtlmv2Response(ntowf: Buffer, serverChallenge: Buffer, ntResponse: Buffer): Buffer | null {
  if (ntResponse.length < 16 + NTLMV2_BLOB_AV_OFFSET + 4) return null;
  const proof = ntResponse.subarray(0, 16);
  const expect = hmacMd5(ntowf, serverChallenge, ntResponse.subarray(16));
  if (!timingSafeEqual(proof, expect)) return null;
  return hmacMd5(ntowf, expect);
}

const MAGIC = {
  signC2S: 'session key to client-to-server signing key magic constant\0',
  signS2C: 'session key to server-to-client signing key magic constant\0',
  sealC2S: 'session key to client-to-server sealing key magic constant\0',
  sealS2C: 'session key to server-to-client sealing key magic constant\0',
};

function md5(...parts: Buffer[]): Buffer {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** SIGNKEY (MS-NLMP 3.4.5.2), extended session security only. */
export function signKey(exportedSessionKey: Buffer, clientToServer: boolean): Buffer {
  return md5(exportedSessionKey, Buffer.from(clientToServer ? MAGIC.signC2S : MAGIC.signS2C, 'latin1'));
}

/** SEALKEY (MS-NLMP 3.4.5.3): the key is cut to 16/7/5 bytes by 128/56/neither, then hashed. */
export function sealKey(exportedSessionKey: Buffer, flags: number, clientToServer: boolean): Buffer {
  let k = exportedSessionKey;
  if (!(flags & NtlmFlags.NEGOTIATE_128)) k = k.subarray(0, flags & NtlmFlags.NEGOTIATE_56 ? 7 : 5);
  return md5(k, Buffer.from(clientToServer ? MAGIC.sealC2S : MAGIC.sealS2C, 'latin1'));
}

interface Direction {
  signKey: Buffer;
  seal: Rc4;
  seq: number;
}

/**
 * The NTLM session security state of one side (MS-NLMP 3.4): GSS_GetMIC /
 * GSS_VerifyMIC and GSS_Wrap / GSS_Unwrap with extended session security.
 * SPNEGO's mechListMIC is a GetMIC over the DER mechTypes list; each
 * direction has its own sequence number and RC4 handle, which sealing and
 * the checksum encryption of a MIC share (3.4.4.2).
 */
export class NtlmSecurityContext {
  private readonly send: Direction;
  private readonly recv: Direction;

  constructor(exportedSessionKey: Buffer, readonly flags: number, role: 'client' | 'server') {
    if (!(flags & NtlmFlags.EXTENDED_SESSIONSECURITY)) {
      throw new RangeError('NTLM session security without EXTENDED_SESSIONSECURITY is not supported');
    }
    const dir = (c2s: boolean): Direction => ({
      signKey: signKey(exportedSessionKey, c2s),
      seal: new Rc4(sealKey(exportedSessionKey, flags, c2s)),
      seq: 0,
    });
    const c2s = dir(true);
    const s2c = dir(false);
    this.send = role === 'client' ? c2s : s2c;
    this.recv = role === 'client' ? s2c : c2s;
  }

  /** NTLMSSP_MESSAGE_SIGNATURE: Version(1) || Checksum(8) || SeqNum(4). */
  private mac(d: Direction, message: Buffer): Buffer {
    const seq = Buffer.alloc(4);
    seq.writeUInt32LE(d.seq);
    d.seq = (d.seq + 1) >>> 0;
    let checksum = hmacMd5(d.signKey, seq, message).subarray(0, 8);
    if (this.flags & NtlmFlags.KEY_EXCH) checksum = d.seal.update(checksum);
    const sig = Buffer.alloc(16);
    sig.writeUInt32LE(1, 0);
    checksum.copy(sig, 4);
    seq.copy(sig, 12);
    return sig;
  }

  getMic(message: Buffer): Buffer {
    return this.mac(this.send, message);
  }

  verifyMic(message: Buffer, signature: Buffer): boolean {
    if (signature.length !== 16) return false;
    return timingSafeEqual(this.mac(this.recv, message), signature);
  }

  /** GSS_WrapEx: encrypt, then MAC over the plaintext with the same RC4 handle. */
  wrap(message: Buffer): { sealed: Buffer; signature: Buffer } {
    const sealed = this.send.seal.update(message);
    return { sealed, signature: this.mac(this.send, message) };
  }

  unwrap(sealed: Buffer, signature: Buffer): Buffer | null {
    const plain = this.recv.seal.update(sealed);
    return this.verifyMic(plain, signature) ? plain : null;
  }
}
