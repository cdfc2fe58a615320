/* The HTTP client for the token endpoint: the only user of libcurl. */
#include "http.h"

#include <curl/curl.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nitems.h"

struct http {
	const struct config *cfg;
	unsigned timeout;    /* seconds, for a whole request */
	const char *ca_file; /* NULL: libcurl's bundle */
	CURL *curl;
	char errbuf[CURL_ERROR_SIZE];
};

/*
 * libcurl, loaded on first use (or by the self-check at a FastCGI start).
 * Linked, it and the thirty-odd libraries Debian's build pulls in (GnuTLS
 * for LDAP and RTMP, Kerberos, SSH, ...) would double a CGI start (7.0 to
 * 14.9 ms, the fastest of 3,200 starts each, on Debian 12), though most
 * requests never reach the token endpoint.
 */
static struct {
	void *dl;
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_cleanup)(CURL *);
	const char *(*easy_strerror)(CURLcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
	CURLU *(*url)(void);
	CURLUcode (*url_set)(CURLU *, CURLUPart, const char *, unsigned int);
	CURLUcode (*url_get)(const CURLU *, CURLUPart, char **, unsigned int);
	void (*url_cleanup)(CURLU *);
	void (*free)(void *);
} lib;

/* Every function we use, by its name in libcurl.so.4. */
static const struct {
	void **fn;
	const char *name;
} syms[] = {
	{ (void **)&lib.easy_init, "curl_easy_init" },
	{ (void **)&lib.easy_setopt, "curl_easy_setopt" },
	{ (void **)&lib.easy_perform, "curl_easy_perform" },
	{ (void **)&lib.easy_getinfo, "curl_easy_getinfo" },
	{ (void **)&lib.easy_cleanup, "curl_easy_cleanup" },
	{ (void **)&lib.easy_strerror, "curl_easy_strerror" },
	{ (void **)&lib.slist_append, "curl_slist_append" },
	{ (void **)&lib.slist_free_all, "curl_slist_free_all" },
	{ (void **)&lib.url, "curl_url" },
	{ (void **)&lib.url_set, "curl_url_set" },
	{ (void **)&lib.url_get, "curl_url_get" },
	{ (void **)&lib.url_cleanup, "curl_url_cleanup" },
	{ (void **)&lib.free, "curl_free" },
};

int
http_load(char *err, size_t len)
{
	const char *why;
	size_t i;

	if (lib.dl != NULL)
		return 0;
	/* The ABI the headers we were built with describe (libcurl4). */
	lib.dl = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	for (i = 0; lib.dl != NULL && i < nitems(syms); i++) {
		*syms[i].fn = dlsym(lib.dl, syms[i].name);
		if (*syms[i].fn == NULL)
			break;
	}
	if (i == nitems(syms))
		return 0;
	/* dlopen's or dlsym's words: the file, or the function it lacks. */
	why = dlerror();
	snprintf(err, len, "%s", why != NULL ? why : "libcurl.so.4");
	if (lib.dl != NULL)
		dlclose(lib.dl);
	lib.dl = NULL;
	return -1;
}

struct http *
http_new(const struct config *cfg)
{
	return http_new_with(cfg, cfg->timeout, cfg->ca_file);
}

struct http *
http_new_with(const struct config *cfg, unsigned timeout, const char *ca_file)
{
	struct http *h = calloc(1, sizeof(*h));

	if (h != NULL) {
		h->cfg = cfg;
		h->timeout = timeout;
		h->ca_file = ca_file;
	}
	return h;
}

void
http_free(struct http *h)
{
	if (h == NULL)
		return;
	if (h->curl != NULL)
		lib.easy_cleanup(h->curl);
	free(h);
}

static size_t
on_body(char *p, size_t size, size_t n, void *ctx)
{
	struct http_reply *r = ctx;

	/* Returning short makes curl stop with CURLE_WRITE_ERROR. */
	if (buf_add(&r->body, p, n) == -1)
		return 0;
	(void)size;
	return n;
}

/*
 * A handle with what every request and probe must have: the server
 * verified, always (RFC 6749 section 10.9), https or http only, libcurl's
 * error text in errbuf.  NULL when out of memory.
 */
static CURL *
secure_handle(const char *ca_file, char errbuf[CURL_ERROR_SIZE])
{
	CURL *c = lib.easy_init();

	if (c == NULL)
		return NULL;
	lib.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	lib.easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	lib.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	lib.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca_file != NULL)
		lib.easy_setopt(c, CURLOPT_CAINFO, ca_file);
	lib.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
	return c;
}

static int
setup(struct http *h)
{
	const struct config *cfg = h->cfg;
	char err[512];
	CURL *c;

	/* The options are the same for every request: set them once. */
	if (h->curl != NULL)
		return 0;
	if (http_load(err, sizeof(err)) == -1) {
		log_error("%s: %s", __func__, err);
		return -1;
	}
	h->curl = secure_handle(h->ca_file, h->errbuf);
	if (h->curl == NULL)
		return -1;
	c = h->curl;
	/* A 3xx is an answer, never followed (a token endpoint's, an
	 * error; a receiver's, not a 2xx). */
	lib.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	lib.easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
			(long)(cfg->connect_timeout < h->timeout
				       ? cfg->connect_timeout
				       : h->timeout));
	lib.easy_setopt(c, CURLOPT_TIMEOUT, (long)h->timeout);
	lib.easy_setopt(c, CURLOPT_MAXFILESIZE, (long)HTTP_REPLY_MAX);
	lib.easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	lib.easy_setopt(c, CURLOPT_USERAGENT, "insuresign-connect/1");
	lib.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	return 0;
}

/* What a libcurl result means to us. */
static enum http_rc
classify(CURLcode cc)
{
	switch (cc) {
	case CURLE_OK:
		return HTTP_OK;
	case CURLE_OPERATION_TIMEDOUT:
		return HTTP_TIMEOUT;
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
		return HTTP_TOO_BIG;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
		return HTTP_TLS;
	default:
		return HTTP_NETWORK;
	}
}

/* Names for the log, of what classify returns. */
static const char *const http_rc_names[] = {
	[HTTP_TIMEOUT] = "timeout",
	[HTTP_TLS] = "tls_error",
	[HTTP_NETWORK] = "network_error",
	[HTTP_TOO_BIG] = "reply_too_big",
};

int
http_check_url(const char *url, char *host, size_t len, char *err,
	       size_t errlen)
{
	char *scheme = NULL, *user = NULL, *pass = NULL, *h = NULL;
	CURLU *u = NULL;
	int rc = -1;

	if (http_load(err, errlen) == -1)
		return -1;
	u = lib.url();
	if (u == NULL || lib.url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    lib.url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    lib.url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK) {
		snprintf(err, errlen, "libcurl cannot parse it");
		goto out;
	}
	lib.url_get(u, CURLUPART_USER, &user, 0);
	lib.url_get(u, CURLUPART_PASSWORD, &pass, 0);
	if (user != NULL || pass != NULL)
		snprintf(err, errlen, "libcurl reads a user name in it");
	else if (strcmp(scheme, "https") != 0 &&
		 (strcmp(scheme, "http") != 0 || !config_host_is_loopback(h)))
		snprintf(err, errlen,
			 "libcurl reads %s to host %s: only https, or http "
			 "to a loopback host",
			 scheme, h);
	else if ((size_t)snprintf(host, len, "%s", h) < len)
		rc = 0;
	else
		snprintf(err, errlen, "the host is too long");
out:
	lib.free(scheme);
	lib.free(user);
	lib.free(pass);
	lib.free(h);
	lib.url_cleanup(u);
	return rc;
}

enum http_rc
http_post_form(struct http *h, const char *url, const char *authorization,
	       const char *body, struct http_reply *reply)
{
	const char *headers[] = {
		authorization,
		"Content-Type: application/x-www-form-urlencoded",
		"Accept: application/json",
		NULL,
	};

	return http_post(h, url, headers, body, reply);
}

enum http_rc
http_post(struct http *h, const char *url, const char *const *lines,
	  const char *body, struct http_reply *reply)
{
	struct curl_slist *headers = NULL, *tmp;
	char host[256], why[256];
	enum http_rc rc = HTTP_INTERNAL;
	CURLcode cc;
	size_t i;

	memset(reply, 0, sizeof(*reply));
	buf_init(&reply->body, HTTP_REPLY_MAX);
	if (setup(h) == -1)
		return HTTP_INTERNAL;
	/* config.c checked the URL; libcurl's own reading has the last word
	 * before any credentials go anywhere. */
	if (http_check_url(url, host, sizeof(host), why, sizeof(why)) == -1) {
		log_error("%s: %s: %s: refused", __func__, url, why);
		return HTTP_INTERNAL;
	}
	/* No "Expect: 100-continue" round trip for a small body. */
	tmp = lib.slist_append(headers, "Expect:");
	if (tmp == NULL)
		goto err;
	headers = tmp;
	for (i = 0; lines[i] != NULL; i++) {
		tmp = lib.slist_append(headers, lines[i]);
		if (tmp == NULL)
			goto err;
		headers = tmp;
	}

	lib.easy_setopt(h->curl, CURLOPT_URL, url);
	lib.easy_setopt(h->curl, CURLOPT_HTTPHEADER, headers);
	lib.easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
	lib.easy_setopt(h->curl, CURLOPT_WRITEDATA, reply);
	h->errbuf[0] = '\0';
	cc = lib.easy_perform(h->curl);
	rc = classify(cc);
	if (rc == HTTP_OK)
		lib.easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE,
				 &reply->status);
	if (rc != HTTP_OK)
		log_warn("%s: %s: %s (%s)", __func__, url,
			 h->errbuf[0] != '\0' ? h->errbuf
					      : lib.easy_strerror(cc),
			 http_rc_names[rc]);
err:
	/* The headers may hold credentials: wipe before freeing. */
	for (tmp = headers; tmp != NULL; tmp = tmp->next)
		explicit_bzero(tmp->data, strlen(tmp->data));
	lib.slist_free_all(headers);
	/* The body pointer must not outlive the caller's buffer. */
	lib.easy_setopt(h->curl, CURLOPT_POSTFIELDS, NULL);
	if (rc != HTTP_OK)
		http_reply_free(reply);
	return rc;
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
	char errbuf[CURL_ERROR_SIZE] = "";
	enum http_rc rc;
	CURLcode cc;
	CURL *c;

	if (http_load(err, len) == -1)
		return HTTP_INTERNAL;
	c = secure_handle(ca_file, errbuf);
	if (c == NULL) {
		snprintf(err, len, "out of memory");
		return HTTP_INTERNAL;
	}
	/* Connect (and shake hands) only: no request is sent. */
	lib.easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
	lib.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)cfg->connect_timeout);
	lib.easy_setopt(c, CURLOPT_TIMEOUT, (long)cfg->connect_timeout);
	lib.easy_setopt(c, CURLOPT_URL, url);
	cc = lib.easy_perform(c);
	rc = classify(cc);
	if (rc != HTTP_OK)
		snprintf(err, len, "%s (%s)",
			 errbuf[0] != '\0' ? errbuf : lib.easy_strerror(cc),
			 http_rc_names[rc]);
	lib.easy_cleanup(c);
	return rc;
}
