/* AES-GCM / AES-CCM in place, through the OpenSSL that Node itself links
 * and exports (the node-gyp headers ship its openssl/ includes).
 *
 * Why here: Node's Cipheriv.update() always returns new memory, so sealing
 * an 8 MiB READ response allocates 8 MiB of ciphertext per message, which
 * V8 counts as external memory and answers with major GCs. The SMB data
 * path (ARCHITECTURE decision 5) seals in place instead: READ into a
 * registered buffer, encrypt it where it lies, send it. Only the primitive
 * lives here; the transform header, nonces, AAD and key choice are
 * TypeScript (src/crypto/encryption.ts).
 *
 * aeadSeal(key, nonce, aad, parts[], tagOut)  -> 0 | -errno         (AES-GCM)
 * aeadOpen(ccm, key, nonce, aad, data, tag)    -> 0 | -EBADMSG | -errno
 * Seal encrypts the parts in place, in order, as one plaintext. It is GCM
 * only: CCM takes the whole plaintext in one update (an OpenSSL rule), and a
 * response always comes in several parts, so CCM seals through node:crypto. */
#include "addon.h"
#include <openssl/evp.h>

static const EVP_CIPHER *pick(int ccm, size_t keylen) {
  if (keylen == 16) return ccm ? EVP_aes_128_ccm() : EVP_aes_128_gcm();
  if (keylen == 32) return ccm ? EVP_aes_256_ccm() : EVP_aes_256_gcm();
  return NULL;
}

#define MAX_PARTS 64

/* Sets cipher, nonce length, key and nonce; for CCM also the tag length and the total length. */
static int setup(EVP_CIPHER_CTX *c, int enc, int ccm, const void *key, size_t keylen, const void *nonce, size_t noncelen,
                 void *tag, size_t total) {
  const EVP_CIPHER *ci = pick(ccm, keylen);
  if (!ci) return -EINVAL;
  if (!EVP_CipherInit_ex(c, ci, NULL, NULL, NULL, enc)) return -EIO;
  if (!EVP_CIPHER_CTX_ctrl(c, ccm ? EVP_CTRL_CCM_SET_IVLEN : EVP_CTRL_GCM_SET_IVLEN, (int)noncelen, NULL)) return -EINVAL;
  /* CCM: the tag length before the key; when decrypting, the expected tag itself. */
  if (ccm && !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_CCM_SET_TAG, 16, enc ? NULL : tag)) return -EINVAL;
  if (!EVP_CipherInit_ex(c, NULL, NULL, key, nonce, enc)) return -EIO;
  int outl;
  if (ccm && total > 0x7fffffff) return -EINVAL;
  if (ccm && !EVP_CipherUpdate(c, NULL, &outl, NULL, (int)total)) return -EIO;
  return 0;
}

static napi_value AeadSeal(napi_env env, napi_callback_info info) {
  ARGS(5);
  void *key, *nonce, *aad, *tag;
  size_t keylen, noncelen, aadlen, taglen;
  if (arg_bytes(env, argv[0], &key, &keylen) || arg_bytes(env, argv[1], &nonce, &noncelen) ||
      arg_bytes(env, argv[2], &aad, &aadlen) || arg_bytes(env, argv[4], &tag, &taglen)) return NULL;
  uint32_t n;
  bool isArray;
  if (napi_is_array(env, argv[3], &isArray) != napi_ok || !isArray || napi_get_array_length(env, argv[3], &n) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "parts must be an array of buffers");
    return NULL;
  }
  if (taglen < 16 || n > MAX_PARTS || aadlen > 0x7fffffff) return ret_i64(env, -EINVAL);
  void *pd[MAX_PARTS];
  size_t pl[MAX_PARTS];
  size_t total = 0;
  for (uint32_t i = 0; i < n; i++) {
    napi_value el;
    NAPI_OK(napi_get_element(env, argv[3], i, &el));
    if (arg_bytes(env, el, &pd[i], &pl[i])) return NULL;
    if (pl[i] > 0x7fffffff) return ret_i64(env, -EINVAL);
    total += pl[i];
  }
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  if (!c) return ret_i64(env, -ENOMEM);
  int r = setup(c, 1, 0, key, keylen, nonce, noncelen, NULL, total);
  int outl;
  if (!r && aadlen && !EVP_CipherUpdate(c, NULL, &outl, aad, (int)aadlen)) r = -EIO;
  for (uint32_t i = 0; !r && i < n; i++)
    if (pl[i] && (!EVP_CipherUpdate(c, pd[i], &outl, pd[i], (int)pl[i]) || (size_t)outl != pl[i])) r = -EIO;
  unsigned char fin[32];
  if (!r && !EVP_CipherFinal_ex(c, fin, &outl)) r = -EIO;
  if (!r && !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag)) r = -EIO;
  EVP_CIPHER_CTX_free(c);
  return ret_i64(env, r);
}

static napi_value AeadOpen(napi_env env, napi_callback_info info) {
  ARGS(6);
  GET_I32(0, ccm);
  void *key, *nonce, *aad, *data, *tag;
  size_t keylen, noncelen, aadlen, datalen, taglen;
  if (arg_bytes(env, argv[1], &key, &keylen) || arg_bytes(env, argv[2], &nonce, &noncelen) ||
      arg_bytes(env, argv[3], &aad, &aadlen) || arg_bytes(env, argv[4], &data, &datalen) ||
      arg_bytes(env, argv[5], &tag, &taglen)) return NULL;
  if (taglen < 16 || aadlen > 0x7fffffff || datalen > 0x7fffffff) return ret_i64(env, -EINVAL);
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  if (!c) return ret_i64(env, -ENOMEM);
  int r = setup(c, 0, ccm, key, keylen, nonce, noncelen, tag, datalen);
  int outl;
  if (!r && aadlen && !EVP_CipherUpdate(c, NULL, &outl, aad, (int)aadlen)) r = -EIO;
  if (ccm) {
    /* CCM checks the tag inside the (single) update. */
    if (!r && !EVP_CipherUpdate(c, data, &outl, data, (int)datalen)) r = -EBADMSG;
  } else {
    if (!r && datalen && !EVP_CipherUpdate(c, data, &outl, data, (int)datalen)) r = -EIO;
    if (!r && !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag)) r = -EIO;
    unsigned char fin[32];
    if (!r && !EVP_CipherFinal_ex(c, fin, &outl)) r = -EBADMSG;
  }
  EVP_CIPHER_CTX_free(c);
  return ret_i64(env, r);
}

void aead_init(napi_env env, napi_value exports) {
  export_fn(env, exports, "aeadSeal", AeadSeal);
  export_fn(env, exports, "aeadOpen", AeadOpen);
}
