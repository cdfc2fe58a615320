/*
 * Refresh ahead of need (`insuresign-connect refresh-due`, from a timer):
 * links in use (a token handed out within [refresh] used_within_days)
 * whose access token expires within [refresh] ahead seconds are
 * refreshed now, so that a backend's GET /token almost never waits on
 * InsureSign; links idle for longer wait for their next GET /token, as
 * before, so a site's idle links cost InsureSign nothing.  With [refresh]
 * touch_hours, a refresh token unused for that long is used, so that an
 * idle link does not silently lapse.  Single
 * flight with the web requests (link.c decides again under the link's
 * lock), at most [refresh] per_second requests a second, links backing
 * off left alone, and the run stops when InsureSign keeps failing.
 */
#ifndef AHEAD_H
#define AHEAD_H

#include "app.h"

/* The run stops after this many transient failures in a row. */
#define AHEAD_GIVE_UP 3

struct ahead_result {
	long due;	/* links that were due when the run began */
	long refreshed; /* ... refreshed by this run */
	long skipped;	/* ... refreshed meanwhile, or backing off */
	long failed;	/* ... whose refresh failed (they back off) */
	long reconnect; /* ... whose grant is gone */
	int stopped;	/* InsureSign kept failing: the rest wait */
};

/* One run, from now (time(NULL) but in tests); -1 when the store cannot
 * be listed. */
int ahead_run(struct app *app, long long now, struct ahead_result *res);

#endif
