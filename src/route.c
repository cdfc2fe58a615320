/* Which handler answers a path, and with which methods. */
#include "handler.h"

#include <stdio.h>
#include <string.h>

#include "metrics.h"
#include "nitems.h"
#include "page.h"

/* Which methods a path answers: a bit per method. */
#define GET    (1 << METHOD_GET | 1 << METHOD_HEAD)
#define POST   (1 << METHOD_POST)
#define DELETE (1 << METHOD_DELETE)

struct route {
	const char *path; /* below base_path; a final '/' matches a prefix */
	unsigned allow;
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
	{ "", GET, handle_connect },
	{ "/", GET, handle_connect },
	{ "/connect", GET, handle_connect },
	{ "/connect/start", GET, handle_connect_start },
	{ "/connect/ticket", GET, handle_connect_ticket },
	{ "/callback", GET, handle_callback },
	{ "/status", GET, handle_status },
	{ "/disconnect", POST, handle_disconnect },
	{ "/token", GET, handle_token },
	{ "/links/", GET | DELETE, handle_link },
	{ "/connect-tickets", POST, handle_connect_tickets },
	{ "/admin", GET, handle_admin_list },
	{ "/admin/record", GET, handle_admin_record },
	{ "/admin/refresh", POST, handle_admin_refresh },
	{ "/admin/delete", POST, handle_admin_delete },
	{ "/style.css", GET, handle_style },
	{ "/metrics", GET, handle_metrics },
	{ "/healthz", GET, handle_healthz },
	{ "/readyz", GET, handle_readyz },
};

/* Requests are counted by route, the last slot for no route at all. */
_Static_assert(nitems(routes) < METRIC_ROUTES, "metrics.h: more routes");

const char *
route_label(size_t i)
{
	if (i < nitems(routes))
		return routes[i].path[0] != '\0' ? routes[i].path : "base_path";
	return i == METRIC_ROUTES - 1 ? "other" : NULL;
}

static int
matches(const struct route *r, const char *path)
{
	size_t n = strlen(r->path);

	if (n > 1 && r->path[n - 1] == '/')
		return strncmp(path, r->path, n) == 0;
	return strcmp(path, r->path) == 0;
}

/* "GET, HEAD", "POST", ...: the Allow header (RFC 9110 section 10.2.1). */
static void
allowed(unsigned allow, char *out, size_t len)
{
	snprintf(out, len, "%s%s%s%s", allow & GET ? "GET, HEAD" : "",
		 allow & GET && allow & ~GET ? ", " : "",
		 allow & POST ? "POST" : "",
		 allow & DELETE ? (allow & POST ? ", DELETE" : "DELETE") : "");
}

void
route(struct app *app, const struct request *req, struct response *res)
{
	const struct route *r = NULL;
	char allow[64];
	size_t i;

	for (i = 0; req->path != NULL && i < nitems(routes) && r == NULL; i++)
		if (matches(&routes[i], req->path))
			r = &routes[i];
	metrics_count(METRIC_REQUESTS +
		      (r != NULL ? (int)(r - routes) : METRIC_ROUTES - 1));
	if (r == NULL) {
		page_error(res, &app->cfg, 404, "Not found",
			   "There is no page at this address.", NULL, NULL);
		return;
	}
	if ((r->allow & 1u << req->method) == 0) {
		allowed(r->allow, allow, sizeof(allow));
		page_error(res, &app->cfg, 405, "Method not allowed",
			   r->allow == GET    ? "This address only answers GET."
			   : r->allow == POST ? "This address only answers "
						"POST, from a form."
					      : "This address does not answer "
						"that method.",
			   NULL, NULL);
		res_header(res, "Allow", allow);
		return;
	}
	r->fn(app, req, res);
	if (r->fn == handle_token)
		metrics_count_token(res->status);
}
