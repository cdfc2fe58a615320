/*
 * Unit tests for migrate.c: a file store and a Redis (a redis-server of
 * the test's own): what is copied, what is left and why, which version
 * wins, and what a store that fails does to the counts.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "migrate.h"
#include "redis_server.h"
#include "testkeys.h"
#include "unit.h"

#define NOW 1800000000LL

static char top[] = "/tmp/isc-unit-migrate-XXXXXX";
static char dir[128], addr[200], prefix[] = "m:";
static struct app app;
static struct store *files, *redis;

static void
fresh(void)
{
	char err[256];

	store_close(files);
	store_close(redis);
	unit_rmtree(dir);
	if (mkdir(dir, 0700) == -1)
		abort();
	redis_admin("FLUSHALL");
	files = store_open(&app.cfg, STORE_BACKEND_FILE, err, sizeof(err));
	redis = store_open(&app.cfg, STORE_BACKEND_REDIS, err, sizeof(err));
	if (files == NULL || redis == NULL)
		abort();
}

static void
name_of(char *out, char fill)
{
	memset(out, fill, RECORD_NAME_LEN);
	out[RECORD_NAME_LEN] = '\0';
}

/* A record under name, sealed with keys, last written at updated. */
static int
put(struct store *s, const struct keyring *kr, const char *name, long long used,
    long long updated, const char *token)
{
	struct record r;
	struct buf b;
	int rc;

	memset(&r, 0, sizeof(r));
	r.meta.status = RECORD_CONNECTED;
	r.meta.created = r.meta.last_used = used;
	r.meta.expires_at = used + 3600;
	r.meta.updated = updated;
	r.owner.kind = OWNER_BROWSER;
	snprintf(r.owner.id, sizeof(r.owner.id), "sid-%c", name[0]);
	record_set(&r.access_token, token);
	buf_init(&b, RECORD_MAX);
	rc = record_seal(kr, name, &r, &b) == 0
		     ? store_save(s, name, b.data, b.len)
		     : STORE_ERROR;
	record_free(&r);
	buf_free(&b);
	return rc;
}

/* The access token stored under name in s, into out ("" if none). */
static void
token_of(struct store *s, const char *name, char *out, size_t len)
{
	struct record r;
	struct buf b;

	out[0] = '\0';
	buf_init(&b, RECORD_MAX);
	if (store_load(s, name, &b) == STORE_OK &&
	    record_open(&app.keys, name, (unsigned char *)b.data, b.len, &r) ==
		    0) {
		snprintf(out, len, "%s", r.access_token);
		record_free(&r);
	}
	buf_free(&b);
}

static void
copies_what_it_can_and_says_why_not_the_rest(void)
{
	char a[65], idle[65], junk[65], foreign[65], t[64];
	struct keyring other;
	struct migrate_counts n;
	unsigned char seed = 9;

	fresh();
	name_of(a, 'a');
	name_of(idle, 'b');
	name_of(junk, 'c');
	name_of(foreign, 'd');
	test_keyring_of(&other, &seed, 1);
	CHECK(put(files, &app.keys, a, NOW - 60, NOW - 60, "token-a") ==
	      STORE_OK);
	CHECK(put(files, &app.keys, idle, NOW - 200 * 86400LL,
		  NOW - 200 * 86400LL, "token-idle") == STORE_OK);
	CHECK(store_save(files, junk, "not a record", 12) == STORE_OK);
	CHECK(put(files, &other, foreign, NOW, NOW, "token-d") == STORE_OK);
	CHECK(migrate(&app, files, redis, 0, NOW, &n) == 0);
	CHECK(n.links == 4 && n.copied == 1 && n.idle == 1 &&
	      n.unreadable == 2 && n.failed == 0 && n.verified == 1 &&
	      n.mismatched == 0);
	token_of(redis, a, t, sizeof(t));
	CHECK_STR(t, "token-a");
	token_of(redis, idle, t, sizeof(t));
	CHECK_STR(t, "");
	/* Again: nothing to do, all said. */
	CHECK(migrate(&app, files, redis, 0, NOW, &n) == 0);
	CHECK(n.copied == 0 && n.same == 1 && n.verified == 1);
	/* And back, into an empty file store. */
	fresh();
	CHECK(put(redis, &app.keys, a, NOW - 60, NOW - 60, "token-a") ==
	      STORE_OK);
	CHECK(migrate(&app, redis, files, 1, NOW, &n) == 0);
	CHECK(n.links == 1 && n.copied == 1 && n.verified == 1);
	token_of(files, a, t, sizeof(t));
	CHECK_STR(t, "token-a");
}

/* The newer version wins; in the same second, the live store's. */
static void
newer_wins_and_a_tie_goes_to_the_live_store(void)
{
	char a[65], t[64];
	struct migrate_counts n;

	fresh();
	name_of(a, 'e');
	CHECK(put(files, &app.keys, a, NOW, NOW + 10, "from-files") ==
	      STORE_OK);
	CHECK(put(redis, &app.keys, a, NOW, NOW + 20, "in-redis") == STORE_OK);
	CHECK(migrate(&app, files, redis, 0, NOW, &n) == 0);
	CHECK(n.newer == 1 && n.copied == 0 && n.verified == 1);
	token_of(redis, a, t, sizeof(t));
	CHECK_STR(t, "in-redis");
	CHECK(migrate(&app, redis, files, 0, NOW, &n) == 0);
	CHECK(n.copied == 1);
	token_of(files, a, t, sizeof(t));
	CHECK_STR(t, "in-redis");
	/* The same second, different bytes: the site serves from Redis
	 * (to_live), so Redis's stays; from the files, the files' goes. */
	CHECK(put(files, &app.keys, a, NOW, NOW + 30, "files-30") == STORE_OK);
	CHECK(put(redis, &app.keys, a, NOW, NOW + 30, "redis-30") == STORE_OK);
	CHECK(migrate(&app, files, redis, 1, NOW, &n) == 0);
	CHECK(n.newer == 1);
	token_of(redis, a, t, sizeof(t));
	CHECK_STR(t, "redis-30");
	CHECK(migrate(&app, files, redis, 0, NOW, &n) == 0);
	CHECK(n.copied == 1);
	token_of(redis, a, t, sizeof(t));
	CHECK_STR(t, "files-30");
}

/* Redis down: nothing copied, each link counted as failed; reading
 * from it: -1. */
static void
a_store_that_fails_is_counted_not_hidden(void)
{
	char a[65], b[65];
	struct migrate_counts n;

	fresh();
	name_of(a, 'f');
	name_of(b, '1');
	CHECK(put(files, &app.keys, a, NOW, NOW, "t-a") == STORE_OK);
	CHECK(put(files, &app.keys, b, NOW, NOW, "t-b") == STORE_OK);
	redis_stop();
	CHECK(migrate(&app, files, redis, 0, NOW, &n) == 0);
	CHECK(n.links == 2 && n.failed == 2 && n.copied == 0 &&
	      n.verified == 0);
	CHECK(migrate(&app, redis, files, 0, NOW, &n) == -1);
	CHECK(redis_start(top) == 0);
	usleep(1100000);
	CHECK(migrate(&app, files, redis, 0, NOW, &n) == 0);
	CHECK(n.copied == 2 && n.verified == 2);
}

int
main(void)
{
	static char key_file[] = "/unused";
	int rc;

	if (mkdtemp(top) == NULL)
		return 1;
	snprintf(dir, sizeof(dir), "%s/store", top);
	snprintf(addr, sizeof(addr), "unix:%s/redis.sock", top);
	test_keyring(&app.keys, 1);
	app.cfg.store_dir = dir;
	app.cfg.key_file = key_file;
	app.cfg.redis = addr;
	app.cfg.redis_prefix = prefix;
	app.cfg.redis_connect_timeout = 500;
	app.cfg.redis_timeout = 500;
	app.cfg.timeout = 1;
	app.cfg.max_idle_days = 90;
	if (redis_start(top) == -1) {
		printf("not ok 1 - redis-server starts (is it installed? "
		       "Debian's redis-server)\n1..1\n");
		return 1;
	}
	/* The stores' log lines (a refused record) are not TAP. */
	if (freopen("/dev/null", "w", stderr) == NULL)
		return 1;
	RUN(copies_what_it_can_and_says_why_not_the_rest);
	RUN(newer_wins_and_a_tie_goes_to_the_live_store);
	RUN(a_store_that_fails_is_counted_not_hidden);
	store_close(files);
	store_close(redis);
	redis_stop();
	rc = DONE();
	unit_rmtree(top);
	return rc;
}
