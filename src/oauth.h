/* OAuth 2.0 as InsureSign speaks it: authorize URL, code exchange, refresh. */
#ifndef OAUTH_H
#define OAUTH_H

#include "buf.h"
#include "config.h"
#include "http.h"

#define EXPIRES_IN_MAX 31536000 /* a year: anything longer is a bug */
#define TOKEN_MAX      8192

struct oauth_tokens {
	char *access_token;
	char *refresh_token; /* NULL when the reply had none */
	char *token_type;
	char *scope;
	long long expires_in;
};

/* What the token endpoint did; the caller maps it to its own words. */
enum oauth_rc {
	OAUTH_OK = 0,
	OAUTH_INVALID_GRANT,  /* RFC 6749 section 5.2: the grant is spent */
	OAUTH_INVALID_CLIENT, /* 401, or 5.2 invalid_client: our credentials */
	OAUTH_REJECTED,	      /* any other section 5.2 error reply */
	OAUTH_SERVER_ERROR,   /* 5xx */
	OAUTH_RATE_LIMITED,   /* 429 */
	OAUTH_TIMEOUT,	      /* connect or total timeout */
	OAUTH_NETWORK,	      /* refused, reset, DNS, ... */
	OAUTH_TLS,	      /* handshake or certificate failure */
	OAUTH_BAD_REPLY,      /* a 3xx, not JSON, wrong types, too big */
	OAUTH__MAX
};

struct oauth_result {
	enum oauth_rc rc;
	long status;	/* HTTP status, 0 when no reply came */
	char error[65]; /* the server's error code, checked to be safe */
};

int oauth_authorize_url(const struct config *cfg, const char *state,
			const char *challenge, struct buf *out);

enum oauth_rc oauth_exchange(struct http *h, const struct config *cfg,
			     const char *code, const char *verifier,
			     struct oauth_tokens *t, struct oauth_result *r);
enum oauth_rc oauth_refresh(struct http *h, const struct config *cfg,
			    const char *refresh_token, struct oauth_tokens *t,
			    struct oauth_result *r);
/* RFC 7009; only when [insuresign] revocation_url is set. */
enum oauth_rc oauth_revoke(struct http *h, const struct config *cfg,
			   const char *refresh_token, struct oauth_result *r);

/* Validates a token endpoint reply (RFC 6749 sections 5.1 and 5.2). */
enum oauth_rc oauth_parse_reply(long status, const char *body, size_t len,
				struct oauth_tokens *t, struct oauth_result *r);
void oauth_tokens_free(struct oauth_tokens *t);
/* "invalid_grant", "timeout", ...: for log lines. */
const char *oauth_rc_name(enum oauth_rc rc);

/* The server's error code where it says more than oauth_rc_name ("" for
 * invalid_client when rc is OAUTH_INVALID_CLIENT), for log lines. */
const char *oauth_error_detail(const struct oauth_result *r);

#endif
