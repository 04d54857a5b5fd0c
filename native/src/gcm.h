/* AES-GCM (NIST SP 800-38D) with VAES and VPCLMULQDQ on 512-bit vectors,
 * for the CPUs that have them (x86-64 with AVX-512 F/BW/VL, VAES,
 * VPCLMULQDQ: AMD Zen 4 on, Intel Ice Lake on). The OpenSSL that Node 20
 * links (3.0) has no such code path: its best AES-GCM on these CPUs is the
 * 128-bit AVX one. aead.c uses this where gcm_fast() says so and OpenSSL
 * everywhere else; the tests hold the two to the same bytes. Below it, the
 * AES-NI key schedule and CBC-MAC that AES-CMAC and AES-CCM use on any CPU
 * with AES-NI (OpenSSL's CBC costs an EVP call per piece of a message:
 * 2 us to sign a 120-byte message given in three parts).
 *
 * Plain memory only, no allocation: runs on any thread. The context is
 * big (round keys, sixteen powers of H: 500 bytes); any alignment. */
#ifndef RINGSMB_GCM_H
#define RINGSMB_GCM_H

#include <stddef.h>
#include <stdint.h>

/* An AES-128 or AES-256 key schedule for AES-NI (FIPS-197 5.2). */
typedef struct {
  unsigned char rk[15][16]; /* round keys: AES-128 11, AES-256 15 */
  int rounds;
} aes_key_t;

/* 1 when this CPU has AES-NI (checked once): aes_key, aes_encrypt_block
 * and aes_cbcmac may be used. RINGSMB_AES=openssl in the environment says
 * 0, as for gcm_fast(). */
int aesni_fast(void);
/* A 16- or 32-byte key: 0, or -EINVAL. */
int aes_key(aes_key_t *k, const void *key, size_t keylen);
void aes_encrypt_block(const aes_key_t *k, const unsigned char in[16], unsigned char out[16]);
/* CBC-MAC over n whole blocks: chain = E(chain ^ block), block by block
 * (AES-CMAC's and AES-CCM's MAC; the ciphertext itself is not kept). */
void aes_cbcmac(const aes_key_t *k, unsigned char chain[16], const unsigned char *p, size_t nblocks);

typedef struct {
  /* The key schedule, then H^16 .. H^1 in the form the GHASH below
   * multiplies by (see gcm.c), four to a 512-bit row. */
  aes_key_t key;
  unsigned char hpow[4][64];
  unsigned char h1[16];
  unsigned char j0[16];   /* the pre-counter block, for the tag */
  unsigned char ctr[16];  /* the next counter block (nonce, then counter little-endian: see gcm.c) */
  unsigned char s[16];    /* the GHASH state (byte-reflected) */
  unsigned char gbuf[16]; /* bytes of an incomplete GHASH block */
  unsigned char ks[16];   /* keystream of a block the data left unfinished */
  uint64_t aadlen, datalen;
  unsigned gfill; /* bytes in gbuf */
  unsigned kused; /* keystream bytes of ks already used (16: none left) */
  int in_data;    /* the AAD is over */
} gcm_t;

/* 1 when this CPU runs the code below (checked once). RINGSMB_AES=openssl in the
 * environment says 0, to measure or to run the tests against the other path. */
int gcm_fast(void);
/* A 16- or 32-byte key and a 12-byte nonce: 0, or -EINVAL. */
int gcm_init(gcm_t *g, const void *key, size_t keylen, const void *nonce, size_t noncelen);
/* More AAD (any length, any number of calls), before any data. */
void gcm_aad(gcm_t *g, const void *p, size_t n);
/* The next n bytes of the message, in place (decrypt: ciphertext in, plaintext out). */
void gcm_crypt(gcm_t *g, int decrypt, void *p, size_t n);
/* The 16-byte tag; the context is spent. */
void gcm_tag(gcm_t *g, unsigned char tag[16]);

#endif
