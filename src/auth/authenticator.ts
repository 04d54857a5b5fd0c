/**
 * The SESSION_SETUP authentication state machines: SPNEGO carrying NTLMSSP.
 *
 * Server: createServerAuth(opts).initialToken() goes into the NEGOTIATE
 * response; each SESSION_SETUP gets start() (new session) then step(token)
 * per request until 'ok' or 'failed'.
 *
 * mechListMIC (RFC 4178 5, MS-SPNG 3.1.5.1): when the client sends one with
 * its AUTHENTICATE the server verifies it over the DER mechTypes list the
 * client sent, with the NTLM session security of MS-NLMP 3.4, and answers
 * with its own MIC in the final accept-completed token; Windows 10/11 and
 * Samba clients check it. When the client's preferred mechanism was not
 * NTLM the server asks for the MIC (request-mic) and requires it.
 */
import { RingsmbError } from '../util/errors.js';
import { NtlmClient, NtlmServer, type NtlmClientOptions, type NtlmServerOptions } from './ntlm.js';
import { isNtlmssp, MessageType } from './ntlm-messages.js';
import {
  decodeSpnegoToken, encodeMechTypes, encodeNegTokenInit, encodeNegTokenInit2, encodeNegTokenResp, NegState, Oid,
  type SpnegoToken,
} from './spnego.js';

export class AuthError extends RingsmbError {
  constructor(message: string) {
    super('ERR_AUTH_FAILED', message);
  }
}

export type AuthStepResult =
  | { status: 'more'; token: Buffer }
  | { status: 'ok'; token: Buffer; user: string; domain: string; workstation: string; sessionKey: Buffer; isGuest: boolean; isAnonymous: boolean }
  | { status: 'failed'; reason: string; token?: Buffer; /** a malformed message rather than wrong credentials */ invalid?: boolean };

export interface AuthExchange {
  step(token: Buffer): AuthStepResult;
}

export type ServerAuthOptions = NtlmServerOptions;

export interface ServerAuth {
  /** The SPNEGO NegTokenInit2 hint for the NEGOTIATE response's security buffer. */
  initialToken(): Buffer;
  start(): AuthExchange;
}

export function createServerAuth(opts: ServerAuthOptions): ServerAuth {
  const hint = encodeNegTokenInit2([Oid.NTLMSSP]);
  return {
    initialToken: () => Buffer.from(hint),
    start: () => new ServerExchange(opts),
  };
}

function ntlmType(token: Buffer | undefined): number {
  return token && isNtlmssp(token) && token.length >= 12 ? token.readUInt32LE(8) : 0;
}

const REJECT = encodeNegTokenResp({ negState: NegState.REJECT });

class ServerExchange implements AuthExchange {
  private readonly ntlm: NtlmServer;
  private state: 'start' | 'await-negotiate' | 'await-authenticate' | 'done' = 'start';
  private raw = false;
  private mechTypesDer: Buffer | null = null;
  private micRequired = false;

  constructor(opts: NtlmServerOptions) {
    this.ntlm = new NtlmServer(opts);
  }

  step(token: Buffer): AuthStepResult {
    let t: SpnegoToken;
    try {
      t = decodeSpnegoToken(token);
    } catch (e) {
      return this.failed(`bad security blob: ${(e as Error).message}`);
    }
    try {
      switch (this.state) {
        case 'start': return this.first(t);
        case 'await-negotiate': return this.negotiateFrom(t);
        case 'await-authenticate': return this.authenticateFrom(t);
        default: return this.failed('authentication already finished');
      }
    } catch (e) {
      return this.failed((e as Error).message);
    }
  }

  private failed(reason: string, invalid = false): AuthStepResult {
    this.state = 'done';
    const r = { status: 'failed' as const, reason, ...(invalid ? { invalid: true } : {}) };
    return this.raw ? r : { ...r, token: REJECT };
  }

  private first(t: SpnegoToken): AuthStepResult {
    if (t.kind === 'raw') {
      this.raw = true;
      return this.negotiateFrom(t);
    }
    if (t.kind === 'resp') return this.negotiateFrom(t);
    const init = t.init;
    if (!init.mechTypes.includes(Oid.NTLMSSP)) return this.failed('client offers no NTLMSSP');
    this.mechTypesDer = init.mechTypesDer;
    if (ntlmType(init.mechToken) === MessageType.NEGOTIATE) return this.challenge(init.mechToken!);
    // The optimistic token is for a mechanism we lack (Kerberos): pick NTLM
    // and ask for the MIC that protects this choice (RFC 4178 5 d).
    this.micRequired = init.mechTypes[0] !== Oid.NTLMSSP;
    this.state = 'await-negotiate';
    const negState = this.micRequired ? NegState.REQUEST_MIC : NegState.ACCEPT_INCOMPLETE;
    return { status: 'more', token: encodeNegTokenResp({ negState, supportedMech: Oid.NTLMSSP }) };
  }

  private mechToken(t: SpnegoToken): Buffer | undefined {
    if (t.kind === 'raw') return t.token;
    if (t.kind === 'resp') return t.resp.responseToken;
    return t.init.mechToken;
  }

  private negotiateFrom(t: SpnegoToken): AuthStepResult {
    const tok = this.mechToken(t);
    if (ntlmType(tok) !== MessageType.NEGOTIATE) return this.failed('expected an NTLMSSP NEGOTIATE');
    return this.challenge(tok!);
  }

  private challenge(negotiate: Buffer): AuthStepResult {
    const challenge = this.ntlm.negotiate(negotiate);
    this.state = 'await-authenticate';
    if (this.raw) return { status: 'more', token: challenge };
    return {
      status: 'more',
      token: encodeNegTokenResp({ negState: NegState.ACCEPT_INCOMPLETE, supportedMech: Oid.NTLMSSP, responseToken: challenge }),
    };
  }

  private authenticateFrom(t: SpnegoToken): AuthStepResult {
    const tok = this.mechToken(t);
    if (ntlmType(tok) !== MessageType.AUTHENTICATE) return this.failed('expected an NTLMSSP AUTHENTICATE');
    const r = this.ntlm.authenticate(tok!);
    if (!r.ok) return this.failed(r.reason, r.status === 'INVALID_PARAMETER');
    const clientMic = t.kind === 'resp' ? t.resp.mechListMIC : undefined;
    const sec = this.ntlm.security;
    let serverMic: Buffer | undefined;
    if (sec && !r.isGuest && !r.isAnonymous && !this.raw) {
      // mechTypesDer is null when the client started with a NegTokenResp; nothing to protect then.
      const list = this.mechTypesDer ?? encodeMechTypes([Oid.NTLMSSP]);
      if (clientMic) {
        if (!sec.verifyMic(list, clientMic)) return this.failed('mechListMIC mismatch');
        serverMic = sec.getMic(list);
      } else if (this.micRequired) {
        return this.failed('mechListMIC required but missing');
      }
    }
    this.state = 'done';
    const { ok: _ok, ...info } = r;
    const token = this.raw
      ? Buffer.alloc(0)
      : encodeNegTokenResp({ negState: NegState.ACCEPT_COMPLETED, ...(serverMic ? { mechListMIC: serverMic } : {}) });
    return { status: 'ok', token, ...info };
  }
}

export type ClientAuthOptions = NtlmClientOptions;

export interface ClientAuth {
  /**
   * Feed the server's token (null for the first call, or the NEGOTIATE
   * response's hint). Returns the next token to send; done is true when
   * the exchange is complete and verified. Throws AuthError on rejection.
   */
  step(token: Buffer | null): { token: Buffer; done: boolean };
  readonly sessionKey: Buffer;
}

export function createClientAuth(opts: ClientAuthOptions): ClientAuth {
  const ntlm = new NtlmClient(opts);
  const mechTypes = [Oid.NTLMSSP];
  const mechTypesDer = encodeMechTypes(mechTypes);
  let state: 'start' | 'sent-negotiate' | 'sent-authenticate' | 'done' = 'start';

  const onChallenge = (token: Buffer | null): { token: Buffer; done: boolean } => {
    if (!token) throw new AuthError('server sent no challenge');
    const t = decodeSpnegoToken(token);
    if (t.kind !== 'resp') throw new AuthError('expected a NegTokenResp');
    if (t.resp.negState === NegState.REJECT) throw new AuthError('server rejected the negotiation');
    if (ntlmType(t.resp.responseToken) !== MessageType.CHALLENGE) throw new AuthError('expected an NTLMSSP CHALLENGE');
    const auth = ntlm.authenticate(t.resp.responseToken!);
    const mic = ntlm.security && !ntlm.anonymous ? ntlm.security.getMic(mechTypesDer) : undefined;
    state = 'sent-authenticate';
    return { token: encodeNegTokenResp({ responseToken: auth, ...(mic ? { mechListMIC: mic } : {}) }), done: false };
  };

  const onFinal = (token: Buffer | null): { token: Buffer; done: boolean } => {
    state = 'done';
    if (token && token.length > 0) {
      const t = decodeSpnegoToken(token);
      if (t.kind !== 'resp') throw new AuthError('expected a NegTokenResp');
      if (t.resp.negState !== undefined && t.resp.negState !== NegState.ACCEPT_COMPLETED) {
        throw new AuthError(`server ended with negState ${t.resp.negState}`);
      }
      if (t.resp.mechListMIC && ntlm.security && !ntlm.security.verifyMic(mechTypesDer, t.resp.mechListMIC)) {
        throw new AuthError('server mechListMIC does not verify');
      }
    }
    return { token: Buffer.alloc(0), done: true };
  };

  return {
    step(token) {
      switch (state) {
        case 'start':
          state = 'sent-negotiate';
          return { token: encodeNegTokenInit({ mechTypes, mechToken: ntlm.negotiate() }), done: false };
        case 'sent-negotiate': return onChallenge(token);
        case 'sent-authenticate': return onFinal(token);
        default: throw new AuthError('authentication already finished');
      }
    },
    get sessionKey() {
      return ntlm.sessionKey;
    },
  };
}
