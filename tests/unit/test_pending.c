/* Unit tests for pending.c (the sealed state cookie) and keyring.c. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "keyring.h"
#include "pending.h"
#include "testkeys.h"
#include "unit.h"
#include "codec.h"

#define SID   "session-id-one-AAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define OTHER "session-id-two-AAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define NOW   1800000000LL

/* An entry with recognisable contents: state and verifier bytes = tag. */
static void
make_pending(struct pending *p, unsigned char tag, long long created,
	     const char *return_to)
{
	memset(p, 0, sizeof(*p));
	memset(p->state, tag, sizeof(p->state));
	memset(p->verifier, tag ^ 0xff, sizeof(p->verifier));
	p->created = created;
	snprintf(p->return_to, sizeof(p->return_to), "%s", return_to);
}

static void
make_set(struct pending_set *set, size_t n)
{
	size_t i;

	memset(set, 0, sizeof(*set));
	for (i = 0; i < n; i++)
		make_pending(&set->v[i], (unsigned char)(i + 1), NOW - (long)i,
			     i % 2 ? "/account" : "/settings/x?tab=2");
	set->n = n;
}

static int
same_pending(const struct pending *a, const struct pending *b)
{
	return memcmp(a->state, b->state, sizeof(a->state)) == 0 &&
	       memcmp(a->verifier, b->verifier, sizeof(a->verifier)) == 0 &&
	       a->created == b->created &&
	       strcmp(a->return_to, b->return_to) == 0;
}

static int
write_file(const char *path, const void *p, size_t n, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	int rc;

	if (fd == -1)
		return -1;
	rc = write(fd, p, n) == (ssize_t)n ? 0 : -1;
	close(fd);
	/* The umask may have taken bits away; a test needs exactly mode. */
	return rc == 0 ? chmod(path, mode) : -1;
}

static void
seal_then_unseal_gives_back_the_set(void)
{
	struct pending_set in, out;
	struct keyring kr;
	struct buf c;
	size_t i;

	test_keyring(&kr, 1);
	make_set(&in, PENDING_MAX);
	buf_init(&c, 4096);
	CHECK(pending_seal(&kr.keys[0], SID, &in, &c) == 0);
	CHECK(pending_unseal(&kr, SID, buf_str(&c), &out) == 0);
	CHECK(out.n == in.n);
	for (i = 0; i < in.n && i < out.n; i++)
		CHECK(same_pending(&in.v[i], &out.v[i]));
	buf_free(&c);
}

static void
sealed_cookie_is_base64url_without_the_plain_values(void)
{
	struct pending_set in;
	struct keyring kr;
	struct buf c;

	test_keyring(&kr, 1);
	make_set(&in, 1);
	buf_init(&c, 4096);
	CHECK(pending_seal(&kr.keys[0], SID, &in, &c) == 0);
	/* A cookie value must be a cookie-octet (RFC 6265 section 4.1.1). */
	CHECK(c.len > 0 && strspn(buf_str(&c), "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
					       "abcdefghijklmnopqrstuvwxyz"
					       "0123456789-_") == c.len);
	CHECK(strstr(buf_str(&c), "settings") == NULL);
	buf_free(&c);
}

static void
unseal_fails_for_another_session(void)
{
	struct pending_set in, out;
	struct keyring kr;
	struct buf c;

	test_keyring(&kr, 1);
	make_set(&in, 2);
	buf_init(&c, 4096);
	CHECK(pending_seal(&kr.keys[0], SID, &in, &c) == 0);
	/* A cookie copied into another browser's session is worthless. */
	CHECK(pending_unseal(&kr, OTHER, buf_str(&c), &out) == -1);
	CHECK(out.n == 0);
	CHECK(pending_unseal(&kr, "", buf_str(&c), &out) == -1);
	buf_free(&c);
}

static void
unseal_fails_for_any_changed_character(void)
{
	struct pending_set in, out;
	struct keyring kr;
	struct buf c;
	size_t i, opened = 0;

	test_keyring(&kr, 1);
	make_set(&in, 1);
	buf_init(&c, 4096);
	CHECK(pending_seal(&kr.keys[0], SID, &in, &c) == 0);
	for (i = 0; i < c.len; i++) {
		char was = c.data[i];

		c.data[i] = was == 'A' ? 'B' : 'A';
		if (pending_unseal(&kr, SID, c.data, &out) == 0)
			opened++;
		c.data[i] = was;
	}
	CHECK(opened == 0);
	CHECK(pending_unseal(&kr, SID, c.data, &out) == 0);
	buf_free(&c);
}

static void
unseal_fails_for_truncated_or_garbage_values(void)
{
	struct pending_set in, out;
	struct keyring kr;
	struct buf c;

	test_keyring(&kr, 1);
	make_set(&in, 1);
	buf_init(&c, 4096);
	CHECK(pending_seal(&kr.keys[0], SID, &in, &c) == 0);
	c.data[c.len - 4] = '\0';
	CHECK(pending_unseal(&kr, SID, c.data, &out) == -1);
	CHECK(pending_unseal(&kr, SID, "", &out) == -1);
	CHECK(pending_unseal(&kr, SID, "not base64!", &out) == -1);
	CHECK(pending_unseal(&kr, SID, "S0AAAA", &out) == -1);
	buf_free(&c);
}

static void
unseal_opens_a_cookie_from_an_old_key(void)
{
	struct pending_set in, out;
	struct keyring kr;
	struct buf c;

	/* keys[1] is an old key: cookies it sealed stay good until expiry. */
	test_keyring(&kr, 2);
	make_set(&in, 3);
	buf_init(&c, 4096);
	CHECK(pending_seal(&kr.keys[1], SID, &in, &c) == 0);
	CHECK(pending_unseal(&kr, SID, buf_str(&c), &out) == 0);
	CHECK(out.n == 3 && same_pending(&in.v[2], &out.v[2]));
	buf_free(&c);
}

static void
unseal_fails_for_an_unknown_key_id(void)
{
	struct pending_set in, out;
	struct keyring kr, other;
	struct buf c;

	test_keyring(&kr, 2);
	test_keyring(&other, 3);
	make_set(&in, 1);
	buf_init(&c, 4096);
	CHECK(pending_seal(&other.keys[2], SID, &in, &c) == 0);
	CHECK(pending_unseal(&kr, SID, buf_str(&c), &out) == -1);
	buf_free(&c);
}

static void
unseal_fails_for_a_known_id_with_another_key(void)
{
	struct pending_set in, out;
	struct keyring kr;
	struct key forged;
	struct buf c;

	test_keyring(&kr, 1);
	test_key(&forged, 0);
	forged.cookie[0] ^= 1;
	make_set(&in, 1);
	buf_init(&c, 4096);
	CHECK(pending_seal(&forged, SID, &in, &c) == 0);
	CHECK(pending_unseal(&kr, SID, buf_str(&c), &out) == -1);
	buf_free(&c);
}

static void
add_keeps_at_most_pending_max_and_drops_the_oldest(void)
{
	struct pending_set set;
	struct pending p;
	unsigned char i;

	memset(&set, 0, sizeof(set));
	for (i = 1; i <= PENDING_MAX + 1; i++) {
		make_pending(&p, i, NOW + i, "/");
		pending_add(&set, &p, NOW + i);
	}
	CHECK(set.n == PENDING_MAX);
	CHECK(set.v[0].state[0] == 2);
	CHECK(set.v[PENDING_MAX - 1].state[0] == PENDING_MAX + 1);
}

static void
add_drops_expired_entries(void)
{
	struct pending_set set;
	struct pending p;

	memset(&set, 0, sizeof(set));
	make_pending(&set.v[0], 1, NOW - PENDING_TTL - 1, "/");
	make_pending(&set.v[1], 2, NOW - PENDING_TTL, "/");
	make_pending(&set.v[2], 3, NOW - PENDING_TTL - 100, "/");
	set.n = 3;
	make_pending(&p, 4, NOW, "/");
	pending_add(&set, &p, NOW);
	CHECK(set.n == 2);
	CHECK(set.v[0].state[0] == 2 && set.v[1].state[0] == 4);
}

static void
add_drops_entries_from_the_far_future(void)
{
	struct pending_set set;
	struct pending p;

	/* A clock set back, or a forged time, must not keep a state alive. */
	memset(&set, 0, sizeof(set));
	make_pending(&set.v[0], 1, NOW + 3600, "/");
	set.n = 1;
	make_pending(&p, 2, NOW, "/");
	pending_add(&set, &p, NOW);
	CHECK(set.n == 1 && set.v[0].state[0] == 2);
}

static void
take_finds_the_state_and_removes_it(void)
{
	struct pending_set set;
	struct pending got;
	char state[STATE_LEN + 1];

	make_set(&set, 3);
	pending_state(&set.v[1], state);
	CHECK(pending_take(&set, state, NOW, &got) == PENDING_FOUND);
	CHECK(got.state[0] == 2 && strcmp(got.return_to, "/account") == 0);
	CHECK(set.n == 2);
	CHECK(set.v[0].state[0] == 1 && set.v[1].state[0] == 3);
}

static void
take_twice_is_unknown_the_second_time(void)
{
	struct pending_set set;
	struct pending got;
	char state[STATE_LEN + 1];

	/* RFC 6749 section 10.12: a state is good for one callback only. */
	make_set(&set, 2);
	pending_state(&set.v[0], state);
	CHECK(pending_take(&set, state, NOW, &got) == PENDING_FOUND);
	CHECK(pending_take(&set, state, NOW, &got) == PENDING_UNKNOWN);
	CHECK(set.n == 1);
}

static void
take_after_the_ttl_is_expired(void)
{
	struct pending_set set;
	struct pending got;
	char state[STATE_LEN + 1];

	make_set(&set, 1);
	pending_state(&set.v[0], state);
	CHECK(pending_take(&set, state, NOW + PENDING_TTL + 1, &got) ==
	      PENDING_EXPIRED);
	CHECK(set.n == 0);
	make_set(&set, 1);
	CHECK(pending_take(&set, state, NOW + PENDING_TTL, &got) ==
	      PENDING_FOUND);
}

static void
take_of_an_unknown_state_leaves_the_set(void)
{
	struct pending_set set;
	struct pending got, p;
	char state[STATE_LEN + 1];

	make_set(&set, 2);
	make_pending(&p, 9, NOW, "/");
	pending_state(&p, state);
	CHECK(pending_take(&set, state, NOW, &got) == PENDING_UNKNOWN);
	CHECK(set.n == 2);
}

static void
take_of_garbage_or_wrong_length_is_unknown(void)
{
	struct pending_set set;
	struct pending got;
	char state[STATE_LEN + 1], shorter[STATE_LEN + 1], longer[48];
	unsigned char raw[33];

	make_set(&set, 1);
	pending_state(&set.v[0], state);
	/* The state cut to 31 bytes, or with a 33rd: only all 32 will do. */
	b64url_encode(set.v[0].state, 31, shorter);
	memcpy(raw, set.v[0].state, 32);
	raw[32] = 0;
	b64url_encode(raw, sizeof(raw), longer);
	CHECK(pending_take(&set, shorter, NOW, &got) == PENDING_UNKNOWN);
	CHECK(pending_take(&set, longer, NOW, &got) == PENDING_UNKNOWN);
	CHECK(pending_take(&set, "", NOW, &got) == PENDING_UNKNOWN);
	CHECK(pending_take(&set, "<script>", NOW, &got) == PENDING_UNKNOWN);
	CHECK(pending_take(&set, "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
			   NOW, &got) == PENDING_UNKNOWN);
	CHECK(set.n == 1);
	CHECK(pending_take(&set, state, NOW, &got) == PENDING_FOUND);
}

static void
new_states_are_43_base64url_characters_and_differ(void)
{
	struct pending a, b;
	char sa[STATE_LEN + 1], sb[STATE_LEN + 1];

	CHECK(pending_new(&a, "/account", NULL, NOW) == 0);
	CHECK(pending_new(&b, "/account", NULL, NOW) == 0);
	pending_state(&a, sa);
	pending_state(&b, sb);
	CHECK(strlen(sa) == STATE_LEN);
	CHECK(strspn(sa, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789-_") == STATE_LEN);
	CHECK(strcmp(sa, sb) != 0);
	CHECK(memcmp(a.verifier, b.verifier, sizeof(a.verifier)) != 0);
	CHECK(a.created == NOW && strcmp(a.return_to, "/account") == 0);
}

static void
keyring_load_reads_current_and_old_keys_in_order(void)
{
	char tmpl[] = "/tmp/isc-unit-XXXXXX", cur[64], old[64];
	unsigned char k1[KEY_LEN], k2[KEY_LEN];
	char *olds[1] = { old };
	struct config cfg;
	struct keyring kr;
	char err[256] = "";
	char *dir = mkdtemp(tmpl);

	CHECK(dir != NULL);
	if (dir == NULL)
		return;
	memset(k1, 1, sizeof(k1));
	memset(k2, 2, sizeof(k2));
	snprintf(cur, sizeof(cur), "%s/cur.key", dir);
	snprintf(old, sizeof(old), "%s/old.key", dir);
	CHECK(write_file(cur, k1, sizeof(k1), 0600) == 0);
	CHECK(write_file(old, k2, sizeof(k2), 0600) == 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.key_file = cur;
	cfg.old_key_files.v = olds;
	cfg.old_key_files.n = 1;
	CHECK(keyring_load(&kr, &cfg, err, sizeof(err)) == 0);
	CHECK(kr.n == 2);
	CHECK(memcmp(kr.keys[0].id, kr.keys[1].id, KEY_ID_LEN) != 0);
	/* HKDF: one subkey per purpose, none equal to another. */
	CHECK(memcmp(kr.keys[0].cookie, kr.keys[0].record, KEY_LEN) != 0);
	CHECK(memcmp(kr.keys[0].name, kr.keys[0].csrf, KEY_LEN) != 0);
	CHECK(keyring_find(&kr, kr.keys[1].id) == &kr.keys[1]);
	/* The subkeys of a key file never change: stored records, cookies
	 * and record names must still open after an upgrade. */
	{
		/* HKDF-SHA256 (RFC 5869), no salt, of 32 bytes of 1, with
		 * "insuresign-connect " and: "key id" (its first 4 bytes),
		 * "record name v1", "record v1", "cookie v1", "csrf v1". */
		static const char *const want[] = {
			"caaa8f12",
			"3180819dd93eb77989003524accd33bf"
			"19c4bdf13ef1c2d38fa837e415f26cf9",
			"27e1d0b54f66c2f8e87981591d75b03b"
			"96b0eeec6ecf10494c2f868306e60828",
			"cdf9f9776c5d18c1f6700db588806ab6"
			"c68a0bf66ad8f987b1197fc7f8f9769d",
			"ff7727b7a332d7324a70ffd92a534ee3"
			"3f486fa185fb49f002c55e6a203dcb81",
		};
		const unsigned char *got[] = {
			kr.keys[0].id,	   kr.keys[0].name, kr.keys[0].record,
			kr.keys[0].cookie, kr.keys[0].csrf,
		};
		char hex[2 * KEY_LEN + 1];
		size_t i;

		for (i = 0; i < 5; i++) {
			hex_encode(got[i], i == 0 ? KEY_ID_LEN : KEY_LEN, hex);
			CHECK_STR(hex, want[i]);
		}
	}
	keyring_wipe(&kr);
	unit_rmtree(dir);
}

static void
keyring_load_refuses_a_key_file_others_can_read(void)
{
	char tmpl[] = "/tmp/isc-unit-XXXXXX", cur[64];
	unsigned char k[KEY_LEN];
	struct config cfg;
	struct keyring kr;
	char err[256] = "";
	char *dir = mkdtemp(tmpl);

	CHECK(dir != NULL);
	if (dir == NULL)
		return;
	memset(k, 1, sizeof(k));
	snprintf(cur, sizeof(cur), "%s/cur.key", dir);
	CHECK(write_file(cur, k, sizeof(k), 0644) == 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.key_file = cur;
	CHECK(keyring_load(&kr, &cfg, err, sizeof(err)) == -1);
	CHECK(strstr(err, "0600") != NULL);
	CHECK(kr.n == 0);
	unit_rmtree(dir);
}

static void
keyring_load_refuses_a_key_of_the_wrong_size(void)
{
	char tmpl[] = "/tmp/isc-unit-XXXXXX", cur[64];
	unsigned char k[KEY_LEN + 1];
	struct config cfg;
	struct keyring kr;
	char err[256] = "";
	char *dir = mkdtemp(tmpl);

	CHECK(dir != NULL);
	if (dir == NULL)
		return;
	memset(k, 1, sizeof(k));
	snprintf(cur, sizeof(cur), "%s/cur.key", dir);
	CHECK(write_file(cur, k, sizeof(k), 0600) == 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.key_file = cur;
	CHECK(keyring_load(&kr, &cfg, err, sizeof(err)) == -1);
	CHECK(strstr(err, "32 bytes") != NULL);
	unit_rmtree(dir);
}

/* A cookie that holds plain (n bytes), well sealed for sid under kr's
 * current key: what only a bug of ours, or a keyholder, could make. */
static void
seal_plain(const struct keyring *kr, const char *sid, const void *plain,
	   size_t n, struct buf *out)
{
	static const char label[] = "insuresign-connect pending v1";
	unsigned char ad[256], sealed[4096];
	size_t adn = sizeof(label) + strlen(sid);

	memcpy(ad, label, sizeof(label)); /* its NUL, as pending.c's */
	memcpy(ad + sizeof(label), sid, strlen(sid));
	memcpy(sealed, kr->keys[0].id, KEY_ID_LEN);
	if (crypto_seal(kr->keys[0].cookie, ad, adn, plain, n,
			sealed + KEY_ID_LEN) == -1)
		abort();
	out->len = 0;
	b64url_append(out, sealed, KEY_ID_LEN + AEAD_IV_LEN + n + AEAD_TAG_LEN);
}

static void
unseal_refuses_well_sealed_but_malformed_contents(void)
{
	/* One entry: 32 state, 32 verifier, 8 time, then lengths. */
	unsigned char one[2 + 64 + 8 + 1 + 3 + 1 + 2 + 1];
	struct pending_set set;
	struct keyring kr;
	struct buf v;
	size_t n;

	test_keyring(&kr, 1);
	buf_init(&v, 8192);
	memset(one, 'x', sizeof(one));
	one[0] = 2;
	one[1] = 1;
	one[74] = 3; /* return_to "xxx" */
	one[78] = 2; /* user "xx" */
	n = 2 + 64 + 8 + 1 + 3 + 1 + 2;
	/* The way of making them works: this one opens. */
	seal_plain(&kr, SID, one, n, &v);
	CHECK(pending_unseal(&kr, SID, v.data, &set) == 0);
	CHECK(set.n == 1 && strcmp(set.v[0].return_to, "xxx") == 0 &&
	      strcmp(set.v[0].user, "xx") == 0);
	/* A trailing byte. */
	seal_plain(&kr, SID, one, n + 1, &v);
	CHECK(pending_unseal(&kr, SID, v.data, &set) == -1 && set.n == 0);
	/* The user, the return_to, the entry itself cut short. */
	seal_plain(&kr, SID, one, n - 1, &v);
	CHECK(pending_unseal(&kr, SID, v.data, &set) == -1 && set.n == 0);
	seal_plain(&kr, SID, one, 2 + 64 + 8 + 1 + 2, &v);
	CHECK(pending_unseal(&kr, SID, v.data, &set) == -1 && set.n == 0);
	seal_plain(&kr, SID, one, 2 + 40, &v);
	CHECK(pending_unseal(&kr, SID, v.data, &set) == -1 && set.n == 0);
	/* Another version, more entries than ever kept, nothing at all. */
	one[0] = 1;
	seal_plain(&kr, SID, one, n, &v);
	CHECK(pending_unseal(&kr, SID, v.data, &set) == -1 && set.n == 0);
	one[0] = 2;
	one[1] = PENDING_MAX + 1;
	seal_plain(&kr, SID, one, n, &v);
	CHECK(pending_unseal(&kr, SID, v.data, &set) == -1 && set.n == 0);
	seal_plain(&kr, SID, one, 1, &v);
	CHECK(pending_unseal(&kr, SID, v.data, &set) == -1 && set.n == 0);
	buf_free(&v);
}

/* What a spent state or ticket is stored as: a keyed hash of its kind and
 * value, the same as it always was, and never another kind's. */
static void
value_names_are_keyed_and_kinds_never_meet(void)
{
	static const unsigned char msg[] =
		"state:0123456789abcdef0123456789abcdef";
	unsigned char v[32], mac[SHA256_LEN], big[80];
	char a[2 * SHA256_LEN + 1], b[2 * SHA256_LEN + 1],
		want[2 * SHA256_LEN + 1];
	struct keyring kr;

	memset(&kr, 0, sizeof(kr));
	kr.n = 1;
	memset(kr.keys[0].name, 7, KEY_LEN);
	memcpy(v, msg + 6, sizeof(v));
	crypto_hmac(kr.keys[0].name, KEY_LEN, msg, 6 + sizeof(v), mac);
	hex_encode(mac, sizeof(mac), want);
	CHECK(keyring_value_name(&kr, "state:", v, sizeof(v), a) == 0);
	CHECK_STR(a, want);
	CHECK(keyring_value_name(&kr, "ticket:", v, sizeof(v), b) == 0);
	CHECK(strcmp(a, b) != 0);
	memset(kr.keys[0].name, 8, KEY_LEN);
	CHECK(keyring_value_name(&kr, "state:", v, sizeof(v), b) == 0);
	CHECK(strcmp(a, b) != 0);
	memset(big, 0, sizeof(big));
	CHECK(keyring_value_name(&kr, "state:", big, sizeof(big), b) == -1);
}

int
main(void)
{
	RUN(seal_then_unseal_gives_back_the_set);
	RUN(sealed_cookie_is_base64url_without_the_plain_values);
	RUN(unseal_fails_for_another_session);
	RUN(unseal_fails_for_any_changed_character);
	RUN(unseal_fails_for_truncated_or_garbage_values);
	RUN(unseal_refuses_well_sealed_but_malformed_contents);
	RUN(unseal_opens_a_cookie_from_an_old_key);
	RUN(unseal_fails_for_an_unknown_key_id);
	RUN(unseal_fails_for_a_known_id_with_another_key);
	RUN(add_keeps_at_most_pending_max_and_drops_the_oldest);
	RUN(add_drops_expired_entries);
	RUN(add_drops_entries_from_the_far_future);
	RUN(take_finds_the_state_and_removes_it);
	RUN(take_twice_is_unknown_the_second_time);
	RUN(take_after_the_ttl_is_expired);
	RUN(take_of_an_unknown_state_leaves_the_set);
	RUN(take_of_garbage_or_wrong_length_is_unknown);
	RUN(new_states_are_43_base64url_characters_and_differ);
	RUN(keyring_load_reads_current_and_old_keys_in_order);
	RUN(keyring_load_refuses_a_key_file_others_can_read);
	RUN(keyring_load_refuses_a_key_of_the_wrong_size);
	RUN(value_names_are_keyed_and_kinds_never_meet);
	return DONE();
}
