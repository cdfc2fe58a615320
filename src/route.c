/* Which handler answers a path, and the checks every handler relies on. */
#include "handler.h"

#include <stdio.h>
#include <string.h>

#include "page.h"

enum allow { ALLOW_GET, ALLOW_POST };

struct route {
	const char *path; /* below base_path */
	enum allow allow;
	handler fn;
};

static void
handle_style(struct app *app, const struct request *req, struct response *res)
{
	(void)app;
	(void)req;
	page_stylesheet(res);
}

static const struct route routes[] = {
	{ "", ALLOW_GET, handle_connect },
	{ "/", ALLOW_GET, handle_connect },
	{ "/connect", ALLOW_GET, handle_connect },
	{ "/connect/start", ALLOW_GET, handle_connect_start },
	{ "/callback", ALLOW_GET, handle_callback },
	{ "/status", ALLOW_GET, handle_status },
	{ "/disconnect", ALLOW_POST, handle_disconnect },
	{ "/token", ALLOW_GET, handle_token },
	{ "/admin", ALLOW_GET, handle_admin },
	{ "/admin/record", ALLOW_GET, handle_admin },
	{ "/admin/refresh", ALLOW_POST, handle_admin_action },
	{ "/admin/delete", ALLOW_POST, handle_admin_action },
	{ "/style.css", ALLOW_GET, handle_style },
};

void
route(struct app *app, const struct request *req, struct response *res)
{
	const struct route *r = NULL;
	size_t i;

	for (i = 0; req->path != NULL && i < sizeof(routes) / sizeof(routes[0]);
	     i++)
		if (strcmp(routes[i].path, req->path) == 0)
			r = &routes[i];
	if (r == NULL) {
		page_error(res, &app->cfg, 404, "Not found",
			   "There is no page at this address.", NULL, NULL);
		return;
	}
	if ((r->allow == ALLOW_GET && req->method != METHOD_GET &&
	     req->method != METHOD_HEAD) ||
	    (r->allow == ALLOW_POST && req->method != METHOD_POST)) {
		page_error(res, &app->cfg, 405, "Method not allowed",
			   r->allow == ALLOW_GET
				   ? "This address only answers GET."
				   : "This address only answers POST, from a "
				     "form.",
			   NULL, NULL);
		res_header(res, "Allow",
			   r->allow == ALLOW_GET ? "GET, HEAD" : "POST");
		return;
	}
	r->fn(app, req, res);
}

int
return_to_allowed(const struct config *cfg, const char *path)
{
	size_t plen = strcspn(path, "?"), i;

	/* A local path only: "//host" and "/\host" leave the site. */
	if (path[0] != '/' || path[1] == '/' || path[1] == '\\' ||
	    strlen(path) > 255)
		return 0;
	if (strspn(path, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789-._~/") < plen ||
	    strstr(path, "/.") != NULL)
		return 0;
	if (strpbrk(path + plen, "\\\"<># \t") != NULL)
		return 0;
	for (i = 0; i < cfg->return_to_allowed.n; i++) {
		const char *p = cfg->return_to_allowed.v[i];
		size_t n = strlen(p);

		if (strncmp(path, p, n) == 0 &&
		    (path[n] == '\0' || path[n] == '/' || path[n] == '?' ||
		     p[n - 1] == '/'))
			return 1;
	}
	return strcmp(path, cfg->return_to) == 0;
}

void
url_with_notice(const char *path, const char *notice, char *out, size_t len)
{
	snprintf(out, len, "%s%cinsuresign=%s", path,
		 strchr(path, '?') != NULL ? '&' : '?', notice);
}

static int
same_origin(const char *origin, const char *url)
{
	size_t n = strlen(origin);

	/* An origin is scheme://host[:port]: a prefix of the URL up to "/". */
	return strncmp(url, origin, n) == 0 &&
	       (url[n] == '/' || url[n] == '\0');
}

int
origin_ok(const struct config *cfg, const struct request *req)
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
	return same_origin(req->origin, cfg->redirect_uri);
}
