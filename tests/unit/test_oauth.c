/* Unit tests for oauth.c: token replies and the authorization URL. */
#include <stdlib.h>
#include <string.h>

#include "oauth.h"
#include "unit.h"

#define AUTHZ	 "https://sign-auth.insuresign.io/oauth2/authorize"
#define REDIRECT "https://app.example/insuresign/callback"
#define PARAMS                                                   \
	"response_type=code&client_id=my%20client&redirect_uri=" \
	"https%3A%2F%2Fapp.example%2Finsuresign%2Fcallback&state=st-1_x"
#define URL_HEAD  AUTHZ "?" PARAMS
#define CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

/* A reply with one member's value swapped for the test's. */
#define REPLY(at, tt, ei) \
	"{\"access_token\":" at ",\"token_type\":" tt ",\"expires_in\":" ei "}"
#define GOOD REPLY("\"at-1\"", "\"Bearer\"", "3600")

static struct oauth_tokens t;
static struct oauth_result r;

static enum oauth_rc
parse(long status, const char *body)
{
	oauth_tokens_free(&t);
	memset(&r, 0, sizeof(r));
	return oauth_parse_reply(status, body, strlen(body), &t, &r);
}

/* A bad 200 reply: refused, and nothing half-parsed left in t. */
static int
bad_reply(const char *body)
{
	return parse(200, body) == OAUTH_BAD_REPLY && r.rc == OAUTH_BAD_REPLY &&
	       t.access_token == NULL && t.token_type == NULL &&
	       t.refresh_token == NULL;
}

static char authorize_url[] = AUTHZ;
static char authorize_url_q[] = "https://idp.example/auth?tenant=a";
static char client_id[] = "my client";
static char redirect_uri[] = REDIRECT;
static char scope[] = "documents:read write";

static void
make_config(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->authorize_url = authorize_url;
	cfg->client_id = client_id;
	cfg->redirect_uri = redirect_uri;
}

static const char *
authz_url(const struct config *cfg, const char *challenge, struct buf *b)
{
	buf_init(b, 4096);
	if (oauth_authorize_url(cfg, "st-1_x", challenge, b) == -1)
		return NULL;
	return buf_str(b);
}

static void
good_reply_gives_every_member(void)
{
	CHECK(parse(200, "{\"access_token\":\"at-1\",\"token_type\":\"Bearer\","
			 "\"expires_in\":3600,\"refresh_token\":\"rt-1\","
			 "\"scope\":\"a b\"}") == OAUTH_OK);
	CHECK(r.rc == OAUTH_OK && r.status == 200);
	CHECK_STR(t.access_token, "at-1");
	CHECK_STR(t.token_type, "Bearer");
	CHECK_STR(t.refresh_token, "rt-1");
	CHECK_STR(t.scope, "a b");
	CHECK(t.expires_in == 3600);
}

static void
good_reply_without_refresh_token_or_scope(void)
{
	/* InsureSign's documented refresh reply has no refresh_token. */
	CHECK(parse(200, GOOD) == OAUTH_OK);
	CHECK(t.refresh_token == NULL && t.scope == NULL);
	CHECK(parse(200,
		    "{\"access_token\":\"a\",\"token_type\":\"Bearer\","
		    "\"expires_in\":60,\"refresh_token\":null}") == OAUTH_OK);
	CHECK(t.refresh_token == NULL);
}

static void
token_type_bearer_is_case_insensitive(void)
{
	/* RFC 6749 section 5.1: token_type "is case insensitive". */
	CHECK(parse(200, REPLY("\"a\"", "\"bearer\"", "60")) == OAUTH_OK);
	CHECK(parse(200, REPLY("\"a\"", "\"BEARER\"", "60")) == OAUTH_OK);
}

static void
reply_length_is_honoured(void)
{
	const char *body = GOOD "trailing junk";

	oauth_tokens_free(&t);
	CHECK(oauth_parse_reply(200, body, strlen(GOOD), &t, &r) == OAUTH_OK);
	oauth_tokens_free(&t);
	CHECK(oauth_parse_reply(200, body, strlen(GOOD) - 1, &t, &r) ==
	      OAUTH_BAD_REPLY);
}

static void
access_token_must_be_a_nonempty_string(void)
{
	CHECK(bad_reply("{\"token_type\":\"Bearer\",\"expires_in\":60}"));
	CHECK(bad_reply(REPLY("\"\"", "\"Bearer\"", "60")));
	CHECK(bad_reply(REPLY("null", "\"Bearer\"", "60")));
	CHECK(bad_reply(REPLY("12345", "\"Bearer\"", "60")));
	CHECK(bad_reply(REPLY("[\"a\"]", "\"Bearer\"", "60")));
}

static void
access_token_must_be_printable_ascii(void)
{
	/* RFC 6749 Appendix A.12: access-token = 1*VSCHAR. */
	CHECK(bad_reply(REPLY("\"a\\nb\"", "\"Bearer\"", "60")));
	CHECK(bad_reply(REPLY("\"caf\\u00e9\"", "\"Bearer\"", "60")));
}

static void
access_token_over_token_max_is_refused(void)
{
	size_t n = TOKEN_MAX + 1, i;
	char *body = malloc(n + 100);

	CHECK(body != NULL);
	if (body == NULL)
		return;
	i = (size_t)snprintf(body, 100, "{\"access_token\":\"");
	memset(body + i, 'a', n);
	snprintf(body + i + n, 100,
		 "\",\"token_type\":\"Bearer\",\"expires_in\":60}");
	CHECK(bad_reply(body));
	free(body);
}

static void
token_type_other_than_bearer_is_refused(void)
{
	/* RFC 6750 is the only token type we know how to present. */
	CHECK(bad_reply(REPLY("\"a\"", "\"mac\"", "60")));
	CHECK(bad_reply(REPLY("\"a\"", "\"Bearer2\"", "60")));
	CHECK(bad_reply("{\"access_token\":\"a\",\"expires_in\":60}"));
}

static void
expires_in_must_be_a_whole_number_up_to_a_year(void)
{
	CHECK(bad_reply("{\"access_token\":\"a\",\"token_type\":\"Bearer\"}"));
	CHECK(bad_reply(REPLY("\"a\"", "\"Bearer\"", "0")));
	CHECK(bad_reply(REPLY("\"a\"", "\"Bearer\"", "-5")));
	CHECK(bad_reply(REPLY("\"a\"", "\"Bearer\"", "3600.5")));
	CHECK(bad_reply(REPLY("\"a\"", "\"Bearer\"", "\"3600\"")));
	CHECK(bad_reply(REPLY("\"a\"", "\"Bearer\"", "1e12")));
	CHECK(bad_reply(REPLY("\"a\"", "\"Bearer\"", "31536001")));
	CHECK(parse(200, REPLY("\"a\"", "\"Bearer\"", "31536000")) == OAUTH_OK);
	CHECK(t.expires_in == EXPIRES_IN_MAX);
}

static void
reply_that_is_not_a_json_object_is_refused(void)
{
	CHECK(bad_reply("<html><body>Sign in</body></html>"));
	CHECK(bad_reply("[" GOOD "]"));
	CHECK(bad_reply("\"at-1\""));
	CHECK(bad_reply(""));
	CHECK(bad_reply("{\"access_token\":\"a\","));
}

static void
invalid_grant_means_the_grant_is_gone(void)
{
	/* RFC 6749 section 5.2: the refresh token is dead; reconnect. */
	CHECK(parse(400, "{\"error\":\"invalid_grant\"}") ==
	      OAUTH_INVALID_GRANT);
	CHECK(r.rc == OAUTH_INVALID_GRANT && r.status == 400);
	CHECK_STR(r.error, "invalid_grant");
}

static void
status_401_is_invalid_client(void)
{
	CHECK(parse(401, "{\"error\":\"invalid_client\"}") ==
	      OAUTH_INVALID_CLIENT);
	CHECK(parse(401, "{\"error\":\"unauthorized\"}") ==
	      OAUTH_INVALID_CLIENT);
	CHECK_STR(r.error, "unauthorized");
	CHECK(parse(400, "{\"error\":\"invalid_client\"}") ==
	      OAUTH_INVALID_CLIENT);
	/* RFC 6749 section 5.2: a 401 is client authentication failing,
	 * whatever (if anything) its body says. */
	CHECK(parse(401, "<html>Unauthorized</html>") == OAUTH_INVALID_CLIENT);
	CHECK_STR(r.error, "invalid_client");
}

static void
other_error_codes_are_rejected_and_kept(void)
{
	CHECK(parse(400, "{\"error\":\"invalid_scope\","
			 "\"error_description\":\"no\"}") == OAUTH_REJECTED);
	CHECK_STR(r.error, "invalid_scope");
}

static void
unsafe_error_codes_become_unknown(void)
{
	char body[200];

	/* The code goes to logs and pages: only a short, plain word. */
	CHECK(parse(400, "{\"error\":\"<script>\"}") == OAUTH_REJECTED);
	CHECK_STR(r.error, "unknown");
	snprintf(body, sizeof(body), "{\"error\":\"%065d\"}", 0);
	CHECK(parse(400, body) == OAUTH_REJECTED);
	CHECK_STR(r.error, "unknown");
	snprintf(body, sizeof(body), "{\"error\":\"%064d\"}", 0);
	CHECK(parse(400, body) == OAUTH_REJECTED);
	CHECK(strlen(r.error) == 64);
	CHECK(parse(400, "{\"error\":42}") == OAUTH_REJECTED);
	CHECK_STR(r.error, "unknown");
}

static void
server_errors_are_server_errors(void)
{
	CHECK(parse(500, "{\"error\":\"invalid_grant\"}") ==
	      OAUTH_SERVER_ERROR);
	CHECK(parse(503, "<html>down</html>") == OAUTH_SERVER_ERROR);
	CHECK(r.status == 503);
}

static void
status_429_is_rate_limited(void)
{
	CHECK(parse(429, "") == OAUTH_RATE_LIMITED);
}

static void
redirects_and_html_are_bad_replies(void)
{
	/* A 3xx is never followed: the token request must not move. */
	CHECK(parse(302, "") == OAUTH_BAD_REPLY);
	CHECK(r.status == 302);
	CHECK(parse(302, GOOD) == OAUTH_BAD_REPLY);
	CHECK(parse(400, "<html>Bad Request</html>") == OAUTH_BAD_REPLY);
	CHECK(parse(404, "{\"error\":\"invalid_grant\"}") == OAUTH_BAD_REPLY);
}

static void
result_names_are_the_words_the_logs_use(void)
{
	/* The callback logs a failed code exchange in these words. */
	CHECK_STR(oauth_rc_name(OAUTH_INVALID_GRANT), "invalid_grant");
	CHECK_STR(oauth_rc_name(OAUTH_TIMEOUT), "timeout");
	CHECK_STR(oauth_rc_name(OAUTH_TLS), "tls_error");
	CHECK_STR(oauth_rc_name(OAUTH_BAD_REPLY), "bad_reply");
	CHECK_STR(oauth_rc_name(OAUTH__MAX), "unknown");
	CHECK_STR(oauth_rc_name((enum oauth_rc) - 1), "unknown");
}

static void
authorize_url_has_the_rfc6749_parameters(void)
{
	struct config cfg;
	struct buf b;

	/* RFC 6749 section 4.1.1, with state (section 10.12). */
	make_config(&cfg);
	CHECK_STR(authz_url(&cfg, NULL, &b), URL_HEAD);
	buf_free(&b);
}

static void
authorize_url_adds_the_s256_challenge(void)
{
	struct config cfg;
	struct buf b;

	/* RFC 7636 section 4.3. */
	make_config(&cfg);
	CHECK_STR(authz_url(&cfg, CHALLENGE, &b), URL_HEAD
		  "&code_challenge=" CHALLENGE "&code_challenge_method=S256");
	buf_free(&b);
}

static void
authorize_url_adds_an_encoded_scope(void)
{
	struct config cfg;
	struct buf b;

	make_config(&cfg);
	cfg.scope = scope;
	CHECK_STR(authz_url(&cfg, CHALLENGE, &b), URL_HEAD
		  "&scope=documents%3Aread%20write"
		  "&code_challenge=" CHALLENGE "&code_challenge_method=S256");
	buf_free(&b);
}

static void
authorize_url_joins_an_existing_query_with_ampersand(void)
{
	struct config cfg;
	struct buf b;

	/* RFC 6749 section 3.1: the endpoint's query must be kept. */
	make_config(&cfg);
	cfg.authorize_url = authorize_url_q;
	CHECK_STR(authz_url(&cfg, NULL, &b),
		  "https://idp.example/auth?tenant=a&" PARAMS);
	buf_free(&b);
}

int
main(void)
{
	RUN(good_reply_gives_every_member);
	RUN(good_reply_without_refresh_token_or_scope);
	RUN(token_type_bearer_is_case_insensitive);
	RUN(reply_length_is_honoured);
	RUN(access_token_must_be_a_nonempty_string);
	RUN(access_token_must_be_printable_ascii);
	RUN(access_token_over_token_max_is_refused);
	RUN(token_type_other_than_bearer_is_refused);
	RUN(expires_in_must_be_a_whole_number_up_to_a_year);
	RUN(reply_that_is_not_a_json_object_is_refused);
	RUN(invalid_grant_means_the_grant_is_gone);
	RUN(status_401_is_invalid_client);
	RUN(other_error_codes_are_rejected_and_kept);
	RUN(unsafe_error_codes_become_unknown);
	RUN(server_errors_are_server_errors);
	RUN(status_429_is_rate_limited);
	RUN(redirects_and_html_are_bad_replies);
	RUN(result_names_are_the_words_the_logs_use);
	RUN(authorize_url_has_the_rfc6749_parameters);
	RUN(authorize_url_adds_the_s256_challenge);
	RUN(authorize_url_adds_an_encoded_scope);
	RUN(authorize_url_joins_an_existing_query_with_ampersand);
	oauth_tokens_free(&t);
	return DONE();
}
