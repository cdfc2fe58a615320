/* Randomness, hashing and encryption: the only user of OpenSSL's libcrypto. */
#include "crypto.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

/*
 * OpenSSL 3 looks an algorithm up by name on every one-shot call (HMAC(),
 * SHA256(), an init with EVP_aes_256_gcm()): locks, hash tables and
 * property queries that cost more than the work itself on our short
 * inputs.  Each is fetched once per process.  A fetch that fails (no
 * default provider, no memory) fails the call that needs it: the
 * built-in EVP_sha256() would fetch the same from the same provider.
 */
static const EVP_MD *
sha256_md(void)
{
	static EVP_MD *md;

	if (md == NULL)
		md = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	return md;
}

static const EVP_CIPHER *
gcm_cipher(void)
{
	static EVP_CIPHER *c;

	if (c == NULL)
		c = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	return c;
}

int
crypto_random(void *out, size_t n)
{
	return RAND_bytes(out, (int)n) == 1 ? 0 : -1;
}

void
crypto_sha256(const void *in, size_t n, unsigned char out[SHA256_LEN])
{
	if (EVP_Digest(in, n, out, NULL, sha256_md(), NULL) != 1)
		SHA256(in, n, out);
}

/*
 * HMAC contexts keyed once and reused: keying one (two hash blocks and a
 * dozen allocations) cost more than the MAC itself, and every request
 * computes its MACs under the same few subkeys.  Workers are single
 * threaded (DESIGN), so a plain table will do; a key that finds no room
 * is keyed afresh each time.  crypto_forget_keys() empties it.
 */
/* At most this many keys, of at most SHA-256's block size (longer ones
 * are hashed first, and rare). */
#define HMAC_KEYS    16
#define HMAC_KEY_MAX 64

static struct {
	unsigned char key[HMAC_KEY_MAX];
	size_t len;
	EVP_MAC_CTX *ctx; /* NULL: a free slot */
} hmac_keys[HMAC_KEYS];

static EVP_MAC_CTX *
hmac_keyed(const unsigned char *key, size_t keylen)
{
	static EVP_MAC *mac;
	static char digest[] = "SHA2-256"; /* OSSL_PARAM wants it writable */
	OSSL_PARAM params[2];
	size_t i;

	if (keylen > HMAC_KEY_MAX)
		return NULL;
	for (i = 0; i < HMAC_KEYS && hmac_keys[i].ctx != NULL; i++)
		if (hmac_keys[i].len == keylen &&
		    CRYPTO_memcmp(hmac_keys[i].key, key, keylen) == 0)
			return hmac_keys[i].ctx;
	if (i == HMAC_KEYS)
		return NULL;
	if (mac == NULL)
		mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (mac == NULL)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	hmac_keys[i].ctx = EVP_MAC_CTX_new(mac);
	if (hmac_keys[i].ctx == NULL ||
	    EVP_MAC_init(hmac_keys[i].ctx, key, keylen, params) != 1) {
		EVP_MAC_CTX_free(hmac_keys[i].ctx);
		hmac_keys[i].ctx = NULL;
		return NULL;
	}
	memcpy(hmac_keys[i].key, key, keylen);
	hmac_keys[i].len = keylen;
	return hmac_keys[i].ctx;
}

void
crypto_hmac(const unsigned char *key, size_t keylen, const void *msg, size_t n,
	    unsigned char out[SHA256_LEN])
{
	EVP_MAC_CTX *ctx = hmac_keyed(key, keylen);
	unsigned int len = SHA256_LEN;
	size_t got;

	/* A NULL key starts the context over with the key it has. */
	if (ctx != NULL && EVP_MAC_init(ctx, NULL, 0, NULL) == 1 &&
	    EVP_MAC_update(ctx, msg, n) == 1 &&
	    EVP_MAC_final(ctx, out, &got, SHA256_LEN) == 1 && got == SHA256_LEN)
		return;
	HMAC(EVP_sha256(), key, (int)keylen, msg, n, out, &len);
}

void
crypto_forget_keys(void)
{
	size_t i;

	for (i = 0; i < HMAC_KEYS; i++) {
		EVP_MAC_CTX_free(hmac_keys[i].ctx);
		explicit_bzero(&hmac_keys[i], sizeof(hmac_keys[i]));
	}
}

int
crypto_hkdf(const unsigned char *ikm, size_t ikmlen, const char *info,
	    unsigned char *out, size_t outlen)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	int rc = 0;

	/* EVP_PKEY_CTX_free(NULL) does nothing. */
	if (ctx == NULL || EVP_PKEY_derive_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) <= 0 ||
	    EVP_PKEY_CTX_set1_hkdf_key(ctx, ikm, (int)ikmlen) <= 0 ||
	    EVP_PKEY_CTX_add1_hkdf_info(ctx, (const unsigned char *)info,
					(int)strlen(info)) <= 0 ||
	    EVP_PKEY_derive(ctx, out, &outlen) <= 0)
		rc = -1;
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

static int
aead(int enc, const unsigned char *key, const unsigned char *iv,
     const void *aad, size_t aadlen, const unsigned char *in, size_t n,
     unsigned char *out, unsigned char *tag)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int len, rc = 0;

	/* The tag is set before the final call to open, and read after it
	 * to seal.  EVP_CIPHER_CTX_free(NULL) does nothing. */
	if (ctx == NULL ||
	    EVP_CipherInit_ex(ctx, gcm_cipher(), NULL, key, iv, enc) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &len, aad, (int)aadlen) != 1 ||
	    EVP_CipherUpdate(ctx, out, &len, in, (int)n) != 1 ||
	    (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG,
					 AEAD_TAG_LEN, tag) != 1) ||
	    EVP_CipherFinal_ex(ctx, out + len, &len) != 1 ||
	    (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, AEAD_TAG_LEN,
					tag) != 1))
		rc = -1;
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int
crypto_seal(const unsigned char key[AEAD_KEY_LEN], const void *aad,
	    size_t aadlen, const void *in, size_t n, unsigned char *out)
{
	if (crypto_random(out, AEAD_IV_LEN) == -1)
		return -1;
	return aead(1, key, out, aad, aadlen, in, n, out + AEAD_IV_LEN,
		    out + AEAD_IV_LEN + n);
}

int
crypto_open(const unsigned char key[AEAD_KEY_LEN], const void *aad,
	    size_t aadlen, const unsigned char *in, size_t n,
	    unsigned char *out)
{
	unsigned char tag[AEAD_TAG_LEN];

	if (n < AEAD_IV_LEN + AEAD_TAG_LEN)
		return -1;
	n -= AEAD_IV_LEN + AEAD_TAG_LEN;
	memcpy(tag, in + AEAD_IV_LEN + n, AEAD_TAG_LEN);
	return aead(0, key, in, aad, aadlen, in + AEAD_IV_LEN, n, out, tag);
}

void
secret_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

int
crypto_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

int
crypto_streq(const char *a, const char *b)
{
	unsigned char ha[SHA256_LEN], hb[SHA256_LEN];

	/* Hashing first hides both the contents and the lengths. */
	crypto_sha256(a, strlen(a), ha);
	crypto_sha256(b, strlen(b), hb);
	return CRYPTO_memcmp(ha, hb, SHA256_LEN) == 0;
}
