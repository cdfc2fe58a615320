/*
 * Unit tests for link.c: when a token is due, and each way a link's life
 * can go, refresh included: the token endpoint is tests/unit/http_stub.c,
 * linked in http.c's place, and "another worker" is a child process.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http_stub.h"
#include "link.h"
#include "session.h"
#include "testkeys.h"
#include "unit.h"

#define SID  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define SID2 "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
#define NOW  1800000000LL

static char top[] = "/tmp/isc-unit-XXXXXX";
static struct app app;
static struct owner own1, own2; /* the browsers of SID and SID2 */

static struct record_meta
meta(int status, long long expires_at)
{
	struct record_meta m;

	memset(&m, 0, sizeof(m));
	m.status = status;
	m.expires_at = expires_at;
	return m;
}

static void
due_within_the_margin(void)
{
	struct record_meta m = meta(RECORD_CONNECTED, 1000);

	CHECK(link_due(&m, 940, 60));
	CHECK(link_due(&m, 999, 60));
}

static void
not_due_before_the_margin(void)
{
	struct record_meta m = meta(RECORD_CONNECTED, 1000);

	CHECK(!link_due(&m, 939, 60));
	CHECK(!link_due(&m, 0, 60));
}

static void
due_when_already_expired(void)
{
	struct record_meta m = meta(RECORD_CONNECTED, 1000);

	CHECK(link_due(&m, 1000, 60));
	CHECK(link_due(&m, 5000, 60));
}

static void
never_due_when_it_needs_reconnect(void)
{
	struct record_meta m = meta(RECORD_NEEDS_RECONNECT, 1000);

	/* No refresh token is left to refresh with. */
	CHECK(!link_due(&m, 940, 60));
	CHECK(!link_due(&m, 5000, 60));
}

static void
margin_zero_is_due_at_expiry_exactly(void)
{
	struct record_meta m = meta(RECORD_CONNECTED, 1000);

	CHECK(!link_due(&m, 999, 0));
	CHECK(link_due(&m, 1000, 0));
}

static void
quiet(void)
{
	int fd = open("/dev/null", O_WRONLY);

	/* Audit lines go to stderr; the TAP output stays readable. */
	if (fd != -1) {
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
}

static char token_url[] = "https://token.example/oauth2/token";
static char revocation_url[] = "https://token.example/oauth2/revoke";
static char client_id[] = "test-client", client_secret[] = "test-secret";

/* An app with a fresh store in top/store, one fixed key, and the stubbed
 * token endpoint reset to its first reply. */
static void
fresh(void)
{
	static char dir[64];
	char err[256];

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
	app.cfg.token_url = token_url;
	app.cfg.client_id = client_id;
	app.cfg.client_secret = client_secret;
	test_keyring(&app.keys, 1);
	app.store = store_open(&app.cfg, STORE_BACKEND_FILE, err, sizeof(err));
	app.http = http_new(&app.cfg);
	if (app.store == NULL || app.http == NULL)
		abort();
	http_stub_reply = HTTP_STUB_EXCHANGE;
	http_stub_calls = 0;
	http_stub_during = NULL;
	http_stub_body[0] = '\0';
}

static char at[] = "at-0123456789", rt[] = "rt-0123456789";
static char bearer[] = "Bearer";

static enum link_rc
create(const char *sid, const char *old_sid, char *refresh, long long ttl)
{
	struct oauth_tokens t;

	memset(&t, 0, sizeof(t));
	t.access_token = at;
	t.refresh_token = refresh;
	t.token_type = bearer;
	struct owner o, old;

	t.expires_in = ttl;
	owner_browser(sid, &o);
	owner_browser(old_sid != NULL ? old_sid : "", &old);
	return link_create(&app, &o, &old, &t, NOW);
}

/* Rewrites the stored record of SID through f, as another worker might. */
static int
rewrite(void (*f)(struct record *))
{
	char name[RECORD_NAME_LEN + 1];
	struct record r;
	struct buf b;
	int rc;

	if (link_get(&app, &own1, name, &r) != LINK_OK)
		return -1;
	f(&r);
	buf_init(&b, RECORD_MAX);
	rc = -1;
	if (record_seal(&app.keys, name, &r, &b) == 0 &&
	    store_save(app.store, name, b.data, b.len) == STORE_OK)
		rc = 0;
	buf_free(&b);
	record_free(&r);
	return rc;
}

static void
create_then_token_gives_the_access_token(void)
{
	enum refresh_error why;
	struct record r;

	fresh();
	CHECK(create(SID, NULL, rt, 3600) == LINK_OK);
	CHECK(link_token(&app, &own1, NOW + 60, &r, &why) == LINK_OK);
	CHECK_STR(r.access_token, at);
	CHECK_STR(r.refresh_token, rt);
	CHECK(r.meta.expires_at == NOW + 3600);
	CHECK(r.meta.status == RECORD_CONNECTED);
	record_free(&r);
}

static void
token_for_an_unknown_session_is_none(void)
{
	enum refresh_error why;
	struct record r;

	fresh();
	CHECK(create(SID, NULL, rt, 3600) == LINK_OK);
	CHECK(link_token(&app, &own2, NOW, &r, &why) == LINK_NONE);
}

static void
record_is_named_by_the_hmac_of_the_session(void)
{
	char name[RECORD_NAME_LEN + 1], want[RECORD_NAME_LEN + 1];
	struct record r;

	fresh();
	CHECK(create(SID, NULL, rt, 3600) == LINK_OK);
	CHECK(link_get(&app, &own1, name, &r) == LINK_OK);
	owner_record_name(&app.keys.keys[0], &own1, want);
	CHECK_STR(name, want);
	CHECK(strstr(name, "AAAA") == NULL);
	record_free(&r);
}

static void
create_removes_the_old_sessions_record(void)
{
	char name[RECORD_NAME_LEN + 1];
	struct record r;

	/* The id rotates when a link is made (session fixation). */
	fresh();
	CHECK(create(SID, NULL, rt, 3600) == LINK_OK);
	CHECK(create(SID2, SID, rt, 3600) == LINK_OK);
	CHECK(link_get(&app, &own1, name, &r) == LINK_NONE);
	CHECK(link_get(&app, &own2, name, &r) == LINK_OK);
	record_free(&r);
}

static void
due_without_refresh_token_needs_reconnect(void)
{
	char name[RECORD_NAME_LEN + 1];
	enum refresh_error why;
	struct record r;

	fresh();
	CHECK(create(SID, NULL, NULL, 30) == LINK_OK);
	CHECK(link_token(&app, &own1, NOW, &r, &why) == LINK_RECONNECT);
	CHECK(link_get(&app, &own1, name, &r) == LINK_OK);
	CHECK(r.meta.status == RECORD_NEEDS_RECONNECT);
	record_free(&r);
	CHECK(link_token(&app, &own1, NOW, &r, &why) == LINK_RECONNECT);
}

static void
backoff(struct record *r)
{
	r->meta.expires_at = NOW + 30;
	r->meta.backoff_until = NOW + 20;
	r->meta.last_error = REFRESH_SERVER_ERROR;
}

static void
create_removes_the_old_record_under_its_lock(void)
{
	char name[RECORD_NAME_LEN + 1], c;
	struct store_lock l;
	struct record r;
	int up[2];
	pid_t pid;

	/* A refresh in flight for the old id (another worker) holds its lock
	 * and writes the record back as it finishes: the delete must wait
	 * for it, or the rotated-away id would reach the tokens again. */
	fresh();
	CHECK(create(SID, NULL, rt, 3600) == LINK_OK);
	owner_record_name(&app.keys.keys[0], &own1, name);
	CHECK(pipe(up) == 0);
	pid = fork();
	if (pid == 0) {
		struct timespec t = { 0, 200 * 1000 * 1000 };
		struct buf b;

		/* As refresh() does: lock, read, (talk to InsureSign), save. */
		buf_init(&b, RECORD_MAX);
		if (store_lock(app.store, name, &l) != STORE_OK ||
		    link_get(&app, &own1, name, &r) != LINK_OK ||
		    write(up[1], "L", 1) != 1)
			_exit(1);
		nanosleep(&t, NULL);
		_exit(record_seal(&app.keys, name, &r, &b) == 0 &&
				      store_save(app.store, name, b.data,
						 b.len) == STORE_OK
			      ? 0
			      : 1);
	}
	CHECK(read(up[0], &c, 1) == 1);
	CHECK(create(SID2, SID, rt, 3600) == LINK_OK);
	CHECK(waitpid(pid, NULL, 0) == pid);
	CHECK(link_get(&app, &own1, name, &r) == LINK_NONE);
	close(up[0]);
	close(up[1]);
}

static void
token_in_backoff_is_still_handed_out_until_it_expires(void)
{
	enum refresh_error why;
	struct record r;

	/* A failed refresh must not take a still-valid token away. */
	fresh();
	CHECK(create(SID, NULL, rt, 3600) == LINK_OK);
	CHECK(rewrite(backoff) == 0);
	CHECK(link_token(&app, &own1, NOW, &r, &why) == LINK_OK);
	CHECK_STR(r.access_token, at);
	record_free(&r);
}

static void
backoff_expired(struct record *r)
{
	r->meta.expires_at = NOW - 1;
	r->meta.backoff_until = NOW + 20;
	r->meta.last_error = REFRESH_SERVER_ERROR;
}

static void
expired_token_in_backoff_is_unavailable(void)
{
	enum refresh_error why;
	struct record r;

	fresh();
	CHECK(create(SID, NULL, rt, 3600) == LINK_OK);
	CHECK(rewrite(backoff_expired) == 0);
	CHECK(link_token(&app, &own1, NOW, &r, &why) == LINK_UNAVAILABLE);
	CHECK(why == REFRESH_SERVER_ERROR);
	CHECK(r.access_token == NULL);
}

/* SID's record name (under the current key). */
static const char *
name_of(const struct record *r)
{
	static char name[RECORD_NAME_LEN + 1];

	(void)r;
	owner_record_name(&app.keys.keys[0], &own1, name);
	return name;
}

/* SID's stored record, as the next request would read it. */
static struct record
stored(void)
{
	char name[RECORD_NAME_LEN + 1];
	struct record r;

	if (link_get(&app, &own1, name, &r) != LINK_OK)
		memset(&r, 0, sizeof(r));
	return r;
}

static void
due_token_is_refreshed_and_a_rotated_refresh_token_kept(void)
{
	enum refresh_error why;
	struct record r;

	fresh();
	CHECK(create(SID, NULL, rt, 30) == LINK_OK);
	CHECK(link_token(&app, &own1, NOW, &r, &why) == LINK_OK);
	CHECK(http_stub_calls == 1);
	CHECK_STR(http_stub_url, token_url);
	/* RFC 6749 section 6, with the refresh token the record held. */
	CHECK_STR(http_stub_body, "grant_type=refresh_token&client_id=test-"
				  "client&refresh_token=rt-0123456789");
	CHECK_STR(r.access_token, HTTP_STUB_AT);
	CHECK(r.meta.expires_at == NOW + 3600 && r.meta.last_refresh == NOW);
	record_free(&r);
	r = stored();
	CHECK_STR(r.access_token, HTTP_STUB_AT);
	CHECK_STR(r.refresh_token, HTTP_STUB_RT);
	CHECK(r.meta.last_error == REFRESH_OK && r.meta.updated == NOW);
	record_free(&r);
}

static void
a_reply_without_refresh_token_keeps_the_old_one(void)
{
	enum refresh_error why;
	struct record r;

	/* RFC 6749 section 6: the server MAY issue a new refresh token. */
	fresh();
	CHECK(create(SID, NULL, rt, 30) == LINK_OK);
	http_stub_reply = HTTP_STUB_REFRESH;
	CHECK(link_token(&app, &own1, NOW, &r, &why) == LINK_OK);
	record_free(&r);
	r = stored();
	CHECK_STR(r.access_token, HTTP_STUB_AT2);
	CHECK_STR(r.refresh_token, rt);
	CHECK_STR(r.scope, "documents");
	record_free(&r);
}

static void
a_token_not_due_is_not_refreshed(void)
{
	enum refresh_error why;
	struct record r;

	fresh();
	CHECK(create(SID, NULL, rt, 3600) == LINK_OK);
	CHECK(link_token(&app, &own1, NOW + 3600 - 61, &r, &why) == LINK_OK);
	CHECK_STR(r.access_token, at);
	CHECK(http_stub_calls == 0);
	record_free(&r);
}

static void
invalid_grant_drops_the_tokens_and_asks_for_a_reconnect(void)
{
	enum refresh_error why;
	struct record r;

	fresh();
	CHECK(create(SID, NULL, rt, 30) == LINK_OK);
	http_stub_reply = HTTP_STUB_INVALID_GRANT;
	CHECK(link_token(&app, &own1, NOW, &r, &why) == LINK_RECONNECT);
	CHECK(why == REFRESH_INVALID_GRANT);
	r = stored();
	CHECK(r.meta.status == RECORD_NEEDS_RECONNECT);
	CHECK(r.meta.last_error == REFRESH_INVALID_GRANT);
	CHECK(r.access_token == NULL && r.refresh_token == NULL);
	record_free(&r);
	/* Never asked again: there is nothing left to refresh with. */
	CHECK(link_token(&app, &own1, NOW + 10, &r, &why) == LINK_RECONNECT);
	CHECK(http_stub_calls == 1);
}

static void
a_link_that_needs_a_reconnect_is_not_refreshed_even_by_force(void)
{
	char name[RECORD_NAME_LEN + 1];
	enum refresh_error why;
	struct record r;

	fresh();
	CHECK(create(SID, NULL, rt, 30) == LINK_OK);
	http_stub_reply = HTTP_STUB_INVALID_GRANT;
	CHECK(link_token(&app, &own1, NOW, &r, &why) == LINK_RECONNECT);
	CHECK(link_get(&app, &own1, name, &r) == LINK_OK);
	record_free(&r);
	http_stub_reply = HTTP_STUB_EXCHANGE;
	CHECK(link_refresh(&app, name, NOW, &r, &why) == LINK_RECONNECT);
	CHECK(http_stub_calls == 1);
}

static void
a_failed_refresh_backs_off_and_keeps_handing_out_a_valid_token(void)
{
	enum refresh_error why;
	struct record r;

	fresh();
	CHECK(create(SID, NULL, rt, 30) == LINK_OK);
	http_stub_reply = HTTP_STUB_SERVER_ERROR;
	CHECK(link_token(&app, &own1, NOW, &r, &why) == LINK_OK);
	CHECK_STR(r.access_token, at); /* good for 30 s more */
	record_free(&r);
	r = stored();
	CHECK(r.meta.last_error == REFRESH_SERVER_ERROR);
	CHECK(r.meta.backoff_until == NOW + 30);
	record_free(&r);
	/* Backing off: no call, still the old token while it lasts. */
	CHECK(link_token(&app, &own1, NOW + 10, &r, &why) == LINK_OK);
	CHECK(http_stub_calls == 1);
	record_free(&r);
	/* The back-off over: asked again, and a success clears it. */
	http_stub_reply = HTTP_STUB_EXCHANGE;
	CHECK(link_token(&app, &own1, NOW + 30, &r, &why) == LINK_OK);
	CHECK(http_stub_calls == 2);
	CHECK_STR(r.access_token, HTTP_STUB_AT);
	CHECK(r.meta.backoff_until == 0 && r.meta.last_error == REFRESH_OK);
	record_free(&r);
}

static void
the_backoff_doubles_with_each_failure_in_a_row_up_to_an_hour(void)
{
	static const long long waits[] = { 30,	60,   120,  240, 480,
					   960, 1920, 3600, 3600 };
	enum refresh_error why;
	struct record r;
	long long t = NOW;
	size_t i;

	fresh();
	CHECK(create(SID, NULL, rt, 30) == LINK_OK);
	http_stub_reply = HTTP_STUB_SERVER_ERROR;
	for (i = 0; i < sizeof(waits) / sizeof(waits[0]); i++) {
		link_token(&app, &own1, t, &r, &why);
		record_free(&r);
		r = stored();
		CHECK(r.meta.backoff_until == t + waits[i]);
		CHECK(r.failures == (int)i + 1);
		t = r.meta.backoff_until;
		record_free(&r);
	}
	CHECK(http_stub_calls == sizeof(waits) / sizeof(waits[0]));
	/* A success starts the count again. */
	http_stub_reply = HTTP_STUB_REFRESH;
	CHECK(link_token(&app, &own1, t, &r, &why) == LINK_OK);
	record_free(&r);
	r = stored();
	CHECK(r.failures == 0 && r.meta.backoff_until == 0);
	record_free(&r);
}

static void
ahead_refreshes_within_the_window_and_only_when_still_due(void)
{
	enum refresh_error why;
	struct record r;
	int tried;

	fresh();
	CHECK(create(SID, NULL, rt, 3600) == LINK_OK);
	r = stored();
	/* Not within 900 s of expiry yet: nothing asked. */
	CHECK(link_refresh_ahead(&app, name_of(&r), NOW + 2699, 900, 0, &tried,
				 &why) == LINK_OK);
	CHECK(!tried && http_stub_calls == 0);
	http_stub_reply = HTTP_STUB_REFRESH;
	CHECK(link_refresh_ahead(&app, name_of(&r), NOW + 2700, 900, 0, &tried,
				 &why) == LINK_OK);
	CHECK(tried && why == REFRESH_OK && http_stub_calls == 1);
	/* Fresh now (a web request would have found it so too). */
	CHECK(link_refresh_ahead(&app, name_of(&r), NOW + 2701, 900, 0, &tried,
				 &why) == LINK_OK);
	CHECK(!tried && http_stub_calls == 1);
	record_free(&r);
}

static void
ahead_touches_a_refresh_token_unused_for_touch_seconds(void)
{
	enum refresh_error why;
	struct record r;
	int tried;

	fresh();
	CHECK(create(SID, NULL, rt, 100000) == LINK_OK);
	r = stored();
	http_stub_reply = HTTP_STUB_REFRESH;
	/* An access token good for a day more is not within 60 s... */
	CHECK(link_refresh_ahead(&app, name_of(&r), NOW + 7199, 60, 7200,
				 &tried, &why) == LINK_OK);
	CHECK(!tried);
	/* ... but two hours after it was made, its refresh token is used. */
	CHECK(link_refresh_ahead(&app, name_of(&r), NOW + 7200, 60, 7200,
				 &tried, &why) == LINK_OK);
	CHECK(tried && http_stub_calls == 1);
	/* Two hours after that last use, again; never sooner (the stub's
	 * refresh gives an hour: the margin is 60 s). */
	CHECK(link_refresh_ahead(&app, name_of(&r), NOW + 7200 + 3539, 60, 7200,
				 &tried, &why) == LINK_OK);
	CHECK(!tried);
	record_free(&r);
	/* A link that needs a reconnect has nothing to touch. */
	http_stub_reply = HTTP_STUB_INVALID_GRANT;
	CHECK(link_refresh_ahead(&app, name_of(&r), NOW + 14400, 60, 7200,
				 &tried, &why) == LINK_RECONNECT);
	CHECK(tried);
	CHECK(link_refresh_ahead(&app, name_of(&r), NOW + 30000, 60, 7200,
				 &tried, &why) == LINK_RECONNECT);
	CHECK(!tried && http_stub_calls == 2);
}

static void
a_failed_refresh_of_an_expired_token_is_unavailable(void)
{
	enum refresh_error why;
	struct record r;

	fresh();
	CHECK(create(SID, NULL, rt, 30) == LINK_OK);
	http_stub_reply = HTTP_STUB_TIMEOUT;
	CHECK(link_token(&app, &own1, NOW + 30, &r, &why) == LINK_UNAVAILABLE);
	CHECK(why == REFRESH_TIMEOUT);
	CHECK(r.access_token == NULL);
}

static void
each_endpoint_failure_is_stored_in_the_records_words(void)
{
	static const struct {
		enum http_stub_reply reply;
		enum refresh_error want;
	} cases[] = {
		{ HTTP_STUB_INVALID_CLIENT, REFRESH_INVALID_CLIENT },
		{ HTTP_STUB_SERVER_ERROR, REFRESH_SERVER_ERROR },
		{ HTTP_STUB_TIMEOUT, REFRESH_TIMEOUT },
		{ HTTP_STUB_TRUNCATED, REFRESH_BAD_REPLY },
		{ HTTP_STUB_NETWORK, REFRESH_NETWORK },
	};
	char name[RECORD_NAME_LEN + 1];
	enum refresh_error why;
	struct record r;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fresh();
		CHECK(create(SID, NULL, rt, 3600) == LINK_OK);
		CHECK(link_get(&app, &own1, name, &r) == LINK_OK);
		record_free(&r);
		http_stub_reply = cases[i].reply;
		/* Forced: a valid token does not hide the failure. */
		CHECK(link_refresh(&app, name, NOW, &r, &why) ==
		      LINK_UNAVAILABLE);
		CHECK(why == cases[i].want);
		r = stored();
		CHECK(r.meta.last_error == (int)cases[i].want);
		CHECK(r.meta.status == RECORD_CONNECTED);
		CHECK_STR(r.refresh_token, rt);
		record_free(&r);
	}
}

static void
backoff_far(struct record *r)
{
	r->meta.backoff_until = NOW + 3000;
	r->meta.last_error = REFRESH_SERVER_ERROR;
}

static void
a_forced_refresh_ignores_the_margin_and_the_backoff(void)
{
	char name[RECORD_NAME_LEN + 1];
	enum refresh_error why;
	struct record r;

	fresh();
	CHECK(create(SID, NULL, rt, 3600) == LINK_OK);
	CHECK(rewrite(backoff_far) == 0);
	CHECK(link_get(&app, &own1, name, &r) == LINK_OK);
	record_free(&r);
	CHECK(link_refresh(&app, name, NOW, &r, &why) == LINK_OK);
	CHECK(http_stub_calls == 1);
	CHECK_STR(r.access_token, HTTP_STUB_AT);
	record_free(&r);
	/* And it sends the rotated refresh token the first one stored. */
	CHECK(link_refresh(&app, name, NOW + 1, &r, &why) == LINK_OK);
	CHECK(strstr(http_stub_body, "refresh_token=" HTTP_STUB_RT) != NULL);
	record_free(&r);
}

/* -- another worker: a child process, as a second FastCGI worker is -- */

/*
 * Starts fn in a child process and returns its pid.  The child first
 * closes what it inherited: an open file description (a lock file's)
 * is shared across fork, and its lock with it.
 */
static pid_t
worker(int (*fn)(void))
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close_range(3, ~0U, 0);
		http_stub_during = NULL;
		_exit(fn());
	}
	return pid;
}

static int
exited_zero(pid_t pid)
{
	int st;

	return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	       WEXITSTATUS(st) == 0;
}

/* Waits until some process waits for a lock in the store's lock file
 * (/proc/locks marks a waiter "->"); 0, or -1 after 10 s. */
static int
someone_waits_for_the_lock(void)
{
	char path[128], ino[32], line[256];
	struct stat st;
	int i, found = 0;

	snprintf(path, sizeof(path), "%s/.lock", app.cfg.store_dir);
	if (stat(path, &st) == -1)
		return -1;
	snprintf(ino, sizeof(ino), ":%llu ", (unsigned long long)st.st_ino);
	for (i = 0; i < 1000 && !found; i++) {
		FILE *f = fopen("/proc/locks", "r");

		while (f != NULL && fgets(line, sizeof(line), f) != NULL)
			if (strstr(line, "->") != NULL &&
			    strstr(line, ino) != NULL)
				found = 1;
		if (f != NULL)
			fclose(f);
		if (!found)
			usleep(10000);
	}
	return found ? 0 : -1;
}

/* The second worker: SID's token, with no call of its own, and the
 * token the first worker's refresh got. */
static int
second_worker(void)
{
	unsigned long before = http_stub_calls;
	enum refresh_error why;
	struct record r;
	int ok;

	if (link_token(&app, &own1, NOW, &r, &why) != LINK_OK)
		return 1;
	ok = http_stub_calls == before &&
	     strcmp(r.access_token, HTTP_STUB_AT) == 0;
	record_free(&r);
	return ok ? 0 : 2;
}

static pid_t second;
static int second_waited;

/* During the first worker's call to the token endpoint, lock held. */
static void
start_the_second_worker(void)
{
	second = worker(second_worker);
	second_waited = someone_waits_for_the_lock();
}

static void
single_flight_the_second_worker_waits_and_takes_the_new_token(void)
{
	enum refresh_error why;
	struct record r;

	/* Both find the token due; one refreshes, the other waits for the
	 * lock, reads the record again and finds it no longer due. */
	fresh();
	CHECK(create(SID, NULL, rt, 30) == LINK_OK);
	http_stub_during = start_the_second_worker;
	CHECK(link_token(&app, &own1, NOW, &r, &why) == LINK_OK);
	http_stub_during = NULL;
	record_free(&r);
	CHECK(second_waited == 0);
	CHECK(exited_zero(second));
	CHECK(http_stub_calls == 1);
}

/* Another worker asks for SID's token while this one holds the lock of
 * record NAME; meanwhile(NAME) runs once it waits, then the lock goes. */
static int
while_a_worker_waits(const char *name, int (*fn)(void),
		     void (*meanwhile)(const char *))
{
	struct store_lock lock;
	pid_t pid;

	if (store_lock(app.store, name, &lock) != STORE_OK)
		return -1;
	pid = worker(fn);
	if (someone_waits_for_the_lock() == 0)
		meanwhile(name);
	store_unlock(&lock);
	return exited_zero(pid) ? 0 : -1;
}

/* As rekey does it, under the lock the test holds: sealed again under
 * the current key, saved under its new name, the old one removed. */
static void
rekey_unlocked(const char *old)
{
	char name[RECORD_NAME_LEN + 1];
	struct record r;
	struct buf b;

	buf_init(&b, RECORD_MAX);
	if (link_get_name(&app, old, &r) == LINK_OK) {
		owner_record_name(&app.keys.keys[0], &r.owner, name);
		if (record_seal(&app.keys, name, &r, &b) == 0)
			store_save(app.store, name, b.data, b.len);
		store_delete(app.store, old);
		record_free(&r);
	}
	buf_free(&b);
}

/* A worker that refreshes SID's token itself (one call). */
static int
refreshing_worker(void)
{
	unsigned long before = http_stub_calls;
	enum refresh_error why;
	struct record r;
	int ok;

	if (link_token(&app, &own1, NOW, &r, &why) != LINK_OK)
		return 1;
	ok = http_stub_calls == before + 1 &&
	     strcmp(r.access_token, HTTP_STUB_AT) == 0;
	record_free(&r);
	return ok ? 0 : 2;
}

static void
a_record_moved_while_waiting_for_the_lock_is_found_again(void)
{
	static const unsigned char old_only[] = { 5 }, rotated[] = { 6, 5 };
	char name[RECORD_NAME_LEN + 1];
	struct record r;

	/* Sealed under key 5; key 6 becomes current; rekey moves it while
	 * a worker waits for the lock of its old name. */
	fresh();
	test_keyring_of(&app.keys, old_only, 1);
	CHECK(create(SID, NULL, rt, 30) == LINK_OK);
	test_keyring_of(&app.keys, rotated, 2);
	CHECK(link_get(&app, &own1, name, &r) == LINK_OK);
	CHECK(r.old_key);
	record_free(&r);
	CHECK(while_a_worker_waits(name, refreshing_worker, rekey_unlocked) ==
	      0);
	CHECK(link_get_name(&app, name, &r) == LINK_NONE);
	r = stored();
	CHECK_STR(r.access_token, HTTP_STUB_AT);
	record_free(&r);
}

static int
no_link_worker(void)
{
	enum refresh_error why;
	struct record r;

	return link_token(&app, &own1, NOW, &r, &why) == LINK_NONE &&
			       http_stub_calls == 0
		       ? 0
		       : 1;
}

static void
delete_unlocked(const char *name)
{
	store_delete(app.store, name);
}

static void
a_record_deleted_while_waiting_for_the_lock_is_none(void)
{
	char name[RECORD_NAME_LEN + 1];
	struct record r;

	fresh();
	CHECK(create(SID, NULL, rt, 30) == LINK_OK);
	CHECK(link_get(&app, &own1, name, &r) == LINK_OK);
	record_free(&r);
	CHECK(while_a_worker_waits(name, no_link_worker, delete_unlocked) == 0);
}

static void
handing_out_a_token_an_hour_after_its_last_use_records_the_use(void)
{
	enum refresh_error why;
	struct record r;

	fresh();
	CHECK(create(SID, NULL, rt, 86400) == LINK_OK);
	/* Within the hour: a read stays a read (no write). */
	CHECK(link_token(&app, &own1, NOW + 3599, &r, &why) == LINK_OK);
	record_free(&r);
	r = stored();
	CHECK(r.meta.last_used == NOW && r.meta.updated == NOW);
	record_free(&r);
	/* An hour on: last_used moves, so gc sees the link in use. */
	CHECK(link_token(&app, &own1, NOW + 3600, &r, &why) == LINK_OK);
	record_free(&r);
	r = stored();
	CHECK(r.meta.last_used == NOW + 3600 && r.meta.updated == NOW + 3600);
	CHECK_STR(r.access_token, at);
	record_free(&r);
	CHECK(http_stub_calls == 0);
}

static void
delete_removes_the_link(void)
{
	char name[RECORD_NAME_LEN + 1];
	struct record r;

	fresh();
	CHECK(create(SID, NULL, rt, 3600) == LINK_OK);
	CHECK(link_get(&app, &own1, name, &r) == LINK_OK);
	record_free(&r);
	CHECK(link_delete(&app, name, "test") == LINK_OK);
	CHECK(link_get(&app, &own1, name, &r) == LINK_NONE);
	/* No revocation_url: nothing to tell the server. */
	CHECK(http_stub_calls == 0);
	CHECK(link_delete(&app, name, "test") == LINK_NONE);
}

static void
delete_revokes_the_refresh_token_where_configured(void)
{
	char name[RECORD_NAME_LEN + 1];
	struct record r;

	fresh();
	app.cfg.revocation_url = revocation_url;
	CHECK(create(SID, NULL, rt, 3600) == LINK_OK);
	CHECK(link_get(&app, &own1, name, &r) == LINK_OK);
	record_free(&r);
	CHECK(link_delete(&app, name, "test") == LINK_OK);
	/* RFC 7009 section 2.1. */
	CHECK(http_stub_calls == 1);
	CHECK_STR(http_stub_url, revocation_url);
	CHECK_STR(http_stub_body,
		  "token=rt-0123456789&token_type_hint=refresh_token");
	CHECK(link_get(&app, &own1, name, &r) == LINK_NONE);
}

static void
a_failed_revocation_still_deletes(void)
{
	char name[RECORD_NAME_LEN + 1];
	struct record r;

	fresh();
	app.cfg.revocation_url = revocation_url;
	CHECK(create(SID, NULL, rt, 3600) == LINK_OK);
	CHECK(link_get(&app, &own1, name, &r) == LINK_OK);
	record_free(&r);
	http_stub_reply = HTTP_STUB_NETWORK;
	CHECK(link_delete(&app, name, "test") == LINK_OK);
	CHECK(http_stub_calls == 1);
	CHECK(link_get(&app, &own1, name, &r) == LINK_NONE);
}

static void
never_used(struct record *r)
{
	r->meta.last_used = 0;
	r->meta.last_refresh = 0;
}

static void
gc_counts_idleness_from_creation_and_leaves_what_it_cannot_read(void)
{
	char junk[RECORD_NAME_LEN + 1], name[RECORD_NAME_LEN + 1];
	struct record r;
	struct buf b;

	fresh();
	app.cfg.max_idle_days = 90;
	CHECK(create(SID, NULL, rt, 3600) == LINK_OK);
	/* Made, never used since: idle from when it was made. */
	CHECK(rewrite(never_used) == 0);
	memset(junk, 'e', RECORD_NAME_LEN);
	junk[RECORD_NAME_LEN] = '\0';
	CHECK(store_save(app.store, junk, "not a record", 12) == STORE_OK);
	CHECK(link_gc(&app, NOW + 89 * 86400LL, NULL) == 1);
	CHECK(link_get(&app, &own1, name, &r) == LINK_OK);
	record_free(&r);
	CHECK(link_gc(&app, NOW + 91 * 86400LL, NULL) == 0);
	CHECK(link_get(&app, &own1, name, &r) == LINK_NONE);
	/* What gc cannot read, it never removes. */
	buf_init(&b, 1024);
	CHECK(store_load(app.store, junk, &b) == STORE_OK);
	buf_free(&b);
}

int
main(void)
{
	int rc;

	if (mkdtemp(top) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	owner_browser(SID, &own1);
	owner_browser(SID2, &own2);
	quiet();
	RUN(due_within_the_margin);
	RUN(not_due_before_the_margin);
	RUN(due_when_already_expired);
	RUN(never_due_when_it_needs_reconnect);
	RUN(margin_zero_is_due_at_expiry_exactly);
	RUN(create_then_token_gives_the_access_token);
	RUN(token_for_an_unknown_session_is_none);
	RUN(record_is_named_by_the_hmac_of_the_session);
	RUN(create_removes_the_old_sessions_record);
	RUN(create_removes_the_old_record_under_its_lock);
	RUN(due_without_refresh_token_needs_reconnect);
	RUN(token_in_backoff_is_still_handed_out_until_it_expires);
	RUN(expired_token_in_backoff_is_unavailable);
	RUN(due_token_is_refreshed_and_a_rotated_refresh_token_kept);
	RUN(a_reply_without_refresh_token_keeps_the_old_one);
	RUN(a_token_not_due_is_not_refreshed);
	RUN(invalid_grant_drops_the_tokens_and_asks_for_a_reconnect);
	RUN(a_link_that_needs_a_reconnect_is_not_refreshed_even_by_force);
	RUN(a_failed_refresh_backs_off_and_keeps_handing_out_a_valid_token);
	RUN(a_failed_refresh_of_an_expired_token_is_unavailable);
	RUN(the_backoff_doubles_with_each_failure_in_a_row_up_to_an_hour);
	RUN(ahead_refreshes_within_the_window_and_only_when_still_due);
	RUN(ahead_touches_a_refresh_token_unused_for_touch_seconds);
	RUN(each_endpoint_failure_is_stored_in_the_records_words);
	RUN(a_forced_refresh_ignores_the_margin_and_the_backoff);
	RUN(single_flight_the_second_worker_waits_and_takes_the_new_token);
	RUN(a_record_moved_while_waiting_for_the_lock_is_found_again);
	RUN(a_record_deleted_while_waiting_for_the_lock_is_none);
	RUN(handing_out_a_token_an_hour_after_its_last_use_records_the_use);
	RUN(delete_removes_the_link);
	RUN(gc_counts_idleness_from_creation_and_leaves_what_it_cannot_read);
	RUN(delete_revokes_the_refresh_token_where_configured);
	RUN(a_failed_revocation_still_deletes);
	store_close(app.store);
	http_free(app.http);
	rc = DONE();
	unit_rmtree(top);
	return rc;
}
