export * from './md4.js';
export * from './rc4.js';
export * from './cmac.js';
export * from './kdf.js';
export * from './signing.js';
export * from './keys.js';
export * from './encryption.js';
export * from './preauth.js';
