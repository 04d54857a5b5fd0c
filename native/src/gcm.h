/* AES-GCM (NIST SP 800-38D) with VAES and VPCLMULQDQ on 512-bit vectors,
 * for the CPUs that have them (x86-64 with AVX-512 F/BW/VL, VAES,
 * VPCLMULQDQ: AMD Zen 4 on, Intel Ice Lake on). The OpenSSL that Node 20
 * links (3.0) has no such code path: its best AES-GCM on these CPUs is the
 * 128-bit AVX one. aead.c uses this where gcm_fast() says so and OpenSSL
 * everywhere else; the tests hold the two to the same bytes.
 *
 * Plain memory only, no allocation: runs on any thread. The context is
 * big (round keys, sixteen powers of H: 500 bytes); any alignment. */
#ifndef RINGSMB_GCM_H
#define RINGSMB_GCM_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  /* Round keys (AES-128: 11, AES-256: 15), then H^16 .. H^1 in the form
   * the GHASH below multiplies by (see gcm.c), four to a 512-bit row. */
  unsigned char rk[15][16];
  unsigned char hpow[4][64];
  unsigned char h1[16];
  unsigned char j0[16];   /* the pre-counter block, for the tag */
  unsigned char ctr[16];  /* the next counter block (nonce, then counter little-endian: see gcm.c) */
  unsigned char s[16];    /* the GHASH state (byte-reflected) */
  unsigned char gbuf[16]; /* bytes of an incomplete GHASH block */
  unsigned char ks[16];   /* keystream of a block the data left unfinished */
  uint64_t aadlen, datalen;
  int rounds;
  unsigned gfill; /* bytes in gbuf */
  unsigned kused; /* keystream bytes of ks already used (16: none left) */
  int in_data;    /* the AAD is over */
} gcm_t;

/* 1 when this CPU runs the code below (checked once). RINGSMB_GCM=openssl in the
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
