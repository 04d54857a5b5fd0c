export * from './authenticator.js';
export * from './spnego.js';
export * from './ntlm.js';
export { ntowfv2, NtlmSecurityContext } from './ntlm-crypto.js';
export { NtlmFlags, NtlmError, isNtlmssp } from './ntlm-messages.js';
export * from './users.js';
