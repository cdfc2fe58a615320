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

static int
origin_of(const char *origin, const char *url)
{
	size_t n = strlen(origin);

	/* An origin is scheme://host[:port]: a prefix of the URL up to "/". */
	return strncmp(url, origin, n) == 0 &&
	       (url[n] == '/' || url[n] == '\0');
}

int
policy_same_origin(const struct config *cfg, const struct request *req)
{
	char own[300];

	if (req->origin == NULL)
		return 1;
	/* Our pages say Referrer-Policy: no-referrer, so browsers send
	 * "Origin: null" even for a form that posts to its own origin (Fetch,
	 * "serializing a request origin"); then Fetch Metadata, which no page
	 * can forge, tells where the request came from. */
	if (strcmp(req->origin, "null") == 0)
		return req->fetch_site != NULL &&
		       strcmp(req->fetch_site, "same-origin") == 0;
	if (req->host != NULL) {
		snprintf(own, sizeof(own), "%s://%s",
			 req->https ? "https" : "http", req->host);
		if (strcmp(req->origin, own) == 0)
			return 1;
	}
	return origin_of(req->origin, cfg->redirect_uri);
}

int
policy_bearer(const struct request *req, const char *key)
{
	return req->bearer != NULL && key != NULL &&
	       crypto_streq(req->bearer, key);
}
