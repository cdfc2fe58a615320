/*
 * GET /callback: InsureSign sends the browser back here (RFC 6749 section
 * 4.1.2).  Check the state, exchange the code, store the tokens, rotate
 * the session id, and send the browser on to where it started.
 */
#include "handler.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "identity.h"
#include "limit.h"
#include "link.h"
#include "log.h"
#include "metrics.h"
#include "oauth.h"
#include "page.h"
#include "policy.h"
#include "pending.h"
#include "session.h"

#define URL_LEN 512

/* RFC 6749 section 4.1.2: no parameter more than once; code xor error. */
static int
well_formed(const struct request *req)
{
	static const enum param used[] = { PARAM_CODE, PARAM_STATE, PARAM_ERROR,
					   PARAM_ERROR_DESCRIPTION, PARAM_ISS };
	const struct field *q = req->query;
	size_t i;

	for (i = 0; i < sizeof(used) / sizeof(used[0]); i++)
		if (q[used[i]].dup)
			return 0;
	if ((q[PARAM_CODE].state == FIELD_ABSENT) ==
	    (q[PARAM_ERROR].state == FIELD_ABSENT))
		return 0;
	return q[PARAM_CODE].state != FIELD_BAD &&
	       q[PARAM_ERROR].state != FIELD_BAD &&
	       q[PARAM_STATE].state == FIELD_OK;
}

/* RFC 9207: with an issuer configured, iss must come and must match. */
static int
issuer_ok(const struct config *cfg, const struct request *req)
{
	const struct field *f = &req->query[PARAM_ISS];

	if (cfg->issuer == NULL)
		return 1;
	return f->state == FIELD_OK && strcmp(f->val, cfg->issuer) == 0;
}

/* A callback whose state we do not hold: Back button, old tab, replay. */
static void
stale(struct app *app, struct response *res, const struct identity *who,
      enum pending_match m)
{
	char name[RECORD_NAME_LEN + 1], url[URL_LEN];
	struct record r;

	metrics_count(METRIC_CONNECTS_FAILED + CONNECT_STATE);
	if (who->owner.id[0] != '\0' &&
	    link_get(app, &who->owner, name, &r) == LINK_OK) {
		int connected = r.meta.status == RECORD_CONNECTED;

		record_free(&r);
		if (connected) {
			policy_return_url(app->cfg.return_to,
					  "already-connected", url,
					  sizeof(url));
			res_redirect(res, 303, url);
			return;
		}
	}
	if (m == PENDING_EXPIRED)
		page_error(res, &app->cfg, 400, "This link has expired",
			   "You took longer than 10 minutes at InsureSign, so "
			   "this sign-in was not accepted. Nothing was "
			   "changed. Please connect again.",
			   app->cfg.return_to, "Back to your account");
	else
		page_error(res, &app->cfg, 403,
			   "This sign-in is not valid here",
			   "This response from InsureSign was not started in "
			   "this browser, or it was already used. Nothing was "
			   "changed. Please connect again from your account "
			   "page.",
			   app->cfg.return_to, "Back to your account");
}

/* InsureSign said no (RFC 6749 section 4.1.2.1). */
static void
refused(struct app *app, const struct request *req, struct response *res,
	const struct pending *p)
{
	const struct field *e = &req->query[PARAM_ERROR];
	const struct field *d = &req->query[PARAM_ERROR_DESCRIPTION];
	char url[URL_LEN];
	struct buf msg;

	log_warn("callback: InsureSign answered error=%s", e->val);
	if (strcmp(e->val, "access_denied") == 0) {
		metrics_count(METRIC_CONNECTS_FAILED + CONNECT_DENIED);
		policy_return_url(p->return_to, "denied", url, sizeof(url));
		res_redirect(res, 303, url);
		return;
	}
	metrics_count(METRIC_CONNECTS_FAILED + CONNECT_REFUSED);
	buf_init(&msg, 2048);
	buf_printf(&msg,
		   "InsureSign did not link your account (%s%s%s). "
		   "Nothing was changed.",
		   e->val, d->state == FIELD_OK && d->len > 0 ? ": " : "",
		   d->state == FIELD_OK ? d->val : "");
	policy_return_url(p->return_to, "error", url, sizeof(url));
	page_error(res, &app->cfg, 502, "Not connected", buf_str(&msg), url,
		   "Back to your account");
	buf_free(&msg);
}

static void
busy(struct app *app, struct response *res, const struct pending *p,
     enum limit_rc why, unsigned retry_after)
{
	char secs[16];

	metrics_count(METRIC_CONNECTS_FAILED + CONNECT_RATE_LIMITED);
	log_warn("callback: refused: %s",
		 why == LIMIT_ADDRESS ? "too many from this address this minute"
		 : why == LIMIT_TOTAL ? "too many from everyone this minute"
				      : "every code exchange slot is taken");
	snprintf(secs, sizeof(secs), "%u", retry_after);
	res_header(res, "Retry-After", secs);
	page_error(res, &app->cfg, 429, "Too many attempts",
		   "Too many accounts are being connected right now, so "
		   "yours was not, yet. Nothing was changed. Wait a minute, "
		   "then reload this page to finish connecting.",
		   p->return_to, "Back to your account");
}

static void
unavailable(struct app *app, struct response *res, const struct pending *p)
{
	metrics_count(METRIC_CONNECTS_FAILED + CONNECT_STORE);
	page_error(res, &app->cfg, 503, "Temporarily unavailable",
		   "Your InsureSign account cannot be saved right now, so it "
		   "was not connected. Nothing was changed. Please try again "
		   "in a few minutes.",
		   p->return_to, "Back to your account");
}

enum ready { READY, RETRY_LATER, REPLAYED };

/*
 * Everything that must hold before the code is spent at InsureSign: the
 * limits, a store that can take the tokens, and a state never redeemed
 * before (a replay may carry an older copy of the pending cookie).
 * Until the state is spent, the same callback may simply be reloaded.
 */
static enum ready
ready(struct app *app, const struct request *req, struct response *res,
      const struct pending *p, long long now, int *slot)
{
	enum limit_rc lrc;
	unsigned retry;

	lrc = limit_callback(app, req, now, &retry);
	if (lrc == LIMIT_OK)
		lrc = limit_exchange_begin(app, slot);
	if (lrc == LIMIT_ADDRESS || lrc == LIMIT_TOTAL || lrc == LIMIT_BUSY) {
		busy(app, res, p, lrc, lrc == LIMIT_BUSY ? 5 : retry);
		return RETRY_LATER;
	}
	if (lrc != LIMIT_OK || store_writable(app->store) != STORE_OK)
		goto unavailable;
	switch (pending_spend(app->store, &app->keys, p)) {
	case STORE_OK:
		return READY;
	case STORE_EXISTS:
		log_warn("callback: a state was redeemed twice (a replay)");
		return REPLAYED;
	default:
		break;
	}
unavailable:
	limit_exchange_end(app, *slot);
	*slot = -1;
	unavailable(app, res, p);
	return RETRY_LATER;
}

static void
exchange_failed(struct app *app, struct response *res,
		const struct oauth_result *why, const struct pending *p)
{
	char url[URL_LEN];

	metrics_count(METRIC_CONNECTS_FAILED + CONNECT_EXCHANGE + (int)why->rc);
	log_error("callback: code exchange failed: %s (HTTP %ld%s%s)",
		  oauth_rc_name(why->rc), why->status,
		  *oauth_error_detail(why) != '\0' ? ", error=" : "",
		  oauth_error_detail(why));
	policy_return_url(p->return_to, "error", url, sizeof(url));
	page_error(res, &app->cfg, why->rc == OAUTH_TIMEOUT ? 504 : 502,
		   "InsureSign did not answer as expected",
		   why->rc == OAUTH_TIMEOUT
			   ? "InsureSign took too long to confirm the "
			     "connection. Nothing was changed. Please try "
			     "again in a few minutes."
			   : "InsureSign did not confirm the connection. "
			     "Nothing was changed. Please try again; if it "
			     "keeps happening, tell the site's support.",
		   url, "Back to your account");
}

/*
 * Whose link the tokens become: the browser's, under a new session id (an
 * id planted before, for session fixation, then reaches nothing); the user
 * the web server signed in, the one the state is bound to; or the user the
 * connect ticket named.
 */
static int
new_owner(struct app *app, struct identity *who, const struct pending *p,
	  struct owner *o, struct owner *old)
{
	const char *why;

	switch (app->cfg.owner) {
	case OWNER_FROM_WEB_SERVER:
		*o = who->owner;
		return 0;
	case OWNER_FROM_BACKEND:
		return owner_user(&app->cfg, p->user, o, &why);
	default:
		*old = who->owner;
		if (app->cfg.issue_cookie && identity_new_session(who) == -1) {
			log_error("%s: no randomness for a session", __func__);
			return -1;
		}
		*o = who->owner;
		return 0;
	}
}

/* Exchanges the code and stores the tokens. */
static void
redeem(struct app *app, const struct request *req, struct response *res,
       struct identity *who, const struct pending *p, long long now)
{
	char verifier[STATE_LEN + 1], url[URL_LEN];
	struct oauth_tokens tokens;
	struct oauth_result why;
	struct owner o, old;
	enum link_rc rc = LINK_STORE_ERROR;

	pending_verifier(p, verifier);
	oauth_exchange(app->http, &app->cfg, req->query[PARAM_CODE].val,
		       app->cfg.pkce ? verifier : NULL, &tokens, &why);
	explicit_bzero(verifier, sizeof(verifier));
	if (why.rc != OAUTH_OK) {
		exchange_failed(app, res, &why, p);
		return;
	}
	memset(&old, 0, sizeof(old));
	if (new_owner(app, who, p, &o, &old) == 0)
		rc = link_create(app, &o, &old, &tokens, now);
	oauth_tokens_free(&tokens);
	explicit_bzero(&o, sizeof(o));
	if (rc != LINK_OK) {
		unavailable(app, res, p);
		return;
	}
	if (who->session.is_new)
		session_set_cookie(&app->cfg, req, res, &who->session);
	metrics_count(METRIC_CONNECTS_COMPLETED);
	policy_return_url(p->return_to, "connected", url, sizeof(url));
	res_redirect(res, 303, url);
}

void
handle_callback(struct app *app, const struct request *req,
		struct response *res)
{
	struct pending_set set;
	struct pending p;
	struct identity who;
	enum pending_match m;
	enum ready go = READY;
	long long now = (long long)time(NULL);
	int slot = -1;

	if (!well_formed(req)) {
		page_error(res, &app->cfg, 400, "Malformed response",
			   "The response from InsureSign was incomplete or "
			   "malformed. Nothing was changed.",
			   app->cfg.return_to, "Back to your account");
		return;
	}
	if (!issuer_ok(&app->cfg, req)) {
		log_warn("callback: iss does not match [insuresign] issuer");
		page_error(res, &app->cfg, 400, "Unexpected issuer",
			   "This response did not come from the expected "
			   "InsureSign server. Nothing was changed.",
			   app->cfg.return_to, "Back to your account");
		return;
	}
	/* The state is bound to the session, or to the signed-in user: under
	 * another user, or none, nothing can be read, and the callback is
	 * refused as stale. */
	identity_of(app, req, &who);
	pending_read(&app->keys, &app->cfg, req, who.binding, &set);
	m = pending_take(&set, req->query[PARAM_STATE].val, now, &p);
	if (m == PENDING_UNKNOWN) {
		stale(app, res, &who, m);
		return;
	}
	if (m == PENDING_FOUND && req->query[PARAM_ERROR].state != FIELD_OK) {
		go = ready(app, req, res, &p, now, &slot);
		if (go == RETRY_LATER)
			goto out;
	}
	/* From here on the state is spent, whatever happens next. */
	if (m == PENDING_EXPIRED || go == REPLAYED ||
	    (app->cfg.owner == OWNER_FROM_BACKEND && p.user[0] == '\0'))
		stale(app, res, &who, m);
	else if (req->query[PARAM_ERROR].state == FIELD_OK)
		refused(app, req, res, &p);
	else
		redeem(app, req, res, &who, &p, now);
	limit_exchange_end(app, slot);
	/* Bound to the new session id when the link rotated it. */
	pending_write(&app->keys, &app->cfg, req, res, who.binding, &set);
out:
	explicit_bzero(&set, sizeof(set));
	explicit_bzero(&p, sizeof(p));
	explicit_bzero(&who, sizeof(who));
}
