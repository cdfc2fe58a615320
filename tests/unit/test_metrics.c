/*
 * Unit tests for metrics.c: counts shared by processes through the file
 * in the state dir (a child killed with SIGKILL keeps its counts), the
 * histogram's buckets, and the exposition.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app.h"
#include "metrics.h"
#include "testkeys.h"
#include "unit.h"

static char top[] = "/tmp/isc-unit-XXXXXX";
static char state[64], store[64];
static struct app app;
static long long now = 1800000000LL;

/* A fresh state dir and store, and the metrics file mapped anew. */
static void
fresh(void)
{
	char err[256];

	metrics_close();
	unit_rmtree(state);
	unit_rmtree(store);
	if (mkdir(state, 0700) == -1 || mkdir(store, 0700) == -1)
		abort();
	if (metrics_open(state, err, sizeof(err)) == -1) {
		printf("# %s\n", err);
		abort();
	}
}

static char *
render(void)
{
	static char out[256 * 1024];
	char err[256];
	struct buf b;

	buf_init(&b, sizeof(out));
	out[0] = '\0';
	if (metrics_render(&app, now, &b, err, sizeof(err)) == 0)
		snprintf(out, sizeof(out), "%s", buf_str(&b));
	else
		snprintf(out, sizeof(out), "ERROR %s", err);
	buf_free(&b);
	return out;
}

/* The value of one series line, "name{labels} value", or -1. */
static long long
value(const char *series)
{
	const char *text = render(), *p = text;
	size_t n = strlen(series);

	while ((p = strstr(p, series)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
		p += n;
	}
	return -1;
}

static void
counts_of_every_process_add_up(void)
{
	int i, status;
	pid_t pid[4];

	fresh();
	for (i = 0; i < 4; i++) {
		pid[i] = fork();
		if (pid[i] == 0) {
			int k;

			for (k = 0; k < 1000; k++)
				metrics_count(METRIC_CONNECTS_STARTED);
			_exit(0);
		}
	}
	for (i = 0; i < 4; i++)
		waitpid(pid[i], &status, 0);
	metrics_count(METRIC_CONNECTS_STARTED);
	CHECK(value("insuresign_connect_connects_started_total") == 4001);
}

static void
a_process_killed_with_sigkill_keeps_its_counts(void)
{
	int fds[2], status;
	char c;
	pid_t pid;

	fresh();
	if (pipe(fds) == -1)
		abort();
	pid = fork();
	if (pid == 0) {
		metrics_count(METRIC_REFRESHES + OAUTH_TIMEOUT);
		metrics_count(METRIC_REFRESHES + OAUTH_TIMEOUT);
		(void)!write(fds[1], "x", 1);
		pause();
		_exit(0);
	}
	CHECK(read(fds[0], &c, 1) == 1);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	close(fds[0]);
	close(fds[1]);
	CHECK(WIFSIGNALED(status));
	CHECK(value("insuresign_connect_refreshes_total{result=\"timeout\"}") ==
	      2);
	/* A new mapping of the same file (a new worker) sees them too. */
	metrics_close();
	{
		char err[256];

		CHECK(metrics_open(state, err, sizeof(err)) == 0);
	}
	CHECK(value("insuresign_connect_refreshes_total{result=\"timeout\"}") ==
	      2);
}

static void
families_and_their_labels(void)
{
	fresh();
	metrics_count(METRIC_CONNECTS_FAILED + CONNECT_DENIED);
	metrics_count(METRIC_CONNECTS_FAILED + CONNECT_EXCHANGE +
		      OAUTH_INVALID_GRANT);
	metrics_count(METRIC_EXCHANGES + OAUTH_OK);
	metrics_count(METRIC_EVENTS_DELIVERED + EVENT_LINK_RECOVERED);
	metrics_count(METRIC_EVENT_FAILURES + DELIVERY_TIMEOUT);
	metrics_count(METRIC_STORE_WRITE_ERRORS);
	metrics_count(METRIC__MAX); /* out of range: ignored */
	metrics_count(-1);
	CHECK(value("insuresign_connect_connects_failed_total{reason="
		    "\"denied\"}") == 1);
	CHECK(value("insuresign_connect_connects_failed_total{reason="
		    "\"exchange_invalid_grant\"}") == 1);
	CHECK(value("insuresign_connect_connects_failed_total{reason="
		    "\"exchange_ok\"}") == -1);
	CHECK(value("insuresign_connect_code_exchanges_total{result="
		    "\"ok\"}") == 1);
	CHECK(value("insuresign_connect_events_delivered_total{type="
		    "\"link.recovered\"}") == 1);
	CHECK(value("insuresign_connect_event_delivery_failures_total{"
		    "reason=\"timeout\"}") == 1);
	CHECK(value("insuresign_connect_store_errors_total{op=\"write\"}") ==
	      1);
	CHECK(value("insuresign_connect_requests_total{route=\"/status\"}") ==
	      0);
	CHECK(value("insuresign_connect_requests_total{route=\"other\"}") == 0);
	CHECK(strstr(render(), "# TYPE insuresign_connect_links gauge\n") !=
	      NULL);
}

static void
token_answers_by_status(void)
{
	static const int statuses[] = { 200, 400, 401, 404, 409, 502, 503 };
	static const char *const names[] = {
		"ok",
		"bad_request",
		"unauthorized",
		"not_connected",
		"needs_reconnect",
		"refresh_failed",
		"unavailable",
	};
	char series[128];
	size_t i;

	fresh();
	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		metrics_count_token(statuses[i]);
	metrics_count_token(504);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(series, sizeof(series),
			 "insuresign_connect_token_requests_total{result="
			 "\"%s\"}",
			 names[i]);
		CHECK(value(series) == (i == 6 ? 2 : 1));
	}
}

static void
histogram_buckets_are_cumulative(void)
{
	const char *h = "insuresign_connect_token_endpoint_duration_seconds";
	char series[160];

	fresh();
	metrics_observe(CALL_REFRESH, 0.003);
	metrics_observe(CALL_REFRESH, 0.3);
	metrics_observe(CALL_REFRESH, 0.5); /* le="0.5" holds 0.5 itself */
	metrics_observe(CALL_REFRESH, 100);
	snprintf(series, sizeof(series),
		 "%s_bucket{grant=\"refresh_token\",le=\"0.005\"}", h);
	CHECK(value(series) == 1);
	snprintf(series, sizeof(series),
		 "%s_bucket{grant=\"refresh_token\",le=\"0.25\"}", h);
	CHECK(value(series) == 1);
	snprintf(series, sizeof(series),
		 "%s_bucket{grant=\"refresh_token\",le=\"0.5\"}", h);
	CHECK(value(series) == 3);
	snprintf(series, sizeof(series),
		 "%s_bucket{grant=\"refresh_token\",le=\"30\"}", h);
	CHECK(value(series) == 3);
	snprintf(series, sizeof(series),
		 "%s_bucket{grant=\"refresh_token\",le=\"+Inf\"}", h);
	CHECK(value(series) == 4);
	snprintf(series, sizeof(series), "%s_count{grant=\"refresh_token\"}",
		 h);
	CHECK(value(series) == 4);
	snprintf(series, sizeof(series), "%s_sum{grant=\"refresh_token\"} ", h);
	CHECK(strstr(render(), series) != NULL);
	CHECK(strstr(strstr(render(), series), " 100.803000\n") != NULL);
	snprintf(series, sizeof(series), "%s_count{grant=\"revoke\"}", h);
	CHECK(value(series) == 0);
}

static void
an_older_layout_starts_again_at_zero(void)
{
	char path[128], err[256];
	int fd;

	fresh();
	metrics_count(METRIC_CONNECTS_STARTED);
	metrics_close();
	snprintf(path, sizeof(path), "%s/metrics", state);
	fd = open(path, O_WRONLY);
	CHECK(fd != -1 && pwrite(fd, "ISCMET0", 8, 0) == 8);
	close(fd);
	CHECK(metrics_open(state, err, sizeof(err)) == 0);
	CHECK(value("insuresign_connect_connects_started_total") == 0);
}

static void
unshared_counts_are_not_shown(void)
{
	char err[256];

	fresh();
	chmod(state, 0755);
	metrics_close();
	CHECK(metrics_open(state, err, sizeof(err)) == -1);
	CHECK(strstr(err, "expected 0700") != NULL);
	metrics_count(METRIC_CONNECTS_STARTED); /* still safe */
	CHECK(strstr(render(), "ERROR the counts are not shared by the "
			       "workers: [app] state_dir") != NULL);
	CHECK(!metrics_shared(err, sizeof(err)));
	chmod(state, 0700);
	/* A file removed under a running worker: it says restart. */
	fresh();
	{
		char path[128];

		snprintf(path, sizeof(path), "%s/metrics", state);
		unlink(path);
	}
	CHECK(strstr(render(), "removed or cut short") != NULL);
}

static void
gauges_count_links_by_health(void)
{
	fresh();
	/* An empty store: every state 0, the families there. */
	CHECK(value("insuresign_connect_links{state=\"connected\"}") == 0);
	CHECK(value("insuresign_connect_links{state=\"needs_reconnect\"}") ==
	      0);
	/* Read again only METRICS_GAUGE_TTL seconds later. */
	chmod(store, 0755);
	now += METRICS_GAUGE_TTL - 1;
	CHECK(value("insuresign_connect_links{state=\"connected\"}") == 0);
	/* Then a store that cannot be read: no exposition at all. */
	now += 1;
	CHECK(strncmp(render(), "ERROR the store cannot be read", 30) == 0);
	chmod(store, 0700);
	now += METRICS_GAUGE_TTL;
	CHECK(value("insuresign_connect_links{state=\"connected\"}") == 0);
}

int
main(void)
{
	int fd, rc;

	if (mkdtemp(top) == NULL)
		return 1;
	snprintf(state, sizeof(state), "%s/state", top);
	snprintf(store, sizeof(store), "%s/store", top);
	fd = open("/dev/null", O_WRONLY);
	if (fd != -1) {
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	app.cfg.store_dir = store;
	app.cfg.state_dir = state;
	test_keyring(&app.keys, 1);
	app.store = store_open(&app.cfg, STORE_BACKEND_FILE, NULL, 0);
	RUN(counts_of_every_process_add_up);
	RUN(a_process_killed_with_sigkill_keeps_its_counts);
	RUN(families_and_their_labels);
	RUN(token_answers_by_status);
	RUN(histogram_buckets_are_cumulative);
	RUN(an_older_layout_starts_again_at_zero);
	RUN(unshared_counts_are_not_shown);
	RUN(gauges_count_links_by_health);
	metrics_close();
	store_close(app.store);
	rc = DONE();
	unit_rmtree(top);
	return rc;
}
