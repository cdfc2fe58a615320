/*
 * What the web app's account page needs:
 * GET /status: is this browser's session (or signed-in user) linked?
 *   Never a token.
 * POST /disconnect: end the link (CSRF token and Origin checked).
 */
#include "handler.h"

#include <cjson/cJSON.h>

#include <time.h>

#include "identity.h"
#include "link.h"
#include "page.h"
#include "policy.h"
#include "session.h"
#include "timefmt.h"

struct cJSON *
link_state_json(const struct record *r)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddBoolToObject(o, "connected",
			      r->meta.status == RECORD_CONNECTED);
	cJSON_AddBoolToObject(o, "needs_reconnect",
			      r->meta.status == RECORD_NEEDS_RECONNECT);
	timefmt_json(o, "since", r->meta.created);
	timefmt_json(o, "expires_at",
		     r->meta.status == RECORD_CONNECTED ? r->meta.expires_at
							: 0);
	cJSON_AddBoolToObject(o, "refreshable", r->refresh_token != NULL);
	return o;
}

void
handle_status(struct app *app, const struct request *req, struct response *res)
{
	char name[RECORD_NAME_LEN + 1], csrf[CSRF_LEN + 1];
	struct identity who;
	struct record r;
	enum identity_rc irc;
	enum link_rc rc = LINK_NONE;
	cJSON *o;

	/* No session yet is simply "not connected"; nobody signed in, or a
	 * backend-mode site, is not a question this route can answer. */
	if (identity_require(app, req, res, &who, app->cfg.return_to, &irc) ==
	    -1)
		return;
	if (irc == IDENTITY_OK)
		rc = link_get(app, &who.owner, name, &r);
	if (rc == LINK_STORE_ERROR) {
		res_json_error(res, 503, "store_unavailable",
			       "The link cannot be read right now.");
		return;
	}
	if (rc == LINK_OK) {
		o = link_state_json(&r);
		if (r.meta.last_error != REFRESH_OK)
			cJSON_AddStringToObject(
				o, "last_refresh_error",
				refresh_error_name(r.meta.last_error));
	} else {
		o = cJSON_CreateObject();
		cJSON_AddFalseToObject(o, "connected");
	}
	/* A link in use keeps its cookie: renew it (sliding expiry). */
	if (rc == LINK_OK && who.owner.kind == OWNER_BROWSER)
		session_set_cookie(&app->cfg, req, res, &who.session);
	/* For the page's Disconnect button (same origin: it can read it). */
	if (irc == IDENTITY_OK) {
		session_token(&app->keys.keys[0], "disconnect", who.binding,
			      (long long)time(NULL), csrf);
		cJSON_AddStringToObject(o, "csrf_token", csrf);
	}
	res_json(res, 200, o);
	if (rc == LINK_OK)
		record_free(&r);
}

void
handle_disconnect(struct app *app, const struct request *req,
		  struct response *res)
{
	char name[RECORD_NAME_LEN + 1], url[512];
	const struct field *rt = &req->form[PARAM_RETURN_TO];
	const char *return_to = app->cfg.return_to;
	struct identity who;
	struct record r;
	enum identity_rc irc;
	enum link_rc rc;

	if (identity_require(app, req, res, &who, app->cfg.return_to, &irc) ==
	    -1)
		return;
	/* The token is bound to the session or the signed-in user: a form
	 * of another's (or of no one's) is refused. */
	if (!policy_same_origin(&app->cfg, req) ||
	    req->form[PARAM_CSRF].state != FIELD_OK ||
	    !session_token_ok(&app->keys, "disconnect", who.binding,
			      (long long)time(NULL),
			      req->form[PARAM_CSRF].val)) {
		if (request_wants_html(req))
			page_error(
				res, &app->cfg, 403, "Not allowed",
				"This request did not come from your account "
				"page, so nothing was changed.",
				app->cfg.return_to, "Back to your account");
		else
			res_json_error(res, 403, "csrf",
				       "Missing or wrong CSRF token, or a "
				       "foreign Origin.");
		return;
	}
	if (rt->state == FIELD_OK && policy_return_to(&app->cfg, rt->val))
		return_to = rt->val;
	rc = link_get(app, &who.owner, name, &r);
	if (rc == LINK_OK) {
		record_free(&r);
		rc = link_delete(app, name, "user");
	}
	if (rc == LINK_STORE_ERROR) {
		if (request_wants_html(req))
			page_error(res, &app->cfg, 503,
				   "Temporarily unavailable",
				   "The connection could not be removed right "
				   "now. Please try again in a few minutes.",
				   return_to, "Back to your account");
		else
			res_json_error(res, 503, "store_unavailable",
				       "The link cannot be removed right now.");
		return;
	}
	if (!request_wants_html(req)) {
		res->status = 204;
		res->type = NULL;
		return;
	}
	policy_return_url(return_to, "disconnected", url, sizeof(url));
	res_redirect(res, 303, url);
}
