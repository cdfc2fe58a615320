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

enum oauth_rc {
	OAUTH_OK,
	OAUTH_REJECTED,	   /* an RFC 6749 section 5.2 error reply */
	OAUTH_BAD_REPLY,   /* a 3xx, not JSON, wrong types, too big */
	OAUTH_UNAVAILABLE, /* 5xx, 429, network or TLS failure */
	OAUTH_TIMEOUT
};

struct oauth_result {
	enum oauth_rc rc;
	int kind;	/* enum refresh_error, for the record and the logs */
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

/* The server's error code where it says more than the kind's name ("" for
 * invalid_client when the kind is invalid_client), for log lines. */
const char *oauth_error_detail(const struct oauth_result *r);

#endif
