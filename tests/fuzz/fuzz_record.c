/*
 * A stored record (docs/STORE.md).  The first byte picks how the rest is
 * used:
 *   0  the sealed file as it is: record_read_meta, then record_open;
 *   1  the plaintext JSON: sealed here with the current key's record
 *      subkey and the right associated data (head + name), so record_open
 *      gets past the AEAD and parses it;
 *   2  the same, sealed with the old key (the rekey path);
 *   3  the first 72 bytes a head (magic and key id set), the rest the
 *      plaintext, sealed as in 1.
 * Whatever reads only the head (the admin list, `list`, gc) reads it
 * here too, since that happens before, and without, the AEAD.  A record
 * that opens must come back the same through record_seal.
 */
#include <cjson/cJSON.h>

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "fuzz.h"
#include "listing.h"
#include "record.h"
#include "timefmt.h"

static struct keyring kr;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_keyring(&kr);
	return 0;
}

/* What the admin page, `list` and gc do with a head they can read. */
static void
use_meta(const unsigned char *data, size_t len)
{
	struct listing_entry e;
	char out[64], t[TIME_LEN];
	const long long *times[6];
	size_t i;
	cJSON *o;

	memset(&e, 0, sizeof(e));
	memcpy(e.name, FUZZ_NAME, RECORD_NAME_LEN + 1);
	e.readable = record_read_meta(data, len, &e.meta) == 0;
	if (!e.readable)
		return;
	e.health = listing_health(&e.meta, FUZZ_NOW);
	FUZZ_CHECK(e.health < HEALTH__MAX &&
		   health_table[e.health].label != NULL);
	FUZZ_CHECK(strcmp(refresh_error_name(e.meta.last_error), "unknown"));
	listing_fingerprint(&e.meta, out, sizeof(out));
	o = listing_json(&e, NULL, FUZZ_NOW);
	FUZZ_CHECK(o != NULL);
	cJSON_Delete(o);
	times[0] = &e.meta.created;
	times[1] = &e.meta.updated;
	times[2] = &e.meta.expires_at;
	times[3] = &e.meta.last_refresh;
	times[4] = &e.meta.last_used;
	times[5] = &e.meta.backoff_until;
	for (i = 0; i < 6; i++) {
		timefmt_iso(*times[i], t);
		FUZZ_CHECK(strlen(t) < TIME_LEN);
		timefmt_relative(*times[i], FUZZ_NOW, out, sizeof(out));
	}
}

static int
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	       (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The fingerprint reads back with what is not printable dropped. */
static int
same_meta(const struct record_meta *a, const struct record_meta *b)
{
	size_t i;

	for (i = 0; i < 4; i++)
		if (b->fingerprint[i] != a->fingerprint[i] &&
		    b->fingerprint[i] != '\0')
			return 0;
	return a->status == b->status && a->last_error == b->last_error &&
	       a->has_refresh == b->has_refresh &&
	       a->token_len == b->token_len && a->created == b->created &&
	       a->updated == b->updated && a->expires_at == b->expires_at &&
	       a->last_refresh == b->last_refresh &&
	       a->last_used == b->last_used &&
	       a->backoff_until == b->backoff_until;
}

/* Sealed again and opened again, a record is what it was. */
static void
round_trip(struct record *r)
{
	struct record again;
	struct buf out;

	buf_init(&out, RECORD_MAX);
	if (record_seal(&kr, FUZZ_NAME, r, &out) == 0) {
		FUZZ_CHECK(record_open(&kr, FUZZ_NAME,
				       (unsigned char *)out.data, out.len,
				       &again) == 0);
		FUZZ_CHECK(!again.old_key);
		FUZZ_CHECK(r->owner.kind == again.owner.kind &&
			   same_str(r->owner.id, again.owner.id) &&
			   same_str(r->access_token, again.access_token) &&
			   same_str(r->refresh_token, again.refresh_token) &&
			   same_str(r->token_type, again.token_type) &&
			   same_str(r->scope, again.scope));
		FUZZ_CHECK(same_meta(&r->meta, &again.meta));
		record_free(&again);
	}
	buf_free(&out);
}

static void
open_and_check(const unsigned char *data, size_t len, int old)
{
	struct record r;

	use_meta(data, len);
	if (record_open(&kr, FUZZ_NAME, data, len, &r) == 0) {
		FUZZ_CHECK(r.owner.id[0] != '\0' &&
			   (old < 0 || r.old_key == old));
		round_trip(&r);
		record_free(&r);
	} else {
		FUZZ_CHECK(r.owner.id[0] == '\0' && r.access_token == NULL &&
			   r.refresh_token == NULL && r.token_type == NULL &&
			   r.scope == NULL);
	}
}

/* A head as record.c writes one: connected, times set, key id k's. */
static void
good_head(const struct key *k, unsigned char *h)
{
	static const unsigned char t[8] = { 0, 0, 0, 0, 0x6b, 0x49, 0xd2, 0 };

	memset(h, 0, RECORD_HEAD_LEN);
	memcpy(h, "ISC\001", 4);
	memcpy(h + 4, k->id, KEY_ID_LEN);
	h[8] = RECORD_CONNECTED;
	h[10] = 1;
	h[13] = 40;
	memcpy(h + 16, "at_x", 4);
	memcpy(h + 24, t, 8);
	memcpy(h + 32, t, 8);
	memcpy(h + 40, t, 8);
	h[46] = 0x0e; /* an hour later */
}

static void
seal_plaintext(const struct key *k, const unsigned char *head,
	       const uint8_t *plain, size_t n, int old)
{
	unsigned char ad[RECORD_HEAD_LEN + RECORD_NAME_LEN];
	unsigned char *sealed;
	size_t len = RECORD_HEAD_LEN + AEAD_IV_LEN + n + AEAD_TAG_LEN;

	if (len > RECORD_MAX)
		return;
	sealed = malloc(len);
	if (sealed == NULL)
		return;
	memcpy(ad, head, RECORD_HEAD_LEN);
	memcpy(ad + RECORD_HEAD_LEN, FUZZ_NAME, RECORD_NAME_LEN);
	memcpy(sealed, head, RECORD_HEAD_LEN);
	FUZZ_CHECK(crypto_seal(k->record, ad, sizeof(ad), plain, n,
			       sealed + RECORD_HEAD_LEN) == 0);
	open_and_check(sealed, len, old);
	free(sealed);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char head[RECORD_HEAD_LEN];
	unsigned char *copy;

	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		/* Exactly the bytes, so a read past them is seen. */
		copy = malloc(size - 1 > 0 ? size - 1 : 1);
		if (copy == NULL)
			return 0;
		memcpy(copy, data + 1, size - 1);
		open_and_check(copy, size - 1, -1);
		free(copy);
		break;
	case 1:
	case 2:
		good_head(&kr.keys[data[0] % 4 - 1], head);
		seal_plaintext(&kr.keys[data[0] % 4 - 1], head, data + 1,
			       size - 1, data[0] % 4 == 2);
		break;
	default:
		if (size < 1 + RECORD_HEAD_LEN)
			return 0;
		memcpy(head, data + 1, RECORD_HEAD_LEN);
		memcpy(head, "ISC\001", 4);
		memcpy(head + 4, kr.keys[0].id, KEY_ID_LEN);
		seal_plaintext(&kr.keys[0], head, data + 1 + RECORD_HEAD_LEN,
			       size - 1 - RECORD_HEAD_LEN, 0);
		break;
	}
	return 0;
}
