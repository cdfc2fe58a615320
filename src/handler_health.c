/*
 * For load balancers and orchestrators, no credentials needed:
 * GET /healthz: liveness: the config is loaded and this worker answers.
 * GET /readyz: readiness: the store can be read and written, the store
 * key is loaded, the counts are shared ([app] state_dir), and the token
 * endpoint can be reached (a connection and a TLS handshake, never a
 * token request).  200 or 503 with what failed; why, only for the admin.
 * What was found is shared by the workers for READY_TTL seconds, so that
 * a probe every second from every balancer costs the token endpoint one
 * connection every few seconds.
 */
#include "handler.h"

#include <cjson/cJSON.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "metrics.h"
#include "policy.h"
#include "record.h"
#include "shared.h"

#define READY_TTL  5 /* seconds a finding is shared */
#define LOCK_CHECK 0 /* the byte one worker holds while it looks */

enum check { CHECK_STORE, CHECK_KEY, CHECK_STATE, CHECK_TOKEN, CHECK__MAX };

static const char *const check_names[CHECK__MAX] = {
	[CHECK_STORE] = "store",
	[CHECK_KEY] = "store_key",
	[CHECK_STATE] = "state_dir",
	[CHECK_TOKEN] = "token_endpoint",
};

/* The shared finding, in [app] state_dir's "ready" file. */
struct finding {
	long long at;
	unsigned failed; /* a bit per enum check */
};

/* A name for probing the store: a record nobody has (64 zeros). */
static const char probe[RECORD_NAME_LEN + 1] =
	"0000000000000000000000000000000000000000000000000000000000000000";

void
handle_healthz(struct app *app, const struct request *req, struct response *res)
{
	cJSON *o = cJSON_CreateObject();

	(void)app;
	(void)req;
	cJSON_AddStringToObject(o, "status", "ok");
	res_json(res, 200, o);
}

/* Looks at everything now; why[i] says why check i failed. */
static unsigned
look(struct app *app, char why[CHECK__MAX][256])
{
	struct buf raw;
	unsigned failed = 0;
	int rc;

	memset(why, 0, CHECK__MAX * sizeof(why[0]));
	buf_init(&raw, RECORD_MAX);
	rc = store_load(app->store, probe, &raw);
	buf_free(&raw);
	if (rc == STORE_ERROR || store_writable(app->store) != STORE_OK) {
		failed |= 1u << CHECK_STORE;
		if (store_check(app->store, why[CHECK_STORE], sizeof(why[0])) !=
		    -1)
			snprintf(why[CHECK_STORE], sizeof(why[0]),
				 "cannot be read or written: the log says why");
	}
	if (app->keys.n == 0) {
		failed |= 1u << CHECK_KEY;
		snprintf(why[CHECK_KEY], sizeof(why[0]), "no store key loaded");
	}
	if (!metrics_shared(why[CHECK_STATE], sizeof(why[0])))
		failed |= 1u << CHECK_STATE;
	if (http_probe(&app->cfg, app->cfg.token_url, app->cfg.ca_file,
		       why[CHECK_TOKEN], sizeof(why[0])) != HTTP_OK)
		failed |= 1u << CHECK_TOKEN;
	return failed;
}

static int
fresh(const struct finding *s, long long now)
{
	return s->at != 0 && s->at <= now && now - s->at < READY_TTL;
}

/*
 * What the last look found, or a new look when it is older than
 * READY_TTL.  One worker looks at a time; the others meanwhile take the
 * last finding.  Without the shared file (state_dir broken), each asker
 * looks for itself.
 */
static unsigned
finding(struct app *app, long long now)
{
	char why[CHECK__MAX][256], err[512];
	struct shared_file f;
	struct finding *s;
	unsigned failed;

	if (shared_open(&f, app->cfg.state_dir, "ready", sizeof(*s), err,
			sizeof(err)) == -1)
		return look(app, why);
	s = f.mem;
	if (fresh(s, now)) {
		failed = s->failed;
	} else if (shared_lock(&f, LOCK_CHECK, 0) == -1 && s->at != 0) {
		failed = s->failed; /* another worker is looking */
	} else {
		/* Ours to look, or the very first look: wait for it. */
		if (shared_lock(&f, LOCK_CHECK, 1) == 0 && fresh(s, now)) {
			failed = s->failed;
		} else {
			failed = look(app, why);
			s->failed = failed;
			s->at = now;
		}
		shared_unlock(&f, LOCK_CHECK);
	}
	shared_close(&f);
	return failed;
}

void
handle_readyz(struct app *app, const struct request *req, struct response *res)
{
	char why[CHECK__MAX][256], who[128];
	unsigned failed;
	cJSON *o, *a, *d;
	int admin, i;

	admin = policy_admin(&app->cfg, req, app->admin_key, who, sizeof(who));
	/* The admin sees it as it is now, with the reasons. */
	failed = admin ? look(app, why) : finding(app, (long long)time(NULL));
	o = cJSON_CreateObject();
	if (o == NULL) {
		res_json(res, 503, NULL);
		return;
	}
	cJSON_AddStringToObject(o, "status",
				failed == 0 ? "ready" : "not_ready");
	a = cJSON_AddArrayToObject(o, "failed");
	d = admin ? cJSON_AddObjectToObject(o, "details") : NULL;
	for (i = 0; i < CHECK__MAX; i++) {
		if (failed & (1u << i))
			cJSON_AddItemToArray(
				a, cJSON_CreateString(check_names[i]));
		if (d != NULL)
			cJSON_AddStringToObject(d, check_names[i],
						failed & (1u << i) ? why[i]
								   : "ok");
	}
	res_json(res, failed == 0 ? 200 : 503, o);
}
