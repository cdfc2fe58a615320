/*
 * What a request may do, decided in one place: where a browser may be sent
 * back to, which requests count as our own site's, and which callers hold
 * a key.  Handlers ask; they never re-implement a rule.
 */
#ifndef POLICY_H
#define POLICY_H

#include <stddef.h>

#include "config.h"
#include "request.h"

#define LOCAL_PATH_MAX 255

/*
 * The one rule for a local path (return_to, base_path, the allow-list):
 * "/" then RFC 3986 unreserved characters and "/", no dot segment, then
 * optionally "?" and a query without space, quote, angle brackets, "#" or
 * backslash.  Never "//host" or "/\host", which leave the site.
 */
int policy_local_path(const char *path);

/* A local path under one of [app] return_to_allowed (or return_to). */
int policy_return_to(const struct config *cfg, const char *path);

/* path + "?insuresign=notice" (or "&..."), for the web app's banner. */
void policy_return_url(const char *path, const char *notice, char *out,
		       size_t len);

/*
 * A state-changing request from our own site: no Origin, or one equal to
 * ours (RFC 6454), or "null" with Sec-Fetch-Site: same-origin.
 */
int policy_same_origin(const struct config *cfg, const struct request *req);

/*
 * Where a top-level navigation started: on this site or typed (W3C Fetch
 * Metadata: Sec-Fetch-Site same-origin or none), elsewhere (same-site or
 * cross-site), or, from a browser that sends no Fetch Metadata, whatever
 * its Referer says: unknown without one.
 */
enum came_from { FROM_HERE, FROM_ELSEWHERE, FROM_UNKNOWN };
enum came_from policy_came_from(const struct config *cfg,
				const struct request *req);

/* The origin users reach us at, scheme://host[:port]: redirect_uri's. */
void policy_public_origin(const struct config *cfg, char *out, size_t len);

/* The request carries this bearer key (compared in constant time). */
int policy_bearer(const struct request *req, const char *key);

/*
 * The operator: a REMOTE_USER named in [admin] users, or the admin bearer
 * key (admin_key, NULL when there is none).  who gets a name for the
 * audit trail.
 */
int policy_admin(const struct config *cfg, const struct request *req,
		 const char *admin_key, char *who, size_t len);

/* The client's address is one of list's ("192.0.2.7", "2001:db8::1"), or
 * in one of its networks ("10.0.0.0/8", "2001:db8::/32"). */
int policy_address_in(const struct strlist *list, const char *addr);
/* One such list item is well formed. */
int policy_network_valid(const char *item);

#endif
