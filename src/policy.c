/* What a request may do, decided in one place.  See policy.h. */
#include "policy.h"

#include <stdio.h>
#include <string.h>

#include "crypto.h"

#define UNRESERVED                                                       \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" \
	"-._~"

int
policy_local_path(const char *path)
{
	size_t n = strlen(path), plen = strcspn(path, "?"), i;

	if (n == 0 || n > LOCAL_PATH_MAX || path[0] != '/')
		return 0;
	/* "//host" and "/\host" are network-path references: another site. */
	if (path[1] == '/' || path[1] == '\\')
		return 0;
	/* No "%": browsers read "%2e" as a dot in a path (WHATWG URL). */
	for (i = 0; i < plen; i++)
		if (path[i] != '/' && strchr(UNRESERVED, path[i]) == NULL)
			return 0;
	/* RFC 3986 section 5.2.4: "/." starts a dot segment ("/..", "/./"),
	 * and a name starting with a dot is no page of a web app either. */
	if (memmem(path, plen, "/.", 2) != NULL)
		return 0;
	for (i = plen; i < n; i++)
		if (path[i] < 0x21 || path[i] > 0x7e ||
		    strchr("\\\"<>#'", path[i]) != NULL)
			return 0;
	return 1;
}

int
policy_return_to(const struct config *cfg, const char *path)
{
	size_t i;

	if (!policy_local_path(path))
		return 0;
	for (i = 0; i < cfg->return_to_allowed.n; i++) {
		const char *p = cfg->return_to_allowed.v[i];
		size_t n = strlen(p);

		/* "/account" allows "/account", "/account/x" and
		 * "/account?x", never "/accountant". */
		if (strncmp(path, p, n) == 0 &&
		    (path[n] == '\0' || path[n] == '/' || path[n] == '?' ||
		     p[n - 1] == '/'))
			return 1;
	}
	return strcmp(path, cfg->return_to) == 0;
}

void
policy_return_url(const char *path, const char *notice, char *out, size_t len)
{
	snprintf(out, len, "%s%cinsuresign=%s", path,
		 strchr(path, '?') != NULL ? '&' : '?', notice);
}

/* Is url (an Origin, or a whole URL) of own's origin, scheme://host:port? */
static int
within(const char *url, const char *own)
{
	const char *host = strstr(own, "://");
	size_t n;

	if (host == NULL)
		return 0;
	n = (size_t)(host + 3 - own) + strcspn(host + 3, "/?#");
	return strncmp(url, own, n) == 0 &&
	       (url[n] == '\0' || strchr("/?#", url[n]) != NULL);
}

void
policy_public_origin(const struct config *cfg, char *out, size_t len)
{
	const char *host = strstr(cfg->redirect_uri, "://");
	size_t n = host != NULL ? (size_t)(host + 3 - cfg->redirect_uri) +
					  strcspn(host + 3, "/?#")
				: 0;

	snprintf(out, len, "%.*s", (int)n, cfg->redirect_uri);
}

/* Ours: the Host this request came to, or redirect_uri's origin (the one
 * users see when we sit behind a proxy that rewrites Host). */
static int
ours(const struct config *cfg, const struct request *req, const char *url)
{
	char own[300];

	if (req->host != NULL) {
		snprintf(own, sizeof(own), "%s://%s",
			 req->https ? "https" : "http", req->host);
		if (within(url, own))
			return 1;
	}
	return within(url, cfg->redirect_uri);
}

int
policy_same_origin(const struct config *cfg, const struct request *req)
{
	if (req->origin == NULL)
		return 1;
	/* Our pages say Referrer-Policy: no-referrer, so browsers send
	 * "Origin: null" even for a form that posts to its own origin (Fetch,
	 * "serializing a request origin"); then Fetch Metadata, which no page
	 * can forge, tells where the request came from. */
	if (strcmp(req->origin, "null") == 0)
		return req->fetch_site != NULL &&
		       strcmp(req->fetch_site, "same-origin") == 0;
	return ours(cfg, req, req->origin);
}

enum came_from
policy_came_from(const struct config *cfg, const struct request *req)
{
	if (req->fetch_site != NULL)
		return strcmp(req->fetch_site, "same-origin") == 0 ||
				       strcmp(req->fetch_site, "none") == 0
			       ? FROM_HERE
			       : FROM_ELSEWHERE;
	if (req->referer == NULL || req->referer[0] == '\0')
		return FROM_UNKNOWN;
	return ours(cfg, req, req->referer) ? FROM_HERE : FROM_ELSEWHERE;
}

int
policy_bearer(const struct request *req, const char *key)
{
	return req->bearer != NULL && key != NULL &&
	       crypto_streq(req->bearer, key);
}
