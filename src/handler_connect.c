/*
 * GET /connect: the "Connect to InsureSign" page.
 * GET /connect/start: a new pending authorization, then off to InsureSign.
 * GET /connect/ticket: the same, for the user a connect ticket names.
 */
#include "handler.h"

#include <string.h>
#include <time.h>

#include "html.h"
#include "identity.h"
#include "link.h"
#include "log.h"
#include "metrics.h"
#include "oauth.h"
#include "page.h"
#include "policy.h"
#include "pending.h"
#include "session.h"
#include "ticket.h"
#include "url.h"
#include "timefmt.h"

/* The return_to asked for, or the default; NULL (and a 400 page) if bad. */
static const char *
pick_return_to(struct app *app, const struct request *req, struct response *res)
{
	const struct field *f = &req->query[PARAM_RETURN_TO];

	if (f->state == FIELD_ABSENT)
		return app->cfg.return_to;
	if (f->state == FIELD_OK && !f->dup &&
	    policy_return_to(&app->cfg, f->val))
		return f->val;
	page_error(res, &app->cfg, 400, "Address not allowed",
		   "The page asked to send you back to an address that is "
		   "not on this site's list, so the request was refused.",
		   app->cfg.return_to, "Back to your account");
	return NULL;
}

/*
 * A Connect link: it carries a token bound to whoever this is, so that a
 * browser without Fetch Metadata (which our no-referrer pages leave with
 * no Referer either) is still known to have clicked it here.
 */
static void
start_link(struct buf *b, const struct app *app, const struct identity *who,
	   const char *return_to, const char *label, const char *cls)
{
	char go[CSRF_LEN + 1];
	struct buf q;

	session_token(&app->keys.keys[0], "connect", who->binding,
		      (long long)time(NULL), go);
	buf_init(&q, 3 * LOCAL_PATH_MAX);
	url_encode(&q, return_to);
	html(b,
	     "<a class=\"%s\" href=\"%s/connect/start?return_to=%s&amp;"
	     "go=%s\">%s</a>",
	     cls, app->cfg.base_path, buf_str(&q), go, label);
	buf_free(&q);
}

static void
disconnect_form(struct buf *b, const struct app *app,
		const struct identity *who, const char *return_to)
{
	char csrf[CSRF_LEN + 1];

	session_token(&app->keys.keys[0], "disconnect", who->binding,
		      (long long)time(NULL), csrf);
	html(b,
	     "<form class=\"inline\" method=\"post\" action=\"%s/disconnect\">"
	     "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
	     "<input type=\"hidden\" name=\"return_to\" value=\"%s\"> "
	     "<button class=\"secondary\" type=\"submit\">Disconnect</button>"
	     "</form>",
	     app->cfg.base_path, csrf, return_to);
}

void
handle_connect(struct app *app, const struct request *req, struct response *res)
{
	char name[RECORD_NAME_LEN + 1], since[TIME_LEN];
	const char *return_to = pick_return_to(app, req, res);
	struct buf *b = &res->body;
	struct identity who;
	struct record r;
	enum identity_rc irc;
	enum link_rc rc = LINK_NONE;

	if (return_to == NULL)
		return;
	if (identity_require(app, req, res, &who, return_to, &irc) == -1)
		return;
	if (irc == IDENTITY_OK)
		rc = link_get(app, &who.owner, name, &r);
	if (rc == LINK_STORE_ERROR) {
		page_error(res, &app->cfg, 503, "Temporarily unavailable",
			   "Your InsureSign connection cannot be read right "
			   "now. Please try again in a few minutes.",
			   return_to, "Back to your account");
		return;
	}
	page_begin(res, &app->cfg, "Connect to InsureSign");
	html(b, "<div class=\"card\">\n<h1>InsureSign</h1>\n");
	if (rc == LINK_OK && r.meta.status == RECORD_CONNECTED) {
		timefmt_iso(r.meta.created, since);
		html(b,
		     "<p class=\"status-connected\"><strong>Connected</strong> "
		     "since <time datetime=\"%s\">%s</time>.</p>\n<p>",
		     since, since);
		start_link(b, app, &who, return_to, "Reconnect",
			   "button secondary");
	} else if (rc == LINK_OK) {
		html(b, "<p class=\"status-needs-reconnect\"><strong>Needs "
			"reconnecting.</strong> InsureSign no longer accepts "
			"the stored authorization.</p>\n<p>");
		start_link(b, app, &who, return_to, "Reconnect to InsureSign",
			   "button");
	} else {
		html(b, "<p>Not connected. Connect your InsureSign account so "
			"this site can send documents for signature on your "
			"behalf.</p>\n<p>");
		start_link(b, app, &who, return_to, "Connect to InsureSign",
			   "button");
	}
	if (rc == LINK_OK)
		disconnect_form(b, app, &who, return_to);
	html(b,
	     "</p>\n<p class=\"mute\"><a href=\"%s\">Back to your account</a>"
	     "</p>\n</div>\n",
	     return_to);
	page_end(res);
	if (rc == LINK_OK)
		record_free(&r);
}

/*
 * Another site may navigate the user here; if InsureSign then skips its
 * consent for a returning user, the link would be remade silently and the
 * session id rotate under the web app.  So a connect starts only from a
 * navigation that began on this site or was typed, or from our own link.
 */
static int
started_here(const struct app *app, const struct request *req,
	     const struct identity *who, long long now)
{
	const struct field *go = &req->query[PARAM_GO];

	switch (policy_came_from(&app->cfg, req)) {
	case FROM_HERE:
		return 1;
	case FROM_UNKNOWN:
		return go->state == FIELD_OK && !go->dup &&
		       session_token_ok(&app->keys, "connect", who->binding,
					now, go->val);
	default:
		return 0;
	}
}

/* What a connect started elsewhere gets: the user decides, with a click. */
static void
confirm(struct app *app, struct response *res, const struct identity *who,
	const char *return_to)
{
	struct buf *b = &res->body;

	page_begin(res, &app->cfg, "Connect to InsureSign");
	html(b, "<div class=\"card\">\n<h1>Connect to InsureSign?</h1>\n"
		"<p>Another site sent you here to connect your InsureSign "
		"account to this one. Connect only if you meant to.</p>\n<p>");
	start_link(b, app, who, return_to, "Connect to InsureSign", "button");
	html(b,
	     "</p>\n<p class=\"mute\"><a href=\"%s\">Back to your account</a>"
	     "</p>\n</div>\n",
	     return_to);
	page_end(res);
}

/*
 * A new pending authorization, bound to who (its session, or its signed-in
 * user; fresh: a browser's first connect, which gets its session here),
 * then the browser goes to InsureSign's authorize page.
 */
static void
authorize(struct app *app, const struct request *req, struct response *res,
	  struct identity *who, int fresh, const char *return_to,
	  const char *user, long long now)
{
	char state[STATE_LEN + 1], challenge[STATE_LEN + 1];
	struct pending_set set;
	struct pending p;
	struct buf url;

	if (fresh && identity_new_session(who) == -1)
		goto err;
	pending_read(&app->keys, &app->cfg, req, who->binding, &set);
	if (pending_new(&p, return_to, user, now) == -1)
		goto err;
	pending_add(&set, &p, now);
	pending_state(&p, state);
	pending_challenge(&p, challenge);
	buf_init(&url, 8192);
	if (oauth_authorize_url(&app->cfg, state,
				app->cfg.pkce ? challenge : NULL, &url) == -1 ||
	    pending_write(&app->keys, &app->cfg, req, res, who->binding,
			  &set) == -1) {
		buf_free(&url);
		goto err;
	}
	if (who->session.is_new)
		session_set_cookie(&app->cfg, req, res, &who->session);
	metrics_count(METRIC_CONNECTS_STARTED);
	res_redirect(res, 302, url.data);
	buf_free(&url);
	explicit_bzero(&set, sizeof(set));
	explicit_bzero(&p, sizeof(p));
	return;
err:
	log_error("%s: could not start an authorization", __func__);
	page_error(res, &app->cfg, 500, "Something went wrong",
		   "The connection could not be started. Please try again.",
		   NULL, NULL);
}

/* A script gets an answer it can read, not a trip to InsureSign. */
static int
navigation(const struct request *req, struct response *res)
{
	if (request_wants_html(req))
		return 1;
	res_json_error(res, 401, "navigation_required",
		       "Open this address in the browser (a link or a "
		       "redirect), not with fetch or XHR.");
	return 0;
}

void
handle_connect_start(struct app *app, const struct request *req,
		     struct response *res)
{
	long long now = (long long)time(NULL);
	const char *return_to;
	struct identity who;
	enum identity_rc irc;

	if (!navigation(req, res))
		return;
	return_to = pick_return_to(app, req, res);
	if (return_to == NULL)
		return;
	if (identity_require(app, req, res, &who, return_to, &irc) == -1)
		return;
	if (!started_here(app, req, &who, now)) {
		confirm(app, res, &who, return_to);
		return;
	}
	if (irc == IDENTITY_NONE && !app->cfg.issue_cookie) {
		identity_refuse(app, req, res, IDENTITY_NONE, return_to);
		return;
	}
	authorize(app, req, res, &who, irc == IDENTITY_NONE, return_to, NULL,
		  now);
}

/*
 * GET /connect/ticket?t=: the URL the web app's backend was given (backend
 * mode).  The ticket names the user and is spent here, once; the pending
 * state is bound to this browser's session (a fresh one of ours, or the
 * web app's own cookie when we issue none), so a ticket replayed, or used
 * in a second browser, connects nobody.
 */
void
handle_connect_ticket(struct app *app, const struct request *req,
		      struct response *res)
{
	const struct field *t = &req->query[PARAM_TICKET];
	long long now = (long long)time(NULL);
	struct identity who;
	struct ticket tk;
	int rc;

	if (app->cfg.owner != OWNER_FROM_BACKEND) {
		page_error(res, &app->cfg, 404, "Not found",
			   "Connect tickets are for [identity] owner = "
			   "backend.",
			   app->cfg.return_to, "Back to your account");
		return;
	}
	if (!navigation(req, res))
		return;
	if (t->state != FIELD_OK || t->dup ||
	    ticket_open(&app->keys, t->val, now, &tk) == -1) {
		page_error(
			res, &app->cfg, 403, "This link is not valid",
			"This connect link has expired or was not made for "
			"this site. Nothing was changed. Please connect again "
			"from your account page.",
			app->cfg.return_to, "Back to your account");
		return;
	}
	identity_of(app, req, &who);
	/* [session] issue_cookie = false: the flow is bound to the web app's
	 * own session cookie, which the browser it signed in has (a cookie of
	 * ours by that name would replace the web app's). */
	if (!app->cfg.issue_cookie && who.session.id[0] == '\0') {
		page_error(res, &app->cfg, 403,
			   "Open this link where you are signed in",
			   "This connect link works in the browser you are "
			   "signed in to this site with. Nothing was changed.",
			   app->cfg.return_to, "Back to your account");
		goto out;
	}
	/* Another site's navigation: ask first, spend nothing yet. */
	if (policy_came_from(&app->cfg, req) == FROM_ELSEWHERE) {
		page_begin(res, &app->cfg, "Connect to InsureSign");
		html(&res->body,
		     "<div class=\"card\">\n<h1>Connect to InsureSign?</h1>\n"
		     "<p>Another site sent you here to connect your "
		     "InsureSign account to this one. Connect only if you "
		     "meant to.</p>\n<p><a class=\"button\" "
		     "href=\"%s/connect/ticket?t=%s\">Connect to "
		     "InsureSign</a></p>\n</div>\n",
		     app->cfg.base_path, t->val);
		page_end(res);
		goto out;
	}
	rc = store_writable(app->store) == STORE_OK
		     ? ticket_spend(app->store, &app->keys, &tk)
		     : STORE_ERROR;
	if (rc == STORE_EXISTS) {
		page_error(res, &app->cfg, 403, "This link was already used",
			   "A connect link works once. Nothing was changed. "
			   "Please connect again from your account page.",
			   tk.return_to, "Back to your account");
		goto out;
	}
	if (rc != STORE_OK ||
	    (app->cfg.issue_cookie && identity_new_session(&who) == -1)) {
		page_error(res, &app->cfg, 503, "Temporarily unavailable",
			   "The connection cannot be started right now. Please "
			   "try again in a few minutes.",
			   tk.return_to, "Back to your account");
		goto out;
	}
	authorize(app, req, res, &who, 0, tk.return_to, tk.user, now);
out:
	explicit_bzero(&tk, sizeof(tk));
}
