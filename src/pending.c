/* Pending authorizations, sealed into a cookie.  See pending.h for why. */
#include "pending.h"

#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "session.h"
#include "codec.h"

#define PLAIN_MAX \
	(2 + PENDING_MAX * (32 + 32 + 8 + 1 + RETURN_TO_MAX + 1 + USER_ID_MAX))
#define VERSION 2 /* 2: each entry has its user */

static void
cookie_name(const struct config *cfg, int https, char *out, size_t len)
{
	/* __Secure-, not __Host-: the cookie is scoped to base_path.  Our own
	 * name even when the session cookie is the web app's. */
	snprintf(out, len, "%sinsuresign_pending",
		 session_secure(cfg, https) ? "__Secure-" : "");
}

static void
aad(const char *sid, struct buf *b)
{
	buf_adds(b, "insuresign-connect pending v1");
	buf_add(b, "", 1);
	buf_adds(b, sid);
}

static size_t
encode(const struct pending_set *set, unsigned char *p)
{
	size_t i, o = 0;

	p[o++] = VERSION;
	p[o++] = (unsigned char)set->n;
	for (i = 0; i < set->n; i++) {
		const struct pending *e = &set->v[i];
		size_t rl = strlen(e->return_to), ul;

		memcpy(p + o, e->state, 32);
		memcpy(p + o + 32, e->verifier, 32);
		be_put(p + o + 64, 8, e->created);
		o += 72;
		p[o++] = (unsigned char)rl;
		memcpy(p + o, e->return_to, rl);
		o += rl;
		ul = strlen(e->user);
		p[o++] = (unsigned char)ul;
		memcpy(p + o, e->user, ul);
		o += ul;
	}
	return o;
}

static int
decode(const unsigned char *p, size_t n, struct pending_set *set)
{
	size_t i, o = 2;

	if (n < 2 || p[0] != VERSION || p[1] > PENDING_MAX)
		return -1;
	set->n = p[1];
	for (i = 0; i < set->n; i++) {
		struct pending *e = &set->v[i];
		size_t rl, ul;

		if (n - o < 73)
			return -1;
		memcpy(e->state, p + o, 32);
		memcpy(e->verifier, p + o + 32, 32);
		e->created = be_get(p + o + 64, 8);
		o += 72;
		rl = p[o++];
		if (n - o < rl + 1)
			return -1;
		memcpy(e->return_to, p + o, rl);
		e->return_to[rl] = '\0';
		o += rl;
		ul = p[o++];
		if (n - o < ul)
			return -1;
		memcpy(e->user, p + o, ul);
		e->user[ul] = '\0';
		o += ul;
	}
	return o == n ? 0 : -1;
}

int
pending_seal(const struct key *k, const char *sid,
	     const struct pending_set *set, struct buf *out)
{
	unsigned char plain[PLAIN_MAX];
	struct buf ad;
	int rc = -1;

	buf_init(&ad, 512);
	aad(sid, &ad);
	if (!ad.failed)
		rc = keyring_seal(k, ad.data, ad.len, plain, encode(set, plain),
				  out);
	explicit_bzero(plain, sizeof(plain));
	buf_free(&ad);
	return rc;
}

int
pending_unseal(const struct keyring *kr, const char *sid, const char *value,
	       struct pending_set *set)
{
	unsigned char plain[PLAIN_MAX];
	struct buf ad;
	ssize_t n = -1;
	int rc = -1;

	set->n = 0;
	buf_init(&ad, 512);
	aad(sid, &ad);
	if (!ad.failed)
		n = keyring_unseal(kr, ad.data, ad.len, value, plain,
				   sizeof(plain));
	if (n != -1)
		rc = decode(plain, (size_t)n, set);
	/* decode() may have set n before it failed. */
	if (rc == -1)
		set->n = 0;
	explicit_bzero(plain, sizeof(plain));
	buf_free(&ad);
	return rc;
}

void
pending_read(const struct keyring *kr, const struct config *cfg,
	     const struct request *req, const char *sid,
	     struct pending_set *set)
{
	char name[160];
	const char *v;
	int count;

	set->n = 0;
	cookie_name(cfg, req->https, name, sizeof(name));
	v = request_cookie(req, name, &count);
	if (count == 1 && sid[0] != '\0')
		pending_unseal(kr, sid, v, set);
}

int
pending_write(const struct keyring *kr, const struct config *cfg,
	      const struct request *req, struct response *res, const char *sid,
	      const struct pending_set *set)
{
	char name[160], path[300];
	struct buf v;
	int secure = session_secure(cfg, req->https), rc;

	cookie_name(cfg, req->https, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/", cfg->base_path);
	if (set->n == 0) {
		res_cookie(res, name, "", path, 0, secure);
		return 0;
	}
	buf_init(&v, 4096);
	rc = pending_seal(&kr->keys[0], sid, set, &v);
	if (rc == 0)
		res_cookie(res, name, v.data, path, PENDING_TTL, secure);
	buf_free(&v);
	return rc;
}

int
pending_new(struct pending *p, const char *return_to, const char *user,
	    long long now)
{
	if (crypto_random(p->state, sizeof(p->state)) == -1 ||
	    crypto_random(p->verifier, sizeof(p->verifier)) == -1)
		return -1;
	p->created = now;
	snprintf(p->return_to, sizeof(p->return_to), "%s", return_to);
	snprintf(p->user, sizeof(p->user), "%s", user != NULL ? user : "");
	return 0;
}

static void
drop(struct pending_set *set, size_t i)
{
	memmove(&set->v[i], &set->v[i + 1],
		(set->n - i - 1) * sizeof(set->v[0]));
	set->n--;
	explicit_bzero(&set->v[set->n], sizeof(set->v[0]));
}

static int
expired(const struct pending *p, long long now)
{
	/* Not now - created: created is whatever the cookie held. */
	return p->created < now - PENDING_TTL || p->created > now + 60;
}

void
pending_add(struct pending_set *set, const struct pending *p, long long now)
{
	size_t i = 0;

	while (i < set->n) {
		if (expired(&set->v[i], now))
			drop(set, i);
		else
			i++;
	}
	if (set->n == PENDING_MAX)
		drop(set, 0);
	set->v[set->n++] = *p;
}

enum pending_match
pending_take(struct pending_set *set, const char *state, long long now,
	     struct pending *out)
{
	unsigned char raw[64];
	size_t i, n, hit = PENDING_MAX;

	if (b64url_decode(state, strlen(state), raw, sizeof(raw), &n) == -1 ||
	    n != 32)
		return PENDING_UNKNOWN;
	/* Look at every entry, so the time taken says nothing of which. */
	for (i = 0; i < set->n; i++)
		if (crypto_equal(set->v[i].state, raw, 32))
			hit = i;
	if (hit == PENDING_MAX)
		return PENDING_UNKNOWN;
	*out = set->v[hit];
	drop(set, hit);
	return expired(out, now) ? PENDING_EXPIRED : PENDING_FOUND;
}

int
pending_spend(struct store *s, const struct keyring *kr,
	      const struct pending *p)
{
	char name[2 * SHA256_LEN + 1];

	if (keyring_value_name(kr, "state:", p->state, sizeof(p->state),
			       name) == -1)
		return STORE_ERROR;
	/* Past its life the state is refused anyway (expired()). */
	return store_spend(s, name, p->created + PENDING_TTL + 60);
}

void
pending_state(const struct pending *p, char *out)
{
	b64url_encode(p->state, sizeof(p->state), out);
}

void
pending_verifier(const struct pending *p, char *out)
{
	b64url_encode(p->verifier, sizeof(p->verifier), out);
}

void
pending_challenge(const struct pending *p, char *out)
{
	unsigned char h[SHA256_LEN];
	char v[STATE_LEN + 1];

	/* RFC 7636 section 4.2: S256 is BASE64URL(SHA256(ASCII(verifier))). */
	pending_verifier(p, v);
	crypto_sha256(v, strlen(v), h);
	b64url_encode(h, sizeof(h), out);
	explicit_bzero(v, sizeof(v));
}
