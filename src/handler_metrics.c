/*
 * GET /metrics: the service's counts in the Prometheus text format
 * (metrics.c).  Never open by default: the admin's credentials, the
 * metrics bearer key ([metrics] key_file), or a client address on
 * [metrics] allow.
 */
#include "handler.h"

#include <time.h>

#include "log.h"
#include "metrics.h"
#include "page.h"
#include "policy.h"

/* Who may scrape; 0 with the refusal in res. */
static int
allowed(struct app *app, const struct request *req, struct response *res)
{
	const struct config *cfg = &app->cfg;
	char who[128];

	if (cfg->admin_users.n == 0 && app->admin_key == NULL &&
	    app->metrics_key == NULL && cfg->metrics_allow.n == 0) {
		page_error(res, cfg, 403, "Metrics not enabled",
			   "They are off until you say who may read them: "
			   "[metrics] key_file for a bearer key, [metrics] "
			   "allow for the addresses of your Prometheus, or "
			   "the admin's credentials ([admin]).",
			   NULL, NULL);
		return 0;
	}
	if (policy_bearer(req, app->metrics_key) ||
	    policy_address_in(&cfg->metrics_allow, req->client_addr) ||
	    policy_admin(cfg, req, app->admin_key, who, sizeof(who)))
		return 1;
	if (app->metrics_key != NULL || app->admin_key != NULL)
		res_header(res, "WWW-Authenticate",
			   "Bearer realm=\"insuresign-connect metrics\"");
	page_error(res, cfg, req->remote_user != NULL ? 403 : 401,
		   "Not allowed",
		   "Send the metrics bearer key, or scrape from an address "
		   "in [metrics] allow.",
		   NULL, NULL);
	return 0;
}

void
handle_metrics(struct app *app, const struct request *req, struct response *res)
{
	char err[512];

	if (!allowed(app, req, res))
		return;
	if (metrics_render(app, (long long)time(NULL), &res->body, err,
			   sizeof(err)) == -1) {
		log_error("metrics: %s", err);
		buf_reset(&res->body);
		res_json_error(res, 503, "metrics_unavailable", err);
		return;
	}
	res->status = 200;
	/* The Prometheus text exposition format, version 0.0.4. */
	res->type = "text/plain; version=0.0.4; charset=utf-8";
}
