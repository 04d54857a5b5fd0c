/* AES-GCM, AES-CCM, AES-CMAC and HMAC-SHA256 in place, through the OpenSSL that Node
 * itself links and exports (the node-gyp headers ship its openssl/ includes).
 *
 * Why here: Node's Cipheriv.update() always returns new memory, so sealing
 * an 8 MiB READ response allocates 8 MiB of ciphertext per message, which
 * V8 counts as external memory and answers with major GCs. The SMB data
 * path (ARCHITECTURE decision 5) seals in place instead: READ into a
 * registered buffer, encrypt it where it lies, send it. Only the primitive
 * lives here; the transform header, nonces, AAD and key choice are
 * TypeScript (src/crypto/encryption.ts).
 *
 * `ccm` picks AES-CCM (0: AES-GCM); the key length picks AES-128 or AES-256.
 * aeadSeal(ccm, key, nonce, aad|null, aadParts[]|null, parts[], tagOut) -> 0 | -errno
 * aeadSealAsync(..., cb)                             -> 0 | -errno, then cb(0 | -errno)
 * aeadOpen(ccm, key, nonce, aad, data, tag)          -> 0 | -EBADMSG | -errno
 * aeadOpenAsync(ccm, key, nonce, aad, data, tag, cb) -> 0 | -errno, then cb(0 | -EBADMSG | -errno)
 * aeadStream(ccm, key, nonce, aad, total)            -> stream (external) | -errno   (a seal in pieces;
 *                                                       total: the plaintext's length, which CCM needs first)
 * aeadStreamNext(stream, data, false)                -> 0 | -errno: the next piece, encrypted in place
 * aeadStreamNext(stream, tagOut, true)               -> 0 | -errno: the tag; the stream is spent
 * cmac(key, parts[], macOut)                         -> 0 | -errno   (AES-CMAC over the parts, in order)
 * cmacAsync(key, parts[], macOut, cb)                -> 0 | -errno, then cb(0 | -errno)
 * gmacStream(key, nonce)                             -> stream (external) | -errno: AES-GMAC, the pieces AAD
 * cmacStream(key)                                    -> stream (external) | -errno; aeadStreamNext then
 *                                                       reads each piece (nothing is encrypted) and last
 *                                                       writes the MAC
 * hmac(key, parts[], macOut), hmacAsync(..., cb), hmacStream(key): the same for
 *                                                       HMAC-SHA256 (SMB 2.x signing), macOut
 *                                                       receiving the first min(32, its length) bytes
 * gcmFast()                                          -> 1 when AES-GCM runs on gcm.c here, 0 when on OpenSSL
 * Seal encrypts the parts in place, in order, as one plaintext.
 *
 * AES-GCM with a 12-byte nonce (every SMB 3.x one) goes through gcm.c where
 * the CPU has 512-bit VAES and VPCLMULQDQ (twice OpenSSL 3.0's speed there),
 * through OpenSSL otherwise; both give the same bytes.
 *
 * AES-CMAC (RFC 4493; SMB 3.x signing, MS-SMB2 3.1.4.1) is built on AES-CBC
 * with a zero IV: OpenSSL 3.0's own CMAC (EVP_MAC) runs the cipher once per
 * 16-byte block, and node:crypto's CBC update() returns new memory for its
 * output (8 MiB per 8 MiB READ signed); here the output goes to a small
 * scratch buffer that is thrown away and only the chain matters.
 *
 * AES-CCM (NIST SP 800-38C) is built the same way, from that CBC-MAC and
 * AES-CTR: OpenSSL's CCM takes the whole plaintext in one update, and a
 * response comes in several parts (header and body, then the file data),
 * and a large READ in pieces as it is read. A message in one part (what a
 * client sent) still goes through OpenSSL's CCM (ossl_run).
 *
 * HMAC-SHA256 (RFC 2104; SMB 2.0.2 and 2.1 signing) is two SHA-256 digests
 * (EVP_Digest*) over the padded key and the message, so that it too can run
 * on a pool thread over parts where they lie. */
#include "addon.h"
#include "gcm.h"
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char ZERO16[16];

static const EVP_CIPHER *aes(const EVP_CIPHER *(*k128)(void), const EVP_CIPHER *(*k256)(void), size_t keylen) {
  return keylen == 16 ? k128() : keylen == 32 ? k256() : NULL;
}

/* A CBC-MAC in progress (AES-CMAC's, and AES-CCM's): with AES-NI the chain
 * is `chain` under the schedule `key` (gcm.c), else OpenSSL's CBC context
 * carries it; the last 1..16 bytes seen are held back, because the final
 * block is treated apart. */
typedef struct {
  EVP_CIPHER_CTX *c; /* NULL with AES-NI */
  int ni;
  aes_key_t key;
  unsigned char chain[16];
  unsigned char k1[16], k2[16]; /* CMAC's subkeys */
  unsigned char held[16];
  size_t nheld;
} cmac_t;

/* Doubling in GF(2^128) (RFC 4493 2.3). */
static void dbl(unsigned char *out, const unsigned char *in) {
  unsigned carry = 0;
  for (int i = 15; i >= 0; i--) {
    unsigned v = in[i];
    out[i] = (unsigned char)((v << 1) | carry);
    carry = v >> 7;
  }
  if (in[0] & 0x80) out[15] ^= 0x87;
}

/* Encrypts whole blocks through the chain; the ciphertext is not needed, but
 * the last block's, which out (16 bytes, or NULL) receives. */
static int cmac_blocks(cmac_t *m, const unsigned char *p, size_t n, unsigned char *out) {
  if (m->ni) {
    aes_cbcmac(&m->key, m->chain, p, n / 16);
    if (out) memcpy(out, m->chain, 16);
    return 0;
  }
  unsigned char scratch[4096];
  int outl;
  while (n) {
    size_t k = n < sizeof scratch ? n : sizeof scratch;
    if (!EVP_EncryptUpdate(m->c, scratch, &outl, p, (int)k) || (size_t)outl != k) return -EIO;
    p += k;
    n -= k;
    if (!n && out) memcpy(out, scratch + k - 16, 16);
  }
  return 0;
}

static void cmac_free(cmac_t *m) {
  if (m->c) EVP_CIPHER_CTX_free(m->c);
  m->c = NULL;
  if (m->ni) OPENSSL_cleanse(&m->key, sizeof m->key);
}

/* A CBC-MAC (zero IV) under an AES-128 or AES-256 key. */
static int cbcmac_begin(cmac_t *m, const void *key, size_t keylen) {
  const EVP_CIPHER *ci = aes(EVP_aes_128_cbc, EVP_aes_256_cbc, keylen);
  m->nheld = 0;
  m->c = NULL;
  m->ni = 0;
  if (!ci) return -EINVAL;
  if (aesni_fast()) {
    memset(m->chain, 0, 16);
    m->ni = 1;
    return aes_key(&m->key, key, keylen);
  }
  m->c = EVP_CIPHER_CTX_new();
  if (!m->c) return -ENOMEM;
  if (!EVP_EncryptInit_ex(m->c, ci, NULL, key, ZERO16) || !EVP_CIPHER_CTX_set_padding(m->c, 0)) {
    cmac_free(m);
    return -EIO;
  }
  return 0;
}

static int cmac_begin(cmac_t *m, const void *key, size_t keylen) {
  unsigned char l[16];
  if (keylen != 16) {
    m->c = NULL;
    m->ni = 0;
    return -EINVAL;
  }
  int r = cbcmac_begin(m, key, keylen);
  if (r) return r;
  /* L = AES-K(0): the first block through the zero-IV CBC; then the chain starts over. */
  if (m->ni) aes_encrypt_block(&m->key, ZERO16, l);
  else if (cmac_blocks(m, ZERO16, 16, l) || !EVP_EncryptInit_ex(m->c, NULL, NULL, NULL, ZERO16)) {
    cmac_free(m);
    return -EIO;
  }
  dbl(m->k1, l);
  dbl(m->k2, m->k1);
  return 0;
}

static int cmac_update(cmac_t *m, const unsigned char *p, size_t len) {
  if (m->nheld + len <= 16) {
    memcpy(m->held + m->nheld, p, len);
    m->nheld += len;
    return 0;
  }
  /* More follows the held bytes: complete their block and feed it. */
  size_t fill = 16 - m->nheld;
  memcpy(m->held + m->nheld, p, fill);
  p += fill;
  len -= fill;
  if (cmac_blocks(m, m->held, 16, NULL)) return -EIO;
  /* All but the last 1..16 bytes (len > 0 here). */
  size_t bulk = (len - 1) / 16 * 16;
  if (bulk && cmac_blocks(m, p, bulk, NULL)) return -EIO;
  m->nheld = len - bulk;
  memcpy(m->held, p + bulk, m->nheld);
  return 0;
}

/* CCM's padding: the held bytes completed to a block with zeros. */
static void cbcmac_pad(cmac_t *m) {
  if (m->nheld % 16 == 0) return;
  memset(m->held + m->nheld, 0, 16 - m->nheld);
  m->nheld = 16;
}

/* The CMAC into out (16 bytes); the context is freed. */
static int cmac_final(cmac_t *m, unsigned char *out) {
  unsigned char last[16];
  const unsigned char *sub = m->k1;
  memcpy(last, m->held, m->nheld);
  if (m->nheld < 16) {
    /* Padded: 10*, XORed with K2 (RFC 4493 2.4 step 4). */
    memset(last + m->nheld, 0, 16 - m->nheld);
    last[m->nheld] = 0x80;
    sub = m->k2;
  }
  for (int i = 0; i < 16; i++) last[i] ^= sub[i];
  int r = cmac_blocks(m, last, 16, out);
  cmac_free(m);
  return r;
}

/* AES-CCM in progress (NIST SP 800-38C with a 16-byte tag, as SMB 3.x uses
 * it: 11-byte nonce, so a 4-byte length field). The MAC is the CBC-MAC of
 * B0, the encoded AAD and the plaintext (each zero-padded to a block); the
 * data is encrypted with CTR from counter 1; the tag is the MAC XOR the
 * encryption of counter 0 (s0). */
typedef struct {
  cmac_t mac;
  EVP_CIPHER_CTX *ctr;
  unsigned char s0[16];
  int decrypt;
  size_t left; /* plaintext still to come */
} ccm_t;

static void ccm_free(ccm_t *k) {
  cmac_free(&k->mac);
  if (k->ctr) EVP_CIPHER_CTX_free(k->ctr);
  k->ctr = NULL;
}

/* B0 and the AAD's length go into the MAC, s0 is made and CTR set to counter 1. */
static int ccm_begin(ccm_t *k, int decrypt, const void *key, size_t keylen, const unsigned char *nonce, size_t noncelen,
                     size_t aadlen, size_t total) {
  const EVP_CIPHER *ci = aes(EVP_aes_128_ctr, EVP_aes_256_ctr, keylen);
  size_t L = 15 - noncelen;
  unsigned char b[16], hdr[6];
  int outl;
  memset(k, 0, sizeof *k);
  k->decrypt = decrypt;
  k->left = total;
  /* 7..13-byte nonces; the length must fit its L bytes; AAD lengths of 2 or 6 bytes (SP 800-38C A.2.2). */
  if (!ci || noncelen < 7 || noncelen > 13 || (L < 8 && (total >> (8 * L)) != 0) || aadlen > 0xffffffffu) return -EINVAL;
  int r = cbcmac_begin(&k->mac, key, keylen);
  if (r) return r;
  /* B0: flags (AAD present, (tag length - 2) / 2, L - 1), the nonce, the length (big-endian). */
  b[0] = (unsigned char)((aadlen ? 0x40 : 0) | (((16 - 2) / 2) << 3) | (L - 1));
  memcpy(b + 1, nonce, noncelen);
  for (size_t i = 0; i < L; i++) b[15 - i] = (unsigned char)(i < sizeof(size_t) ? (total >> (8 * i)) & 0xff : 0);
  r = cmac_update(&k->mac, b, 16);
  if (!r && aadlen) {
    size_t n = 0;
    if (aadlen < 0xff00) {
      hdr[n++] = (unsigned char)(aadlen >> 8);
      hdr[n++] = (unsigned char)aadlen;
    } else {
      hdr[n++] = 0xff;
      hdr[n++] = 0xfe;
      for (int i = 3; i >= 0; i--) hdr[n++] = (unsigned char)(aadlen >> (8 * i));
    }
    r = cmac_update(&k->mac, hdr, n);
  }
  /* Counter blocks: flags L - 1, the nonce, the counter (0 for s0, then 1, 2, ...). */
  memset(b, 0, sizeof b);
  b[0] = (unsigned char)(L - 1);
  memcpy(b + 1, nonce, noncelen);
  if (!r && !(k->ctr = EVP_CIPHER_CTX_new())) r = -ENOMEM;
  if (!r && (!EVP_EncryptInit_ex(k->ctr, ci, NULL, key, b) || !EVP_EncryptUpdate(k->ctr, k->s0, &outl, ZERO16, 16))) r = -EIO;
  b[15] = 1;
  if (!r && !EVP_EncryptInit_ex(k->ctr, NULL, NULL, NULL, b)) r = -EIO;
  if (r) ccm_free(k);
  return r;
}

/* More AAD (all of it before the first update). */
static int ccm_aad(ccm_t *k, const unsigned char *p, size_t len) {
  return cmac_update(&k->mac, p, len);
}

/* The next piece of the data, in place: encrypted after the MAC took it, or decrypted before. */
static int ccm_update(ccm_t *k, unsigned char *p, size_t len) {
  int outl;
  if (len > k->left) return -EINVAL;
  if (!k->decrypt && cmac_update(&k->mac, p, len)) return -EIO;
  if (len && (!EVP_EncryptUpdate(k->ctr, p, &outl, p, (int)len) || (size_t)outl != len)) return -EIO;
  if (k->decrypt && cmac_update(&k->mac, p, len)) return -EIO;
  k->left -= len;
  return 0;
}

/* Ends the AAD: the MAC pads it to a block (called once, before the data). */
static void ccm_aad_done(ccm_t *k) {
  cbcmac_pad(&k->mac);
}

/* Seal: the tag into tag. Open: checks tag (-EBADMSG). The context is freed. */
static int ccm_final(ccm_t *k, unsigned char *tag) {
  unsigned char t[16] = {0};
  int r = k->left ? -EINVAL : 0;
  cbcmac_pad(&k->mac);
  if (!r) r = cmac_blocks(&k->mac, k->mac.held, 16, t);
  for (int i = 0; i < 16; i++) t[i] ^= k->s0[i];
  if (!r && k->decrypt && CRYPTO_memcmp(t, tag, 16) != 0) r = -EBADMSG;
  if (!r && !k->decrypt) memcpy(tag, t, 16);
  ccm_free(k);
  return r;
}

/* HMAC-SHA256 in progress (RFC 2104): the inner digest has taken K^ipad and
 * takes the message; the outer has taken K^opad and takes the inner's. */
typedef struct {
  EVP_MD_CTX *in, *out;
} hmac_t;

static void hmac_free(hmac_t *h) {
  if (h->in) EVP_MD_CTX_free(h->in);
  if (h->out) EVP_MD_CTX_free(h->out);
  h->in = h->out = NULL;
}

/* Keys up to SHA-256's block (64 bytes; SMB's are 16) are padded with zeros;
 * longer ones are hashed first, as RFC 2104 2 says. */
static int hmac_begin(hmac_t *h, const void *key, size_t keylen) {
  unsigned char k[64], pad[64];
  unsigned int kl = 0;
  memset(k, 0, sizeof k);
  h->in = EVP_MD_CTX_new();
  h->out = EVP_MD_CTX_new();
  int r = h->in && h->out ? 0 : -ENOMEM;
  if (!r && keylen > sizeof k && !EVP_Digest(key, keylen, k, &kl, EVP_sha256(), NULL)) r = -EIO;
  if (!r && keylen <= sizeof k) memcpy(k, key, keylen);
  for (int i = 0; !r && i < 64; i++) pad[i] = k[i] ^ 0x36;
  if (!r && (!EVP_DigestInit_ex(h->in, EVP_sha256(), NULL) || !EVP_DigestUpdate(h->in, pad, 64))) r = -EIO;
  for (int i = 0; !r && i < 64; i++) pad[i] = k[i] ^ 0x5c;
  if (!r && (!EVP_DigestInit_ex(h->out, EVP_sha256(), NULL) || !EVP_DigestUpdate(h->out, pad, 64))) r = -EIO;
  OPENSSL_cleanse(k, sizeof k);
  OPENSSL_cleanse(pad, sizeof pad);
  if (r) hmac_free(h);
  return r;
}

static int hmac_update(hmac_t *h, const void *p, size_t len) {
  return len && !EVP_DigestUpdate(h->in, p, len) ? -EIO : 0;
}

/* The MAC's first `outlen` bytes (at most 32) into out; the context is freed. */
static int hmac_final(hmac_t *h, unsigned char *out, size_t outlen) {
  unsigned char d[32];
  unsigned int dl = 0;
  int r = 0;
  if (!EVP_DigestFinal_ex(h->in, d, &dl) || !EVP_DigestUpdate(h->out, d, dl) || !EVP_DigestFinal_ex(h->out, d, &dl)) r = -EIO;
  if (!r) memcpy(out, d, outlen < dl ? outlen : dl);
  hmac_free(h);
  return r;
}

#define MAX_PARTS 64

/* OpenSSL's AES-GCM, or its AES-CCM (plaintext in one update, `total` bytes;
 * the tag's length, and when opening the tag itself, set first): cipher,
 * nonce length, key and nonce. */
static int ossl_setup(EVP_CIPHER_CTX *c, int enc, int ccm, const void *key, size_t keylen, const void *nonce, size_t noncelen,
                      void *tag, size_t total) {
  const EVP_CIPHER *ci = ccm ? aes(EVP_aes_128_ccm, EVP_aes_256_ccm, keylen) : aes(EVP_aes_128_gcm, EVP_aes_256_gcm, keylen);
  int outl;
  if (!ci) return -EINVAL;
  if (!EVP_CipherInit_ex(c, ci, NULL, NULL, NULL, enc)) return -EIO;
  if (!EVP_CIPHER_CTX_ctrl(c, ccm ? EVP_CTRL_CCM_SET_IVLEN : EVP_CTRL_GCM_SET_IVLEN, (int)noncelen, NULL)) return -EINVAL;
  if (ccm && !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_CCM_SET_TAG, 16, enc ? NULL : tag)) return -EINVAL;
  if (!EVP_CipherInit_ex(c, NULL, NULL, key, nonce, enc)) return -EIO;
  if (ccm && (total > 0x7fffffff || !EVP_CipherUpdate(c, NULL, &outl, NULL, (int)total))) return -EIO;
  return 0;
}

/* One job, in place. Seal (AES-GCM or AES-CCM): the AAD is ad[0..nad), the
 * plaintext pd[0..np), the tag goes to `tag`; GCM with no plaintext is
 * AES-GMAC over the AAD (SMB 3.1.1 signing). Open: the tag is read from
 * `tag`. CMAC, HMAC: over ad[0..nad) into `tag`. Plain memory only: runs on any
 * thread. */
enum { GCM = 0, CCM = 1, CMAC = 2, HMAC = 3 };
typedef struct {
  int kind;
  unsigned char key[64];
  size_t keylen;
  unsigned char nonce[16];
  size_t noncelen;
  void *ad[MAX_PARTS + 1];
  size_t adl[MAX_PARTS + 1];
  uint32_t nad;
  void *pd[MAX_PARTS];
  size_t pl[MAX_PARTS];
  uint32_t np;
  size_t total;
  void *tag;
  size_t taglen;
  /* 0: seal (encrypt, tag out); 1: open (decrypt, tag in; -EBADMSG when it does not authenticate) */
  int decrypt;
  int result;
  /* async only */
  napi_async_work work;
  napi_ref refs[5]; /* what the pool thread reads or writes; the callback last */
  int nrefs;
} aead_job_t;

static int cmac_run(aead_job_t *j) {
  cmac_t m;
  int r = cmac_begin(&m, j->key, j->keylen);
  for (uint32_t i = 0; !r && i < j->nad; i++) r = cmac_update(&m, j->ad[i], j->adl[i]);
  if (!r) return cmac_final(&m, j->tag);
  cmac_free(&m);
  return r;
}

static int hmac_run(aead_job_t *j) {
  hmac_t h;
  int r = hmac_begin(&h, j->key, j->keylen);
  if (r) return r;
  for (uint32_t i = 0; !r && i < j->nad; i++) r = hmac_update(&h, j->ad[i], j->adl[i]);
  if (!r) return hmac_final(&h, j->tag, j->taglen);
  hmac_free(&h);
  return r;
}

static int ccm_run(aead_job_t *j) {
  ccm_t k;
  size_t aadlen = 0;
  for (uint32_t i = 0; i < j->nad; i++) aadlen += j->adl[i];
  int r = ccm_begin(&k, j->decrypt, j->key, j->keylen, j->nonce, j->noncelen, aadlen, j->total);
  if (r) return r;
  for (uint32_t i = 0; !r && i < j->nad; i++) r = ccm_aad(&k, j->ad[i], j->adl[i]);
  ccm_aad_done(&k);
  for (uint32_t i = 0; !r && i < j->np; i++) r = ccm_update(&k, j->pd[i], j->pl[i]);
  if (!r) return ccm_final(&k, j->tag);
  ccm_free(&k);
  return r;
}

/* AES-GCM with this CPU's 512-bit AES and carry-less multiply (gcm.c):
 * twice OpenSSL 3.0's speed where it runs. A failed open leaves the data
 * decrypted but unauthenticated, as OpenSSL's does: the caller drops it. */
static int gcm_run(aead_job_t *j) {
  gcm_t g;
  unsigned char t[16];
  int r = gcm_init(&g, j->key, j->keylen, j->nonce, j->noncelen);
  if (r) return r;
  for (uint32_t i = 0; i < j->nad; i++) gcm_aad(&g, j->ad[i], j->adl[i]);
  for (uint32_t i = 0; i < j->np; i++) gcm_crypt(&g, j->decrypt, j->pd[i], j->pl[i]);
  gcm_tag(&g, t);
  if (j->decrypt) return CRYPTO_memcmp(t, j->tag, 16) ? -EBADMSG : 0;
  memcpy(j->tag, t, 16);
  return 0;
}

/* GCM, or CCM over exactly one part, through OpenSSL's own AEAD: its CCM
 * runs the MAC and the counter in one pass (1.25 against ccm_run's 1.14
 * GiB/s opening 8 MiB in place, 2026-12-06), so a message that came in one
 * buffer is opened that way. */
static int ossl_run(aead_job_t *j) {
  int ccm = j->kind == CCM;
  if (!ccm && j->noncelen == 12 && gcm_fast()) return gcm_run(j);
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  if (!c) return -ENOMEM;
  int r = ossl_setup(c, !j->decrypt, ccm, j->key, j->keylen, j->nonce, j->noncelen, j->tag, j->total);
  int outl;
  for (uint32_t i = 0; !r && i < j->nad; i++)
    if (j->adl[i] && !EVP_CipherUpdate(c, NULL, &outl, j->ad[i], (int)j->adl[i])) r = -EIO;
  if (ccm) {
    /* CCM checks the tag inside its single update. */
    if (!r && !EVP_CipherUpdate(c, j->pd[0], &outl, j->pd[0], (int)j->pl[0])) r = j->decrypt ? -EBADMSG : -EIO;
    if (!r && !j->decrypt && !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_CCM_GET_TAG, 16, j->tag)) r = -EIO;
    EVP_CIPHER_CTX_free(c);
    return r;
  }
  for (uint32_t i = 0; !r && i < j->np; i++)
    if (j->pl[i] && (!EVP_CipherUpdate(c, j->pd[i], &outl, j->pd[i], (int)j->pl[i]) || (size_t)outl != j->pl[i])) r = -EIO;
  if (!r && j->decrypt && !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, j->tag)) r = -EIO;
  unsigned char fin[32];
  if (!r && !EVP_CipherFinal_ex(c, fin, &outl)) r = j->decrypt ? -EBADMSG : -EIO;
  if (!r && !j->decrypt && !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, j->tag)) r = -EIO;
  EVP_CIPHER_CTX_free(c);
  return r;
}

static void aead_run(aead_job_t *j) {
  /* OpenSSL's CCM takes an empty plaintext without checking the tag: ours then. */
  j->result = j->kind == CMAC ? cmac_run(j) : j->kind == HMAC ? hmac_run(j) : j->kind == CCM && (j->np != 1 || !j->pl[0]) ? ccm_run(j) : ossl_run(j);
}

/* Appends the buffers of a JS array to ptrs/lens (at most `room`); 1 after a throw. */
static int parse_parts(napi_env env, napi_value arr, void **ptrs, size_t *lens, uint32_t room, uint32_t *count, size_t *total) {
  uint32_t n;
  bool isArray;
  if (napi_is_array(env, arr, &isArray) != napi_ok || !isArray || napi_get_array_length(env, arr, &n) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "parts must be an array of buffers");
    return 1;
  }
  if (n > room) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "too many parts");
    return 1;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value el;
    if (napi_get_element(env, arr, i, &el) != napi_ok || arg_bytes(env, el, &ptrs[*count], &lens[*count])) {
      napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "parts must be an array of buffers");
      return 1;
    }
    if (lens[*count] > 0x7fffffff) {
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "part too large");
      return 1;
    }
    if (total) *total += lens[*count];
    (*count)++;
  }
  return 0;
}

/* A job parsed from argv by `parse` and run on this thread: its result, or NULL after a throw. */
static napi_value sync_job(napi_env env, napi_value *argv, int (*parse)(napi_env, napi_value *, aead_job_t *)) {
  aead_job_t j;
  memset(&j, 0, sizeof j);
  if (parse(env, argv, &j)) return NULL;
  if (!j.result) aead_run(&j);
  return ret_i64(env, j.result);
}

/* ccm (argv[0]), key, nonce into j; 1 after a throw, else 0 (j->result -EINVAL for bad sizes). */
static int parse_key(napi_env env, napi_value *argv, aead_job_t *j) {
  void *key, *nonce;
  size_t keylen, noncelen;
  int32_t ccm;
  if (arg_i32(env, argv[0], &ccm) || arg_bytes(env, argv[1], &key, &keylen) || arg_bytes(env, argv[2], &nonce, &noncelen)) return 1;
  j->kind = ccm ? CCM : GCM;
  j->result = 0;
  if (keylen > sizeof j->key || noncelen > sizeof j->nonce) j->result = -EINVAL;
  else {
    memcpy(j->key, key, keylen);
    memcpy(j->nonce, nonce, noncelen);
  }
  j->keylen = keylen;
  j->noncelen = noncelen;
  return 0;
}

/* ccm, key, nonce, aad|null, aadParts[]|null, parts[], tagOut into j; 1 after a throw, else 0 (j->result -EINVAL for bad sizes). */
static int parse_seal(napi_env env, napi_value *argv, aead_job_t *j) {
  void *aad;
  size_t aadlen, taglen;
  napi_valuetype t;
  if (parse_key(env, argv, j)) return 1;
  if (napi_typeof(env, argv[3], &t) != napi_ok) return 1;
  if (t != napi_null && t != napi_undefined) {
    if (arg_bytes(env, argv[3], &aad, &aadlen)) return 1;
    if (aadlen > 0x7fffffff) j->result = -EINVAL;
    j->ad[j->nad] = aad;
    j->adl[j->nad++] = aadlen;
  }
  if (napi_typeof(env, argv[4], &t) != napi_ok) return 1;
  if (t != napi_null && t != napi_undefined && parse_parts(env, argv[4], j->ad, j->adl, MAX_PARTS, &j->nad, NULL)) return 1;
  if (parse_parts(env, argv[5], j->pd, j->pl, MAX_PARTS, &j->np, &j->total)) return 1;
  if (arg_bytes(env, argv[6], &j->tag, &taglen)) return 1;
  if (taglen < 16) j->result = -EINVAL;
  return 0;
}


static void aead_exec(napi_env env, void *data) {
  aead_run((aead_job_t *)data);
}

static void aead_done(napi_env env, napi_status status, void *data) {
  aead_job_t *j = data;
  async_finish(env, status, j, j->work, j->refs, j->nrefs, j->result);
}

/* Queues j (parsed, j->result 0) with references to argv[first..first+n)
 * (what the pool thread reads or writes, then the callback): they stay
 * alive until the callback. */
static napi_value queue_job(napi_env env, aead_job_t *j, napi_value *argv, int first, int n, const char *name) {
  j->nrefs = n;
  for (int i = 0; i < n; i++) {
    napi_valuetype t = napi_undefined;
    napi_typeof(env, argv[first + i], &t);
    if (t == napi_object || t == napi_function) napi_create_reference(env, argv[first + i], 1, &j->refs[i]);
  }
  return ret_i64(env, async_queue(env, name, aead_exec, aead_done, j, &j->work, j->refs, j->nrefs));
}

/* A job parsed from argv by `parse` (its callback at argv[cb]) and queued,
 * or -errno with nothing queued (no callback then), or NULL after a throw. */
static napi_value async_job(napi_env env, napi_value *argv, int cb, int (*parse)(napi_env, napi_value *, aead_job_t *), int first,
                            const char *name) {
  if (arg_callback(env, argv[cb])) return NULL;
  aead_job_t *j = calloc(1, sizeof(*j));
  if (!j) return ret_i64(env, -ENOMEM);
  if (parse(env, argv, j) || j->result) {
    int r = j->result;
    free(j);
    return r ? ret_i64(env, r) : NULL;
  }
  return queue_job(env, j, argv, first, cb - first + 1, name);
}


/* ccm, key, nonce, aad, data, tag into j as an open; 1 after a throw, else 0 (j->result -EINVAL for bad sizes). */
static int parse_open(napi_env env, napi_value *argv, aead_job_t *j) {
  size_t taglen;
  if (parse_key(env, argv, j) || arg_bytes(env, argv[3], &j->ad[0], &j->adl[0]) || arg_bytes(env, argv[4], &j->pd[0], &j->pl[0]) ||
      arg_bytes(env, argv[5], &j->tag, &taglen)) return 1;
  j->decrypt = 1;
  j->nad = j->np = 1;
  j->total = j->pl[0];
  if (taglen < 16 || j->adl[0] > 0x7fffffff || j->pl[0] > 0x7fffffff) j->result = -EINVAL;
  return 0;
}



/* key, parts[], macOut into j as a MAC of `kind`; 1 after a throw, else 0 (j->result -EINVAL for bad sizes). */
static int parse_mac(napi_env env, napi_value *argv, aead_job_t *j, int kind) {
  void *key;
  size_t keylen;
  if (arg_bytes(env, argv[0], &key, &keylen) || parse_parts(env, argv[1], j->ad, j->adl, MAX_PARTS, &j->nad, NULL) ||
      arg_bytes(env, argv[2], &j->tag, &j->taglen)) return 1;
  j->kind = kind;
  j->keylen = keylen;
  j->result = (kind == CMAC ? keylen != 16 : keylen > sizeof j->key) || j->taglen < 16 ? -EINVAL : 0;
  if (!j->result) memcpy(j->key, key, keylen);
  return 0;
}

static int parse_cmac(napi_env env, napi_value *argv, aead_job_t *j) {
  return parse_mac(env, argv, j, CMAC);
}

static int parse_hmac(napi_env env, napi_value *argv, aead_job_t *j) {
  return parse_mac(env, argv, j, HMAC);
}

/* The two exports of a job kind: Sync(args) runs it on this thread; Async(args, cb) on a
 * libuv pool thread, with references to argv[first..nargs] (what the pool thread reads or
 * writes, and the callback) until cb(result) runs on the loop thread. */
#define JOB_EXPORTS(Sync, Async, nargs, parse, first, name)                             \
  static napi_value Sync(napi_env env, napi_callback_info info) {                       \
    ARGS(nargs);                                                                        \
    return sync_job(env, argv, parse);                                                  \
  }                                                                                     \
  static napi_value Async(napi_env env, napi_callback_info info) {                      \
    ARGS((nargs) + 1);                                                                  \
    return async_job(env, argv, nargs, parse, first, name);                             \
  }

/* aeadSeal(ccm, key, nonce, aad|null, aadParts[]|null, parts[], tagOut) -> 0 | -errno
 * aeadSealAsync(..., cb) -> 0 | -errno, then cb(0 | -errno): so that sealing or signing
 * (GMAC) an 8 MiB READ does not hold the event loop. The AAD, the parts and the tag must
 * stay untouched until cb (the aad, the arrays and the tag are referenced, so they stay
 * alive; a part taken out of its array is the caller's to keep). No cb on a synchronous
 * -errno. */
JOB_EXPORTS(AeadSeal, AeadSealAsync, 7, parse_seal, 3, "ringsmb:aead")

/* aeadOpen(ccm, key, nonce, aad, data, tag) -> 0 | -EBADMSG | -errno
 * aeadOpenAsync(..., cb) -> 0 | -errno, then cb(0 | -EBADMSG | -errno). data is garbage
 * after a failure. The aad, data and tag must stay untouched until cb. */
JOB_EXPORTS(AeadOpen, AeadOpenAsync, 6, parse_open, 3, "ringsmb:aead")

/* cmac(key, parts[], macOut) -> 0 | -errno
 * cmacAsync(..., cb) -> 0 | -errno, then cb(0 | -errno). The parts and macOut must stay
 * untouched until cb. */
JOB_EXPORTS(Cmac, CmacAsync, 3, parse_cmac, 1, "ringsmb:cmac")

/* hmac(key, parts[], macOut) -> 0 | -errno; hmacAsync(..., cb): HMAC-SHA256, as cmac. */
JOB_EXPORTS(Hmac, HmacAsync, 3, parse_hmac, 1, "ringsmb:hmac")

/* A seal whose plaintext comes in pieces, in order (a READ response sealed
 * piece by piece as the file is read), or a CMAC over a message that comes
 * so (signed likewise). Plain memory only, on the loop thread; the context
 * goes with the external (or at finish). */
typedef struct {
  int kind;
  int done;
  EVP_CIPHER_CTX *c; /* GCM through OpenSSL */
  gcm_t *g;          /* GCM through gcm.c */
  int aad_only;      /* GMAC: every piece is AAD */
  ccm_t k;           /* CCM */
  cmac_t m;          /* CMAC */
  hmac_t h;          /* HMAC */
} aead_stream_t;

static void stream_free(napi_env env, void *data, void *hint) {
  aead_stream_t *s = data;
  if (s->c) EVP_CIPHER_CTX_free(s->c);
  if (s->g) {
    OPENSSL_cleanse(s->g, sizeof *s->g);
    free(s->g);
  }
  ccm_free(&s->k);
  cmac_free(&s->m);
  hmac_free(&s->h);
  free(s);
}

/* The stream as an external, or -errno (the stream freed). */
static napi_value stream_out(napi_env env, aead_stream_t *s, int r) {
  napi_value out;
  if (r || napi_create_external(env, s, stream_free, NULL, &out) != napi_ok) {
    stream_free(env, s, NULL);
    return ret_i64(env, r ? r : -ENOMEM);
  }
  return out;
}

/* The stream behind an external made by aeadStream or cmacStream, or NULL after a throw. */
static aead_stream_t *arg_stream(napi_env env, napi_value v) {
  napi_valuetype t;
  void *p = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, &p) != napi_ok || !p) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "not an AEAD stream");
    return NULL;
  }
  return p;
}

/* A GCM stream's cipher: gcm.c where it runs (a 12-byte nonce, gcm_fast()),
 * else OpenSSL's; 0 or -errno. */
static int gcm_stream_begin(aead_stream_t *s, const void *key, size_t keylen, const void *nonce, size_t noncelen) {
  s->kind = GCM;
  if (noncelen == 12 && gcm_fast()) {
    s->g = malloc(sizeof *s->g);
    return s->g ? gcm_init(s->g, key, keylen, nonce, noncelen) : -ENOMEM;
  }
  s->c = EVP_CIPHER_CTX_new();
  return s->c ? ossl_setup(s->c, 1, 0, key, keylen, nonce, noncelen, NULL, 0) : -ENOMEM;
}

/* aeadStream(ccm, key, nonce, aad, total) -> stream | -errno */
static napi_value AeadStream(napi_env env, napi_callback_info info) {
  ARGS(5);
  int32_t ccm;
  void *key, *nonce, *aad;
  size_t keylen, noncelen, aadlen;
  double total;
  if (arg_i32(env, argv[0], &ccm) || arg_bytes(env, argv[1], &key, &keylen) || arg_bytes(env, argv[2], &nonce, &noncelen) ||
      arg_bytes(env, argv[3], &aad, &aadlen) || arg_f64(env, argv[4], &total)) return NULL;
  if (noncelen > 16 || aadlen > 0x7fffffff || !(total >= 0 && total <= 0x7fffffff)) return ret_i64(env, -EINVAL);
  aead_stream_t *s = calloc(1, sizeof(*s));
  if (!s) return ret_i64(env, -ENOMEM);
  int r, outl;
  if (ccm) {
    s->kind = CCM;
    r = ccm_begin(&s->k, 0, key, keylen, nonce, noncelen, aadlen, (size_t)total);
    if (!r) r = ccm_aad(&s->k, aad, aadlen);
    if (!r) ccm_aad_done(&s->k);
    return stream_out(env, s, r);
  }
  r = gcm_stream_begin(s, key, keylen, nonce, noncelen);
  if (!r && s->g) gcm_aad(s->g, aad, aadlen);
  if (!r && s->c && aadlen && !EVP_CipherUpdate(s->c, NULL, &outl, aad, (int)aadlen)) r = -EIO;
  return stream_out(env, s, r);
}

/* gmacStream(key, nonce) -> stream | -errno: AES-GMAC (GCM with the whole
 * message as AAD and no plaintext; SMB 3.1.1 signing, MS-SMB2 3.1.4.1) over
 * pieces fed by aeadStreamNext, which only reads them. */
static napi_value GmacStream(napi_env env, napi_callback_info info) {
  ARGS(2);
  void *key, *nonce;
  size_t keylen, noncelen;
  if (arg_bytes(env, argv[0], &key, &keylen) || arg_bytes(env, argv[1], &nonce, &noncelen)) return NULL;
  if (noncelen > 16) return ret_i64(env, -EINVAL);
  aead_stream_t *s = calloc(1, sizeof(*s));
  if (!s) return ret_i64(env, -ENOMEM);
  s->aad_only = 1;
  return stream_out(env, s, gcm_stream_begin(s, key, keylen, nonce, noncelen));
}

/* cmacStream(key), hmacStream(key) -> stream | -errno */
static napi_value mac_stream(napi_env env, napi_callback_info info, int kind) {
  ARGS(1);
  void *key;
  size_t keylen;
  if (arg_bytes(env, argv[0], &key, &keylen)) return NULL;
  aead_stream_t *s = calloc(1, sizeof(*s));
  if (!s) return ret_i64(env, -ENOMEM);
  s->kind = kind;
  return stream_out(env, s, kind == CMAC ? cmac_begin(&s->m, key, keylen) : hmac_begin(&s->h, key, keylen));
}

static napi_value CmacStream(napi_env env, napi_callback_info info) {
  return mac_stream(env, info, CMAC);
}

static napi_value HmacStream(napi_env env, napi_callback_info info) {
  return mac_stream(env, info, HMAC);
}

/* aeadStreamNext(stream, bytes, last) -> 0 | -errno. Not last: bytes is the
 * next piece of the plaintext, encrypted in place (a CMAC stream only reads
 * it). Last: the tag (the MAC) goes into bytes (16), and the stream takes no
 * more. */
static napi_value AeadStreamNext(napi_env env, napi_callback_info info) {
  ARGS(3);
  aead_stream_t *s = arg_stream(env, argv[0]);
  void *p;
  size_t len;
  bool last = false;
  if (!s || arg_bytes(env, argv[1], &p, &len)) return NULL;
  if (napi_get_value_bool(env, argv[2], &last) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "last must be a boolean");
    return NULL;
  }
  if (s->done || len > 0x7fffffff || (last && len < 16)) return ret_i64(env, -EINVAL);
  if (last) s->done = 1;
  if (s->kind == CMAC) return ret_i64(env, last ? cmac_final(&s->m, p) : cmac_update(&s->m, p, len));
  if (s->kind == HMAC) return ret_i64(env, last ? hmac_final(&s->h, p, len) : hmac_update(&s->h, p, len));
  if (s->kind == CCM) return ret_i64(env, last ? ccm_final(&s->k, p) : ccm_update(&s->k, p, len));
  if (s->g) {
    if (last) gcm_tag(s->g, p);
    else if (s->aad_only) gcm_aad(s->g, p, len);
    else gcm_crypt(s->g, 0, p, len);
    return ret_i64(env, 0);
  }
  int outl, r = 0;
  if (!last) {
    if (len && s->aad_only && !EVP_CipherUpdate(s->c, NULL, &outl, p, (int)len)) r = -EIO;
    if (len && !s->aad_only && (!EVP_CipherUpdate(s->c, p, &outl, p, (int)len) || (size_t)outl != len)) r = -EIO;
    return ret_i64(env, r);
  }
  unsigned char fin[32];
  if (!EVP_CipherFinal_ex(s->c, fin, &outl) || !EVP_CIPHER_CTX_ctrl(s->c, EVP_CTRL_GCM_GET_TAG, 16, p)) r = -EIO;
  EVP_CIPHER_CTX_free(s->c);
  s->c = NULL;
  return ret_i64(env, r);
}

/* gcmFast() -> 1 when AES-GCM goes through gcm.c on this CPU, 0 when through OpenSSL */
static napi_value GcmFast(napi_env env, napi_callback_info info) {
  return ret_i64(env, gcm_fast());
}

void aead_init(napi_env env, napi_value exports) {
  gcm_fast(); /* decided once, here, before any pool thread asks */
  export_fn(env, exports, "gcmFast", GcmFast);
  export_fn(env, exports, "aeadStream", AeadStream);
  export_fn(env, exports, "aeadStreamNext", AeadStreamNext);
  export_fn(env, exports, "aeadSeal", AeadSeal);
  export_fn(env, exports, "aeadSealAsync", AeadSealAsync);
  export_fn(env, exports, "aeadOpenAsync", AeadOpenAsync);
  export_fn(env, exports, "aeadOpen", AeadOpen);
  export_fn(env, exports, "cmac", Cmac);
  export_fn(env, exports, "cmacAsync", CmacAsync);
  export_fn(env, exports, "cmacStream", CmacStream);
  export_fn(env, exports, "gmacStream", GmacStream);
  export_fn(env, exports, "hmac", Hmac);
  export_fn(env, exports, "hmacAsync", HmacAsync);
  export_fn(env, exports, "hmacStream", HmacStream);
}
