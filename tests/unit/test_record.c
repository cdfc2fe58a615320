/* Unit tests for record.c: the sealed format of a stored link. */
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "record.h"
#include "testkeys.h"
#include "unit.h"

#define NAME	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define NAME2	"1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ACCESS	"eyJhbGciOiJSUzI1NiJ9.payload-QWERTY.signature-ZXCVB"
#define REFRESH "rt-7f3a9c1d-refresh-MNBVCXZ"

static void
make_record(struct record *r)
{
	memset(r, 0, sizeof(*r));
	owner_browser("sid-abcdefghijklmnopqrstuvwxyz0123456789ABCD",
		      &r->owner);
	record_set(&r->access_token, ACCESS);
	record_set(&r->refresh_token, REFRESH);
	record_set(&r->token_type, "Bearer");
	record_set(&r->scope, "documents:read documents:write");
	r->meta.status = RECORD_CONNECTED;
	r->meta.last_error = REFRESH_RATE_LIMITED;
	r->meta.created = 1700000000;
	r->meta.updated = 1700000100;
	r->meta.expires_at = 1700003600;
	r->meta.last_refresh = 1700000050;
	r->meta.last_used = 1700000075;
	r->meta.backoff_until = -1; /* a negative time survives the trip */
}

/* Seals a standard record under kr into out; the caller frees out. */
static int
sealed(const struct keyring *kr, struct buf *out, struct record *r)
{
	int rc;

	make_record(r);
	buf_init(out, RECORD_MAX);
	rc = record_seal(kr, NAME, r, out);
	return rc;
}

static int
same_meta(const struct record_meta *a, const struct record_meta *b)
{
	return a->status == b->status && a->last_error == b->last_error &&
	       a->has_refresh == b->has_refresh &&
	       a->token_len == b->token_len &&
	       strcmp(a->fingerprint, b->fingerprint) == 0 &&
	       a->created == b->created && a->updated == b->updated &&
	       a->expires_at == b->expires_at &&
	       a->last_refresh == b->last_refresh &&
	       a->last_used == b->last_used &&
	       a->backoff_until == b->backoff_until;
}

/* Does any n-character piece of s appear in the len bytes at p? */
static int
leaks(const unsigned char *p, size_t len, const char *s, size_t n)
{
	size_t i, sl = strlen(s);

	for (i = 0; i + n <= sl; i++)
		if (memmem(p, len, s + i, n) != NULL)
			return 1;
	return 0;
}

static void
seal_then_open_keeps_every_member(void)
{
	static const unsigned char seeds[] = { 1 };
	struct keyring kr;
	struct record in, out;
	struct buf b;

	test_keyring_of(&kr, seeds, 1);
	CHECK(sealed(&kr, &b, &in) == 0);
	CHECK(record_open(&kr, NAME, (unsigned char *)b.data, b.len, &out) ==
	      0);
	CHECK(out.owner.kind == OWNER_BROWSER);
	CHECK_STR(out.owner.id, in.owner.id);
	CHECK_STR(out.access_token, ACCESS);
	CHECK_STR(out.refresh_token, REFRESH);
	CHECK_STR(out.token_type, "Bearer");
	CHECK_STR(out.scope, "documents:read documents:write");
	CHECK(same_meta(&in.meta, &out.meta));
	CHECK(out.meta.backoff_until == -1);
	CHECK(!out.old_key);
	record_free(&in);
	record_free(&out);
	buf_free(&b);
}

static void
seal_then_open_keeps_absent_members_absent(void)
{
	static const unsigned char seeds[] = { 1 };
	struct keyring kr;
	struct record in, out;
	struct buf b;

	test_keyring_of(&kr, seeds, 1);
	make_record(&in);
	record_set(&in.refresh_token, NULL);
	record_set(&in.scope, NULL);
	buf_init(&b, RECORD_MAX);
	CHECK(record_seal(&kr, NAME, &in, &b) == 0);
	CHECK(!in.meta.has_refresh);
	CHECK(record_open(&kr, NAME, (unsigned char *)b.data, b.len, &out) ==
	      0);
	CHECK(out.refresh_token == NULL && out.scope == NULL);
	CHECK(!out.meta.has_refresh);
	record_free(&in);
	record_free(&out);
	buf_free(&b);
}

static void
read_meta_needs_no_key_and_matches_the_sealed_meta(void)
{
	static const unsigned char seeds[] = { 1 };
	struct keyring kr;
	struct record in;
	struct record_meta m;
	struct buf b;

	test_keyring_of(&kr, seeds, 1);
	CHECK(sealed(&kr, &b, &in) == 0);
	CHECK(record_read_meta((unsigned char *)b.data, RECORD_HEAD_LEN, &m) ==
	      0);
	CHECK(same_meta(&in.meta, &m));
	CHECK(m.status == RECORD_CONNECTED);
	CHECK(m.last_error == REFRESH_RATE_LIMITED);
	CHECK(m.has_refresh == 1);
	CHECK(m.expires_at == 1700003600);
	record_free(&in);
	buf_free(&b);
}

static void
head_shows_only_fingerprint_and_length_of_the_token(void)
{
	static const unsigned char seeds[] = { 1 };
	const unsigned char *h;
	struct keyring kr;
	struct record in;
	struct record_meta m;
	struct buf b;

	test_keyring_of(&kr, seeds, 1);
	CHECK(sealed(&kr, &b, &in) == 0);
	h = (const unsigned char *)b.data;
	CHECK(record_read_meta(h, b.len, &m) == 0);
	CHECK_STR(m.fingerprint, "eyJh");
	CHECK(m.token_len == strlen(ACCESS));
	/* The admin page reads heads without the key: no more than that. */
	CHECK(!leaks(h, RECORD_HEAD_LEN, ACCESS, 5));
	CHECK(!leaks(h, RECORD_HEAD_LEN, REFRESH, 4));
	CHECK(!leaks(h, RECORD_HEAD_LEN, in.owner.id, 4));
	/* And the sealed rest is ciphertext. */
	CHECK(!leaks(h, b.len, ACCESS + 4, 6));
	CHECK(!leaks(h, b.len, REFRESH, 6));
	record_free(&in);
	buf_free(&b);
}

static void
short_token_gets_no_fingerprint(void)
{
	static const unsigned char seeds[] = { 1 };
	struct keyring kr;
	struct record in;
	struct record_meta m;
	struct buf b;

	/* Four characters of a five-character token would be most of it. */
	test_keyring_of(&kr, seeds, 1);
	make_record(&in);
	record_set(&in.access_token, "abcde");
	buf_init(&b, RECORD_MAX);
	CHECK(record_seal(&kr, NAME, &in, &b) == 0);
	CHECK(record_read_meta((unsigned char *)b.data, b.len, &m) == 0);
	CHECK_STR(m.fingerprint, "");
	CHECK(m.token_len == 5);
	record_free(&in);
	buf_free(&b);
}

static void
head_starts_with_magic_then_key_id(void)
{
	static const unsigned char seeds[] = { 3 };
	struct keyring kr;
	struct record in;
	struct buf b;

	test_keyring_of(&kr, seeds, 1);
	CHECK(sealed(&kr, &b, &in) == 0);
	CHECK(b.len > RECORD_HEAD_LEN);
	CHECK(memcmp(b.data, "ISC\x01", 4) == 0);
	CHECK(memcmp(b.data + 4, kr.keys[0].id, KEY_ID_LEN) == 0);
	record_free(&in);
	buf_free(&b);
}

static void
open_under_another_name_fails(void)
{
	static const unsigned char seeds[] = { 1 };
	struct keyring kr;
	struct record in, out;
	struct buf b;

	/* A record copied over another session's file must not open. */
	test_keyring_of(&kr, seeds, 1);
	CHECK(sealed(&kr, &b, &in) == 0);
	CHECK(record_open(&kr, NAME2, (unsigned char *)b.data, b.len, &out) ==
	      -1);
	CHECK(out.owner.id[0] == '\0' && out.access_token == NULL);
	record_free(&in);
	buf_free(&b);
}

static void
open_fails_for_any_flipped_byte(void)
{
	static const unsigned char seeds[] = { 1 };
	struct keyring kr;
	struct record in, out;
	struct buf b;
	size_t i, opened = 0;

	test_keyring_of(&kr, seeds, 1);
	CHECK(sealed(&kr, &b, &in) == 0);
	for (i = 0; i < b.len; i++) {
		b.data[i] ^= 0x5a;
		if (record_open(&kr, NAME, (unsigned char *)b.data, b.len,
				&out) == 0) {
			opened++;
			record_free(&out);
		}
		b.data[i] ^= 0x5a;
	}
	CHECK(opened == 0);
	CHECK(record_open(&kr, NAME, (unsigned char *)b.data, b.len, &out) ==
	      0);
	record_free(&out);
	record_free(&in);
	buf_free(&b);
}

static void
open_fails_for_a_truncated_record(void)
{
	static const unsigned char seeds[] = { 1 };
	struct keyring kr;
	struct record in, out;
	struct buf b;
	size_t n, opened = 0;

	test_keyring_of(&kr, seeds, 1);
	CHECK(sealed(&kr, &b, &in) == 0);
	for (n = 0; n < b.len; n++) {
		if (record_open(&kr, NAME, (unsigned char *)b.data, n, &out) ==
		    0) {
			opened++;
			record_free(&out);
		}
	}
	CHECK(opened == 0);
	record_free(&in);
	buf_free(&b);
}

static void
record_from_an_old_key_opens_and_says_so(void)
{
	static const unsigned char before[] = { 1, 2 }, after[] = { 2, 1 };
	struct keyring kr_before, kr_after;
	struct record in, out;
	struct buf b;

	/* Key 1 was current when it was sealed; now key 2 is. */
	test_keyring_of(&kr_before, before, 2);
	test_keyring_of(&kr_after, after, 2);
	CHECK(sealed(&kr_before, &b, &in) == 0);
	CHECK(record_open(&kr_after, NAME, (unsigned char *)b.data, b.len,
			  &out) == 0);
	CHECK(out.old_key == 1);
	CHECK_STR(out.access_token, ACCESS);
	record_free(&out);
	record_free(&in);
	buf_free(&b);
}

static void
record_from_an_unknown_key_fails(void)
{
	static const unsigned char one[] = { 1 }, two[] = { 2 };
	struct keyring k1, k2;
	struct record in, out;
	struct buf b;

	test_keyring_of(&k1, one, 1);
	test_keyring_of(&k2, two, 1);
	CHECK(sealed(&k1, &b, &in) == 0);
	CHECK(record_open(&k2, NAME, (unsigned char *)b.data, b.len, &out) ==
	      -1);
	record_free(&in);
	buf_free(&b);
}

static void
read_meta_refuses_a_bad_head(void)
{
	static const unsigned char seeds[] = { 1 };
	struct keyring kr;
	struct record in;
	struct record_meta m;
	struct buf b;

	test_keyring_of(&kr, seeds, 1);
	CHECK(sealed(&kr, &b, &in) == 0);
	CHECK(record_read_meta((unsigned char *)b.data, RECORD_HEAD_LEN - 1,
			       &m) == -1);
	b.data[8] = 7; /* no such status */
	CHECK(record_read_meta((unsigned char *)b.data, b.len, &m) == -1);
	b.data[8] = RECORD_CONNECTED;
	b.data[3] = 2; /* a format we do not know */
	CHECK(record_read_meta((unsigned char *)b.data, b.len, &m) == -1);
	record_free(&in);
	buf_free(&b);
}

static void
record_set_replaces_and_clears(void)
{
	char *s = NULL;

	CHECK(record_set(&s, "one") == 0);
	CHECK_STR(s, "one");
	CHECK(record_set(&s, "two") == 0);
	CHECK_STR(s, "two");
	CHECK(record_set(&s, NULL) == 0);
	CHECK(s == NULL);
}

static void
refresh_error_names_are_stable(void)
{
	/* These words go to the admin page and the logs. */
	CHECK_STR(refresh_error_name(REFRESH_OK), "none");
	CHECK_STR(refresh_error_name(REFRESH_INVALID_GRANT), "invalid_grant");
	CHECK_STR(refresh_error_name(REFRESH_BAD_REPLY), "bad_reply");
	CHECK_STR(refresh_error_name(REFRESH__MAX), "unknown");
	CHECK_STR(refresh_error_name(-1), "unknown");
}

static void
a_users_record_keeps_its_id_sealed_and_its_kind_in_the_head(void)
{
	static const unsigned char seeds[] = { 1 };
	struct keyring kr;
	struct record in, out;
	struct record_meta m;
	struct config cfg;
	const char *why;
	struct buf b;

	memset(&cfg, 0, sizeof(cfg));
	test_keyring_of(&kr, seeds, 1);
	make_record(&in);
	CHECK(owner_user(&cfg, "alice@example.com", &in.owner, &why) == 0);
	buf_init(&b, RECORD_MAX);
	CHECK(record_seal(&kr, NAME, &in, &b) == 0);
	CHECK(record_read_meta((unsigned char *)b.data, b.len, &m) == 0);
	CHECK(m.owner_kind == OWNER_USER);
	/* The id is no plain text anywhere in the record. */
	CHECK(!leaks((unsigned char *)b.data, b.len, "alice", 5));
	CHECK(record_open(&kr, NAME, (unsigned char *)b.data, b.len, &out) ==
	      0);
	CHECK(out.owner.kind == OWNER_USER);
	CHECK_STR(out.owner.id, "alice@example.com");
	record_free(&out);
	/* A head that says "browser" over a user's sealed part is refused:
	 * the head is bound into the seal. */
	b.data[11] = OWNER_BROWSER;
	CHECK(record_open(&kr, NAME, (unsigned char *)b.data, b.len, &out) ==
	      -1);
	b.data[11] = 7; /* no such kind */
	CHECK(record_read_meta((unsigned char *)b.data, b.len, &m) == -1);
	record_free(&in);
	buf_free(&b);
}

/*
 * The bytes of a record whose sealed part is plain, under a good seal:
 * what a bug in an older version, or a keyholder's hand, could store.
 */
static void
reseal(const struct keyring *kr, const struct buf *good, const char *plain,
       struct buf *out)
{
	static unsigned char sealed[RECORD_MAX];
	unsigned char ad[RECORD_HEAD_LEN + 64];
	size_t n = strlen(plain);

	memcpy(ad, good->data, RECORD_HEAD_LEN);
	memcpy(ad + RECORD_HEAD_LEN, NAME, 64);
	out->len = 0;
	if (crypto_seal(kr->keys[0].record, ad, sizeof(ad), plain, n, sealed) ==
	    -1)
		abort();
	buf_add(out, ad, RECORD_HEAD_LEN);
	buf_add(out, sealed, AEAD_IV_LEN + n + AEAD_TAG_LEN);
}

static void
well_sealed_but_malformed_contents_do_not_open(void)
{
	static const unsigned char seeds[] = { 1 };
	static const char *const bad[] = {
		"not json",
		"[\"sid\"]",
		"{}",
		"{\"user\":\"u-1\"}", /* the head says a browser's: "sid" */
		"{\"sid\":\"\"}",
		"{\"sid\":7}",
		"{\"sid\":\"s\",\"access_token\":5}",
		"{\"sid\":\"s\",\"refresh_token\":[]}",
		"{\"sid\":\"s\",\"token_type\":{}}",
		"{\"sid\":\"s\",\"scope\":true}",
		"{\"sid\":\"s\",\"failures\":\"3\"}",
		"{\"sid\":\"s\",\"failures\":-1}",
		"{\"sid\":\"s\",\"failures\":2e6}",
		"{\"sid\":\"s\",\"events\":[]}",
	};
	char longid[OWNER_ID_MAX + 16];
	struct keyring kr;
	struct record in, out;
	struct buf good, b;
	size_t i;

	test_keyring_of(&kr, seeds, 1);
	CHECK(sealed(&kr, &good, &in) == 0);
	buf_init(&b, RECORD_MAX);
	/* The way of making them works: a good one opens. */
	reseal(&kr, &good, "{\"sid\":\"s\",\"failures\":3,\"events\":{}}", &b);
	CHECK(record_open(&kr, NAME, (unsigned char *)b.data, b.len, &out) ==
	      0);
	CHECK_STR(out.owner.id, "s");
	CHECK(out.failures == 3);
	CHECK_STR(out.events, "{}");
	record_free(&out);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		reseal(&kr, &good, bad[i], &b);
		if (record_open(&kr, NAME, (unsigned char *)b.data, b.len,
				&out) != -1) {
			printf("#   opened: %s\n", bad[i]);
			CHECK(!"a malformed record opened");
		}
		/* Nothing half-read is left for the caller to free or use. */
		CHECK(out.access_token == NULL && out.refresh_token == NULL &&
		      out.token_type == NULL && out.scope == NULL &&
		      out.events == NULL);
	}
	/* An owner id longer than any session id or user id. */
	memset(longid, 'x', sizeof(longid));
	memcpy(longid, "{\"sid\":\"", 8);
	memcpy(longid + sizeof(longid) - 3, "\"}", 3);
	reseal(&kr, &good, longid, &b);
	CHECK(record_open(&kr, NAME, (unsigned char *)b.data, b.len, &out) ==
	      -1);
	record_free(&in);
	buf_free(&good);
	buf_free(&b);
}

static void
a_record_too_big_to_store_is_not_sealed(void)
{
	static const unsigned char seeds[] = { 1 };
	static char token[RECORD_MAX + 1];
	struct keyring kr;
	struct record r;
	struct buf b;

	/* A token endpoint's huge answer: refused, never cut short. */
	test_keyring_of(&kr, seeds, 1);
	make_record(&r);
	memset(token, 'A', sizeof(token) - 1);
	record_set(&r.access_token, token);
	buf_init(&b, 2 * RECORD_MAX);
	CHECK(record_seal(&kr, NAME, &r, &b) == -1);
	CHECK(b.len == 0);
	record_free(&r);
	buf_free(&b);
}

static void
backoff_doubles_up_to_an_hour_or_its_base(void)
{
	CHECK(record_backoff(60, 1) == 60);
	CHECK(record_backoff(60, 2) == 120);
	CHECK(record_backoff(60, 6) == 1920);
	CHECK(record_backoff(60, 7) == 3600); /* 3840, capped */
	CHECK(record_backoff(60, 1000) == 3600);
	CHECK(record_backoff(7200, 1) == 7200); /* a base past the hour */
	CHECK(record_backoff(7200, 5) == 7200);
}

int
main(void)
{
	RUN(seal_then_open_keeps_every_member);
	RUN(seal_then_open_keeps_absent_members_absent);
	RUN(read_meta_needs_no_key_and_matches_the_sealed_meta);
	RUN(head_shows_only_fingerprint_and_length_of_the_token);
	RUN(short_token_gets_no_fingerprint);
	RUN(head_starts_with_magic_then_key_id);
	RUN(open_under_another_name_fails);
	RUN(open_fails_for_any_flipped_byte);
	RUN(open_fails_for_a_truncated_record);
	RUN(record_from_an_old_key_opens_and_says_so);
	RUN(record_from_an_unknown_key_fails);
	RUN(read_meta_refuses_a_bad_head);
	RUN(record_set_replaces_and_clears);
	RUN(refresh_error_names_are_stable);
	RUN(a_users_record_keeps_its_id_sealed_and_its_kind_in_the_head);
	RUN(well_sealed_but_malformed_contents_do_not_open);
	RUN(a_record_too_big_to_store_is_not_sealed);
	RUN(backoff_doubles_up_to_an_hour_or_its_base);
	return DONE();
}
