/*
 * http.h without a network, for the unit tests and the fuzzers: linked
 * instead of src/http.c.  What is posted is checked (a form body and
 * Basic credentials, nothing else: a broken one aborts, as the fuzzers
 * want), remembered, and answered from the canned table.
 */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_stub.h"
#include "url.h"

#define STUB_CHECK(cond)                                                  \
	do {                                                              \
		if (!(cond)) {                                            \
			fprintf(stderr, "%s:%d: STUB_CHECK(%s) failed\n", \
				__FILE__, __LINE__, #cond);               \
			abort();                                          \
		}                                                         \
	} while (0)

unsigned http_stub_reply;
unsigned long http_stub_calls;
char http_stub_url[512];
char http_stub_body[4096];
void (*http_stub_during)(void);

struct canned {
	enum http_rc rc;
	long status;
	const char *body;
};

static const struct canned replies[HTTP_STUB_REPLIES] = {
	/* The mock's code exchange and refresh (RFC 6749 section 5.1). */
	[HTTP_STUB_EXCHANGE] = { HTTP_OK, 200,
				 "{\"access_token\":\"" HTTP_STUB_AT "\","
				 "\"refresh_token\":\"" HTTP_STUB_RT "\","
				 "\"expires_in\":3600,\"token_type\":"
				 "\"Bearer\"}" },
	/* A refresh reply as InsureSign documents it: no refresh_token. */
	[HTTP_STUB_REFRESH] = { HTTP_OK, 200,
				"{\"access_token\":\"" HTTP_STUB_AT2 "\","
				"\"expires_in\":3600,\"token_type\":\"Bearer\","
				"\"scope\":\"documents\"}" },
	/* RFC 6749 section 5.2, as the mock words them. */
	[HTTP_STUB_INVALID_GRANT] = { HTTP_OK, 400,
				      "{\"error\":\"invalid_grant\","
				      "\"error_description\":\"unknown "
				      "authorization code\"}" },
	[HTTP_STUB_INVALID_CLIENT] = { HTTP_OK, 401,
				       "{\"error\":\"invalid_client\","
				       "\"error_description\":\"client "
				       "authentication failed\"}" },
	[HTTP_STUB_SERVER_ERROR] = { HTTP_OK, 500,
				     "{\"error\":\"server_error\","
				     "\"error_description\":\"mock fault\"}" },
	[HTTP_STUB_TIMEOUT] = { HTTP_TIMEOUT, 0, NULL },
	/* The mock's invalid_json switch: a truncated body. */
	[HTTP_STUB_TRUNCATED] = { HTTP_OK, 200,
				  "{\"access_token\":\"at_trunc" },
	[HTTP_STUB_NETWORK] = { HTTP_NETWORK, 0, NULL },
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

int
http_load(char *err, size_t len)
{
	(void)err;
	(void)len;
	return 0;
}

/* application/x-www-form-urlencoded as url_encode_form writes it. */
/* No libcurl here: the host as config.c reads it (which refuses what
 * libcurl would read otherwise). */
int
http_check_url(const char *url, char *host, size_t len, char *err,
	       size_t errlen)
{
	if (config_url_host(url, host, len) == 0)
		return 0;
	snprintf(err, errlen, "no host");
	return -1;
}

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
	const struct canned *c = &replies[http_stub_reply % HTTP_STUB_REPLIES];

	memset(reply, 0, sizeof(*reply));
	buf_init(&reply->body, HTTP_REPLY_MAX);
	STUB_CHECK(h != NULL && url != NULL && body != NULL);
	STUB_CHECK(strncmp(authorization, "Authorization: Basic ", 21) == 0);
	STUB_CHECK(form_encoded(body));
	http_stub_calls++;
	snprintf(http_stub_url, sizeof(http_stub_url), "%s", url);
	snprintf(http_stub_body, sizeof(http_stub_body), "%s", body);
	if (http_stub_during != NULL)
		http_stub_during();
	if (c->rc != HTTP_OK)
		return c->rc;
	reply->status = c->status;
	if (buf_adds(&reply->body, c->body) == -1)
		return HTTP_TOO_BIG;
	return HTTP_OK;
}

void
http_reply_free(struct http_reply *reply)
{
	buf_free(&reply->body);
}

enum http_rc
http_probe(const struct config *cfg, const char *url, const char *ca_file,
	   char *err, size_t len)
{
	(void)ca_file;
	STUB_CHECK(cfg != NULL && url != NULL);
	/* The network replies of the table refuse; the rest connect. */
	if (replies[http_stub_reply % HTTP_STUB_REPLIES].rc == HTTP_OK)
		return HTTP_OK;
	snprintf(err, len, "stub: no connection");
	return replies[http_stub_reply % HTTP_STUB_REPLIES].rc;
}

/* What the event receiver answers (tests set it), and what it got. */
long http_stub_event_status = 204;
enum http_rc http_stub_event_rc = HTTP_OK;
unsigned long http_stub_events;
char http_stub_event_headers[3][512];

enum http_rc
http_post(struct http *h, const char *url, const char *const *headers,
	  const char *body, struct http_reply *reply)
{
	size_t i;

	memset(reply, 0, sizeof(*reply));
	buf_init(&reply->body, HTTP_REPLY_MAX);
	STUB_CHECK(h != NULL && url != NULL && body != NULL);
	http_stub_events++;
	snprintf(http_stub_url, sizeof(http_stub_url), "%s", url);
	snprintf(http_stub_body, sizeof(http_stub_body), "%s", body);
	for (i = 0; i < 3 && headers[i] != NULL; i++)
		snprintf(http_stub_event_headers[i],
			 sizeof(http_stub_event_headers[i]), "%s", headers[i]);
	if (http_stub_during != NULL)
		http_stub_during();
	if (http_stub_event_rc != HTTP_OK)
		return http_stub_event_rc;
	reply->status = http_stub_event_status;
	return HTTP_OK;
}

struct http *
http_new_with(const struct config *cfg, unsigned timeout, const char *ca_file)
{
	(void)timeout;
	(void)ca_file;
	return http_new(cfg);
}
