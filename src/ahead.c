/* Refresh ahead of need.  See ahead.h for why. */
#include "ahead.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "link.h"
#include "listing.h"
#include "log.h"
#include "timefmt.h"

/*
 * Due by its head (no key needed; link.c decides again under the lock):
 * a link in use ([refresh] used_within_days) that expires within the
 * window, or any link whose refresh token is due a touch.
 */
static int
due(const struct record_meta *m, const struct config *cfg, long long now)
{
	long long refreshed =
		m->last_refresh > m->created ? m->last_refresh : m->created;
	long long used = m->last_used > m->created ? m->last_used : m->created;
	int in_use =
		cfg->refresh_used_within_days == 0 ||
		now - used <= (long long)cfg->refresh_used_within_days * 86400;

	if (m->status != RECORD_CONNECTED || !m->has_refresh ||
	    now < m->backoff_until)
		return 0;
	return (in_use &&
		m->expires_at - (long long)cfg->refresh_ahead <= now) ||
	       (cfg->refresh_touch_hours > 0 &&
		now - refreshed >= (long long)cfg->refresh_touch_hours * 3600);
}

static int
soonest_first(const void *a, const void *b)
{
	const struct listing_entry *x = a, *y = b;

	if (x->meta.expires_at != y->meta.expires_at)
		return x->meta.expires_at < y->meta.expires_at ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Waits until the n-th request of the run may start: [refresh]
 * per_second at most, evenly spaced. */
static void
pace(double start, long n, unsigned per_second)
{
	double at = start + (double)n / per_second,
	       left = at - timefmt_monotonic();
	struct timespec ts;

	if (left <= 0)
		return;
	ts.tv_sec = (time_t)left;
	ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

/* InsureSign, not the link: another link would fail the same way. */
static int
transient(enum refresh_error e)
{
	return e == REFRESH_SERVER_ERROR || e == REFRESH_RATE_LIMITED ||
	       e == REFRESH_TIMEOUT || e == REFRESH_NETWORK ||
	       e == REFRESH_TLS || e == REFRESH_INVALID_CLIENT;
}

int
ahead_run(struct app *app, long long now, struct ahead_result *res)
{
	long long begun = now;
	double start = timefmt_monotonic();
	enum refresh_error why;
	struct listing l;
	size_t i, n = 0;
	long asked = 0;
	int in_a_row = 0, tried;
	enum link_rc rc;

	memset(res, 0, sizeof(*res));
	if (listing_load(app->store, now, &l) == -1)
		return -1;
	for (i = 0; i < l.n; i++)
		if (l.v[i].readable && due(&l.v[i].meta, &app->cfg, now))
			l.v[n++] = l.v[i];
	qsort(l.v, n, sizeof(l.v[0]), soonest_first);
	res->due = (long)n;
	for (i = 0; i < n; i++) {
		if (in_a_row >= AHEAD_GIVE_UP) {
			res->stopped = 1;
			log_warn("refresh-due: the token endpoint failed %d "
				 "times in a row: stopping; %ld links wait for "
				 "the next run",
				 in_a_row, (long)(n - i));
			break;
		}
		pace(start, asked, app->cfg.refresh_per_second);
		now = begun + (long long)(timefmt_monotonic() - start);
		rc = link_refresh_ahead(
			app, l.v[i].name, now, app->cfg.refresh_ahead,
			app->cfg.refresh_touch_hours * 3600, &tried, &why);
		asked += tried;
		if (tried && rc == LINK_OK && why == REFRESH_OK) {
			res->refreshed++;
			in_a_row = 0;
		} else if (tried && rc == LINK_RECONNECT) {
			res->reconnect++;
			in_a_row = 0;
		} else if (tried || rc == LINK_STORE_ERROR) {
			res->failed++;
			in_a_row = transient(why) ? in_a_row + 1 : 0;
		} else {
			res->skipped++;
		}
	}
	listing_free(&l);
	return 0;
}
