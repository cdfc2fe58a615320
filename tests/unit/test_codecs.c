/* Unit tests for text.c (the small codecs) and buf.c (bounded buffers). */
#include <limits.h>
#include <string.h>

#include "buf.h"
#include "text.h"
#include "unit.h"
#include "url.h"
#include "codec.h"
#include "timefmt.h"

/* Runs url_decode on a copy of s; returns the length or -1. */
static long
decode(const char *s, int plus, char *out, size_t len)
{
	snprintf(out, len, "%s", s);
	return url_decode(out, strlen(out), plus);
}

/* The text an encoder appended, in a fresh buffer that the caller frees. */
static const char *
encoded(struct buf *b, int (*enc)(struct buf *, const char *), const char *s)
{
	buf_init(b, 1024);
	enc(b, s);
	return buf_str(b);
}

static const char *
b64url(const char *s, char *out)
{
	b64url_encode((const unsigned char *)s, strlen(s), out);
	return out;
}

static void
parse_uint_accepts_digits_within_bounds(void)
{
	unsigned long long v = 0;

	CHECK(parse_uint("0", 0, 10, &v) == 0 && v == 0);
	CHECK(parse_uint("10", 1, 10, &v) == 0 && v == 10);
	CHECK(parse_uint("007", 0, 10, &v) == 0 && v == 7);
}

static void
parse_uint_rejects_values_outside_bounds(void)
{
	unsigned long long v = 42;

	CHECK(parse_uint("11", 1, 10, &v) == -1);
	CHECK(parse_uint("0", 1, 10, &v) == -1);
	CHECK(parse_uint("6", 0, 5, &v) == -1);
	CHECK(v == 42); /* untouched on failure */
}

static void
parse_uint_detects_overflow_at_2_to_the_64(void)
{
	unsigned long long v = 0;

	CHECK(parse_uint("18446744073709551615", 0, ~0ULL, &v) == 0);
	CHECK(v == ~0ULL);
	CHECK(parse_uint("18446744073709551616", 0, ~0ULL, &v) == -1);
	CHECK(parse_uint("99999999999999999999", 0, ~0ULL, &v) == -1);
}

static void
parse_uint_rejects_empty_sign_junk_and_spaces(void)
{
	unsigned long long v;

	CHECK(parse_uint("", 0, 10, &v) == -1);
	CHECK(parse_uint(NULL, 0, 10, &v) == -1);
	CHECK(parse_uint("+1", 0, 10, &v) == -1);
	CHECK(parse_uint("-1", 0, 10, &v) == -1);
	CHECK(parse_uint("1x", 0, 10, &v) == -1);
	CHECK(parse_uint("0x1", 0, 10, &v) == -1);
	CHECK(parse_uint(" 1", 0, 10, &v) == -1);
	CHECK(parse_uint("1 ", 0, 10, &v) == -1);
	CHECK(parse_uint("1e3", 0, 10000, &v) == -1);
}

static void
url_decode_decodes_escapes_in_either_case(void)
{
	char s[64];

	CHECK(decode("a%41%2f%2F%c3%A9", 0, s, sizeof(s)) == 6);
	CHECK_STR(s, "aA//\xc3\xa9");
}

static void
url_decode_plus_is_space_only_in_form_mode(void)
{
	char s[64];

	/* HTML form encoding turns a space into '+'; RFC 3986 does not. */
	CHECK(decode("a+b%2B", 1, s, sizeof(s)) == 4);
	CHECK_STR(s, "a b+");
	CHECK(decode("a+b%2B", 0, s, sizeof(s)) == 4);
	CHECK_STR(s, "a+b+");
}

static void
url_decode_rejects_bad_escapes(void)
{
	char s[64];

	CHECK(decode("%", 0, s, sizeof(s)) == -1);
	CHECK(decode("a%4", 0, s, sizeof(s)) == -1);
	CHECK(decode("%zz", 0, s, sizeof(s)) == -1);
	CHECK(decode("%4g", 0, s, sizeof(s)) == -1);
	CHECK(decode("%g4", 0, s, sizeof(s)) == -1);
}

static void
url_decode_rejects_an_escape_cut_by_the_length(void)
{
	char s[] = "%41";

	/* The bytes past len are not the caller's: never read them. */
	CHECK(url_decode(s, 2, 0) == -1);
}

static void
url_decode_rejects_a_decoded_nul(void)
{
	char s[64];

	CHECK(decode("a%00b", 0, s, sizeof(s)) == -1);
	CHECK(decode("%00", 1, s, sizeof(s)) == -1);
}

static void
url_encode_keeps_only_unreserved_characters(void)
{
	struct buf b;

	/* RFC 3986 section 2.3: ALPHA DIGIT - . _ ~ stay as they are. */
	CHECK_STR(encoded(&b, url_encode, "AZaz09-._~"), "AZaz09-._~");
	buf_free(&b);
	CHECK_STR(encoded(&b, url_encode, "a b+/?&=%:"),
		  "a%20b%2B%2F%3F%26%3D%25%3A");
	buf_free(&b);
	CHECK_STR(encoded(&b, url_encode, "\xc3\xa9\x7f"), "%C3%A9%7F");
	buf_free(&b);
}

static void
url_encode_form_encodes_space_as_plus(void)
{
	struct buf b;

	CHECK_STR(encoded(&b, url_encode_form, "a b+c~\xc3\xa9"),
		  "a+b%2Bc~%C3%A9");
	buf_free(&b);
}

static void
b64url_encodes_rfc4648_vectors_without_padding(void)
{
	char out[32];

	/* RFC 4648 section 10, with the '=' padding that section 5 drops. */
	CHECK_STR(b64url("", out), "");
	CHECK_STR(b64url("f", out), "Zg");
	CHECK_STR(b64url("fo", out), "Zm8");
	CHECK_STR(b64url("foo", out), "Zm9v");
	CHECK_STR(b64url("foob", out), "Zm9vYg");
	CHECK_STR(b64url("fooba", out), "Zm9vYmE");
	CHECK_STR(b64url("foobar", out), "Zm9vYmFy");
}

static void
b64url_uses_the_url_safe_alphabet(void)
{
	static const unsigned char in[] = { 0xfb, 0xff };
	char out[8];

	b64url_encode(in, sizeof(in), out);
	CHECK_STR(out, "-_8");
}

static void
b64url_decode_reverses_rfc4648_vectors(void)
{
	static const char *const enc[] = { "",	      "Zg",	"Zm8",
					   "Zm9v",    "Zm9vYg", "Zm9vYmE",
					   "Zm9vYmFy" };
	unsigned char out[16];
	size_t i, n;

	for (i = 0; i < sizeof(enc) / sizeof(enc[0]); i++) {
		n = 99;
		CHECK(b64url_decode(enc[i], strlen(enc[i]), out, sizeof(out),
				    &n) == 0);
		CHECK(n == i && memcmp(out, "foobar", n) == 0);
	}
	CHECK(b64url_decode("-_8", 3, out, sizeof(out), &n) == 0);
	CHECK(n == 2 && out[0] == 0xfb && out[1] == 0xff);
}

static void
b64url_decode_rejects_characters_outside_the_alphabet(void)
{
	unsigned char out[16];
	size_t n;

	CHECK(b64url_decode("Zm9+", 4, out, sizeof(out), &n) == -1);
	CHECK(b64url_decode("Zm9/", 4, out, sizeof(out), &n) == -1);
	CHECK(b64url_decode("Zm 9", 4, out, sizeof(out), &n) == -1);
	CHECK(b64url_decode("Zm\0v", 4, out, sizeof(out), &n) == -1);
}

static void
b64url_decode_rejects_padding(void)
{
	unsigned char out[16];
	size_t n;

	CHECK(b64url_decode("Zg==", 4, out, sizeof(out), &n) == -1);
	CHECK(b64url_decode("Zm8=", 4, out, sizeof(out), &n) == -1);
}

static void
b64url_decode_rejects_length_one_mod_four(void)
{
	unsigned char out[16];
	size_t n;

	/* 'A' is six zero bits: only the length rule refuses these. */
	CHECK(b64url_decode("A", 1, out, sizeof(out), &n) == -1);
	CHECK(b64url_decode("Zm9vA", 5, out, sizeof(out), &n) == -1);
	CHECK(b64url_decode("Zm9vY", 5, out, sizeof(out), &n) == -1);
}

static void
b64url_decode_rejects_nonzero_trailing_bits(void)
{
	unsigned char out[16];
	size_t n;

	/* "Zh" and "Zm9" both carry bits that no encoder would set. */
	CHECK(b64url_decode("Zh", 2, out, sizeof(out), &n) == -1);
	CHECK(b64url_decode("Zm9", 3, out, sizeof(out), &n) == -1);
	CHECK(b64url_decode("Zm8", 3, out, sizeof(out), &n) == 0);
}

static void
b64url_decode_refuses_to_overflow_the_output(void)
{
	unsigned char out[8];
	size_t n = 0;

	memset(out, 0xaa, sizeof(out));
	CHECK(b64url_decode("Zm9vYmFy", 8, out, 5, &n) == -1);
	CHECK(out[5] == 0xaa);
	CHECK(b64url_decode("Zm9vYmFy", 8, out, 6, &n) == 0 && n == 6);
}

static void
buf_add_b64url_matches_b64url_encode(void)
{
	unsigned char in[32];
	char one[44];
	struct buf b;
	size_t i;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 37 + 250);
	b64url_encode(in, sizeof(in), one);
	buf_init(&b, 64);
	CHECK(b64url_append(&b, in, sizeof(in)) == 0);
	CHECK_STR(buf_str(&b), one);
	buf_free(&b);
}

static void
b64_append_is_standard_base64_with_padding(void)
{
	static const unsigned char odd[] = { 0xfb, 0xff };
	struct buf b;

	buf_init(&b, 128);
	b64_append(&b, (const unsigned char *)"f", 1);
	CHECK_STR(buf_str(&b), "Zg==");
	buf_reset(&b);
	b64_append(&b, (const unsigned char *)"fo", 2);
	CHECK_STR(buf_str(&b), "Zm8=");
	buf_reset(&b);
	b64_append(&b, odd, sizeof(odd));
	CHECK_STR(buf_str(&b), "+/8=");
	buf_reset(&b);
	/* RFC 7617 section 2's example credentials. */
	b64_append(&b, (const unsigned char *)"Aladdin:open sesame", 19);
	CHECK_STR(buf_str(&b), "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
	buf_free(&b);
}

static void
hex_encode_is_lowercase_and_is_hex_rejects_uppercase(void)
{
	static const unsigned char in[] = { 0x00, 0xab, 0xff };
	char out[7];

	hex_encode(in, sizeof(in), out);
	CHECK_STR(out, "00abff");
	CHECK(hex_valid(out, 6));
	CHECK(!hex_valid("00ABff", 6));
	CHECK(!hex_valid("00abfg", 6));
}

static void
timefmt_iso_formats_utc_iso8601(void)
{
	char out[TIME_LEN];

	timefmt_iso(0, out);
	CHECK_STR(out, "1970-01-01T00:00:00Z");
	timefmt_iso(1795924800, out);
	CHECK_STR(out, "2026-11-29T04:00:00Z");
	/* A head's time is read without the key: any value, never a year
	 * that overflows. */
	timefmt_iso(LLONG_MAX, out);
	CHECK_STR(out, "-");
}

static void
timefmt_relative_picks_a_unit_and_a_direction(void)
{
	char out[32];

	timefmt_relative(1000 + 59 * 60, 1000, out, sizeof(out));
	CHECK_STR(out, "in 59 min");
	timefmt_relative(1000 - 2 * 3600, 1000, out, sizeof(out));
	CHECK_STR(out, "2 h ago");
	timefmt_relative(1000 + 3 * 86400 + 5, 1000, out, sizeof(out));
	CHECK_STR(out, "in 3 d");
	timefmt_relative(1000 - 119, 1000, out, sizeof(out));
	CHECK_STR(out, "119 s ago");
	/* Distances no long long holds. */
	timefmt_relative(LLONG_MAX, LLONG_MIN, out, sizeof(out));
	CHECK_STR(out, "in 213503982334601 d");
}

static void
ascii_casecmp_folds_ascii_letters_only(void)
{
	CHECK(ascii_casecmp("Bearer", "bEARER") == 0);
	CHECK(ascii_casecmp("a", "b") < 0);
	CHECK(ascii_casecmp("abc", "ab") > 0);
	CHECK(ascii_casecmp("@", "`") != 0);
	/* Non-ASCII bytes compare as bytes, whatever the locale says. */
	CHECK(ascii_casecmp("\xc3\x89", "\xc3\xa9") != 0);
}

static void
buf_accepts_exactly_max_bytes(void)
{
	struct buf b;

	buf_init(&b, 8);
	CHECK(buf_adds(&b, "12345678") == 0);
	CHECK(b.len == 8 && !b.failed);
	CHECK_STR(buf_str(&b), "12345678");
	buf_free(&b);
}

static void
buf_append_past_max_fails_frees_and_sticks(void)
{
	struct buf b;

	buf_init(&b, 8);
	CHECK(buf_adds(&b, "1234") == 0);
	CHECK(buf_adds(&b, "56789") == -1);
	CHECK(b.failed && b.data == NULL && b.len == 0);
	/* Later appends are no-ops, so a caller checks once at the end. */
	CHECK(buf_adds(&b, "x") == -1);
	CHECK(buf_addc(&b, 'x') == -1);
	CHECK(buf_printf(&b, "%d", 1) == -1);
	CHECK(b.failed && b.data == NULL);
	CHECK_STR(buf_str(&b), "");
	buf_free(&b);
}

static void
buf_reset_clears_a_failure(void)
{
	struct buf b;

	buf_init(&b, 4);
	buf_adds(&b, "12345");
	buf_reset(&b);
	CHECK(!b.failed);
	CHECK(buf_adds(&b, "ok") == 0);
	CHECK_STR(buf_str(&b), "ok");
	buf_free(&b);
}

static void
buf_printf_formats_and_respects_max(void)
{
	struct buf b;

	buf_init(&b, 16);
	CHECK(buf_printf(&b, "%s=%d", "n", 42) == 0);
	CHECK(buf_printf(&b, ";%03u", 7u) == 0);
	CHECK_STR(buf_str(&b), "n=42;007");
	CHECK(b.len == 8);
	CHECK(buf_printf(&b, "%s", "123456789") == -1);
	CHECK(b.failed);
	buf_free(&b);
}

static void
buf_grows_past_its_first_allocation(void)
{
	char chunk[100];
	struct buf b;
	int i, rc = 0;

	memset(chunk, 'x', sizeof(chunk));
	buf_init(&b, 100000);
	for (i = 0; i < 1000; i++)
		rc |= buf_add(&b, chunk, sizeof(chunk));
	CHECK(rc == 0 && b.len == 100000 && b.data[b.len] == '\0');
	CHECK(b.data[0] == 'x' && b.data[99999] == 'x');
	buf_free(&b);
}

static void
big_endian_numbers_round_trip(void)
{
	unsigned char p[8];

	be_put(p, 8, 0x0102030405060708ULL);
	CHECK(p[0] == 1 && p[7] == 8);
	CHECK(be_get(p, 8) == 0x0102030405060708LL);
	be_put(p, 8, (unsigned long long)-2LL); /* a time before 1970 */
	CHECK(be_get(p, 8) == -2);
	be_put(p, 2, 0x12345); /* only the low bytes fit */
	CHECK(p[0] == 0x23 && p[1] == 0x45 && be_get(p, 2) == 0x2345);
	CHECK(be_get(p, 0) == 0);
}

int
main(void)
{
	RUN(parse_uint_accepts_digits_within_bounds);
	RUN(parse_uint_rejects_values_outside_bounds);
	RUN(parse_uint_detects_overflow_at_2_to_the_64);
	RUN(parse_uint_rejects_empty_sign_junk_and_spaces);
	RUN(url_decode_decodes_escapes_in_either_case);
	RUN(url_decode_plus_is_space_only_in_form_mode);
	RUN(url_decode_rejects_bad_escapes);
	RUN(url_decode_rejects_an_escape_cut_by_the_length);
	RUN(url_decode_rejects_a_decoded_nul);
	RUN(url_encode_keeps_only_unreserved_characters);
	RUN(url_encode_form_encodes_space_as_plus);
	RUN(b64url_encodes_rfc4648_vectors_without_padding);
	RUN(b64url_uses_the_url_safe_alphabet);
	RUN(b64url_decode_reverses_rfc4648_vectors);
	RUN(b64url_decode_rejects_characters_outside_the_alphabet);
	RUN(b64url_decode_rejects_padding);
	RUN(b64url_decode_rejects_length_one_mod_four);
	RUN(b64url_decode_rejects_nonzero_trailing_bits);
	RUN(b64url_decode_refuses_to_overflow_the_output);
	RUN(buf_add_b64url_matches_b64url_encode);
	RUN(b64_append_is_standard_base64_with_padding);
	RUN(hex_encode_is_lowercase_and_is_hex_rejects_uppercase);
	RUN(big_endian_numbers_round_trip);
	RUN(timefmt_iso_formats_utc_iso8601);
	RUN(timefmt_relative_picks_a_unit_and_a_direction);
	RUN(ascii_casecmp_folds_ascii_letters_only);
	RUN(buf_accepts_exactly_max_bytes);
	RUN(buf_append_past_max_fails_frees_and_sticks);
	RUN(buf_reset_clears_a_failure);
	RUN(buf_printf_formats_and_respects_max);
	RUN(buf_grows_past_its_first_allocation);
	return DONE();
}
