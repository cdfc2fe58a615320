/* Counts for Prometheus, shared by every worker.  See metrics.h for why. */
#include "metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "event.h"
#include "handler.h"
#include "listing.h"
#include "nitems.h"
#include "shared.h"

#define FILE_NAME   "metrics"
#define LOCK_LAYOUT 0 /* the byte locked while the layout is (re)made */
#define LOCK_GAUGES 1 /* ... while one worker reads the gauges */

/* Seconds; Prometheus' defaults, and a little past [http] timeout. */
static const double bounds[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
				 0.5,	1,    2.5,   5,	   10,	30 };
#define BUCKETS (sizeof(bounds) / sizeof(bounds[0]))

/* Plain atomics in a shared mapping work across processes only when
 * they are lock-free (C11 7.17.5): a lock would be this process's. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics take a lock");

struct histogram {
	atomic_ullong bucket[BUCKETS + 1]; /* each alone; the last is +Inf */
	atomic_ullong count;
	atomic_ullong sum_us;
};

/* What the gauges said when one worker last read the store. */
struct gauges {
	long long at;
	unsigned long long links[HEALTH__MAX];
	unsigned long long events, events_dead;
	long long events_oldest;
};

/* The file's layout; a new layout gets a new magic, and starts at 0. */
struct counts {
	char magic[8];
	atomic_ullong counter[METRIC__MAX];
	struct histogram latency[CALL__MAX];
	struct gauges gauges; /* under LOCK_GAUGES */
};

static const char magic[8] = "ISCMET1";

static struct shared_file file = { -1, NULL, 0 };
/* Where counts go: the shared file, or this process's own when the file
 * could not be had (then /metrics refuses to show them). */
static struct counts own;
static struct counts *counts = &own;
static char why_not[256] = "metrics_open was not called";

int
metrics_open(const char *state_dir, char *err, size_t len)
{
	struct counts *c;

	metrics_close();
	if (shared_open(&file, state_dir, FILE_NAME, sizeof(struct counts), err,
			len) == -1) {
		snprintf(why_not, sizeof(why_not), "%s", err);
		return -1;
	}
	c = file.mem;
	if (memcmp(c->magic, magic, sizeof(magic)) != 0) {
		/* A new file, or an older layout: made anew, once. */
		if (shared_lock(&file, LOCK_LAYOUT, 1) == -1) {
			snprintf(err, len, "%s/%s: cannot lock it", state_dir,
				 FILE_NAME);
			snprintf(why_not, sizeof(why_not), "%s", err);
			shared_close(&file);
			return -1;
		}
		if (memcmp(c->magic, magic, sizeof(magic)) != 0) {
			memset(c, 0, sizeof(*c));
			memcpy(c->magic, magic, sizeof(magic));
		}
		shared_unlock(&file, LOCK_LAYOUT);
	}
	counts = c;
	return 0;
}

void
metrics_close(void)
{
	counts = &own;
	shared_close(&file);
}

int
metrics_shared(char *why, size_t len)
{
	if (counts != &own && shared_check(&file) == 0)
		return 1;
	snprintf(why, len, "the counts are not shared by the workers: %s",
		 counts == &own ? why_not
				: "the metrics file was removed or cut short "
				  "(restart the service)");
	return 0;
}

void
metrics_count(int m)
{
	if (m >= 0 && m < METRIC__MAX)
		atomic_fetch_add_explicit(&counts->counter[m], 1,
					  memory_order_relaxed);
}

void
metrics_observe(enum metric_call call, double seconds)
{
	struct histogram *h = &counts->latency[call];
	size_t i = 0;

	while (i < BUCKETS && seconds > bounds[i])
		i++;
	atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(
		&h->sum_us,
		seconds > 0 ? (unsigned long long)(seconds * 1e6 + 0.5) : 0,
		memory_order_relaxed);
}

void
metrics_count_token(int status)
{
	static const struct {
		int status;
		enum token_result r;
	} results[] = {
		{ 200, TOKEN_OK },
		{ 401, TOKEN_UNAUTHORIZED },
		{ 404, TOKEN_NOT_CONNECTED },
		{ 409, TOKEN_NEEDS_RECONNECT },
		{ 502, TOKEN_REFRESH_FAILED },
	};
	enum token_result r =
		status >= 500 ? TOKEN_UNAVAILABLE : TOKEN_BAD_REQUEST;
	size_t i;

	for (i = 0; i < nitems(results); i++)
		if (results[i].status == status)
			r = results[i].r;
	metrics_count(METRIC_TOKEN_REQUESTS + (int)r);
}

/* -- the exposition ------------------------------------------------- */

static unsigned long long
get(int m)
{
	return atomic_load_explicit(&counts->counter[m], memory_order_relaxed);
}

static void
family(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP insuresign_connect_%s %s\n", name, help);
	buf_printf(b, "# TYPE insuresign_connect_%s %s\n", name, type);
}

/* One series.  Every label value here is ours (a fixed word), never
 * request data: nothing to escape. */
static void
series(struct buf *b, const char *name, const char *label, const char *value,
       unsigned long long n)
{
	buf_printf(b, "insuresign_connect_%s{%s=\"%s\"} %llu\n", name, label,
		   value, n);
}

/* A family of one series, without a label. */
static void
single(struct buf *b, const char *name, const char *type, const char *help,
       unsigned long long n)
{
	family(b, name, type, help);
	buf_printf(b, "insuresign_connect_%s %llu\n", name, n);
}

/* A family's series by result (oauth_rc names), counted from first. */
static void
by_oauth(struct buf *b, const char *name, int first)
{
	int rc;

	for (rc = 0; rc < OAUTH__MAX; rc++)
		series(b, name, "result", oauth_rc_name((enum oauth_rc)rc),
		       get(first + rc));
}

static void
connects(struct buf *b)
{
	static const char *const reasons[] = {
		[CONNECT_DENIED] = "denied",
		[CONNECT_REFUSED] = "refused",
		[CONNECT_STATE] = "state",
		[CONNECT_RATE_LIMITED] = "rate_limited",
		[CONNECT_STORE] = "store",
	};
	char reason[64];
	int i;

	single(b, "connects_started_total", "counter",
	       "Connects sent to InsureSign's authorize page.",
	       get(METRIC_CONNECTS_STARTED));
	single(b, "connects_completed_total", "counter",
	       "Connects that ended in a stored link.",
	       get(METRIC_CONNECTS_COMPLETED));
	family(b, "connects_failed_total", "counter",
	       "Callbacks that ended without a link, by reason (exchange_*: "
	       "the code exchange failed so).");
	for (i = 0; i < CONNECT_EXCHANGE; i++)
		series(b, "connects_failed_total", "reason", reasons[i],
		       get(METRIC_CONNECTS_FAILED + i));
	for (i = 1; i < OAUTH__MAX; i++) {
		snprintf(reason, sizeof(reason), "exchange_%s",
			 oauth_rc_name((enum oauth_rc)i));
		series(b, "connects_failed_total", "reason", reason,
		       get(METRIC_CONNECTS_FAILED + CONNECT_EXCHANGE + i));
	}
	family(b, "code_exchanges_total", "counter",
	       "Authorization codes exchanged at the token endpoint, by "
	       "result.");
	by_oauth(b, "code_exchanges_total", METRIC_EXCHANGES);
	family(b, "refreshes_total", "counter",
	       "Refresh token grants at the token endpoint, by result.");
	by_oauth(b, "refreshes_total", METRIC_REFRESHES);
}

static void
requests(struct buf *b)
{
	static const char *const results[TOKEN__MAX] = {
		[TOKEN_OK] = "ok",
		[TOKEN_BAD_REQUEST] = "bad_request",
		[TOKEN_UNAUTHORIZED] = "unauthorized",
		[TOKEN_NOT_CONNECTED] = "not_connected",
		[TOKEN_NEEDS_RECONNECT] = "needs_reconnect",
		[TOKEN_REFRESH_FAILED] = "refresh_failed",
		[TOKEN_UNAVAILABLE] = "unavailable",
	};
	const char *route;
	int i;

	family(b, "token_requests_total", "counter",
	       "GET /token answers to the web app's backend, by result.");
	for (i = 0; i < TOKEN__MAX; i++)
		series(b, "token_requests_total", "result", results[i],
		       get(METRIC_TOKEN_REQUESTS + i));
	family(b, "requests_total", "counter",
	       "Requests served, by route (other: no route matched).");
	for (i = 0; i < METRIC_ROUTES; i++) {
		route = route_label((size_t)i);
		if (route != NULL)
			series(b, "requests_total", "route", route,
			       get(METRIC_REQUESTS + i));
	}
	family(b, "store_errors_total", "counter",
	       "Store operations that failed, by operation.");
	series(b, "store_errors_total", "op", "read",
	       get(METRIC_STORE_READ_ERRORS));
	series(b, "store_errors_total", "op", "write",
	       get(METRIC_STORE_WRITE_ERRORS));
}

static void
events(struct buf *b)
{
	int i;

	family(b, "events_queued_total", "counter",
	       "Events written to the outbox, by type.");
	for (i = 0; i < EVENT__MAX; i++)
		series(b, "events_queued_total", "type",
		       event_type_name((enum event_type)i),
		       get(METRIC_EVENTS_QUEUED + i));
	family(b, "events_delivered_total", "counter",
	       "Events the web app's receiver took (2xx), by type.");
	for (i = 0; i < EVENT__MAX; i++)
		series(b, "events_delivered_total", "type",
		       event_type_name((enum event_type)i),
		       get(METRIC_EVENTS_DELIVERED + i));
	family(b, "event_delivery_failures_total", "counter",
	       "Attempts to deliver an event that failed, by reason.");
	for (i = 0; i < DELIVERY__MAX; i++)
		series(b, "event_delivery_failures_total", "reason",
		       event_failure_name((enum delivery_failure)i),
		       get(METRIC_EVENT_FAILURES + i));
	single(b, "events_undeliverable_total", "counter",
	       "Events given up on after [events] retry_for.",
	       get(METRIC_EVENTS_GIVEN_UP));
	single(b, "events_dropped_total", "counter",
	       "Events dropped because their link's outbox was full.",
	       get(METRIC_EVENTS_DROPPED));
}

static void
latency(struct buf *b)
{
	static const char *const calls[CALL__MAX] = {
		[CALL_EXCHANGE] = "authorization_code",
		[CALL_REFRESH] = "refresh_token",
		[CALL_REVOKE] = "revoke",
	};
	static const char name[] = "insuresign_connect_token_endpoint_"
				   "duration_seconds";
	unsigned long long n, sum;
	char le[16];
	size_t c, i;

	family(b, "token_endpoint_duration_seconds", "histogram",
	       "Time to an answer from the token endpoint (or to its failure), "
	       "by grant.");
	for (c = 0; c < CALL__MAX; c++) {
		struct histogram *h = &counts->latency[c];

		for (i = 0, n = 0; i <= BUCKETS; i++) {
			n += atomic_load(&h->bucket[i]);
			if (i < BUCKETS)
				snprintf(le, sizeof(le), "%g", bounds[i]);
			else
				snprintf(le, sizeof(le), "+Inf");
			buf_printf(b,
				   "%s_bucket{grant=\"%s\",le=\"%s\"} %llu\n",
				   name, calls[c], le, n);
		}
		sum = atomic_load(&h->sum_us);
		/* The count is +Inf's: one snapshot for both (a scrape
		 * may come between a bucket's add and the count's). */
		buf_printf(b, "%s_sum{grant=\"%s\"} %llu.%06llu\n", name,
			   calls[c], sum / 1000000, sum % 1000000);
		buf_printf(b, "%s_count{grant=\"%s\"} %llu\n", name, calls[c],
			   n);
	}
}

/*
 * The one place the gauges come from the store: its listing's totals.
 * The file store reads every record's head for them; a store that keeps
 * totals (Redis' indexes) answers at once.  Either way at most one worker
 * asks every METRICS_GAUGE_TTL seconds; the rest read its answer.
 */
static int
read_gauges(struct app *app, long long now, struct gauges *g)
{
	struct listing_query q = { .now = now,
				   .health = -1,
				   .sort = SORT_CONNECTED,
				   .prefix = "",
				   .limit = 1 };
	const struct listing_totals *t;
	struct listing l;

	if (store_query(app->store, &q, &l) != STORE_OK) {
		metrics_count(METRIC_STORE_READ_ERRORS);
		return -1;
	}
	/* The totals count links by status and by the healths a connected
	 * link can have beside "connected". */
	t = &l.totals;
	memset(g, 0, sizeof(*g));
	g->links[HEALTH_RECONNECT] = t->reconnect;
	g->links[HEALTH_FAILING] = t->failing;
	g->links[HEALTH_EXPIRING] = t->expiring;
	g->links[HEALTH_CONNECTED] = t->connected - t->failing - t->expiring;
	g->events = l.events;
	g->events_dead = l.events_dead;
	g->events_oldest = l.events_oldest;
	listing_free(&l);
	g->at = now;
	return 0;
}

static int
gauges(struct app *app, long long now, struct gauges *out)
{
	struct gauges *g = &counts->gauges;
	int rc = 0;

	if (shared_lock(&file, LOCK_GAUGES, 1) == -1)
		return -1;
	if (g->at > now || now - g->at >= METRICS_GAUGE_TTL)
		rc = read_gauges(app, now, g);
	*out = *g;
	shared_unlock(&file, LOCK_GAUGES);
	return rc;
}

int
metrics_render(struct app *app, long long now, struct buf *out, char *err,
	       size_t len)
{
	static const char *const states[HEALTH__MAX] = {
		[HEALTH_CONNECTED] = "connected",
		[HEALTH_EXPIRING] = "expiring",
		[HEALTH_FAILING] = "refresh_failing",
		[HEALTH_RECONNECT] = "needs_reconnect",
	};
	struct gauges g;
	size_t i;

	if (!metrics_shared(err, len))
		return -1;
	if (gauges(app, now, &g) == -1) {
		snprintf(err, len,
			 "the store cannot be read (the log says why)");
		return -1;
	}
	connects(out);
	requests(out);
	latency(out);
	events(out);
	family(out, "links", "gauge",
	       "Stored links by state (expiring: will lapse within the hour, "
	       "no refresh token).");
	for (i = 0; i < HEALTH__MAX; i++)
		series(out, "links", "state", states[i], g.links[i]);
	single(out, "outbox_events", "gauge",
	       "Events waiting to be sent to the web app.", g.events);
	single(out, "outbox_oldest_age_seconds", "gauge",
	       "How long the oldest event waiting has waited (0: none).",
	       g.events_oldest > 0 && now > g.events_oldest
		       ? (unsigned long long)(now - g.events_oldest)
		       : 0);
	single(out, "outbox_undeliverable_events", "gauge",
	       "Events given up on, kept in their records to be seen.",
	       g.events_dead);
	return out->failed ? -1 : 0;
}
