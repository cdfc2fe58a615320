/* The browser's session: its cookie, its id, and what is derived from it. */
#include "session.h"

#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "codec.h"

int
session_secure(const struct config *cfg, int https)
{
	return cfg->secure == SECURE_ALWAYS ||
	       (cfg->secure == SECURE_AUTO && https);
}

void
session_cookie_name(const struct config *cfg, int https, char *out, size_t len)
{
	/* The web app's own cookie keeps the name the web app gave it. */
	if (cfg->issue_cookie && session_secure(cfg, https))
		snprintf(out, len, "__Host-%s", cfg->cookie_name);
	else
		snprintf(out, len, "%s", cfg->cookie_name);
}

int
session_id_valid(const struct config *cfg, const char *id)
{
	size_t n = strlen(id);

	if (cfg->issue_cookie)
		return n == SESSION_ID_LEN &&
		       strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
				  "qrstuvwxyz0123456789-_") == n;
	/* Web app session ids (PHPSESSID and the like). */
	return n >= 16 && n <= SESSION_MAX &&
	       strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvw"
			  "xyz0123456789,._~-") == n;
}

void
session_read(const struct config *cfg, const struct request *req,
	     struct session *s)
{
	char name[128];
	const char *v;
	int count;

	s->id[0] = '\0';
	s->is_new = 0;
	session_cookie_name(cfg, req->https, name, sizeof(name));
	v = request_cookie(req, name, &count);
	if (count == 1 && session_id_valid(cfg, v))
		snprintf(s->id, sizeof(s->id), "%s", v);
}

int
session_create(struct session *s)
{
	unsigned char raw[32];

	if (crypto_random(raw, sizeof(raw)) == -1)
		return -1;
	b64url_encode(raw, sizeof(raw), s->id);
	explicit_bzero(raw, sizeof(raw));
	s->is_new = 1;
	return 0;
}

void
session_set_cookie(const struct config *cfg, const struct request *req,
		   struct response *res, const struct session *s)
{
	char name[128];

	if (!cfg->issue_cookie)
		return;
	session_cookie_name(cfg, req->https, name, sizeof(name));
	/* As long as gc keeps an idle link: a link outlives the browser
	 * session, and /status renews it while it is in use. */
	res_cookie(res, name, s->id, "/", (long)cfg->max_idle_days * 86400,
		   session_secure(cfg, req->https));
}

void
session_csrf(const struct key *k, const char *id, char *out)
{
	unsigned char mac[SHA256_LEN];

	crypto_hmac(k->csrf, KEY_LEN, id, strlen(id), mac);
	b64url_encode(mac, sizeof(mac), out);
}

int
session_csrf_ok(const struct keyring *kr, const char *id, const char *token)
{
	char want[CSRF_LEN + 1];
	size_t i;

	if (id[0] == '\0' || strlen(token) != CSRF_LEN)
		return 0;
	for (i = 0; i < kr->n; i++) {
		session_csrf(&kr->keys[i], id, want);
		if (crypto_equal(want, token, CSRF_LEN))
			return 1;
	}
	return 0;
}

/* The window first: an id may hold a ':', a window never does.  An id
 * may be "" (a visitor with no session yet): the token is then the same
 * for everyone that hour, which is all such a visitor can be given. */
static void
token_id(const char *purpose, const char *id, long long window, char *out,
	 size_t len)
{
	snprintf(out, len, "%s:%lld:%s", purpose, window, id);
}

void
session_token(const struct key *k, const char *purpose, const char *id,
	      long long now, char *out)
{
	char tid[400];

	token_id(purpose, id, now / TOKEN_WINDOW, tid, sizeof(tid));
	session_csrf(k, tid, out);
}

int
session_token_ok(const struct keyring *kr, const char *purpose, const char *id,
		 long long now, const char *token)
{
	long long window = now / TOKEN_WINDOW;
	char tid[400];

	token_id(purpose, id, window, tid, sizeof(tid));
	if (session_csrf_ok(kr, tid, token))
		return 1;
	token_id(purpose, id, window - 1, tid, sizeof(tid));
	return session_csrf_ok(kr, tid, token);
}
