/* Unit tests for request.c, and route.c's return_to and notice helpers. */
#include <stdlib.h>
#include <string.h>

#include "handler.h"
#include "nitems.h"
#include "request.h"
#include "unit.h"

#define CSRF43 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123-_Z"

static struct config cfg;
static struct request req;

/* The body the next request reads (NULL: as much as it asks for), and
 * whether its reading runs past the deadline. */
static const char *body;
static int body_late;

static long
read_body(void *ctx, char *buf, size_t len)
{
	size_t n = body != NULL ? strlen(body) : len;

	(void)ctx;
	if (n > len)
		n = len;
	if (body != NULL)
		memcpy(buf, body, n);
	else
		memset(buf, 'x', n);
	return n < len && body_late ? -1 : (long)n;
}

/*
 * request_read takes char *const *, as environ is; copying the test's
 * string literals into one pool keeps them writable and -Wwrite-strings
 * quiet.  The request points into the pool, so it lives until the next.
 */
static int
parse_from(const char *const *vars, int trusted)
{
	static char pool[64 * 1024];
	static char *env[32];
	struct request_source src = { env, read_body, NULL, trusted };
	size_t i, o = 0;

	for (i = 0; vars[i] != NULL && i < 31; i++) {
		size_t n = strlen(vars[i]) + 1;

		if (n > sizeof(pool) - o)
			abort();
		memcpy(pool + o, vars[i], n);
		env[i] = pool + o;
		o += n;
	}
	env[i] = NULL;
	return request_read(&req, &src, &cfg);
}

static int
parse(const char *const *vars)
{
	body = NULL;
	body_late = 0;
	return parse_from(vars, 1);
}

#define PARSE(...) parse((const char *const[]){ __VA_ARGS__, NULL })

/* name followed by n copies of unit, in a buffer the caller frees. */
static char *
long_var(const char *name, const char *unit, size_t n)
{
	size_t nl = strlen(name), ul = strlen(unit), i;
	char *s = malloc(nl + n * ul + 1);

	if (s == NULL)
		abort();
	memcpy(s, name, nl);
	for (i = 0; i < n; i++)
		memcpy(s + nl + i * ul, unit, ul);
	s[nl + n * ul] = '\0';
	return s;
}

/* Parses a form body with the given Content-Type. */
static int
parse_body(const char *type, const char *form)
{
	char ct[128], cl[64];

	snprintf(ct, sizeof(ct), "CONTENT_TYPE=%s", type);
	snprintf(cl, sizeof(cl), "CONTENT_LENGTH=%zu", strlen(form));
	body = form;
	body_late = 0;
	return parse_from((const char *const[]){ "REQUEST_METHOD=POST",
						 "REQUEST_URI=/insuresign/"
						 "disconnect",
						 ct, cl, NULL },
			  1);
}

/* The state of one query field, from QUERY_STRING=q. */
static enum field_state
query_field(const char *q, enum param p)
{
	char var[512];

	snprintf(var, sizeof(var), "QUERY_STRING=%s", q);
	/* No test expects an absent field from here: a refusal fails it. */
	if (PARSE("REQUEST_METHOD=GET", var) != 0)
		return FIELD_ABSENT;
	return req.query[p].state;
}

/* Only what request_read reads (config is char *). */
static char base[] = "/insuresign", root[] = "", home[] = "/";
static char proxy4[] = "10.0.0.1", proxy6[] = "::1";
static char account[] = "/account", settings[] = "/settings/";

static void
setup(void)
{
	static char *proxies[] = { proxy4, proxy6 };
	static char *allowed[] = { account, settings };

	memset(&cfg, 0, sizeof(cfg));
	cfg.base_path = base;
	cfg.return_to = home;
	cfg.trusted_proxies.v = proxies;
	cfg.trusted_proxies.n = 2;
	cfg.return_to_allowed.v = allowed;
	cfg.return_to_allowed.n = 2;
}

static void
query_fields_are_decoded(void)
{
	CHECK(PARSE("REQUEST_METHOD=GET", "REQUEST_URI=/insuresign/callback",
		    "QUERY_STRING=code=a%20b+c%2B&state=s1") == 0);
	CHECK(req.query[PARAM_CODE].state == FIELD_OK);
	CHECK_STR(req.query[PARAM_CODE].val, "a b c+");
	CHECK(req.query[PARAM_CODE].len == 6);
	CHECK_STR(req.query[PARAM_STATE].val, "s1");
	CHECK(req.method == METHOD_GET);
}

static void
unknown_params_are_ignored(void)
{
	size_t i, set = 0;

	/* RFC 6749 section 3.1: ignore unrecognized request parameters. */
	CHECK(PARSE("QUERY_STRING=foo=1&&=&bar&code=x&CODE=y") == 0);
	for (i = 0; i < PARAM__MAX; i++)
		set += req.query[i].state != FIELD_ABSENT;
	CHECK(set == 1 && req.query[PARAM_CODE].state == FIELD_OK);
	CHECK(!req.query[PARAM_CODE].dup);
}

static void
duplicated_param_sets_dup(void)
{
	CHECK(PARSE("QUERY_STRING=state=a&code=c&state=b") == 0);
	CHECK(req.query[PARAM_STATE].dup);
	CHECK(!req.query[PARAM_CODE].dup);
}

static void
bad_percent_escape_is_400(void)
{
	CHECK(PARSE("QUERY_STRING=code=%zz") == 400);
	CHECK(PARSE("QUERY_STRING=code=%") == 400);
	CHECK(PARSE("QUERY_STRING=code=%4") == 400);
	CHECK(PARSE("QUERY_STRING=co%xde=1") == 400);
}

static void
decoded_nul_is_400(void)
{
	CHECK(PARSE("QUERY_STRING=state=ab%00cd") == 400);
	CHECK(PARSE("QUERY_STRING=foo%00=1") == 400);
}

static void
query_over_query_max_is_414(void)
{
	char *ok = long_var("QUERY_STRING=", "a", QUERY_MAX);
	char *big = long_var("QUERY_STRING=", "a", QUERY_MAX + 1);

	CHECK(PARSE(ok) == 0);
	CHECK(PARSE(big) == 414);
	free(ok);
	free(big);
}

static void
uri_over_uri_max_is_414(void)
{
	char *big = long_var("REQUEST_URI=/", "a", URI_MAX);

	CHECK(PARSE(big) == 414);
	free(big);
}

static void
cookie_over_cookie_max_is_431(void)
{
	char *ok = long_var("HTTP_COOKIE=", "a", COOKIE_MAX);
	char *big = long_var("HTTP_COOKIE=", "a", COOKIE_MAX + 1);

	/* RFC 6585 section 5: Request Header Fields Too Large. */
	CHECK(PARSE(ok) == 0);
	CHECK(PARSE(big) == 431);
	free(ok);
	free(big);
}

static void
content_length_must_be_digits(void)
{
	/* RFC 3875 section 4.1.2: CONTENT_LENGTH = 1*digit. */
	CHECK(PARSE("CONTENT_LENGTH=-1") == 400);
	CHECK(PARSE("CONTENT_LENGTH=abc") == 400);
	CHECK(PARSE("CONTENT_LENGTH=1e3") == 400);
	CHECK(PARSE("CONTENT_LENGTH= 12") == 400);
	CHECK(PARSE("CONTENT_LENGTH=99999999999999999999999") == 400);
	CHECK(PARSE("CONTENT_LENGTH=12") == 0 && req.content_length == 12);
	CHECK(PARSE("CONTENT_LENGTH=") == 0 && req.content_length == 0);
}

static void
content_length_over_body_max_is_413(void)
{
	char ok[64], big[64];

	snprintf(ok, sizeof(ok), "CONTENT_LENGTH=%d", BODY_MAX);
	snprintf(big, sizeof(big), "CONTENT_LENGTH=%d", BODY_MAX + 1);
	CHECK(PARSE(ok) == 0 && req.content_length == BODY_MAX);
	CHECK(PARSE(big) == 413);
	/* Kept, so that CGI mode can drain what the client announced. */
	CHECK(req.content_length == BODY_MAX + 1);
}

static void
path_comes_from_request_uri_without_its_query(void)
{
	CHECK(PARSE("REQUEST_URI=/insuresign/callback?code=1&state=2",
		    "SCRIPT_NAME=/cgi-bin/x.fcgi",
		    "PATH_INFO=/elsewhere") == 0);
	CHECK_STR(req.path, "/callback");
}

static void
path_comes_from_script_name_and_path_info_without_uri(void)
{
	CHECK(PARSE("SCRIPT_NAME=/insuresign", "PATH_INFO=/status") == 0);
	CHECK_STR(req.path, "/status");
}

static void
path_is_empty_at_the_base_path_itself(void)
{
	CHECK(PARSE("REQUEST_URI=/insuresign") == 0);
	CHECK_STR(req.path, "");
	CHECK(PARSE("REQUEST_URI=/insuresign?x=1") == 0);
	CHECK_STR(req.path, "");
}

static void
path_outside_base_path_is_null(void)
{
	CHECK(PARSE("REQUEST_URI=/other/callback") == 0);
	CHECK(req.path == NULL);
	CHECK(PARSE("REQUEST_URI=/") == 0);
	CHECK(req.path == NULL);
	CHECK(PARSE("REQUEST_URI=/insure") == 0);
	CHECK(req.path == NULL);
}

static void
sibling_of_base_path_is_not_under_it(void)
{
	CHECK(PARSE("REQUEST_URI=/insuresignx/callback") == 0);
	CHECK(req.path == NULL);
}

static void
root_base_path_routes_every_path(void)
{
	cfg.base_path = root;
	CHECK(PARSE("REQUEST_URI=/callback?x") == 0);
	CHECK_STR(req.path, "/callback");
	setup();
}

static void
cookies_are_split_trimmed_and_unquoted(void)
{
	int n = -1;

	CHECK(PARSE("HTTP_COOKIE=a=1; b=\"two\";  c = 3 ;d=;e") == 0);
	CHECK_STR(request_cookie(&req, "a", &n), "1");
	CHECK(n == 1);
	CHECK_STR(request_cookie(&req, "b", &n), "two");
	CHECK_STR(request_cookie(&req, "c", &n), "3");
	CHECK_STR(request_cookie(&req, "d", &n), "");
	CHECK(request_cookie(&req, "e", &n) == NULL && n == 0);
	CHECK(request_cookie(&req, "A", &n) == NULL && n == 0);
}

static void
duplicate_cookie_is_counted_twice(void)
{
	int n = 0;

	/* Two values under one name may be a planted cookie (RFC 6265bis
	 * section 8.6): the caller must see that there were two. */
	CHECK(PARSE("HTTP_COOKIE=sid=one; other=x; sid=two") == 0);
	CHECK(request_cookie(&req, "sid", &n) != NULL);
	CHECK(n == 2);
}

static void
https_comes_from_https_or_request_scheme(void)
{
	CHECK(PARSE("HTTPS=on") == 0 && req.https);
	CHECK(PARSE("HTTPS=ON") == 0 && req.https);
	CHECK(PARSE("HTTPS=1") == 0 && req.https);
	CHECK(PARSE("REQUEST_SCHEME=https") == 0 && req.https);
	CHECK(PARSE("HTTPS=off") == 0 && !req.https);
	CHECK(PARSE("REQUEST_SCHEME=http") == 0 && !req.https);
	CHECK(PARSE("REQUEST_METHOD=GET") == 0 && !req.https);
}

static void
forwarded_proto_is_honoured_from_a_trusted_proxy(void)
{
	CHECK(PARSE("REMOTE_ADDR=10.0.0.1", "HTTP_X_FORWARDED_PROTO=https") ==
	      0);
	CHECK(req.https);
	CHECK(PARSE("REMOTE_ADDR=::1", "HTTP_X_FORWARDED_PROTO=https") == 0);
	CHECK(req.https);
	/* The IPv4 proxy as a dual-stack socket reports it (RFC 4291
	 * section 2.5.5.2). */
	CHECK(PARSE("REMOTE_ADDR=::ffff:10.0.0.1",
		    "HTTP_X_FORWARDED_PROTO=https") == 0);
	CHECK(req.https);
}

static void
forwarded_proto_is_ignored_from_anyone_else(void)
{
	CHECK(PARSE("REMOTE_ADDR=10.0.0.2", "HTTP_X_FORWARDED_PROTO=https") ==
	      0);
	CHECK(!req.https);
	CHECK(PARSE("REMOTE_ADDR=::2", "HTTP_X_FORWARDED_PROTO=https") == 0);
	CHECK(!req.https);
	CHECK(PARSE("HTTP_X_FORWARDED_PROTO=https") == 0);
	CHECK(!req.https);
	/* An address that does not parse is never a trusted proxy. */
	CHECK(PARSE("REMOTE_ADDR=junk", "HTTP_X_FORWARDED_PROTO=https") == 0);
	CHECK(!req.https);
}

static void
form_body_is_parsed_for_urlencoded(void)
{
	CHECK(parse_body("application/x-www-form-urlencoded",
			 "csrf=" CSRF43 "&id=ab12") == 0);
	CHECK(req.form[PARAM_CSRF].state == FIELD_OK);
	CHECK_STR(req.form[PARAM_ID].val, "ab12");
	CHECK(req.query[PARAM_ID].state == FIELD_ABSENT);
}

static void
form_body_is_parsed_with_a_charset_parameter(void)
{
	CHECK(parse_body("application/x-www-form-urlencoded; charset=utf-8",
			 "id=ab12") == 0);
	CHECK(req.form[PARAM_ID].state == FIELD_OK);
}

static void
form_content_type_is_case_insensitive(void)
{
	/* RFC 9110 section 8.3.1: type, subtype and parameters. */
	CHECK(parse_body("Application/X-WWW-Form-URLencoded ; charset=UTF-8",
			 "id=ab12") == 0);
	CHECK(req.form[PARAM_ID].state == FIELD_OK);
	CHECK(parse_body("application/x-www-form-urlencodedx", "id=ab12") == 0);
	CHECK(req.form[PARAM_ID].state == FIELD_ABSENT);
}

static void
too_many_cookies_hide_nothing(void)
{
	char *c = long_var("HTTP_COOKIE=sid=1", "; x=1", COOKIES_MAX + 5);
	int n;

	/* A duplicate could hide past the cap: ours then counts as two. */
	CHECK(PARSE("REQUEST_METHOD=GET", c) == 0);
	CHECK(request_cookie(&req, "sid", &n) != NULL);
	CHECK(n > 1);
	free(c);
	c = long_var("HTTP_COOKIE=sid=1", "; x=1", COOKIES_MAX - 2);
	CHECK(PARSE("REQUEST_METHOD=GET", c) == 0);
	CHECK(request_cookie(&req, "sid", &n) != NULL && n == 1);
	free(c);
}

static void
form_body_is_ignored_for_other_types(void)
{
	CHECK(parse_body("multipart/form-data; boundary=x", "id=ab12") == 0);
	CHECK(req.form[PARAM_ID].state == FIELD_ABSENT);
	CHECK(parse_body("text/plain", "id=ab12") == 0);
	CHECK(req.form[PARAM_ID].state == FIELD_ABSENT);
	CHECK(parse_body("application/x-www-form-urlencodedx", "id=ab12") == 0);
	CHECK(req.form[PARAM_ID].state == FIELD_ABSENT);
}

static void
form_body_with_a_bad_escape_is_400(void)
{
	CHECK(parse_body("application/x-www-form-urlencoded", "id=%g1") == 400);
}

static void
return_to_field_refuses_other_hosts(void)
{
	CHECK(query_field("return_to=/account", PARAM_RETURN_TO) == FIELD_OK);
	/* A browser reads "//host" and "/\host" as another site. */
	CHECK(query_field("return_to=//evil.example", PARAM_RETURN_TO) ==
	      FIELD_BAD);
	CHECK(query_field("return_to=%2F%5Cevil", PARAM_RETURN_TO) ==
	      FIELD_BAD);
	CHECK(query_field("return_to=https://evil", PARAM_RETURN_TO) ==
	      FIELD_BAD);
	CHECK(query_field("return_to=/a%0Ab", PARAM_RETURN_TO) == FIELD_BAD);
}

static void
csrf_field_is_43_base64url_characters(void)
{
	CHECK(query_field("csrf=" CSRF43, PARAM_CSRF) == FIELD_OK);
	CHECK(query_field("csrf=" CSRF43 "A", PARAM_CSRF) == FIELD_BAD);
	/* 42 characters: CSRF43 without its first. */
	CHECK(query_field("csrf=bcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123-_Z",
			  PARAM_CSRF) == FIELD_BAD);
	CHECK(query_field("csrf=abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123._Z",
			  PARAM_CSRF) == FIELD_BAD);
}

static void
page_field_is_a_number_from_1_to_1000000(void)
{
	CHECK(query_field("page=1", PARAM_PAGE) == FIELD_OK);
	CHECK(req.query[PARAM_PAGE].num == 1);
	CHECK(query_field("page=1000000", PARAM_PAGE) == FIELD_OK);
	CHECK(req.query[PARAM_PAGE].num == 1000000);
	CHECK(query_field("page=0", PARAM_PAGE) == FIELD_BAD);
	CHECK(query_field("page=1000001", PARAM_PAGE) == FIELD_BAD);
	CHECK(query_field("page=-1", PARAM_PAGE) == FIELD_BAD);
	CHECK(query_field("page=2x", PARAM_PAGE) == FIELD_BAD);
	CHECK(query_field("page=", PARAM_PAGE) == FIELD_BAD);
}

static void
state_field_with_a_control_character_is_bad(void)
{
	CHECK(query_field("state=abc", PARAM_STATE) == FIELD_OK);
	CHECK(query_field("state=ab%01c", PARAM_STATE) == FIELD_BAD);
	CHECK(query_field("state=ab%7Fc", PARAM_STATE) == FIELD_BAD);
	CHECK(query_field("state=", PARAM_STATE) == FIELD_BAD);
}

static void
method_and_remote_user_are_read(void)
{
	CHECK(PARSE("REQUEST_METHOD=POST", "REMOTE_USER=alice") == 0);
	CHECK(req.method == METHOD_POST);
	CHECK_STR(req.remote_user, "alice");
	CHECK(PARSE("REQUEST_METHOD=DELETE", "REMOTE_USER=") == 0);
	CHECK(req.method == METHOD_DELETE);
	CHECK(req.remote_user == NULL);
	CHECK(PARSE("REQUEST_METHOD=PUT") == 0);
	CHECK(req.method == METHOD_OTHER);
}

static void
remote_user_is_dropped_unless_the_connection_vouches_for_it(void)
{
	/* On a TCP listener anyone may connect and claim any name. */
	CHECK(parse_from((const char *const[]){ "REQUEST_METHOD=GET",
						"REMOTE_USER=alice", NULL },
			 0) == 0);
	CHECK(req.remote_user == NULL);
	CHECK(PARSE("REQUEST_METHOD=GET", "REMOTE_USER=alice") == 0);
	CHECK_STR(req.remote_user, "alice");
}

/* A GET never waits for a body: the reader would say "late" here. */
static void
only_a_post_reads_its_body(void)
{
	static const char *const methods[] = { "REQUEST_METHOD=GET",
					       "REQUEST_METHOD=HEAD",
					       "REQUEST_METHOD=PUT" };
	size_t i;

	for (i = 0; i < 3; i++) {
		body = "";
		body_late = 1;
		CHECK(parse_from((const char *const[]){ methods[i],
							"CONTENT_LENGTH=5",
							NULL },
				 1) == 0);
		CHECK(req.content_length == 5 && req.body_len == 0);
	}
	body = "id=ab";
	body_late = 0;
	CHECK(parse_from((const char *const[]){ "REQUEST_METHOD=POST",
						"CONTENT_LENGTH=5", NULL },
			 1) == 0);
	CHECK(req.body_len == 5);
}

static void
body_short_of_content_length_is_400_or_408_when_late(void)
{
	static const char *const post[] = { "REQUEST_METHOD=POST",
					    "CONTENT_LENGTH=10", NULL };

	body = "id=ab";
	body_late = 0;
	CHECK(parse_from(post, 1) == 400); /* the input ended there */
	CHECK(req.body_len == 5);
	body_late = 1;
	CHECK(parse_from(post, 1) == 408); /* the deadline passed */
}

static void
wants_html_follows_sec_fetch_mode_first(void)
{
	/* Fetch Metadata (W3C): "navigate" is a top-level page load. */
	CHECK(PARSE("HTTP_SEC_FETCH_MODE=navigate") == 0);
	CHECK(request_wants_html(&req));
	CHECK(PARSE("HTTP_SEC_FETCH_MODE=cors", "HTTP_ACCEPT=text/html") == 0);
	CHECK(!request_wants_html(&req));
}

static void
wants_html_falls_back_to_accept(void)
{
	CHECK(PARSE("HTTP_ACCEPT=text/html,application/xhtml+xml") == 0);
	CHECK(request_wants_html(&req));
	CHECK(PARSE("HTTP_ACCEPT=application/json") == 0);
	CHECK(!request_wants_html(&req));
	CHECK(PARSE("REQUEST_METHOD=GET") == 0);
	CHECK(!request_wants_html(&req));
}

static void
bearer_scheme_is_case_insensitive(void)
{
	/* RFC 7235 section 2.1: the auth-scheme is case-insensitive. */
	CHECK(PARSE("HTTP_AUTHORIZATION=Bearer abc.DEF-_~+/==") == 0);
	CHECK_STR(req.bearer, "abc.DEF-_~+/==");
	CHECK(PARSE("HTTP_AUTHORIZATION=bearer   k") == 0);
	CHECK_STR(req.bearer, "k");
	CHECK(PARSE("HTTP_AUTHORIZATION=BEARER k") == 0);
	CHECK_STR(req.bearer, "k");
}

static void
other_authorization_carries_no_bearer(void)
{
	CHECK(PARSE("HTTP_AUTHORIZATION=Basic YTpi") == 0);
	CHECK(req.bearer == NULL);
	CHECK(PARSE("HTTP_AUTHORIZATION=Bearer") == 0);
	CHECK(req.bearer == NULL);
	CHECK(PARSE("HTTP_AUTHORIZATION=Bearer ") == 0);
	CHECK(req.bearer == NULL);
	/* RFC 6750 b64token: "=" only at the end, no spaces inside. */
	CHECK(PARSE("HTTP_AUTHORIZATION=Bearer a=b") == 0);
	CHECK(req.bearer == NULL);
	CHECK(PARSE("HTTP_AUTHORIZATION=Bearer a b") == 0);
	CHECK(req.bearer == NULL);
	CHECK(PARSE("HTTP_AUTHORIZATION=Bearerk") == 0);
	CHECK(req.bearer == NULL);
	CHECK(PARSE("REQUEST_METHOD=GET") == 0);
	CHECK(req.bearer == NULL);
}

/* The state of one query field whose value is n copies of c (a %XX
 * counts as one character), after tail. */
static enum field_state
sized_field(const char *name, enum param p, const char *c, size_t n,
	    const char *tail)
{
	size_t cl = strlen(c), nl = strlen(name), tl = strlen(tail), i, o;
	char *var = malloc(32 + nl + n * cl + tl);
	enum field_state st = FIELD_ABSENT;

	if (var == NULL)
		abort();
	o = (size_t)snprintf(var, 32 + nl, "QUERY_STRING=%s=", name);
	for (i = 0; i < n; i++, o += cl)
		memcpy(var + o, c, cl);
	memcpy(var + o, tail, tl + 1);
	if (PARSE("REQUEST_METHOD=GET", var) == 0)
		st = req.query[p].state;
	free(var);
	return st;
}

/* Each field's length bounds, both sides, and a character it refuses. */
static void
each_field_has_its_length_and_characters(void)
{
	static const struct {
		const char *name;
		enum param p;
		size_t min, max;
		const char *ok, *bad;
	} f[] = {
		{ "code", PARAM_CODE, 1, 2048, "a", "%01" },
		{ "state", PARAM_STATE, 1, 512, "a", "%7f" },
		{ "error", PARAM_ERROR, 1, 128, "a", "%22" },
		{ "error_description", PARAM_ERROR_DESCRIPTION, 0, 1024, "a",
		  "%5c" },
		{ "iss", PARAM_ISS, 1, 2048, "a", "%20" },
		{ "id", PARAM_ID, 1, 64, "a", "g" },
		{ "q", PARAM_Q, 1, 64, "0", "x" },
		{ "t", PARAM_TICKET, 1, 1024, "_", "." },
		{ "sort", PARAM_SORT, 1, 32, "a", "A" },
		{ "status", PARAM_FILTER, 1, 32, "-", "1" },
	};
	size_t i;

	for (i = 0; i < nitems(f); i++) {
		CHECK(sized_field(f[i].name, f[i].p, f[i].ok, f[i].max, "") ==
		      FIELD_OK);
		CHECK(sized_field(f[i].name, f[i].p, f[i].ok, f[i].max + 1,
				  "") == FIELD_BAD);
		CHECK(sized_field(f[i].name, f[i].p, f[i].ok, 0, "") ==
		      (f[i].min == 0 ? FIELD_OK : FIELD_BAD));
		CHECK(sized_field(f[i].name, f[i].p, f[i].ok, 1, f[i].bad) ==
		      FIELD_BAD);
		if (unit_bad)
			printf("#   %s\n", f[i].name);
	}
}

int
main(void)
{
	setup();
	RUN(query_fields_are_decoded);
	RUN(each_field_has_its_length_and_characters);
	RUN(unknown_params_are_ignored);
	RUN(duplicated_param_sets_dup);
	RUN(bad_percent_escape_is_400);
	RUN(decoded_nul_is_400);
	RUN(query_over_query_max_is_414);
	RUN(uri_over_uri_max_is_414);
	RUN(cookie_over_cookie_max_is_431);
	RUN(content_length_must_be_digits);
	RUN(content_length_over_body_max_is_413);
	RUN(path_comes_from_request_uri_without_its_query);
	RUN(path_comes_from_script_name_and_path_info_without_uri);
	RUN(path_is_empty_at_the_base_path_itself);
	RUN(path_outside_base_path_is_null);
	RUN(sibling_of_base_path_is_not_under_it);
	RUN(root_base_path_routes_every_path);
	RUN(cookies_are_split_trimmed_and_unquoted);
	RUN(duplicate_cookie_is_counted_twice);
	RUN(https_comes_from_https_or_request_scheme);
	RUN(forwarded_proto_is_honoured_from_a_trusted_proxy);
	RUN(forwarded_proto_is_ignored_from_anyone_else);
	RUN(form_body_is_parsed_for_urlencoded);
	RUN(form_body_is_parsed_with_a_charset_parameter);
	RUN(form_content_type_is_case_insensitive);
	RUN(too_many_cookies_hide_nothing);
	RUN(form_body_is_ignored_for_other_types);
	RUN(form_body_with_a_bad_escape_is_400);
	RUN(return_to_field_refuses_other_hosts);
	RUN(csrf_field_is_43_base64url_characters);
	RUN(page_field_is_a_number_from_1_to_1000000);
	RUN(state_field_with_a_control_character_is_bad);
	RUN(method_and_remote_user_are_read);
	RUN(remote_user_is_dropped_unless_the_connection_vouches_for_it);
	RUN(only_a_post_reads_its_body);
	RUN(body_short_of_content_length_is_400_or_408_when_late);
	RUN(wants_html_follows_sec_fetch_mode_first);
	RUN(wants_html_falls_back_to_accept);
	RUN(bearer_scheme_is_case_insensitive);
	RUN(other_authorization_carries_no_bearer);
	return DONE();
}
