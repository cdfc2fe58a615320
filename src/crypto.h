/* Randomness, hashing and encryption: the only user of OpenSSL's libcrypto. */
#ifndef CRYPTO_H
#define CRYPTO_H

#include <stddef.h>

#define SHA256_LEN   32
#define AEAD_KEY_LEN 32
#define AEAD_IV_LEN  12
#define AEAD_TAG_LEN 16

int crypto_random(void *out, size_t n);
void crypto_sha256(const void *in, size_t n, unsigned char out[SHA256_LEN]);
void crypto_hmac(const unsigned char *key, size_t keylen, const void *msg,
		 size_t n, unsigned char out[SHA256_LEN]);
/* crypto_hmac keeps its keys ready between calls: this wipes them. */
void crypto_forget_keys(void);
/* HKDF-SHA256 (RFC 5869) with an empty salt: one subkey per purpose. */
int crypto_hkdf(const unsigned char *ikm, size_t ikmlen, const char *info,
		unsigned char *out, size_t outlen);

/*
 * AES-256-GCM.  seal writes AEAD_IV_LEN bytes of random nonce, then the
 * ciphertext, then the tag: n + AEAD_IV_LEN + AEAD_TAG_LEN bytes in all.
 * open takes the same layout and fails on any tampering.
 */
int crypto_seal(const unsigned char key[AEAD_KEY_LEN], const void *aad,
		size_t aadlen, const void *in, size_t n, unsigned char *out);
int crypto_open(const unsigned char key[AEAD_KEY_LEN], const void *aad,
		size_t aadlen, const unsigned char *in, size_t n,
		unsigned char *out);

/* Wipes a secret string, then frees it (NULL is fine). */
void secret_free(char *s);

/* Constant-time equality of two equal-length byte strings. */
int crypto_equal(const void *a, const void *b, size_t n);
/* Constant-time equality of two strings whose lengths may differ. */
int crypto_streq(const char *a, const char *b);

#endif
