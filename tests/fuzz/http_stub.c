/*
 * http.h for the fuzzers: no network, the token endpoint answers from a
 * table of canned replies (the mock's, tests/mock/insuresign_mock.py), the
 * harness picking one per input through fuzz_http_reply.  What is posted
 * is checked: a form body and Basic credentials, nothing else.
 */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http_stub.h"

unsigned fuzz_http_reply;
unsigned long fuzz_http_calls;

struct canned {
	enum http_rc rc;
	long status;
	const char *body;
};

static const struct canned replies[FUZZ_HTTP_REPLIES] = {
	/* The mock's code exchange and refresh (RFC 6749 section 5.1). */
	{ HTTP_OK, 200,
	  "{\"access_token\":\"" FUZZ_STUB_AT "\","
	  "\"refresh_token\":\"" FUZZ_STUB_RT "\","
	  "\"expires_in\":3600,\"token_type\":\"Bearer\"}" },
	/* A refresh reply as InsureSign documents it: no refresh_token. */
	{ HTTP_OK, 200,
	  "{\"access_token\":\"" FUZZ_STUB_AT2 "\","
	  "\"expires_in\":3600,\"token_type\":\"Bearer\","
	  "\"scope\":\"documents\"}" },
	/* RFC 6749 section 5.2, as the mock words them. */
	{ HTTP_OK, 400,
	  "{\"error\":\"invalid_grant\",\"error_description\":\"unknown "
	  "authorization code\"}" },
	{ HTTP_OK, 401,
	  "{\"error\":\"invalid_client\",\"error_description\":\"client "
	  "authentication failed\"}" },
	{ HTTP_OK, 500,
	  "{\"error\":\"server_error\",\"error_description\":\"mock fault\"}" },
	{ HTTP_TIMEOUT, 0, NULL },
	/* The mock's invalid_json switch: a truncated body. */
	{ HTTP_OK, 200, "{\"access_token\":\"at_trunc" },
	{ HTTP_NETWORK, 0, NULL },
};

struct http {
	const struct config *cfg;
};

struct http *
http_new(const struct config *cfg)
{
	struct http *h = calloc(1, sizeof(*h));

	if (h != NULL)
		h->cfg = cfg;
	return h;
}

void
http_free(struct http *h)
{
	free(h);
}

/* application/x-www-form-urlencoded as buf_add_form writes it. */
static int
form_encoded(const char *s)
{
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789-._~%+&=") == strlen(s);
}

enum http_rc
http_post_form(struct http *h, const char *url, const char *authorization,
	       const char *body, struct http_reply *reply)
{
	const struct canned *c = &replies[fuzz_http_reply % FUZZ_HTTP_REPLIES];

	memset(reply, 0, sizeof(*reply));
	buf_init(&reply->body, HTTP_REPLY_MAX);
	FUZZ_CHECK(h != NULL && url != NULL && body != NULL);
	FUZZ_CHECK(strncmp(authorization, "Basic ", 6) == 0);
	FUZZ_CHECK(form_encoded(body));
	fuzz_http_calls++;
	if (c->rc != HTTP_OK)
		return c->rc;
	reply->status = c->status;
	snprintf(reply->content_type, sizeof(reply->content_type),
		 "application/json");
	if (buf_adds(&reply->body, c->body) == -1)
		return HTTP_TOO_BIG;
	return HTTP_OK;
}

void
http_reply_free(struct http_reply *reply)
{
	buf_free(&reply->body);
}
