/* A request: the CGI environment and body, turned into validated fields. */
#ifndef REQUEST_H
#define REQUEST_H

#include <stddef.h>

#include "config.h"

/* Caps on what a client may send (RFC 3875 gives none; we must). */
#define URI_MAX	    4096
#define QUERY_MAX   4096
#define COOKIE_MAX  8192
#define BODY_MAX    16384
#define COOKIES_MAX 128

enum method {
	METHOD_GET,
	METHOD_HEAD,
	METHOD_POST,
	METHOD_DELETE,
	METHOD_OTHER
};

/*
 * Every query or form parameter the program reads, declared once.  A
 * parameter not listed here is ignored (RFC 6749 section 3.1).
 */
enum param {
	PARAM_CODE,
	PARAM_STATE,
	PARAM_ERROR,
	PARAM_ERROR_DESCRIPTION,
	PARAM_ISS,
	PARAM_RETURN_TO,
	PARAM_CSRF,
	PARAM_ID,
	PARAM_PAGE,
	PARAM_SORT,
	PARAM_FILTER,
	PARAM_Q,
	PARAM_FORMAT,
	PARAM_DONE,
	PARAM_GO,
	PARAM_USER,
	PARAM_TICKET,
	PARAM_MATCH,
	PARAM__MAX
};

enum field_state { FIELD_ABSENT = 0, FIELD_OK, FIELD_BAD };

struct field {
	enum field_state state;
	int dup;	 /* the name came more than once */
	const char *val; /* decoded, NUL-terminated */
	size_t len;
	unsigned long long num; /* for numeric keys */
};

struct cookie {
	const char *name;
	const char *value;
};

struct request {
	enum method method;
	const char
		*path; /* below base_path, e.g. "/callback"; NULL: not ours */
	int https;
	struct field query[PARAM__MAX];
	struct field form[PARAM__MAX];
	struct cookie cookies[COOKIES_MAX];
	size_t ncookies;
	int cookies_overflow;  /* more than COOKIES_MAX came */
	size_t content_length; /* as announced, even when over BODY_MAX */
	size_t body_len;       /* how much of it was read */

	/* Headers and CGI variables, as the server gave them (or NULL). */
	const char *host;
	const char *origin;
	const char *accept;
	const char *fetch_mode;
	const char *fetch_site;
	const char *referer;
	const char *bearer; /* Authorization: Bearer's credentials (RFC 6750) */
	const char *remote_user;
	const char *remote_addr;
	/* The browser's address: REMOTE_ADDR, or the last hop a trusted proxy
	 * named in X-Forwarded-For. */
	char client_addr[64];
	const char *content_type;
	const char *session_header; /* X-InsureSign-Session, from backends */
	const char *user_header;    /* X-InsureSign-User, from backends */

	/* Decoding happens in place in these copies: no allocation at all.
	 * They come last: request_read() zeroes every field before them. */
	char pathbuf[URI_MAX + 1];
	char querybuf[QUERY_MAX + 1];
	char cookiebuf[COOKIE_MAX + 1];
	char body[BODY_MAX + 1];
};

/*
 * Where a request comes from, as serve.c (the only libfcgi user) hands it
 * over: the CGI variables, the body's reader, and whether the connection
 * vouches for REMOTE_USER.
 */
struct request_source {
	char *const *env; /* NULL-terminated "NAME=value" strings */
	/* Reads up to len body bytes into buf: how many came (fewer: the
	 * input ended), or -1 when the deadline for reading passed.  NULL:
	 * there is no body to read. */
	long (*read)(void *ctx, char *buf, size_t len);
	void *ctx;
	/* The web server set REMOTE_USER, and only it can connect to us.
	 * Otherwise anyone could claim an admin's name: it is dropped. */
	int trust_remote_user;
};

/*
 * Reads one request: the CGI variables, then the body of a POST (no other
 * method has a body we read, so no other waits for one).  Returns 0, or
 * the HTTP status to answer with at once (400, 408, 413, 414, 431).
 */
int request_read(struct request *req, const struct request_source *src,
		 const struct config *cfg);

/* The one value of a cookie; *count says how many came with that name. */
const char *request_cookie(const struct request *req, const char *name,
			   int *count);

/* Does the client want a page (a navigation) rather than data (fetch)? */
int request_wants_html(const struct request *req);

/* Parses application/x-www-form-urlencoded text in place into fields. */
int request_parse_fields(char *s, size_t len, struct field *fields);

#endif
