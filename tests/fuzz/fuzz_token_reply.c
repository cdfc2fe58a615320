/*
 * A token endpoint reply (RFC 6749 sections 5.1 and 5.2): oauth_parse_reply
 * on the body, with the HTTP status picked by the first byte.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "oauth.h"

static const long statuses[] = { 200, 400, 401, 429, 500, 302,
				 503, 201, 404, 204, 0,	  599 };

static int
vschar(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oauth_tokens t;
	struct oauth_result r;
	enum oauth_rc rc;
	long status;
	char *body;

	if (size < 1)
		return 0;
	status = statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))];
	/* As http.c hands it over: NUL-terminated, len not counting it. */
	body = malloc(size);
	if (body == NULL)
		return 0;
	memcpy(body, data + 1, size - 1);
	body[size - 1] = '\0';
	memset(&r, 0xa5, sizeof(r));
	rc = oauth_parse_reply(status, body, size - 1, &t, &r);
	FUZZ_CHECK(rc == r.rc && r.status == status);
	FUZZ_CHECK(memchr(r.error, '\0', sizeof(r.error)) != NULL);
	FUZZ_CHECK(rc < OAUTH__MAX);
	if (rc == OAUTH_OK) {
		FUZZ_CHECK(status == 200);
		FUZZ_CHECK(t.access_token != NULL && t.token_type != NULL);
		FUZZ_CHECK(strlen(t.access_token) <= TOKEN_MAX &&
			   vschar(t.access_token));
		FUZZ_CHECK(t.refresh_token == NULL ||
			   (strlen(t.refresh_token) <= TOKEN_MAX &&
			    vschar(t.refresh_token)));
		FUZZ_CHECK(t.expires_in >= 1 && t.expires_in <= EXPIRES_IN_MAX);
	} else {
		/* A failure leaves nothing allocated behind. */
		FUZZ_CHECK(t.access_token == NULL && t.refresh_token == NULL &&
			   t.token_type == NULL && t.scope == NULL);
	}
	oauth_tokens_free(&t);
	free(body);
	return 0;
}
