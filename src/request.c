/* A request: the CGI environment and body, turned into validated fields. */
#include "request.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>

#include "policy.h"
#include "text.h"
#include "url.h"
#include "codec.h"

struct param_def {
	const char *name;
	size_t min, max;	       /* the decoded value's length */
	int (*valid)(struct field *f); /* the bytes' check; NULL: any */
};

static int
all_in(const char *s, size_t len, unsigned char lo, unsigned char hi,
       const char *except)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < lo || c > hi || strchr(except, c) != NULL)
			return 0;
	}
	return 1;
}

/* RFC 6749 Appendix A: code and state are VSCHAR (%x20-7E). */
static int
v_vschar(struct field *f)
{
	return all_in(f->val, f->len, 0x20, 0x7e, "");
}

/* RFC 6749 Appendix A.7 and A.8: error and error_description are NQSCHAR. */
static int
v_nqschar(struct field *f)
{
	return all_in(f->val, f->len, 0x20, 0x7e, "\"\\");
}

static int
v_url(struct field *f)
{
	return all_in(f->val, f->len, 0x21, 0x7e, "");
}

/* A local path only: "/x", never "//host" or "/\host" (open redirects). */
static int
v_local_path(struct field *f)
{
	return policy_local_path(f->val);
}

/* CSRF and purpose tokens (session.c), sealed tickets (ticket.c). */
static int
v_b64url(struct field *f)
{
	return strspn(f->val, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrst"
			      "uvwxyz0123456789-_") == f->len;
}

static int
v_hex(struct field *f)
{
	return hex_valid(f->val, f->len);
}

static int
v_page(struct field *f)
{
	return parse_uint(f->val, 1, 1000000, &f->num) == 0;
}

static int
v_word(struct field *f)
{
	return strspn(f->val, "abcdefghijklmnopqrstuvwxyz_-") == f->len;
}

/* return_to's and page's checks hold their lengths.  A web app's user id:
 * owner.c says whether it is one, so that an id too long or empty gets
 * the 400 that names the rule, not "send user". */
static const struct param_def params[PARAM__MAX] = {
	[PARAM_CODE] = { "code", 1, 2048, v_vschar },
	[PARAM_STATE] = { "state", 1, 512, v_vschar },
	[PARAM_ERROR] = { "error", 1, 128, v_nqschar },
	[PARAM_ERROR_DESCRIPTION] = { "error_description", 0, 1024, v_nqschar },
	[PARAM_ISS] = { "iss", 1, 2048, v_url },
	[PARAM_RETURN_TO] = { "return_to", 0, SIZE_MAX, v_local_path },
	[PARAM_CSRF] = { "csrf", 43, 43, v_b64url },
	[PARAM_ID] = { "id", 1, 64, v_hex },
	[PARAM_PAGE] = { "page", 0, SIZE_MAX, v_page },
	[PARAM_SORT] = { "sort", 1, 32, v_word },
	[PARAM_FILTER] = { "status", 1, 32, v_word },
	[PARAM_Q] = { "q", 1, 64, v_hex },
	[PARAM_FORMAT] = { "format", 1, 32, v_word },
	[PARAM_DONE] = { "done", 1, 32, v_word },
	[PARAM_GO] = { "go", 43, 43, v_b64url },
	[PARAM_USER] = { "user", 0, SIZE_MAX, NULL },
	[PARAM_TICKET] = { "t", 1, 1024, v_b64url },
	[PARAM_MATCH] = { "match", 1, 32, v_word },
};

static void
set_field(struct field *fields, const char *name, char *val, size_t len)
{
	const struct param_def *d;
	struct field *f;
	size_t i;

	for (i = 0; i < PARAM__MAX; i++)
		if (strcmp(params[i].name, name) == 0)
			break;
	if (i == PARAM__MAX)
		return;
	d = &params[i];
	f = &fields[i];
	if (f->state != FIELD_ABSENT) {
		f->dup = 1;
		return;
	}
	f->val = val;
	f->len = len;
	f->state = FIELD_OK;
	if (len < d->min || len > d->max || (d->valid != NULL && !d->valid(f)))
		f->state = FIELD_BAD;
}

int
request_parse_fields(char *s, size_t len, struct field *fields)
{
	char *end = s + len, *p = s;

	while (p < end) {
		char *amp = memchr(p, '&', (size_t)(end - p));
		char *stop = amp != NULL ? amp : end;
		char *eq = memchr(p, '=', (size_t)(stop - p));
		char *val = stop;
		long nl, vl;

		*stop = '\0';
		if (eq != NULL) {
			*eq = '\0';
			val = eq + 1;
		}
		nl = url_decode(p, strlen(p), 1);
		vl = url_decode(val, strlen(val), 1);
		if (nl < 0 || vl < 0)
			return -1;
		if (nl > 0)
			set_field(fields, p, val, (size_t)vl);
		p = stop + 1;
	}
	return 0;
}

/* RFC 6265 section 5.2, leniently: "a=1; b=2", values maybe quoted. */
static void
parse_cookies(struct request *req)
{
	char *p = req->cookiebuf;

	while (*p != '\0') {
		char *semi = strchr(p, ';');
		char *next = semi != NULL ? semi + 1 : p + strlen(p);
		char *eq, *name, *val, *e;

		if (semi != NULL)
			*semi = '\0';
		eq = strchr(p, '=');
		if (eq != NULL) {
			*eq = '\0';
			name = p + strspn(p, " \t");
			for (e = eq;
			     e > name && (e[-1] == ' ' || e[-1] == '\t');)
				*--e = '\0';
			val = eq + 1 + strspn(eq + 1, " \t");
			e = val + strlen(val);
			while (e > val && (e[-1] == ' ' || e[-1] == '\t'))
				*--e = '\0';
			if (e - val >= 2 && val[0] == '"' && e[-1] == '"') {
				e[-1] = '\0';
				val++;
			}
			/* Past the cap a duplicate could hide: say so. */
			if (*name != '\0' && req->ncookies == COOKIES_MAX)
				req->cookies_overflow = 1;
			else if (*name != '\0')
				req->cookies[req->ncookies++] =
					(struct cookie){ name, val };
		}
		p = next;
	}
}

const char *
request_cookie(const struct request *req, const char *name, int *count)
{
	const char *v = NULL;
	size_t i;

	/* Too many cookies to be sure ours came once: believe none. */
	*count = req->cookies_overflow ? 2 : 0;
	for (i = 0; i < req->ncookies; i++) {
		if (strcmp(req->cookies[i].name, name) == 0) {
			v = req->cookies[i].value;
			(*count)++;
		}
	}
	return v;
}

/* The request came from a proxy in [app] trusted_proxies (either spelling
 * of an IPv4 address, policy.c). */
static int
from_trusted_proxy(const struct request *req, const struct config *cfg)
{
	return req->remote_addr != NULL &&
	       policy_address_in(&cfg->trusted_proxies, req->remote_addr);
}

/*
 * The last address in X-Forwarded-For is the one our trusted proxy saw
 * (the earlier ones are whatever the client wrote).  Only addresses are
 * kept, so the value is safe in a log line or as a rate-limit key.
 */
static void
client_addr(struct request *req, const char *xff, const struct config *cfg)
{
	const char *last;
	unsigned char a[16];
	char ip[64];
	size_t n;

	snprintf(req->client_addr, sizeof(req->client_addr), "%s",
		 req->remote_addr != NULL ? req->remote_addr : "");
	if (xff == NULL || !from_trusted_proxy(req, cfg))
		return;
	last = strrchr(xff, ',');
	last = last != NULL ? last + 1 : xff;
	last += strspn(last, " \t");
	n = strcspn(last, " \t");
	if (n == 0 || n >= sizeof(ip))
		return;
	memcpy(ip, last, n);
	ip[n] = '\0';
	if (inet_pton(AF_INET, ip, a) == 1 || inet_pton(AF_INET6, ip, a) == 1)
		memcpy(req->client_addr, ip, n + 1);
}

/*
 * The path below base_path, from REQUEST_URI, which every server sets the
 * same way whatever split of SCRIPT_NAME and PATH_INFO it makes.
 */
static int
route_path(struct request *req, const char *uri, const char *script,
	   const char *pathinfo, const char *base)
{
	size_t n, blen = strlen(base);
	char *p = req->pathbuf;

	/* A variable fits in an int: FastCGI lengths have 31 bits. */
	if (uri != NULL)
		n = (size_t)snprintf(p, URI_MAX + 1, "%.*s",
				     (int)strcspn(uri, "?"), uri);
	else
		n = (size_t)snprintf(p, URI_MAX + 1, "%s%s",
				     script != NULL ? script : "",
				     pathinfo != NULL ? pathinfo : "");
	if (n > URI_MAX)
		return 414;
	if (strncmp(p, base, blen) == 0 && (p[blen] == '/' || p[blen] == '\0'))
		req->path = p + blen;
	return 0;
}

/*
 * RFC 6750 section 2.1: credentials = "Bearer" 1*SP b64token, the scheme
 * case-insensitive (RFC 7235 section 2.1).  Anything else carries no key.
 */
static const char *
bearer(const char *h)
{
	size_t n;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	h += strspn(h, " ");
	n = strspn(h, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		      "0123456789-._~+/");
	n += strspn(h + n, "=");
	return n > 0 && h[n] == '\0' ? h : NULL;
}

static enum method
parse_method(const char *m)
{
	if (m == NULL)
		return METHOD_OTHER;
	if (strcmp(m, "GET") == 0)
		return METHOD_GET;
	if (strcmp(m, "HEAD") == 0)
		return METHOD_HEAD;
	if (strcmp(m, "POST") == 0)
		return METHOD_POST;
	if (strcmp(m, "DELETE") == 0)
		return METHOD_DELETE;
	return METHOD_OTHER;
}

/*
 * A CGI variable's value, or NULL; should it come twice, the last.  The
 * first byte, compared before strncmp(), sets most entries apart: a
 * request's two dozen look-ups then cost less than one pass with a table.
 */
static const char *
read_env(char *const *env, const char *name)
{
	const char *v = NULL;
	size_t i, n = strlen(name);

	for (i = 0; env[i] != NULL; i++)
		if (env[i][0] == name[0] && strncmp(env[i], name, n) == 0 &&
		    env[i][n] == '=')
			v = env[i] + n + 1;
	return v;
}

static int
parse_env(struct request *req, const struct request_source *src,
	  const struct config *cfg)
{
	char *const *env = src->env;
	const char *user = read_env(env, "REMOTE_USER");
	const char *https = read_env(env, "HTTPS");
	const char *scheme = read_env(env, "REQUEST_SCHEME");
	const char *proto = read_env(env, "HTTP_X_FORWARDED_PROTO");
	const char *length = read_env(env, "CONTENT_LENGTH");
	const char *query = read_env(env, "QUERY_STRING");
	const char *cookie = read_env(env, "HTTP_COOKIE");
	unsigned long long cl = 0;
	size_t n;
	int rc;

	/* Every field before the buffers (request.h); the buffers are filled
	 * before they are read. */
	memset(req, 0, offsetof(struct request, pathbuf));
	req->method = parse_method(read_env(env, "REQUEST_METHOD"));
	req->host = read_env(env, "HTTP_HOST");
	req->origin = read_env(env, "HTTP_ORIGIN");
	req->accept = read_env(env, "HTTP_ACCEPT");
	req->fetch_mode = read_env(env, "HTTP_SEC_FETCH_MODE");
	req->fetch_site = read_env(env, "HTTP_SEC_FETCH_SITE");
	req->bearer = bearer(read_env(env, "HTTP_AUTHORIZATION"));
	if (src->trust_remote_user && user != NULL && *user != '\0')
		req->remote_user = user;
	req->remote_addr = read_env(env, "REMOTE_ADDR");
	req->content_type = read_env(env, "CONTENT_TYPE");
	req->session_header = read_env(env, "HTTP_X_INSURESIGN_SESSION");
	req->user_header = read_env(env, "HTTP_X_INSURESIGN_USER");
	req->referer = read_env(env, "HTTP_REFERER");
	req->https = (https != NULL && (ascii_casecmp(https, "on") == 0 ||
					strcmp(https, "1") == 0)) ||
		     (scheme != NULL && ascii_casecmp(scheme, "https") == 0);
	/* X-Forwarded-* mean something only from a proxy we trust. */
	client_addr(req, read_env(env, "HTTP_X_FORWARDED_FOR"), cfg);
	if (proto != NULL && from_trusted_proxy(req, cfg))
		req->https = ascii_casecmp(proto, "https") == 0;

	/* RFC 3875 section 4.1.2: CONTENT_LENGTH is digits or absent.  Kept
	 * even when refused, so that CGI can drain what was announced. */
	if (length != NULL && *length != '\0' &&
	    parse_uint(length, 0, 1ULL << 40, &cl) == -1)
		return 400;
	req->content_length = (size_t)cl;
	if (cl > BODY_MAX)
		return 413;

	rc = route_path(req, read_env(env, "REQUEST_URI"),
			read_env(env, "SCRIPT_NAME"),
			read_env(env, "PATH_INFO"), cfg->base_path);
	if (rc != 0)
		return rc;

	n = (size_t)snprintf(req->querybuf, sizeof(req->querybuf), "%s",
			     query != NULL ? query : "");
	if (n > QUERY_MAX)
		return 414;
	if (request_parse_fields(req->querybuf, n, req->query) == -1)
		return 400;

	n = (size_t)snprintf(req->cookiebuf, sizeof(req->cookiebuf), "%s",
			     cookie != NULL ? cookie : "");
	if (n > COOKIE_MAX)
		return 431;
	parse_cookies(req);
	return 0;
}

static int
parse_body(struct request *req, size_t len)
{
	static const char form[] = "application/x-www-form-urlencoded";
	const char *ct = req->content_type;
	size_t n = sizeof(form) - 1;

	req->body[len] = '\0';
	/* RFC 9110 section 8.3.1: the media type is case-insensitive, and
	 * parameters follow after optional whitespace and a ';'. */
	if (ct == NULL || strncasecmp(ct, form, n) != 0 ||
	    (ct[n + strspn(ct + n, " \t")] != '\0' &&
	     ct[n + strspn(ct + n, " \t")] != ';'))
		return 0;
	return request_parse_fields(req->body, len, req->form) == -1 ? 400 : 0;
}

int
request_read(struct request *req, const struct request_source *src,
	     const struct config *cfg)
{
	long n;
	int rc;

	rc = parse_env(req, src, cfg);
	/* Only a POST route reads a form: a body sent with anything else is
	 * left unread, so that a slow one holds nothing (RFC 9110 section
	 * 9.3.1: a GET's body has no meaning). */
	if (rc != 0 || req->method != METHOD_POST || req->content_length == 0)
		return rc;
	n = src->read != NULL
		    ? src->read(src->ctx, req->body, req->content_length)
		    : 0;
	if (n < 0)
		return 408;
	req->body_len = (size_t)n;
	/* RFC 3875 section 4.1.2: fewer bytes than announced. */
	if (req->body_len != req->content_length)
		return 400;
	return parse_body(req, req->body_len);
}

int
request_wants_html(const struct request *req)
{
	/* Fetch Metadata first (a browser that sends it tells us), then
	 * Accept, as old clients and scripts send no Sec-Fetch-Mode. */
	if (req->fetch_mode != NULL)
		return strcmp(req->fetch_mode, "navigate") == 0;
	return req->accept != NULL && strstr(req->accept, "text/html") != NULL;
}
