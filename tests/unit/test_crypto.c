/* Unit tests for crypto.c, against published vectors, and for PKCE. */
#include <string.h>

#include "crypto.h"
#include "pending.h"
#include "unit.h"
#include "codec.h"

/* Two keys one bit apart ('e' and 'E'); 31 characters and the NUL. */
static const unsigned char key1[AEAD_KEY_LEN] =
	"0123456789abcdef0123456789abcde";
static const unsigned char key2[AEAD_KEY_LEN] =
	"0123456789abcdef0123456789abcdE";
static const char msg[] = "an access token, or anything";

#define MSG_LEN	   (sizeof(msg) - 1)
#define SEALED_LEN (AEAD_IV_LEN + MSG_LEN + AEAD_TAG_LEN)

static int
seal(const unsigned char *key, unsigned char *sealed)
{
	return crypto_seal(key, "aad", 3, msg, MSG_LEN, sealed);
}

static void
sha256_matches_fips_180_abc(void)
{
	unsigned char h[SHA256_LEN];
	char out[2 * SHA256_LEN + 1];

	crypto_sha256("abc", 3, h);
	hex_encode(h, sizeof(h), out);
	CHECK_STR(out, "ba7816bf8f01cfea414140de5dae2223"
		       "b00361a396177a9cb410ff61f20015ad");
}

static void
hmac_matches_rfc4231_test_case_2(void)
{
	static const char data[] = "what do ya want for nothing?";
	unsigned char mac[SHA256_LEN];
	char out[2 * SHA256_LEN + 1];

	crypto_hmac((const unsigned char *)"Jefe", 4, data, sizeof(data) - 1,
		    mac);
	hex_encode(mac, sizeof(mac), out);
	CHECK_STR(out, "5bdcc146bf60754e6a042426089575c7"
		       "5a003f089d2739839dec58b964ec3843");
}

/* crypto_hmac keeps keyed contexts: the answers must not depend on that. */
static void
hmac_is_the_same_again_under_alternating_keys(void)
{
	static const char data[] = "what do ya want for nothing?";
	unsigned char k0b[20], mac[SHA256_LEN];
	char out[2 * SHA256_LEN + 1];
	int i;

	memset(k0b, 0x0b, sizeof(k0b));
	for (i = 0; i < 3; i++) {
		/* RFC 4231 test cases 1 and 2, one after the other. */
		crypto_hmac(k0b, sizeof(k0b), "Hi There", 8, mac);
		hex_encode(mac, sizeof(mac), out);
		CHECK_STR(out, "b0344c61d8db38535ca8afceaf0bf12b"
			       "881dc200c9833da726e9376c2e32cff7");
		crypto_hmac((const unsigned char *)"Jefe", 4, data,
			    sizeof(data) - 1, mac);
		hex_encode(mac, sizeof(mac), out);
		CHECK_STR(out, "5bdcc146bf60754e6a042426089575c7"
			       "5a003f089d2739839dec58b964ec3843");
		if (i == 1)
			crypto_forget_keys();
	}
}

static void
hkdf_matches_rfc5869_test_case_3(void)
{
	unsigned char ikm[22], okm[42];
	char out[2 * sizeof(okm) + 1];

	/* Test case 3: empty salt and empty info, L = 42. */
	memset(ikm, 0x0b, sizeof(ikm));
	CHECK(crypto_hkdf(ikm, sizeof(ikm), "", okm, sizeof(okm)) == 0);
	hex_encode(okm, sizeof(okm), out);
	CHECK_STR(out, "8da4e775a563c18f715f802a063c5a31"
		       "b8a11f5c5ee1879ec3454e5f3c738d2d"
		       "9d201395faa4b61a96c8");
}

static void
hkdf_gives_each_info_its_own_key(void)
{
	unsigned char ikm[32], a[32], b[32];

	memset(ikm, 7, sizeof(ikm));
	CHECK(crypto_hkdf(ikm, sizeof(ikm), "purpose a", a, sizeof(a)) == 0);
	CHECK(crypto_hkdf(ikm, sizeof(ikm), "purpose b", b, sizeof(b)) == 0);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
}

static void
random_gives_different_bytes_each_call(void)
{
	unsigned char a[32], b[32];

	CHECK(crypto_random(a, sizeof(a)) == 0);
	CHECK(crypto_random(b, sizeof(b)) == 0);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
}

static void
aead_round_trip_gives_back_the_plaintext(void)
{
	unsigned char sealed[SEALED_LEN], plain[MSG_LEN];

	CHECK(seal(key1, sealed) == 0);
	/* The ciphertext must not carry the plaintext in clear. */
	CHECK(memcmp(sealed + AEAD_IV_LEN, msg, MSG_LEN) != 0);
	CHECK(crypto_open(key1, "aad", 3, sealed, sizeof(sealed), plain) == 0);
	CHECK(memcmp(plain, msg, MSG_LEN) == 0);
}

static void
aead_uses_a_fresh_nonce_per_seal(void)
{
	unsigned char a[SEALED_LEN], b[SEALED_LEN];

	/* A repeated GCM nonce under one key gives away the key stream. */
	CHECK(seal(key1, a) == 0 && seal(key1, b) == 0);
	CHECK(memcmp(a, b, AEAD_IV_LEN) != 0);
}

static void
aead_open_fails_on_any_flipped_bit(void)
{
	unsigned char sealed[SEALED_LEN], plain[MSG_LEN];
	size_t i, opened = 0;
	int bit;

	CHECK(seal(key1, sealed) == 0);
	/* Nonce, ciphertext and tag alike: every bit is authenticated. */
	for (i = 0; i < sizeof(sealed); i++) {
		for (bit = 0; bit < 8; bit++) {
			sealed[i] ^= (unsigned char)(1u << bit);
			if (crypto_open(key1, "aad", 3, sealed, sizeof(sealed),
					plain) == 0)
				opened++;
			sealed[i] ^= (unsigned char)(1u << bit);
		}
	}
	CHECK(opened == 0);
	CHECK(crypto_open(key1, "aad", 3, sealed, sizeof(sealed), plain) == 0);
}

static void
aead_open_fails_with_other_aad(void)
{
	unsigned char sealed[SEALED_LEN], plain[MSG_LEN];

	CHECK(seal(key1, sealed) == 0);
	CHECK(crypto_open(key1, "aaD", 3, sealed, sizeof(sealed), plain) == -1);
	CHECK(crypto_open(key1, "aa", 2, sealed, sizeof(sealed), plain) == -1);
	CHECK(crypto_open(key1, NULL, 0, sealed, sizeof(sealed), plain) == -1);
}

static void
aead_open_fails_with_another_key(void)
{
	unsigned char sealed[SEALED_LEN], plain[MSG_LEN];

	CHECK(seal(key1, sealed) == 0);
	CHECK(crypto_open(key2, "aad", 3, sealed, sizeof(sealed), plain) == -1);
}

static void
aead_open_fails_on_truncation(void)
{
	unsigned char sealed[SEALED_LEN], plain[MSG_LEN];

	CHECK(seal(key1, sealed) == 0);
	CHECK(crypto_open(key1, "aad", 3, sealed, sizeof(sealed) - 1, plain) ==
	      -1);
	CHECK(crypto_open(key1, "aad", 3, sealed,
			  AEAD_IV_LEN + AEAD_TAG_LEN - 1, plain) == -1);
}

static void
equal_compares_bytes(void)
{
	CHECK(crypto_equal("abcd", "abcd", 4));
	CHECK(!crypto_equal("abcd", "abce", 4));
	CHECK(!crypto_equal("\0bcd", "\1bcd", 4));
}

static void
streq_needs_equal_contents_and_lengths(void)
{
	CHECK(crypto_streq("secret", "secret"));
	CHECK(crypto_streq("", ""));
	CHECK(!crypto_streq("secret", "secreT"));
	CHECK(!crypto_streq("secret", "secret2"));
	CHECK(!crypto_streq("secret", "secre"));
	CHECK(!crypto_streq("", "x"));
}

/* RFC 7636 Appendix B's verifier, as the 32 bytes it encodes. */
static int
rfc7636_pending(struct pending *p)
{
	static const char v[] = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
	size_t n = 0;

	memset(p, 0, sizeof(*p));
	if (b64url_decode(v, sizeof(v) - 1, p->verifier, sizeof(p->verifier),
			  &n) == -1)
		return -1;
	return n == sizeof(p->verifier) ? 0 : -1;
}

static void
pkce_verifier_matches_rfc7636_appendix_b(void)
{
	struct pending p;
	char out[STATE_LEN + 1];

	CHECK(rfc7636_pending(&p) == 0);
	pending_verifier(&p, out);
	CHECK_STR(out, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
}

static void
pkce_challenge_matches_rfc7636_appendix_b(void)
{
	struct pending p;
	char out[STATE_LEN + 1];

	CHECK(rfc7636_pending(&p) == 0);
	pending_challenge(&p, out);
	CHECK_STR(out, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

/* Keys longer than a block, and more keys than the table keeps: keyed
 * afresh each time, with the same answers. */
static void
hmac_of_a_long_key_matches_rfc4231_test_case_6(void)
{
	static const char data[] =
		"Test Using Larger Than Block-Size Key - Hash Key First";
	unsigned char key[131], mac[SHA256_LEN];
	char out[2 * SHA256_LEN + 1];
	int i;

	memset(key, 0xaa, sizeof(key));
	for (i = 0; i < 2; i++) {
		crypto_hmac(key, sizeof(key), data, sizeof(data) - 1, mac);
		hex_encode(mac, sizeof(mac), out);
		CHECK_STR(out, "60e431591ee0b67f0d8a26aacbf5b77f"
			       "8e0bc6213728c5140546040f0ee37f54");
	}
}

static void
hmac_is_right_when_the_key_table_is_full(void)
{
	static const char data[] = "what do ya want for nothing?";
	unsigned char k[8], mac[SHA256_LEN];
	char out[2 * SHA256_LEN + 1];
	int i;

	crypto_forget_keys();
	for (i = 0; i < 40; i++) {
		memset(k, i, sizeof(k));
		crypto_hmac(k, sizeof(k), "x", 1, mac);
	}
	crypto_hmac((const unsigned char *)"Jefe", 4, data, sizeof(data) - 1,
		    mac);
	hex_encode(mac, sizeof(mac), out);
	CHECK_STR(out, "5bdcc146bf60754e6a042426089575c7"
		       "5a003f089d2739839dec58b964ec3843");
	crypto_forget_keys();
}

int
main(void)
{
	RUN(sha256_matches_fips_180_abc);
	RUN(hmac_matches_rfc4231_test_case_2);
	RUN(hmac_is_the_same_again_under_alternating_keys);
	RUN(hmac_of_a_long_key_matches_rfc4231_test_case_6);
	RUN(hmac_is_right_when_the_key_table_is_full);
	RUN(hkdf_matches_rfc5869_test_case_3);
	RUN(hkdf_gives_each_info_its_own_key);
	RUN(random_gives_different_bytes_each_call);
	RUN(aead_round_trip_gives_back_the_plaintext);
	RUN(aead_uses_a_fresh_nonce_per_seal);
	RUN(aead_open_fails_on_any_flipped_bit);
	RUN(aead_open_fails_with_other_aad);
	RUN(aead_open_fails_with_another_key);
	RUN(aead_open_fails_on_truncation);
	RUN(equal_compares_bytes);
	RUN(streq_needs_equal_contents_and_lengths);
	RUN(pkce_verifier_matches_rfc7636_appendix_b);
	RUN(pkce_challenge_matches_rfc7636_appendix_b);
	return DONE();
}
