/*
 * Unit tests for ahead.c (refresh-due): which links a run refreshes, and
 * when it stops.  The token endpoint is tests/unit/http_stub.c.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ahead.h"
#include "http_stub.h"
#include "link.h"
#include "testkeys.h"
#include "unit.h"

#define NOW 1800000000LL

static char top[] = "/tmp/isc-unit-XXXXXX";
static struct app app;
static char token_url[] = "https://token.example/oauth2/token";
static char client_id[] = "test-client", client_secret[] = "test-secret";

static void
fresh(void)
{
	static char dir[64];

	store_close(app.store);
	http_free(app.http);
	memset(&app, 0, sizeof(app));
	snprintf(dir, sizeof(dir), "%s/store", top);
	unit_rmtree(dir);
	if (mkdir(dir, 0700) == -1)
		abort();
	app.cfg.store_dir = dir;
	app.cfg.refresh_margin = 60;
	app.cfg.refresh_backoff = 30;
	app.cfg.refresh_ahead = 900;
	app.cfg.refresh_used_within_days = 7;
	app.cfg.refresh_per_second = 1000;
	app.cfg.token_url = token_url;
	app.cfg.client_id = client_id;
	app.cfg.client_secret = client_secret;
	test_keyring(&app.keys, 1);
	app.store = store_open(&app.cfg, STORE_BACKEND_FILE, NULL, 0);
	app.http = http_new(&app.cfg);
	if (app.store == NULL || app.http == NULL)
		abort();
	http_stub_reply = HTTP_STUB_REFRESH;
	http_stub_calls = 0;
}

/* A browser's link made at `at`, its access token good for ttl. */
static void
link_at(char c, long long at, long long ttl)
{
	static char at_[] = "at-0123456789", rt[] = "rt-0123456789";
	static char bearer[] = "Bearer";
	char sid[44];
	struct oauth_tokens t;
	struct owner o;

	memset(sid, c, 43);
	sid[43] = '\0';
	owner_browser(sid, &o);
	memset(&t, 0, sizeof(t));
	t.access_token = at_;
	t.refresh_token = rt;
	t.token_type = bearer;
	t.expires_in = ttl;
	CHECK(link_create(&app, &o, NULL, &t, at) == LINK_OK);
}

static void
links_in_use_within_the_window_are_refreshed(void)
{
	struct ahead_result r;

	fresh();
	link_at('A', NOW, 600);	 /* expires within 900 s */
	link_at('B', NOW, 3600); /* not yet */
	CHECK(ahead_run(&app, NOW, &r) == 0);
	CHECK(r.due == 1 && r.refreshed == 1 && r.failed == 0);
	CHECK(http_stub_calls == 1);
	/* A second run finds nothing: A is good for an hour now. */
	CHECK(ahead_run(&app, NOW + 1, &r) == 0);
	CHECK(r.due == 0 && http_stub_calls == 1);
}

static void
idle_links_wait_for_their_next_request(void)
{
	struct ahead_result r;

	fresh();
	/* Made 8 days ago, its token never handed out since. */
	link_at('A', NOW - 8 * 86400, 8 * 86400 + 600);
	CHECK(ahead_run(&app, NOW, &r) == 0);
	CHECK(r.due == 0 && http_stub_calls == 0);
	/* used_within_days = 0: every link, idle or not. */
	app.cfg.refresh_used_within_days = 0;
	CHECK(ahead_run(&app, NOW, &r) == 0);
	CHECK(r.refreshed == 1 && http_stub_calls == 1);
}

static void
touch_hours_uses_an_idle_refresh_token(void)
{
	struct ahead_result r;

	fresh();
	app.cfg.refresh_touch_hours = 24;
	link_at('A', NOW - 8 * 86400, 30 * 86400);
	CHECK(ahead_run(&app, NOW, &r) == 0);
	CHECK(r.refreshed == 1 && http_stub_calls == 1);
	/* The stub's refresh gives an hour; idle, so not refreshed ahead;
	 * touched again a day later. */
	CHECK(ahead_run(&app, NOW + 86399, &r) == 0);
	CHECK(r.due == 0 && http_stub_calls == 1);
	CHECK(ahead_run(&app, NOW + 86400, &r) == 0);
	CHECK(r.refreshed == 1 && http_stub_calls == 2);
}

static void
a_run_stops_after_failures_in_a_row(void)
{
	struct ahead_result r;
	char c;

	fresh();
	for (c = 'A'; c < 'F'; c++)
		link_at(c, NOW, 600);
	http_stub_reply = HTTP_STUB_TIMEOUT;
	CHECK(ahead_run(&app, NOW, &r) == 0);
	CHECK(r.due == 5 && r.failed == AHEAD_GIVE_UP && r.stopped);
	CHECK(http_stub_calls == AHEAD_GIVE_UP);
	/* Backing off: the next run leaves those three alone. */
	CHECK(ahead_run(&app, NOW + 1, &r) == 0);
	CHECK(r.due == 2 && r.stopped == 0 && r.failed == 2);
	CHECK(http_stub_calls == AHEAD_GIVE_UP + 2);
}

static void
each_transient_failure_counts_toward_stopping(void)
{
	static const unsigned kinds[] = { HTTP_STUB_NETWORK,
					  HTTP_STUB_INVALID_CLIENT,
					  HTTP_STUB_SERVER_ERROR };
	struct ahead_result r;
	size_t i;
	char c;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		fresh();
		/* The same expiry for all: sorted by name then. */
		for (c = 'A'; c < 'F'; c++)
			link_at(c, NOW, 600);
		http_stub_reply = kinds[i];
		CHECK(ahead_run(&app, NOW, &r) == 0);
		CHECK(r.stopped && r.failed == AHEAD_GIVE_UP);
	}
	/* A bad reply is the link's own trouble: the run goes on. */
	fresh();
	for (c = 'A'; c < 'F'; c++)
		link_at(c, NOW, 600);
	http_stub_reply = HTTP_STUB_TRUNCATED;
	CHECK(ahead_run(&app, NOW, &r) == 0);
	CHECK(!r.stopped && r.failed == 5);
}

static void
a_run_keeps_to_per_second(void)
{
	struct ahead_result r;
	struct timespec t0, t1;
	char c;

	fresh();
	app.cfg.refresh_per_second = 4;
	for (c = 'A'; c < 'F'; c++)
		link_at(c, NOW, 600);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(ahead_run(&app, NOW, &r) == 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(r.refreshed == 5);
	/* The fifth starts a second after the first. */
	CHECK((t1.tv_sec - t0.tv_sec) * 1000 +
		      (t1.tv_nsec - t0.tv_nsec) / 1000000 >=
	      1000);
}

static void
a_grant_gone_is_counted_and_not_a_reason_to_stop(void)
{
	struct ahead_result r;
	char c;

	fresh();
	for (c = 'A'; c < 'F'; c++)
		link_at(c, NOW, 600);
	http_stub_reply = HTTP_STUB_INVALID_GRANT;
	CHECK(ahead_run(&app, NOW, &r) == 0);
	CHECK(r.reconnect == 5 && r.stopped == 0);
	CHECK(ahead_run(&app, NOW + 1, &r) == 0);
	CHECK(r.due == 0);
}

static void
an_unreadable_store_is_an_error(void)
{
	struct ahead_result r;

	fresh();
	chmod(app.cfg.store_dir, 0755);
	CHECK(ahead_run(&app, NOW, &r) == -1);
	chmod(app.cfg.store_dir, 0700);
}

int
main(void)
{
	int fd, rc;

	if (mkdtemp(top) == NULL)
		return 1;
	fd = open("/dev/null", O_WRONLY);
	if (fd != -1) {
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	RUN(links_in_use_within_the_window_are_refreshed);
	RUN(idle_links_wait_for_their_next_request);
	RUN(touch_hours_uses_an_idle_refresh_token);
	RUN(a_run_stops_after_failures_in_a_row);
	RUN(each_transient_failure_counts_toward_stopping);
	RUN(a_run_keeps_to_per_second);
	RUN(a_grant_gone_is_counted_and_not_a_reason_to_stop);
	RUN(an_unreadable_store_is_an_error);
	store_close(app.store);
	http_free(app.http);
	rc = DONE();
	unit_rmtree(top);
	return rc;
}
