/* AES-GCM with VAES and VPCLMULQDQ (see gcm.h for why it exists).
 *
 * The counter (SP 800-38D 6.5, 7.1): the nonce is 12 bytes, so J0 is the
 * nonce and a 32-bit 1, and the data's blocks take counters 2, 3, ...
 * (inc32: the low 32 bits wrap). The context keeps the counter block with
 * its last 32 bits little-endian, so that four blocks at a time are one
 * vector add; a byte shuffle puts them back big-endian before AES.
 *
 * GHASH (SP 800-38D 6.4), in "reflected" form: a block is byte-reversed
 * into a 128-bit register, so that register bit 127 - i holds the
 * coefficient of x^i, the way the field defines its bit order. A
 * carry-less multiply of two such registers a(y), b(y) (as polynomials in
 * y, the register's own bit order) gives y^254 * C(1/y) for the field
 * product C = A * B, and since x^128 + x^7 + x^2 + x + 1 turns into
 * G*(y) = y^128 + y^127 + y^126 + y^121 + 1 when reflected, the register
 * of C mod G is that product times y^-127 mod G*. y^-128 is what a
 * Montgomery reduction by G* gives cheaply: G* is 1 mod y^64, so each
 * 64-bit step takes the low quarter q and adds q * (G* - 1) / y^64, which
 * is one carry-less multiply by 0xC200000000000000 (y^57 + y^62 + y^63)
 * and q itself one quarter up. The missing factor y is put into H once
 * ("twisted": H * y mod G*), and twisted powers of H multiply the same way
 * (t(a) * t(b) * y^-128 = t(a * b)). The sixteen powers H^16 .. H^1 let
 * sixteen blocks be multiplied and summed before one reduction.
 *
 * No table lookups and no branches on secret data: AES rounds and
 * carry-less multiplies are constant-time instructions. */
#include "gcm.h"

#include <errno.h>
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,vaes,vpclmulqdq,aes,pclmul,sse4.1")))
#define AESNI __attribute__((target("aes,sse2")))

/* RINGSMB_AES=openssl: every AES through OpenSSL. */
static int openssl_forced(void) {
  const char *e = getenv("RINGSMB_AES");
  return e && !strcmp(e, "openssl");
}

int aesni_fast(void) {
  static int fast = -1;
  if (fast < 0) {
    __builtin_cpu_init();
    fast = !openssl_forced() && __builtin_cpu_supports("aes");
  }
  return fast;
}

int gcm_fast(void) {
  static int fast = -1;
  if (fast < 0) {
    fast = aesni_fast() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("vaes") && __builtin_cpu_supports("vpclmulqdq") &&
           __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
  }
  return fast;
}

/* ---- AES: key expansion (FIPS-197 5.2) and single blocks ---- */

AESNI static inline __m128i expand_step(__m128i k, __m128i assist) {
  k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
  k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
  k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
  return _mm_xor_si128(k, assist);
}

#define K128(i, rcon) rk[i] = expand_step(rk[(i) - 1], _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[(i) - 1], rcon), 0xff))
#define K256A(i, rcon) rk[i] = expand_step(rk[(i) - 2], _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[(i) - 1], rcon), 0xff))
#define K256B(i) rk[i] = expand_step(rk[(i) - 2], _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[(i) - 1], 0), 0xaa))

AESNI static void expand128(const unsigned char *key, __m128i *rk) {
  rk[0] = _mm_loadu_si128((const __m128i *)key);
  K128(1, 0x01); K128(2, 0x02); K128(3, 0x04); K128(4, 0x08); K128(5, 0x10);
  K128(6, 0x20); K128(7, 0x40); K128(8, 0x80); K128(9, 0x1b); K128(10, 0x36);
}

AESNI static void expand256(const unsigned char *key, __m128i *rk) {
  rk[0] = _mm_loadu_si128((const __m128i *)key);
  rk[1] = _mm_loadu_si128((const __m128i *)(key + 16));
  K256A(2, 0x01); K256B(3); K256A(4, 0x02); K256B(5); K256A(6, 0x04); K256B(7);
  K256A(8, 0x08); K256B(9); K256A(10, 0x10); K256B(11); K256A(12, 0x20); K256B(13); K256A(14, 0x40);
}

AESNI static inline __m128i aes_enc(const aes_key_t *k, __m128i x) {
  x = _mm_xor_si128(x, _mm_loadu_si128((const __m128i *)k->rk[0]));
  for (int r = 1; r < k->rounds; r++) x = _mm_aesenc_si128(x, _mm_loadu_si128((const __m128i *)k->rk[r]));
  return _mm_aesenclast_si128(x, _mm_loadu_si128((const __m128i *)k->rk[k->rounds]));
}

AESNI int aes_key(aes_key_t *k, const void *key, size_t keylen) {
  __m128i rk[15];
  if (keylen == 16) expand128(key, rk);
  else if (keylen == 32) expand256(key, rk);
  else return -EINVAL;
  k->rounds = keylen == 16 ? 10 : 14;
  for (int r = 0; r <= k->rounds; r++) _mm_storeu_si128((__m128i *)k->rk[r], rk[r]);
  explicit_bzero(rk, sizeof rk); /* key material lives on in k only */
  return 0;
}

AESNI void aes_encrypt_block(const aes_key_t *k, const unsigned char in[16], unsigned char out[16]) {
  _mm_storeu_si128((__m128i *)out, aes_enc(k, _mm_loadu_si128((const __m128i *)in)));
}

/* The round keys stay in registers across the chain; each block waits for
 * the one before (CBC), so this runs at the AES unit's latency, as
 * OpenSSL's CBC does, without its per-call cost. */
AESNI void aes_cbcmac(const aes_key_t *k, unsigned char chain[16], const unsigned char *p, size_t nblocks) {
  __m128i rk[15];
  const int rounds = k->rounds;
  for (int r = 0; r <= rounds; r++) rk[r] = _mm_loadu_si128((const __m128i *)k->rk[r]);
  __m128i c = _mm_loadu_si128((const __m128i *)chain);
  for (; nblocks; nblocks--, p += 16) {
    c = _mm_xor_si128(c, _mm_xor_si128(_mm_loadu_si128((const __m128i *)p), rk[0]));
    for (int r = 1; r < rounds; r++) c = _mm_aesenc_si128(c, rk[r]);
    c = _mm_aesenclast_si128(c, rk[rounds]);
  }
  _mm_storeu_si128((__m128i *)chain, c);
}

/* ---- GHASH ---- */

TARGET static inline __m128i bswap128(__m128i x) {
  return _mm_shuffle_epi8(x, _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
}

TARGET static inline __m512i bswap512(__m512i x) {
  const __m512i m = _mm512_broadcast_i32x4(_mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  return _mm512_shuffle_epi8(x, m);
}

/* The 256-bit product lo + hi * 2^128 (both as 128-bit halves), times y^-128 mod G*. */
TARGET static inline __m128i reduce(__m128i lo, __m128i hi) {
  const __m128i k = _mm_set_epi64x(0, (long long)0xC200000000000000ULL);
  __m128i m = _mm_xor_si128(_mm_shuffle_epi32(lo, 0x4e), _mm_clmulepi64_si128(lo, k, 0x00));
  __m128i n = _mm_xor_si128(_mm_shuffle_epi32(m, 0x4e), _mm_clmulepi64_si128(m, k, 0x00));
  return _mm_xor_si128(n, hi);
}

/* a * b * y^-128 mod G* */
TARGET static inline __m128i mont(__m128i a, __m128i b) {
  __m128i lo = _mm_clmulepi64_si128(a, b, 0x00);
  __m128i hi = _mm_clmulepi64_si128(a, b, 0x11);
  __m128i mid = _mm_xor_si128(_mm_clmulepi64_si128(a, b, 0x01), _mm_clmulepi64_si128(a, b, 0x10));
  return reduce(_mm_xor_si128(lo, _mm_slli_si128(mid, 8)), _mm_xor_si128(hi, _mm_srli_si128(mid, 8)));
}

/* h * y mod G* */
TARGET static __m128i twist(__m128i h) {
  uint64_t lo = (uint64_t)_mm_cvtsi128_si64(h), hi = (uint64_t)_mm_extract_epi64(h, 1);
  uint64_t carry = hi >> 63;
  hi = (hi << 1) | (lo >> 63);
  lo <<= 1;
  /* constant-time: the mask is all ones when the bit shifted out was set */
  uint64_t mask = 0 - carry;
  hi ^= mask & 0xC200000000000000ULL;
  lo ^= mask & 1;
  return _mm_set_epi64x((long long)hi, (long long)lo);
}

TARGET static inline __m128i fold512(__m512i v) {
  __m256i a = _mm256_xor_si256(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
  return _mm_xor_si128(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
}

/* s = (s + X1) * H^16 + X2 * H^15 + ... + X16 * H, the 16 blocks at p. */
TARGET static inline __m128i ghash16(const gcm_t *g, __m128i s, const unsigned char *p) {
  __m512i lo = _mm512_setzero_si512(), hi = _mm512_setzero_si512(), mid = _mm512_setzero_si512();
  for (int j = 0; j < 4; j++) {
    __m512i d = bswap512(_mm512_loadu_si512((const void *)(p + 64 * j)));
    if (j == 0) d = _mm512_xor_si512(d, _mm512_zextsi128_si512(s));
    __m512i h = _mm512_loadu_si512((const void *)g->hpow[j]);
    lo = _mm512_xor_si512(lo, _mm512_clmulepi64_epi128(d, h, 0x00));
    hi = _mm512_xor_si512(hi, _mm512_clmulepi64_epi128(d, h, 0x11));
    mid = _mm512_ternarylogic_epi64(mid, _mm512_clmulepi64_epi128(d, h, 0x01), _mm512_clmulepi64_epi128(d, h, 0x10), 0x96);
  }
  __m128i l = fold512(lo), m = fold512(mid), h = fold512(hi);
  return reduce(_mm_xor_si128(l, _mm_slli_si128(m, 8)), _mm_xor_si128(h, _mm_srli_si128(m, 8)));
}

/* GHASH over whole blocks at p (n a multiple of 16). */
TARGET static void ghash_blocks(gcm_t *g, const unsigned char *p, size_t n) {
  __m128i s = _mm_loadu_si128((const __m128i *)g->s);
  __m128i h1 = _mm_loadu_si128((const __m128i *)g->h1);
  for (; n >= 256; p += 256, n -= 256) s = ghash16(g, s, p);
  for (; n >= 16; p += 16, n -= 16) s = mont(_mm_xor_si128(s, bswap128(_mm_loadu_si128((const __m128i *)p))), h1);
  _mm_storeu_si128((__m128i *)g->s, s);
}

/* GHASH over a byte stream: what does not fill a block waits in gbuf. */
static void ghash_bytes(gcm_t *g, const unsigned char *p, size_t n) {
  if (g->gfill) {
    size_t m = 16 - g->gfill < n ? 16 - g->gfill : n;
    memcpy(g->gbuf + g->gfill, p, m);
    g->gfill += (unsigned)m;
    p += m;
    n -= m;
    if (g->gfill < 16) return;
    ghash_blocks(g, g->gbuf, 16);
    g->gfill = 0;
  }
  size_t whole = n & ~(size_t)15;
  if (whole) ghash_blocks(g, p, whole);
  if (n > whole) {
    memcpy(g->gbuf, p + whole, n - whole);
    g->gfill = (unsigned)(n - whole);
  }
}

/* A partial block is zero-padded (SP 800-38D 7.1 step 5: A, C each padded to blocks). */
static void ghash_pad(gcm_t *g) {
  if (!g->gfill) return;
  memset(g->gbuf + g->gfill, 0, 16 - g->gfill);
  ghash_blocks(g, g->gbuf, 16);
  g->gfill = 0;
}

/* ---- CTR ---- */

TARGET static inline __m128i ctr_be(__m128i c) {
  return _mm_shuffle_epi8(c, _mm_set_epi8(12, 13, 14, 15, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
}

/* CTR and GHASH in one loop over n 256-byte chunks, so that the AES rounds
 * and the carry-less multiplies (independent work) overlap: decrypting, a
 * chunk's ciphertext is hashed as it is read; encrypting, the chunk before
 * is hashed while this one is encrypted. The GHASH stream must be at a
 * block boundary (gfill 0). */
TARGET static void crypt_chunks(gcm_t *g, int decrypt, unsigned char *p, size_t n) {
  const __m512i sw = _mm512_broadcast_i32x4(_mm_set_epi8(12, 13, 14, 15, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
  const __m512i inc4 = _mm512_set_epi32(4, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0);
  const int rounds = g->key.rounds;
  __m512i k[15];
  for (int r = 0; r <= rounds; r++) k[r] = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)g->key.rk[r]));
  __m128i s = _mm_loadu_si128((const __m128i *)g->s);
  __m512i base = _mm512_add_epi32(_mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)g->ctr)),
                                  _mm512_set_epi32(3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0));
  for (size_t i = 0; i < n; i++, p += 256) {
    __m512i c1 = _mm512_add_epi32(base, inc4), c2 = _mm512_add_epi32(c1, inc4), c3 = _mm512_add_epi32(c2, inc4);
    __m512i x0 = _mm512_xor_si512(_mm512_shuffle_epi8(base, sw), k[0]);
    __m512i x1 = _mm512_xor_si512(_mm512_shuffle_epi8(c1, sw), k[0]);
    __m512i x2 = _mm512_xor_si512(_mm512_shuffle_epi8(c2, sw), k[0]);
    __m512i x3 = _mm512_xor_si512(_mm512_shuffle_epi8(c3, sw), k[0]);
    base = _mm512_add_epi32(c3, inc4);
    if (decrypt) s = ghash16(g, s, p);
    else if (i) s = ghash16(g, s, p - 256);
    for (int r = 1; r < rounds; r++) {
      x0 = _mm512_aesenc_epi128(x0, k[r]);
      x1 = _mm512_aesenc_epi128(x1, k[r]);
      x2 = _mm512_aesenc_epi128(x2, k[r]);
      x3 = _mm512_aesenc_epi128(x3, k[r]);
    }
    x0 = _mm512_aesenclast_epi128(x0, k[rounds]);
    x1 = _mm512_aesenclast_epi128(x1, k[rounds]);
    x2 = _mm512_aesenclast_epi128(x2, k[rounds]);
    x3 = _mm512_aesenclast_epi128(x3, k[rounds]);
    _mm512_storeu_si512((void *)p, _mm512_xor_si512(x0, _mm512_loadu_si512((const void *)p)));
    _mm512_storeu_si512((void *)(p + 64), _mm512_xor_si512(x1, _mm512_loadu_si512((const void *)(p + 64))));
    _mm512_storeu_si512((void *)(p + 128), _mm512_xor_si512(x2, _mm512_loadu_si512((const void *)(p + 128))));
    _mm512_storeu_si512((void *)(p + 192), _mm512_xor_si512(x3, _mm512_loadu_si512((const void *)(p + 192))));
  }
  if (!decrypt && n) s = ghash16(g, s, p - 256);
  _mm_storeu_si128((__m128i *)g->s, s);
  _mm_storeu_si128((__m128i *)g->ctr, _mm512_castsi512_si128(base));
}

/* XOR the keystream of n whole blocks into p, one at a time (what is left
 * after crypt_chunks: fewer than 16), advancing the counter. */
TARGET static void ctr_blocks(gcm_t *g, unsigned char *p, size_t nblocks) {
  __m128i c = _mm_loadu_si128((const __m128i *)g->ctr);
  const __m128i one = _mm_set_epi32(1, 0, 0, 0);
  for (; nblocks; nblocks--, p += 16) {
    __m128i ks = aes_enc(&g->key, ctr_be(c));
    c = _mm_add_epi32(c, one);
    _mm_storeu_si128((__m128i *)p, _mm_xor_si128(ks, _mm_loadu_si128((const __m128i *)p)));
  }
  _mm_storeu_si128((__m128i *)g->ctr, c);
}

/* The keystream of the next block into g->ks (the counter moves on). */
TARGET static void next_ks(gcm_t *g) {
  __m128i c = _mm_loadu_si128((const __m128i *)g->ctr);
  _mm_storeu_si128((__m128i *)g->ks, aes_enc(&g->key, ctr_be(c)));
  _mm_storeu_si128((__m128i *)g->ctr, _mm_add_epi32(c, _mm_set_epi32(1, 0, 0, 0)));
}

/* ---- the interface ---- */

TARGET int gcm_init(gcm_t *g, const void *key, size_t keylen, const void *nonce, size_t noncelen) {
  if ((keylen != 16 && keylen != 32) || noncelen != 12) return -EINVAL;
  aes_key(&g->key, key, keylen);
  /* H = E(K, 0^128), twisted; its powers up to 16 */
  __m128i t[17];
  t[1] = twist(bswap128(aes_enc(&g->key, _mm_setzero_si128())));
  for (int i = 2; i <= 16; i++) t[i] = mont(t[i - 1], t[1]);
  for (int row = 0; row < 4; row++)
    for (int lane = 0; lane < 4; lane++) _mm_storeu_si128((__m128i *)(g->hpow[row] + 16 * lane), t[16 - 4 * row - lane]);
  _mm_storeu_si128((__m128i *)g->h1, t[1]);
  explicit_bzero(t, sizeof t); /* key material lives on in g only */
  memcpy(g->j0, nonce, 12);
  g->j0[12] = g->j0[13] = g->j0[14] = 0;
  g->j0[15] = 1;
  memcpy(g->ctr, nonce, 12);
  uint32_t two = 2;
  memcpy(g->ctr + 12, &two, 4); /* little-endian (x86) */
  memset(g->s, 0, 16);
  g->aadlen = g->datalen = 0;
  g->gfill = 0;
  g->kused = 16;
  g->in_data = 0;
  return 0;
}

void gcm_aad(gcm_t *g, const void *p, size_t n) {
  g->aadlen += n;
  ghash_bytes(g, p, n);
}

void gcm_crypt(gcm_t *g, int decrypt, void *data, size_t n) {
  unsigned char *p = data;
  if (!g->in_data) {
    ghash_pad(g);
    g->in_data = 1;
  }
  g->datalen += n;
  /* the rest of a block an earlier call left unfinished */
  if (g->kused < 16 && n) {
    size_t m = 16 - g->kused < n ? 16 - g->kused : n;
    if (decrypt) ghash_bytes(g, p, m);
    for (size_t i = 0; i < m; i++) p[i] ^= g->ks[g->kused + i];
    if (!decrypt) ghash_bytes(g, p, m);
    g->kused += (unsigned)m;
    p += m;
    n -= m;
  }
  /* whole 256-byte chunks in one pass; the hash is at a block boundary here
   * (the data so far ends on one: the leftover above finished its block) */
  if (n >= 256 && !g->gfill) {
    size_t m = n & ~(size_t)255;
    crypt_chunks(g, decrypt, p, m / 256);
    p += m;
    n -= m;
  }
  /* whole blocks left */
  if (n >= 16) {
    size_t m = n & ~(size_t)15;
    if (decrypt) ghash_bytes(g, p, m);
    ctr_blocks(g, p, m / 16);
    if (!decrypt) ghash_bytes(g, p, m);
    p += m;
    n -= m;
  }
  if (n) {
    next_ks(g);
    if (decrypt) ghash_bytes(g, p, n);
    for (size_t i = 0; i < n; i++) p[i] ^= g->ks[i];
    if (!decrypt) ghash_bytes(g, p, n);
    g->kused = (unsigned)n;
  }
}

TARGET void gcm_tag(gcm_t *g, unsigned char tag[16]) {
  ghash_pad(g);
  __m128i s = _mm_loadu_si128((const __m128i *)g->s);
  __m128i len = _mm_set_epi64x((long long)(g->aadlen * 8), (long long)(g->datalen * 8));
  s = mont(_mm_xor_si128(s, len), _mm_loadu_si128((const __m128i *)g->h1));
  __m128i ek = aes_enc(&g->key, _mm_loadu_si128((const __m128i *)g->j0));
  _mm_storeu_si128((__m128i *)tag, _mm_xor_si128(ek, bswap128(s)));
  explicit_bzero(g, sizeof *g); /* the keys go */
}
