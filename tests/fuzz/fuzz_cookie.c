/*
 * The Cookie header: request_read with the bytes as HTTP_COOKIE, then
 * session_read and pending_read, under three configs (our cookie over
 * http, over https with the __Host-/__Secure- names, and the web app's
 * own session cookie).  The pending cookie is sealed, so mutations of a
 * real one mostly stop at the AEAD tag: to reach the decoder behind it,
 * the same bytes are also sealed here, with the right key and associated
 * data, as the cookie's plaintext, and unsealed.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "fuzz.h"
#include "pending.h"
#include "request.h"
#include "session.h"
#include "codec.h"

static struct request req;
static struct keyring kr;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_keyring(&kr);
	return 0;
}

static int
same_set(const struct pending_set *a, const struct pending_set *b)
{
	size_t i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (memcmp(a->v[i].state, b->v[i].state, 32) != 0 ||
		    memcmp(a->v[i].verifier, b->v[i].verifier, 32) != 0 ||
		    a->v[i].created != b->v[i].created ||
		    strcmp(a->v[i].return_to, b->v[i].return_to) != 0)
			return 0;
	return 1;
}

/* What a set read from a cookie must survive: resealing, and take. */
static void
check_set(const char *sid, const struct pending_set *set)
{
	struct pending_set again, copy;
	struct pending p;
	char state[STATE_LEN + 1];
	struct buf v;
	size_t i, same = 0;

	FUZZ_CHECK(set->n <= PENDING_MAX);
	for (i = 0; i < set->n; i++)
		FUZZ_CHECK(strlen(set->v[i].return_to) <= RETURN_TO_MAX);
	if (set->n == 0)
		return;
	buf_init(&v, 4096);
	FUZZ_CHECK(pending_seal(&kr.keys[0], sid, set, &v) == 0);
	FUZZ_CHECK(pending_unseal(&kr, sid, v.data, &again) == 0);
	FUZZ_CHECK(same_set(set, &again));
	buf_free(&v);

	/* Single use: a state taken once is gone (unless it came twice). */
	for (i = 0; i < set->n; i++)
		same += memcmp(set->v[i].state, set->v[0].state, 32) == 0;
	copy = *set;
	pending_state(&copy.v[0], state);
	FUZZ_CHECK(pending_take(&copy, state, FUZZ_NOW, &p) != PENDING_UNKNOWN);
	FUZZ_CHECK(copy.n == set->n - 1);
	FUZZ_CHECK(same > 1 ||
		   pending_take(&copy, state, FUZZ_NOW, &p) == PENDING_UNKNOWN);
}

static void
one_config(char *header, int issue_cookie, int https)
{
	static char method[] = "REQUEST_METHOD=GET";
	static char uri[] = "REQUEST_URI=/insuresign/callback";
	static char query[] = "QUERY_STRING=code=c&state=s";
	static char on[] = "HTTPS=on";
	struct pending_set set;
	struct session s;
	struct config cfg;
	char *env[6], name[160];
	struct request_source src = { env, NULL, NULL, 1 };
	const char *v;
	int count, rc;

	fuzz_config(&cfg, issue_cookie);
	env[0] = method;
	env[1] = uri;
	env[2] = query;
	env[3] = header;
	env[4] = https ? on : NULL;
	env[5] = NULL;
	rc = request_read(&req, &src, &cfg);
	FUZZ_CHECK(rc == 0 || rc == 431);
	if (rc != 0)
		return;
	FUZZ_CHECK(req.https == https && req.ncookies <= COOKIES_MAX);

	session_read(&cfg, &req, &s);
	FUZZ_CHECK(s.id[0] == '\0' || session_id_valid(&cfg, s.id));
	pending_read(&kr, &cfg, &req, s.id, &set);
	if (s.id[0] != '\0')
		check_set(s.id, &set);

	/* The cookie under a fixed id too, so a value alone gets unsealed. */
	snprintf(name, sizeof(name), "%sinsuresign_pending",
		 session_secure(&cfg, https) ? "__Secure-" : "");
	v = request_cookie(&req, name, &count);
	if (v != NULL && pending_unseal(&kr, FUZZ_SID, v, &set) == 0)
		check_set(FUZZ_SID, &set);
}

/* The bytes as the decrypted cookie, sealed as pending.c seals. */
static void
as_plaintext(const uint8_t *data, size_t size)
{
	static const char ad[] = "insuresign-connect pending v1\0" FUZZ_SID;
	unsigned char sealed[KEY_ID_LEN + AEAD_IV_LEN + 2048 + AEAD_TAG_LEN];
	struct pending_set set;
	struct buf v;

	if (size > 2048)
		return;
	memcpy(sealed, kr.keys[0].id, KEY_ID_LEN);
	FUZZ_CHECK(crypto_seal(kr.keys[0].cookie, ad, sizeof(ad) - 1, data,
			       size, sealed + KEY_ID_LEN) == 0);
	buf_init(&v, 8192);
	FUZZ_CHECK(b64url_append(&v, sealed,
				 KEY_ID_LEN + AEAD_IV_LEN + size +
					 AEAD_TAG_LEN) == 0);
	if (pending_unseal(&kr, FUZZ_SID, v.data, &set) == 0)
		check_set(FUZZ_SID, &set);
	else
		FUZZ_CHECK(set.n == 0);
	buf_free(&v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *header;

	/* A CGI variable ends at the first NUL, as the server passes it. */
	header = malloc(size + sizeof("HTTP_COOKIE="));
	if (header == NULL)
		return 0;
	memcpy(header, "HTTP_COOKIE=", 12);
	memcpy(header + 12, data, size);
	header[12 + size] = '\0';
	one_config(header, 1, 0);
	one_config(header, 1, 1);
	one_config(header, 0, 0);
	free(header);
	as_plaintext(data, size);
	return 0;
}
