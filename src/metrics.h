/*
 * Counts for Prometheus (GET /metrics), for the whole service rather than
 * one worker: every process that serves or runs a command (lighttpd's
 * max-procs, mod_fcgid, our prefork pool, each CGI run, the timers) adds
 * to the same counters, in a small file in [app] state_dir that each maps
 * (shared.c).  A count is one atomic add to that mapping: no lock, no
 * system call; a worker killed with kill -9 has lost no count it made
 * (they live in the page cache, not in the process).
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>

#include "buf.h"
#include "oauth.h"

struct app;

/* Why a connect did not end in a link (the callback's answer). */
enum connect_failure {
	CONNECT_DENIED,	      /* the user said no at InsureSign */
	CONNECT_REFUSED,      /* InsureSign answered another error */
	CONNECT_STATE,	      /* a state we do not hold: stale, replayed */
	CONNECT_RATE_LIMITED, /* [limits]: too many at once */
	CONNECT_STORE,	      /* the tokens could not be stored */
	CONNECT_EXCHANGE      /* + enum oauth_rc: the code exchange failed */
};

/* The events sent to the web app (event.c), in the order of their ids. */
enum event_type {
	EVENT_LINK_CREATED,
	EVENT_LINK_DELETED,
	EVENT_LINK_REFRESH_FAILED,
	EVENT_LINK_NEEDS_RECONNECT,
	EVENT_LINK_RECOVERED,
	EVENT__MAX
};

/* Why the web app's receiver did not take an event. */
enum delivery_failure {
	DELIVERY_REJECTED,     /* answered 3xx or 4xx */
	DELIVERY_SERVER_ERROR, /* answered 5xx */
	DELIVERY_TIMEOUT,
	DELIVERY_NETWORK,
	DELIVERY_TLS,
	DELIVERY__MAX
};

/* What GET /token answered, from its status. */
enum token_result {
	TOKEN_OK,
	TOKEN_BAD_REQUEST,
	TOKEN_UNAUTHORIZED,
	TOKEN_NOT_CONNECTED,
	TOKEN_NEEDS_RECONNECT,
	TOKEN_REFRESH_FAILED,
	TOKEN_UNAVAILABLE,
	TOKEN__MAX
};

/* Requests are counted by route: the table's index, or the last slot
 * for paths that are no route (route.c says the names). */
#define METRIC_ROUTES 32

/* Every counter, one series each; a family's series are consecutive. */
enum metric {
	METRIC_CONNECTS_STARTED,
	METRIC_CONNECTS_COMPLETED,
	METRIC_CONNECTS_FAILED, /* + enum connect_failure (+ oauth_rc) */
	METRIC_EXCHANGES = METRIC_CONNECTS_FAILED + CONNECT_EXCHANGE +
			   OAUTH__MAX,			  /* + enum oauth_rc */
	METRIC_REFRESHES = METRIC_EXCHANGES + OAUTH__MAX, /* + oauth_rc */
	METRIC_TOKEN_REQUESTS = METRIC_REFRESHES + OAUTH__MAX, /* + result */
	METRIC_STORE_READ_ERRORS = METRIC_TOKEN_REQUESTS + TOKEN__MAX,
	METRIC_STORE_WRITE_ERRORS,
	METRIC_EVENTS_QUEUED, /* + enum event_type */
	METRIC_EVENTS_DELIVERED = METRIC_EVENTS_QUEUED + EVENT__MAX, /* + */
	METRIC_EVENT_FAILURES = METRIC_EVENTS_DELIVERED + EVENT__MAX,
	METRIC_EVENTS_GIVEN_UP = METRIC_EVENT_FAILURES + DELIVERY__MAX,
	METRIC_EVENTS_DROPPED,
	METRIC_REQUESTS, /* + route index */
	METRIC__MAX = METRIC_REQUESTS + METRIC_ROUTES
};

/* The calls to the token endpoint whose time is measured. */
enum metric_call { CALL_EXCHANGE, CALL_REFRESH, CALL_REVOKE, CALL__MAX };

/*
 * Maps [app] state_dir's "metrics" file, once per process (app_open).
 * When it cannot be (a state_dir the self-check complains of), counts go
 * to this process alone and /metrics says so; 0 or -1 with err set.
 */
int metrics_open(const char *state_dir, char *err, size_t len);
void metrics_close(void);

/* Are the counts shared by the workers?  0, with why, when not. */
int metrics_shared(char *why, size_t len);

/* One more of m: one atomic add. */
void metrics_count(int m);
/* A call to the token endpoint took this long (seconds). */
void metrics_observe(enum metric_call call, double seconds);
/* GET /token's answer, counted by what its status means. */
void metrics_count_token(int status);

/*
 * The exposition (Prometheus text format 0.0.4) of every counter, the
 * latency histogram, and the gauges of links and events, which come from
 * the store at most every METRICS_GAUGE_TTL seconds (all workers share
 * what one of them read).  -1 when the counts are not shared (err says
 * why) or the store cannot be read.
 */
#define METRICS_GAUGE_TTL 5
int metrics_render(struct app *app, long long now, struct buf *out, char *err,
		   size_t len);

#endif
