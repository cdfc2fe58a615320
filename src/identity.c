/* Who a browser's request is about.  See identity.h. */
#include "identity.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "page.h"

static void
bind_session(struct identity *id)
{
	owner_browser(id->session.id, &id->owner);
	snprintf(id->binding, sizeof(id->binding), "%s", id->session.id);
}

int
identity_new_session(struct identity *id)
{
	if (session_create(&id->session) == -1)
		return -1;
	bind_session(id);
	return 0;
}

enum identity_rc
identity_of(const struct app *app, const struct request *req,
	    struct identity *id)
{
	const char *why;

	memset(id, 0, sizeof(*id));
	session_read(&app->cfg, req, &id->session);
	if (app->cfg.owner != OWNER_FROM_WEB_SERVER) {
		bind_session(id);
		if (app->cfg.owner == OWNER_FROM_BACKEND)
			return IDENTITY_BACKEND;
		return id->session.id[0] != '\0' ? IDENTITY_OK : IDENTITY_NONE;
	}
	/* request.c has already dropped a REMOTE_USER that a TCP peer could
	 * have forged. */
	if (req->remote_user == NULL)
		return IDENTITY_NONE;
	if (owner_user(&app->cfg, req->remote_user, &id->owner, &why) == -1) {
		log_warn("REMOTE_USER refused: %s", why);
		return IDENTITY_BAD;
	}
	snprintf(id->binding, sizeof(id->binding), "user:%s", id->owner.id);
	return IDENTITY_OK;
}

int
identity_require(const struct app *app, const struct request *req,
		 struct response *res, struct identity *id,
		 const char *return_to, enum identity_rc *rc)
{
	*rc = identity_of(app, req, id);
	if (*rc == IDENTITY_OK ||
	    (*rc == IDENTITY_NONE && app->cfg.owner == OWNER_FROM_BROWSER))
		return 0;
	identity_refuse(app, req, res, *rc, return_to);
	return -1;
}

void
identity_refuse(const struct app *app, const struct request *req,
		struct response *res, enum identity_rc rc,
		const char *return_to)
{
	const struct config *cfg = &app->cfg;
	int page = request_wants_html(req);

	if (rc == IDENTITY_BACKEND && page)
		page_error(res, cfg, 404, "Connect from your account page",
			   "This site connects InsureSign accounts from its "
			   "own account page. Go there and choose Connect.",
			   return_to, "Back to your account");
	else if (rc == IDENTITY_BACKEND)
		res_json_error(res, 404, "backend_mode",
			       "[identity] owner = backend: the web app's "
			       "backend asks GET /links/{user}, DELETE "
			       "/links/{user} and POST /connect-tickets.");
	else if (rc == IDENTITY_BAD && page)
		page_error(res, cfg, 400, "Your user name cannot be used",
			   "The name you are signed in with is not one this "
			   "service can link (it must be 1 to 255 characters, "
			   "without control characters). Ask the site's "
			   "support.",
			   return_to, "Back to your account");
	else if (rc == IDENTITY_BAD)
		res_json_error(res, 400, "bad_user",
			       "REMOTE_USER is not a user id: 1 to 255 bytes "
			       "of UTF-8 without control characters.");
	else if (page)
		page_error(res, cfg, 401, "Please sign in first",
			   "Sign in to the site, then connect your InsureSign "
			   "account from your account page.",
			   cfg->login_url != NULL ? cfg->login_url : return_to,
			   cfg->login_url != NULL ? "Sign in"
						  : "Back to your account");
	else
		res_json_error(res, 401, "not_signed_in",
			       "Sign in first: this site links InsureSign to "
			       "its signed-in users.");
}
