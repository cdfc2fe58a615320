/* What a request may do, decided in one place.  See policy.h. */
#include "policy.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "text.h"

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

int
policy_admin(const struct config *cfg, const struct request *req,
	     const char *admin_key, char *who, size_t len)
{
	size_t i;

	if (req->remote_user != NULL)
		for (i = 0; i < cfg->admin_users.n; i++)
			if (strcmp(req->remote_user, cfg->admin_users.v[i]) ==
			    0) {
				snprintf(who, len, "%s", req->remote_user);
				return 1;
			}
	if (policy_bearer(req, admin_key)) {
		snprintf(who, len, "bearer-key");
		return 1;
	}
	return 0;
}

/* An address as 16 bytes (IPv4 as ::ffff:a.b.c.d, RFC 4291 section
 * 2.5.5.2, so that both spellings of one meet); its family's bits. */
static int
address(const char *s, unsigned char a[16], unsigned *bits)
{
	static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (inet_pton(AF_INET6, s, a) != 1) {
		if (inet_pton(AF_INET, s, a + 12) != 1)
			return -1;
		memcpy(a, mapped, sizeof(mapped));
	}
	*bits = memcmp(a, mapped, sizeof(mapped)) == 0 ? 32 : 128;
	return 0;
}

/* An item of an address list: the network's 16 bytes and prefix length
 * (counted from the 16 bytes' start). */
static int
network(const char *item, unsigned char a[16], unsigned *prefix)
{
	char host[64];
	unsigned long long n;
	unsigned bits;
	size_t k = strcspn(item, "/");

	if (k >= sizeof(host))
		return -1;
	memcpy(host, item, k);
	host[k] = '\0';
	if (address(host, a, &bits) == -1)
		return -1;
	if (item[k] == '\0')
		n = bits;
	else if (parse_uint(item + k + 1, 0, bits, &n) == -1)
		return -1;
	*prefix = 128 - bits + (unsigned)n;
	return 0;
}

int
policy_network_valid(const char *item)
{
	unsigned char a[16];
	unsigned prefix;

	return network(item, a, &prefix) == 0;
}

int
policy_address_in(const struct strlist *list, const char *addr)
{
	unsigned char a[16], net[16];
	unsigned bits, prefix, i;
	size_t k;

	if (address(addr, a, &bits) == -1)
		return 0;
	for (k = 0; k < list->n; k++) {
		if (network(list->v[k], net, &prefix) == -1)
			continue;
		/* The whole bytes of the prefix, then its bits in the next. */
		i = prefix / 8;
		if (memcmp(net, a, i) == 0 &&
		    (prefix % 8 == 0 ||
		     ((net[i] ^ a[i]) & (0xff00 >> (prefix % 8) & 0xff)) == 0))
			return 1;
	}
	return 0;
}
