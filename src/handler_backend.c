/*
 * What the web app's backend asks, with the backend key ([app]
 * backend_key_file, sent as Authorization: Bearer):
 * GET /token: a valid access token for a user (X-InsureSign-User) or, in
 *   browser mode, a browser session (X-InsureSign-Session), refreshed
 *   first when due.
 * GET /links/{user}: the link's state, never a token.
 * DELETE /links/{user}: revoke where configured, then delete; idempotent.
 * POST /connect-tickets: a one-time connect URL for a user (backend mode).
 * A browser with nothing but the user's cookie gets none of it (RFC 6750
 * section 2.1).
 */
#include "handler.h"

#include <cjson/cJSON.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "link.h"
#include "policy.h"
#include "session.h"
#include "ticket.h"
#include "timefmt.h"
#include "url.h"

static int
backend_key_ok(const struct app *app, const struct request *req,
	       struct response *res)
{
	if (app->backend_key == NULL) {
		res_json_error(res, 404, "not_found",
			       "The backend API is off: set [app] "
			       "backend_key_file to turn it on.");
		return 0;
	}
	if (!policy_bearer(req, app->backend_key)) {
		res_header(res, "WWW-Authenticate",
			   "Bearer realm=\"insuresign-connect\"");
		res_json_error(res, 401, "unauthorized",
			       "Send Authorization: Bearer <backend key>.");
		return 0;
	}
	return 1;
}

/* The routes by user id exist only where links belong to users. */
static int
user_mode(const struct app *app, struct response *res)
{
	if (app->cfg.owner != OWNER_FROM_BROWSER)
		return 1;
	res_json_error(res, 404, "browser_mode",
		       "Links belong to browsers here: set [identity] owner "
		       "= web_server or backend to address them by user id.");
	return 0;
}

static int
user_of(const struct app *app, const char *id, struct response *res,
	struct owner *o)
{
	const char *why;

	if (owner_user(&app->cfg, id, o, &why) == 0)
		return 1;
	res_json_error(res, 400, "bad_user", why);
	return 0;
}

/* Whose token: the user the backend names, or (browser mode) the session
 * whose cookie value it passes on. */
static int
token_owner(const struct app *app, const struct request *req,
	    struct response *res, struct owner *o)
{
	if (app->cfg.owner != OWNER_FROM_BROWSER) {
		if (req->user_header == NULL) {
			res_json_error(res, 400, "bad_user",
				       "Send X-InsureSign-User: <the web app's "
				       "user id>.");
			return 0;
		}
		return user_of(app, req->user_header, res, o);
	}
	if (req->user_header != NULL) {
		res_json_error(res, 400, "browser_mode",
			       "Links belong to browsers here: send "
			       "X-InsureSign-Session, or set [identity] owner "
			       "= web_server or backend.");
		return 0;
	}
	if (req->session_header == NULL ||
	    !session_id_valid(&app->cfg, req->session_header)) {
		res_json_error(res, 400, "bad_session",
			       "Send X-InsureSign-Session: <the user's session "
			       "cookie value>.");
		return 0;
	}
	owner_browser(req->session_header, o);
	return 1;
}

void
handle_token(struct app *app, const struct request *req, struct response *res)
{
	char retry[32];
	enum refresh_error why;
	struct owner owner;
	struct record r;
	enum link_rc rc;
	long long now = (long long)time(NULL);
	cJSON *o;

	if (!backend_key_ok(app, req, res) ||
	    !token_owner(app, req, res, &owner))
		return;
	memset(&r, 0, sizeof(r));
	rc = link_token(app, &owner, now, &r, &why);
	explicit_bzero(&owner, sizeof(owner));
	switch (rc) {
	case LINK_OK:
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "access_token", r.access_token);
		cJSON_AddStringToObject(o, "token_type", "Bearer");
		timefmt_json(o, "expires_at", r.meta.expires_at);
		cJSON_AddNumberToObject(o, "expires_in",
					(double)(r.meta.expires_at - now));
		record_free(&r);
		res_json(res, 200, o);
		return;
	case LINK_NONE:
		res_json_error(res, 404, "not_connected",
			       "This user has not connected InsureSign.");
		return;
	case LINK_RECONNECT:
		res_json_error(res, 409, "needs_reconnect",
			       "InsureSign no longer accepts this user's "
			       "authorization: they must connect again.");
		return;
	case LINK_UNAVAILABLE:
		if (why == REFRESH_INVALID_CLIENT || why == REFRESH_BAD_REPLY ||
		    why == REFRESH_REJECTED) {
			res_json_error(res, 502, refresh_error_name(why),
				       "The token could not be refreshed.");
			return;
		}
		/* RFC 9110 section 10.2.3: when the link's back-off ends,
		 * which doubles with each failure in a row. */
		snprintf(retry, sizeof(retry), "%lld",
			 r.meta.backoff_until > now ? r.meta.backoff_until - now
						    : app->cfg.refresh_backoff);
		res_header(res, "Retry-After", retry);
		res_json_error(res, 503, refresh_error_name(why),
			       "InsureSign is not answering; try again later.");
		return;
	default:
		res_json_error(res, 503, "store_unavailable",
			       "The link cannot be read right now.");
		return;
	}
}

/*
 * {user} in /links/{user}: one path segment (RFC 3986 section 3.3),
 * percent-decoded exactly once.  A "/" (even as %2F) or a dot segment is
 * refused, so that no id can look like a path to anything on the way.
 */
static int
path_user(const struct app *app, const struct request *req,
	  struct response *res, struct owner *o)
{
	const char *seg = req->path + strlen("/links/");
	char id[3 * USER_ID_MAX + 1];
	size_t n = strlen(seg);

	if (n == 0 || n >= sizeof(id) || strchr(seg, '/') != NULL) {
		res_json_error(res, 400, "bad_user",
			       "Expected /links/{user}: one path segment, the "
			       "user id percent-encoded.");
		return 0;
	}
	memcpy(id, seg, n + 1);
	if (url_decode(id, n, 0) < 0 || strchr(id, '/') != NULL ||
	    strcmp(id, ".") == 0 || strcmp(id, "..") == 0) {
		res_json_error(res, 400, "bad_user",
			       "A user id in a path is one segment: no \"/\" "
			       "(not even as %2F), not \".\" or \"..\", and "
			       "every % starts an escape.");
		return 0;
	}
	return user_of(app, id, res, o);
}

void
handle_link(struct app *app, const struct request *req, struct response *res)
{
	char name[RECORD_NAME_LEN + 1];
	struct owner owner;
	struct record r;
	enum link_rc rc;
	cJSON *o;

	if (!backend_key_ok(app, req, res) || !user_mode(app, res) ||
	    !path_user(app, req, res, &owner))
		return;
	rc = link_get(app, &owner, name, &r);
	explicit_bzero(&owner, sizeof(owner));
	if (rc == LINK_OK && req->method != METHOD_DELETE) {
		o = link_state_json(&r);
		timefmt_json(o, "last_refresh", r.meta.last_refresh);
		cJSON_AddStringToObject(o, "last_refresh_result",
					refresh_error_name(r.meta.last_error));
		res_json(res, 200, o);
		record_free(&r);
		return;
	}
	if (rc == LINK_OK) {
		record_free(&r);
		rc = link_delete(app, name, "backend");
	}
	if (rc == LINK_STORE_ERROR) {
		res_json_error(res, 503, "store_unavailable",
			       "The link cannot be read right now.");
		return;
	}
	if (req->method == METHOD_DELETE) {
		/* Gone already is gone: DELETE is idempotent (RFC 9110
		 * section 9.2.2). */
		res->status = 204;
		res->type = NULL;
		return;
	}
	res_json_error(res, 404, "not_connected",
		       "This user has not connected InsureSign.");
}

/* user and return_to from a form or a JSON object.  Returns 0, or -1
 * after answering 400. */
static int
ticket_request(const struct request *req, struct response *res,
	       const char **user, const char **return_to, cJSON **json)
{
	const char *ct = req->content_type;
	const cJSON *u, *rt;

	*json = NULL;
	if (ct != NULL && strncasecmp(ct, "application/json", 16) == 0) {
		*json = cJSON_ParseWithLength(req->body, req->body_len);
		u = cJSON_GetObjectItemCaseSensitive(*json, "user");
		rt = cJSON_GetObjectItemCaseSensitive(*json, "return_to");
		if (!cJSON_IsObject(*json) || !cJSON_IsString(u) ||
		    (rt != NULL && !cJSON_IsString(rt)))
			goto bad;
		*user = u->valuestring;
		*return_to = rt != NULL ? rt->valuestring : NULL;
		return 0;
	}
	/* A return_to that is not a local path is given all the same: the
	 * caller checks it, and its 400 names the rule. */
	if (req->form[PARAM_USER].state != FIELD_OK ||
	    req->form[PARAM_USER].dup || req->form[PARAM_RETURN_TO].dup)
		goto bad;
	*user = req->form[PARAM_USER].val;
	*return_to = req->form[PARAM_RETURN_TO].state != FIELD_ABSENT
			     ? req->form[PARAM_RETURN_TO].val
			     : NULL;
	return 0;
bad:
	res_json_error(res, 400, "bad_request",
		       "Send user (and optionally return_to) as a form or as "
		       "a JSON object.");
	return -1;
}

void
handle_connect_tickets(struct app *app, const struct request *req,
		       struct response *res)
{
	char origin[300];
	long long now = (long long)time(NULL);
	const char *user, *return_to;
	struct owner owner;
	struct ticket t;
	struct buf url;
	cJSON *json, *o;

	if (!backend_key_ok(app, req, res))
		return;
	if (app->cfg.owner != OWNER_FROM_BACKEND) {
		res_json_error(res, 404, "not_backend_mode",
			       "Connect tickets are for [identity] owner = "
			       "backend.");
		return;
	}
	if (ticket_request(req, res, &user, &return_to, &json) == -1)
		goto out;
	if (!user_of(app, user, res, &owner))
		goto out;
	if (return_to == NULL)
		return_to = app->cfg.return_to;
	if (!policy_return_to(&app->cfg, return_to)) {
		res_json_error(res, 400, "bad_return_to",
			       "return_to must be a local path under [app] "
			       "return_to_allowed.");
		goto out;
	}
	/* The URL users see: redirect_uri's origin, then our base path. */
	policy_public_origin(&app->cfg, origin, sizeof(origin));
	buf_init(&url, 4096);
	buf_printf(&url, "%s%s/connect/ticket?t=", origin, app->cfg.base_path);
	if (ticket_issue(&app->keys.keys[0], owner.id, return_to, now, &t,
			 &url) == -1 ||
	    url.failed) {
		buf_free(&url);
		res_json_error(res, 500, "internal", "No ticket was made.");
		goto out;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "url", url.data);
	timefmt_json(o, "expires_at", t.expires);
	res_json(res, 201, o);
	buf_free(&url);
	explicit_bzero(&t, sizeof(t));
out:
	explicit_bzero(&owner, sizeof(owner));
	cJSON_Delete(json);
}
