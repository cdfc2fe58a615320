/* Randomness, hashing and encryption: the only user of OpenSSL's libcrypto. */
#include "crypto.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

int
crypto_random(void *out, size_t n)
{
	return RAND_bytes(out, (int)n) == 1 ? 0 : -1;
}

void
crypto_sha256(const void *in, size_t n, unsigned char out[SHA256_LEN])
{
	SHA256(in, n, out);
}

void
crypto_hmac(const unsigned char *key, size_t keylen, const void *msg,
	    size_t n, unsigned char out[SHA256_LEN])
{
	unsigned int len = SHA256_LEN;

	HMAC(EVP_sha256(), key, (int)keylen, msg, n, out, &len);
}

int
crypto_hkdf(const unsigned char *ikm, size_t ikmlen, const char *info,
	    unsigned char *out, size_t outlen)
{
	EVP_PKEY_CTX *ctx;
	int rc = -1;

	ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	if (ctx == NULL)
		return -1;
	if (EVP_PKEY_derive_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) <= 0 ||
	    EVP_PKEY_CTX_set1_hkdf_key(ctx, ikm, (int)ikmlen) <= 0 ||
	    EVP_PKEY_CTX_add1_hkdf_info(ctx, (const unsigned char *)info,
					(int)strlen(info)) <= 0 ||
	    EVP_PKEY_derive(ctx, out, &outlen) <= 0)
		goto err;
	rc = 0;
err:
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

static int
aead(int enc, const unsigned char *key, const unsigned char *iv,
     const void *aad, size_t aadlen, const unsigned char *in, size_t n,
     unsigned char *out, unsigned char *tag)
{
	EVP_CIPHER_CTX *ctx;
	int len, rc = -1;

	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL)
		return -1;
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, iv, enc) !=
		    1 ||
	    EVP_CipherUpdate(ctx, NULL, &len, aad, (int)aadlen) != 1 ||
	    EVP_CipherUpdate(ctx, out, &len, in, (int)n) != 1)
		goto err;
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG,
					AEAD_TAG_LEN, tag) != 1)
		goto err;
	if (EVP_CipherFinal_ex(ctx, out + len, &len) != 1)
		goto err;
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, AEAD_TAG_LEN,
				       tag) != 1)
		goto err;
	rc = 0;
err:
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
