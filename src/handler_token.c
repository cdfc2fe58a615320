/*
 * GET /token: a valid access token for the web app's backend, refreshed
 * first when due.  Only for a caller holding the backend key; a browser
 * with nothing but the user's cookie gets nothing (RFC 6750 section 2.1).
 */
#include "handler.h"

#include <cjson/cJSON.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "link.h"
#include "policy.h"
#include "session.h"
#include "timefmt.h"

void
handle_token(struct app *app, const struct request *req, struct response *res)
{
	char exp[TIME_LEN], retry[32];
	enum refresh_error why;
	struct record r;
	enum link_rc rc;
	long long now = (long long)time(NULL);
	cJSON *o;

	if (app->backend_key == NULL) {
		res_json_error(res, 404, "not_found",
			       "The token endpoint is off: set [app] "
			       "backend_key_file to turn it on.");
		return;
	}
	if (!policy_bearer(req, app->backend_key)) {
		res_header(res, "WWW-Authenticate",
			   "Bearer realm=\"insuresign-connect\"");
		res_json_error(res, 401, "unauthorized",
			       "Send Authorization: Bearer <backend key>.");
		return;
	}
	if (req->session_header == NULL ||
	    !session_id_valid(&app->cfg, req->session_header)) {
		res_json_error(res, 400, "bad_session",
			       "Send X-InsureSign-Session: <the user's session "
			       "cookie value>.");
		return;
	}
	rc = link_token(app, req->session_header, now, &r, &why);
	switch (rc) {
	case LINK_OK:
		o = cJSON_CreateObject();
		if (o != NULL) {
			timefmt_iso(r.meta.expires_at, exp);
			cJSON_AddStringToObject(o, "access_token",
						r.access_token);
			cJSON_AddStringToObject(o, "token_type", "Bearer");
			cJSON_AddStringToObject(o, "expires_at", exp);
			cJSON_AddNumberToObject(
				o, "expires_in",
				(double)(r.meta.expires_at - now));
		}
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
		snprintf(retry, sizeof(retry), "%u", app->cfg.refresh_backoff);
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
