/* GET /admin and its actions: every stored link, for the operator. */
#include "handler.h"

#include "page.h"

void
handle_admin(struct app *app, const struct request *req, struct response *res)
{
	(void)req;
	page_error(res, &app->cfg, 403, "Admin page not enabled",
		   "Set [admin] users or [admin] key_file to enable it.", NULL,
		   NULL);
}

void
handle_admin_action(struct app *app, const struct request *req,
		    struct response *res)
{
	handle_admin(app, req, res);
}
