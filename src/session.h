/* The browser's session: its cookie, its id, and what is derived from it. */
#ifndef SESSION_H
#define SESSION_H

#include "config.h"
#include "keyring.h"
#include "request.h"
#include "response.h"

#define SESSION_ID_LEN 43 /* 256 random bits, base64url */
#define SESSION_MAX    256
#define CSRF_LEN       43

struct session {
	char id[SESSION_MAX + 1]; /* "" when the request has none */
	int is_new;		  /* made by this request: set the cookie */
};

/* The cookie's name: the __Host- prefix when it is Secure (RFC 6265bis). */
void session_cookie_name(const struct config *cfg, int https, char *out,
			 size_t len);
int session_secure(const struct config *cfg, int https);

/*
 * Takes the id from the request's cookie.  A value of the wrong length or
 * alphabet, or the name twice, counts as no session at all.
 */
void session_read(const struct config *cfg, const struct request *req,
		  struct session *s);
int session_id_valid(const struct config *cfg, const char *id);
/* A fresh random id (also used to rotate the id once a link is made). */
int session_create(struct session *s);
/* Sets (or renews) the cookie, for [store] max_idle_days. */
void session_set_cookie(const struct config *cfg, const struct request *req,
			struct response *res, const struct session *s);

/* A per-session CSRF token (HMAC of the id), accepted under any key. */
void session_csrf(const struct key *k, const char *id, char *out);
int session_csrf_ok(const struct keyring *kr, const char *id,
		    const char *token);

/*
 * A token for one purpose ("admin", "connect") and one id (a user name, a
 * session id), good for an hour: a token once seen (a saved page, a screen
 * share, a log) stops working within two hours; the last hour's is still
 * accepted, so a page loaded just before the hour turns still works.
 */
#define TOKEN_WINDOW 3600
void session_token(const struct key *k, const char *purpose, const char *id,
		   long long now, char *out);
int session_token_ok(const struct keyring *kr, const char *purpose,
		     const char *id, long long now, const char *token);

#endif
