/* The HTTP client for the token endpoint: the only user of libcurl. */
#ifndef HTTP_H
#define HTTP_H

#include "buf.h"
#include "config.h"

#define HTTP_REPLY_MAX (64 * 1024)

enum http_rc {
	HTTP_OK = 0,  /* a reply came (any status) */
	HTTP_TIMEOUT, /* connect or total timeout */
	HTTP_TLS,     /* handshake or certificate failure */
	HTTP_NETWORK, /* refused, reset, DNS, ... */
	HTTP_TOO_BIG, /* more than HTTP_REPLY_MAX */
	HTTP_INTERNAL
};

struct http_reply {
	long status;
	struct buf body;
};

struct http;

/*
 * One client per worker, kept between requests so the TLS connection to
 * the token endpoint is reused.  It is made on first use: a worker that
 * only ever answers /status never loads a CA bundle.
 */
struct http *http_new(const struct config *cfg);
/* Another server's client ([events] url's): its own timeout and CA. */
struct http *http_new_with(const struct config *cfg, unsigned timeout,
			   const char *ca_file);
void http_free(struct http *h);

/*
 * Loads libcurl now rather than on first use (http.c says why it waits):
 * 0, or -1 with the loader's reason in err.
 */
int http_load(char *err, size_t len);

/*
 * The URL as libcurl itself reads it (its URL API, the parser that will
 * connect): 0 with its host in host, or -1 with why in err, for a URL
 * with userinfo, or http to anything but a loopback host (RFC 6749
 * section 10.9: credentials only over TLS).
 */
int http_check_url(const char *url, char *host, size_t len, char *err,
		   size_t errlen);

/* POST body with these header lines (NULL-terminated), and no others but
 * libcurl's own; redirects not followed.  A reply of any status is
 * HTTP_OK. */
enum http_rc http_post(struct http *h, const char *url,
		       const char *const *headers, const char *body,
		       struct http_reply *reply);

/* POST an application/x-www-form-urlencoded body; redirects not followed.
 * authorization is the whole header line ("Authorization: Basic ..."). */
enum http_rc http_post_form(struct http *h, const char *url,
			    const char *authorization, const char *body,
			    struct http_reply *reply);
void http_reply_free(struct http_reply *reply);

/*
 * Can url's server be reached: a TCP connection and, for https, a TLS
 * handshake verified as for a request, then closed; no request is sent
 * (for /readyz: never a token request).  On failure err says why.
 */
enum http_rc http_probe(const struct config *cfg, const char *url,
			const char *ca_file, char *err, size_t len);

#endif
