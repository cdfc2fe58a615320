/* A stored link and its sealed bytes.  The format is in docs/STORE.md. */
#include "record.h"

#include <cjson/cJSON.h>

#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "crypto.h"

static const unsigned char magic[4] = { 'I', 'S', 'C', 1 };

static void
write_head(const struct key *k, const struct record_meta *m, unsigned char *h)
{
	memset(h, 0, RECORD_HEAD_LEN);
	memcpy(h, magic, 4);
	memcpy(h + 4, k->id, KEY_ID_LEN);
	h[8] = (unsigned char)m->status;
	h[9] = (unsigned char)m->last_error;
	h[10] = m->has_refresh ? 1 : 0;
	h[11] = (unsigned char)m->owner_kind;
	be_put(h + 12, 2, m->token_len);
	h[14] = (unsigned char)(m->events > 255 ? 255 : m->events);
	h[15] = (unsigned char)(m->events_dead > 255 ? 255 : m->events_dead);
	memcpy(h + 16, m->fingerprint, 4);
	/* A time in four bytes: seconds until 2106 (0: none). */
	be_put(h + 20, 4,
	       m->events_oldest < 0		 ? 0
	       : m->events_oldest > 0xffffffffLL ? 0xffffffff
						 : m->events_oldest);
	be_put(h + 24, 8, m->created);
	be_put(h + 32, 8, m->updated);
	be_put(h + 40, 8, m->expires_at);
	be_put(h + 48, 8, m->last_refresh);
	be_put(h + 56, 8, m->last_used);
	be_put(h + 64, 8, m->backoff_until);
}

int
record_read_meta(const unsigned char *h, size_t len, struct record_meta *m)
{
	size_t i;

	memset(m, 0, sizeof(*m));
	if (len < RECORD_HEAD_LEN || memcmp(h, magic, 4) != 0)
		return -1;
	m->status = h[8];
	m->last_error = h[9];
	m->has_refresh = h[10] & 1;
	m->owner_kind = h[11];
	m->token_len = (unsigned)be_get(h + 12, 2);
	m->events = h[14];
	m->events_dead = h[15];
	m->events_oldest = be_get(h + 20, 4);
	memcpy(m->fingerprint, h + 16, 4);
	m->fingerprint[4] = '\0';
	for (i = 0; i < 4; i++)
		if (m->fingerprint[i] < 0x21 || m->fingerprint[i] > 0x7e)
			m->fingerprint[i] = '\0';
	m->created = be_get(h + 24, 8);
	m->updated = be_get(h + 32, 8);
	m->expires_at = be_get(h + 40, 8);
	m->last_refresh = be_get(h + 48, 8);
	m->last_used = be_get(h + 56, 8);
	m->backoff_until = be_get(h + 64, 8);
	if ((m->status != RECORD_CONNECTED &&
	     m->status != RECORD_NEEDS_RECONNECT &&
	     m->status != RECORD_DELETED) ||
	    m->last_error >= REFRESH__MAX ||
	    (m->owner_kind != OWNER_BROWSER && m->owner_kind != OWNER_USER))
		return -1;
	return 0;
}

static void
add_string(cJSON *o, const char *name, const char *v)
{
	if (v != NULL)
		cJSON_AddStringToObject(o, name, v);
}

int
record_seal(const struct keyring *kr, const char *name, struct record *r,
	    struct buf *out)
{
	const struct key *k = &kr->keys[0];
	unsigned char ad[RECORD_HEAD_LEN + 64];
	unsigned char *sealed = NULL;
	char *plain = NULL;
	size_t n, tl;
	cJSON *o;
	int rc = -1;

	/* The metadata that describes the secrets follows from them. */
	tl = r->access_token != NULL ? strlen(r->access_token) : 0;
	r->meta.token_len = tl > 65535 ? 65535 : (unsigned)tl;
	memset(r->meta.fingerprint, 0, sizeof(r->meta.fingerprint));
	if (tl >= 8)
		memcpy(r->meta.fingerprint, r->access_token, 4);
	r->meta.has_refresh = r->refresh_token != NULL;
	r->meta.owner_kind = r->owner.kind;

	o = cJSON_CreateObject();
	if (o == NULL)
		return -1;
	/* "sid" as before owners existed: such records still open. */
	add_string(o, r->owner.kind == OWNER_USER ? "user" : "sid",
		   r->owner.id);
	add_string(o, "access_token", r->access_token);
	add_string(o, "refresh_token", r->refresh_token);
	add_string(o, "token_type", r->token_type);
	add_string(o, "scope", r->scope);
	if (r->failures > 0)
		cJSON_AddNumberToObject(o, "failures", r->failures);
	/* event.c's own JSON, whole; NULL (no events) adds nothing. */
	if (r->events != NULL)
		cJSON_AddRawToObject(o, "events", r->events);
	plain = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (plain == NULL)
		return -1;
	n = strlen(plain);
	if (n > RECORD_MAX - RECORD_HEAD_LEN - AEAD_IV_LEN - AEAD_TAG_LEN)
		goto err;
	sealed = malloc(AEAD_IV_LEN + n + AEAD_TAG_LEN);
	if (sealed == NULL)
		goto err;
	write_head(k, &r->meta, ad);
	memcpy(ad + RECORD_HEAD_LEN, name, 64);
	if (crypto_seal(k->record, ad, sizeof(ad), plain, n, sealed) == -1)
		goto err;
	buf_add(out, ad, RECORD_HEAD_LEN);
	buf_add(out, sealed, AEAD_IV_LEN + n + AEAD_TAG_LEN);
	rc = out->failed ? -1 : 0;
err:
	explicit_bzero(plain, n);
	cJSON_free(plain);
	free(sealed);
	return rc;
}

static int
take_string(const cJSON *o, const char *name, char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!cJSON_IsString(v))
		return -1;
	*out = strdup(v->valuestring);
	return *out == NULL ? -1 : 0;
}

static int
take_failures(const cJSON *o, int *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "failures");

	*out = 0;
	if (v == NULL)
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e6)
		return -1;
	*out = (int)v->valuedouble;
	return 0;
}

/* The outbox as JSON text, for event.c (an object, or absent). */
static int
take_events(const cJSON *o, char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "events");

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!cJSON_IsObject(v))
		return -1;
	*out = cJSON_PrintUnformatted(v);
	return *out == NULL ? -1 : 0;
}

/* The owner the head says, and its id from the sealed part. */
static int
take_owner(const cJSON *o, int kind, struct owner *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(
		o, kind == OWNER_USER ? "user" : "sid");

	if (!cJSON_IsString(v) || v->valuestring[0] == '\0' ||
	    strlen(v->valuestring) > OWNER_ID_MAX)
		return -1;
	out->kind = (enum owner_kind)kind;
	memcpy(out->id, v->valuestring, strlen(v->valuestring) + 1);
	return 0;
}

int
record_open(const struct keyring *kr, const char *name,
	    const unsigned char *data, size_t len, struct record *r)
{
	unsigned char ad[RECORD_HEAD_LEN + 64];
	const struct key *k;
	char *plain = NULL;
	cJSON *o = NULL;
	size_t n;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if (len > RECORD_MAX ||
	    len < RECORD_HEAD_LEN + AEAD_IV_LEN + AEAD_TAG_LEN ||
	    record_read_meta(data, len, &r->meta) == -1)
		return -1;
	k = keyring_find(kr, data + 4);
	if (k == NULL)
		return -1;
	r->old_key = k != &kr->keys[0];
	n = len - RECORD_HEAD_LEN - AEAD_IV_LEN - AEAD_TAG_LEN;
	plain = malloc(n + 1);
	if (plain == NULL)
		return -1;
	memcpy(ad, data, RECORD_HEAD_LEN);
	memcpy(ad + RECORD_HEAD_LEN, name, 64);
	if (crypto_open(k->record, ad, sizeof(ad), data + RECORD_HEAD_LEN,
			len - RECORD_HEAD_LEN, (unsigned char *)plain) == -1)
		goto err;
	plain[n] = '\0';
	o = cJSON_ParseWithLength(plain, n);
	if (o == NULL || !cJSON_IsObject(o) ||
	    take_owner(o, r->meta.owner_kind, &r->owner) == -1 ||
	    take_string(o, "access_token", &r->access_token) == -1 ||
	    take_string(o, "refresh_token", &r->refresh_token) == -1 ||
	    take_string(o, "token_type", &r->token_type) == -1 ||
	    take_string(o, "scope", &r->scope) == -1 ||
	    take_failures(o, &r->failures) == -1 ||
	    take_events(o, &r->events) == -1)
		goto err;
	rc = 0;
err:
	if (rc == -1)
		record_free(r);
	cJSON_Delete(o);
	explicit_bzero(plain, n);
	free(plain);
	return rc;
}

int
record_set(char **member, const char *value)
{
	char *copy = NULL;

	if (value != NULL) {
		copy = strdup(value);
		if (copy == NULL)
			return -1;
	}
	secret_free(*member);
	*member = copy;
	return 0;
}

void
record_free(struct record *r)
{
	explicit_bzero(&r->owner, sizeof(r->owner));
	record_set(&r->access_token, NULL);
	record_set(&r->refresh_token, NULL);
	record_set(&r->token_type, NULL);
	record_set(&r->scope, NULL);
	/* An event names its owner: wiped as the owner is. */
	if (r->events != NULL)
		explicit_bzero(r->events, strlen(r->events));
	cJSON_free(r->events);
	r->events = NULL;
	r->failures = 0;
}

const char *
refresh_error_name(int e)
{
	static const char *const names[REFRESH__MAX] = {
		[REFRESH_OK] = "none",
		[REFRESH_INVALID_GRANT] = "invalid_grant",
		[REFRESH_INVALID_CLIENT] = "invalid_client",
		[REFRESH_REJECTED] = "rejected",
		[REFRESH_SERVER_ERROR] = "server_error",
		[REFRESH_RATE_LIMITED] = "rate_limited",
		[REFRESH_TIMEOUT] = "timeout",
		[REFRESH_NETWORK] = "network_error",
		[REFRESH_TLS] = "tls_error",
		[REFRESH_BAD_REPLY] = "bad_reply",
	};

	return e >= 0 && e < REFRESH__MAX ? names[e] : "unknown";
}

long long
record_backoff(unsigned base, int n)
{
	long long cap = base > 3600 ? base : 3600;
	long long d = base;

	while (--n > 0 && d < cap)
		d *= 2;
	return d < cap ? d : cap;
}
