/* Which handler answers a path, and with which methods. */
#include "handler.h"

#include <stdio.h>
#include <string.h>

#include "nitems.h"
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
	{ "/admin", ALLOW_GET, handle_admin_list },
	{ "/admin/record", ALLOW_GET, handle_admin_record },
	{ "/admin/refresh", ALLOW_POST, handle_admin_refresh },
	{ "/admin/delete", ALLOW_POST, handle_admin_delete },
	{ "/style.css", ALLOW_GET, handle_style },
};

void
route(struct app *app, const struct request *req, struct response *res)
{
	const struct route *r = NULL;
	size_t i;

	for (i = 0; req->path != NULL && i < nitems(routes); i++)
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
