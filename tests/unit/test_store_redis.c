/*
 * Unit tests for store_redis.c, against a real redis-server (Debian's)
 * that the test starts on a unix socket in its own temp dir: records,
 * locks across processes, spent values, the indexes behind the admin
 * list, and every way Redis can fail (down, restarted, slow, out of
 * memory, a replica, a wrong password, its scripts flushed).
 */
#include <errno.h>
#include <fcntl.h>
#include <hiredis.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "listing.h"
#include "log.h"
#include "store.h"
#include "store_ops.h"
#include "redis_server.h"
#include "testkeys.h"
#include "unit.h"

#define NOW ((long long)time(NULL))

static char top[] = "/tmp/isc-unit-redis-XXXXXX";
static char addr[200], pwfile[128];
static struct config cfg;
static struct keyring keys;
static struct store *st;
static char prefix[] = "t:";

/* Where the store's log lines go: a file we can read back. */
static char errlog[160];

static void
log_to_file(void)
{
	int fd = open(errlog, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd != -1) {
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
}

/* How many log lines since log_to_file() hold text. */
static int
logged(const char *text)
{
	char buf[65536], *p;
	ssize_t n;
	int fd = open(errlog, O_RDONLY), count = 0;

	if (fd == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	for (p = buf; (p = strstr(p, text)) != NULL; p++)
		count++;
	return count;
}

/* A fresh store on an empty database, a clean log. */
static void
fresh(void)
{
	char err[512];

	store_close(st);
	redis_admin("REPLICAOF NO ONE");
	redis_admin("CONFIG SET maxmemory 0");
	redis_admin("FLUSHALL");
	memset(&cfg, 0, sizeof(cfg));
	cfg.redis = addr;
	cfg.redis_prefix = prefix;
	cfg.redis_connect_timeout = 500;
	cfg.redis_timeout = 300;
	cfg.timeout = 1;
	cfg.max_idle_days = 90;
	st = store_open(&cfg, STORE_BACKEND_REDIS, err, sizeof(err));
	if (st == NULL)
		abort();
	log_to_file();
}

static void
name_of(char *out, char fill)
{
	memset(out, fill, RECORD_NAME_LEN);
	out[RECORD_NAME_LEN] = '\0';
}

/* A sealed record with these times, under name. */
static void
sealed(struct buf *b, const char *name, long long created, long long expires_at,
       int refresh, int status, int last_error)
{
	struct record r;

	memset(&r, 0, sizeof(r));
	r.meta.status = status;
	r.meta.last_error = last_error;
	r.meta.created = created;
	r.meta.last_used = created;
	r.meta.expires_at = expires_at;
	r.owner.kind = OWNER_BROWSER;
	snprintf(r.owner.id, sizeof(r.owner.id), "sid-%.8s", name);
	record_set(&r.access_token, "eyJhbGciOi.access.token");
	if (refresh)
		record_set(&r.refresh_token, "refresh-token");
	buf_init(b, RECORD_MAX);
	if (record_seal(&keys, name, &r, b) == -1)
		abort();
	record_free(&r);
}

static int
save_record(const char *name, long long created, long long expires_at,
	    int refresh, int status, int last_error)
{
	struct buf b;
	int rc;

	sealed(&b, name, created, expires_at, refresh, status, last_error);
	rc = store_save(st, name, b.data, b.len);
	buf_free(&b);
	return rc;
}

static void
save_load_delete(void)
{
	char name[65], key[128];
	unsigned char data[3000];
	struct buf b;
	size_t i;

	fresh();
	name_of(name, 'a');
	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)i; /* binary, NULs included */
	buf_init(&b, RECORD_MAX);
	CHECK(store_load(st, name, &b) == STORE_NOTFOUND);
	CHECK(store_save(st, name, data, sizeof(data)) == STORE_OK);
	CHECK(store_load(st, name, &b) == STORE_OK);
	CHECK(b.len == sizeof(data) && memcmp(b.data, data, b.len) == 0);
	/* The layout docs/STORE.md gives: prefix, kind, the name as tag. */
	snprintf(key, sizeof(key), "EXISTS t:r:{%s}", name);
	CHECK(redis_admin(key) == 1);
	CHECK(store_delete(st, name) == STORE_OK);
	CHECK(store_delete(st, name) == STORE_NOTFOUND);
	buf_free(&b);
	buf_init(&b, RECORD_MAX);
	CHECK(store_load(st, name, &b) == STORE_NOTFOUND);
	buf_free(&b);
	CHECK(store_save(st, "../etc/passwd", "x", 1) == STORE_ERROR);
}

/* Idle expiry is Redis's: a TTL of max_idle_days from the last use. */
static void
record_expires_when_idle(void)
{
	char name[65], k[128];
	long long ttl;

	fresh();
	name_of(name, 'b');
	CHECK(save_record(name, NOW - 86400, NOW + 3600, 1, RECORD_CONNECTED,
			  0) == STORE_OK);
	snprintf(k, sizeof(k), "PTTL t:r:{%s}", name);
	ttl = redis_admin(k);
	CHECK(ttl > 89LL * 86400 * 1000 - 60000 && ttl <= 89LL * 86400 * 1000);
	/* Long idle already: kept a minute, not forever, not at once. */
	CHECK(save_record(name, NOW - 200 * 86400LL, NOW, 1, RECORD_CONNECTED,
			  0) == STORE_OK);
	ttl = redis_admin(k);
	CHECK(ttl > 50000 && ttl <= 60000);
}

static void
lock_is_exclusive_across_processes(void)
{
	char name[65], k[128], holder[64];
	struct store_lock l;
	int p[2], status;
	long long t0;
	pid_t pid;
	char c;

	fresh();
	name_of(name, 'c');
	CHECK(pipe(p) == 0);
	CHECK(store_writable(st) == STORE_OK); /* connected, before fork */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct store_lock cl;

		/* The parent's store, inherited: a connection of its own. */
		if (store_lock(st, name, &cl) != STORE_OK)
			_exit(1);
		(void)!write(p[1], "L", 1);
		usleep(300000);
		store_unlock(&cl);
		_exit(0);
	}
	close(p[1]);
	CHECK(read(p[0], &c, 1) == 1);
	snprintf(k, sizeof(k), "t:l:{%s}", name);
	redis_get(k, holder, sizeof(holder));
	CHECK(strlen(holder) == 32); /* a random owner token */
	t0 = (long long)time(NULL) * 1000;
	CHECK(store_lock(st, name, &l) == STORE_OK);
	/* We waited for the child to let go. */
	CHECK(waitpid(pid, &status, WNOHANG) == pid ||
	      waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	store_unlock(&l);
	redis_get(k, holder, sizeof(holder));
	CHECK(holder[0] == '\0');
	(void)t0;
	close(p[0]);
}

/* A holder killed (kill -9) costs the next one the lock's lifetime. */
static void
dead_holders_lock_lapses(void)
{
	char name[65], k[128];
	struct store_lock l;
	struct timespec a, b;
	int p[2];
	pid_t pid;
	char c;
	long ms;

	fresh();
	name_of(name, 'd');
	CHECK(pipe(p) == 0);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct store_lock cl;

		if (store_lock(st, name, &cl) != STORE_OK)
			_exit(1);
		(void)!write(p[1], "L", 1);
		pause();
		_exit(0);
	}
	close(p[1]);
	CHECK(read(p[0], &c, 1) == 1);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	snprintf(k, sizeof(k), "PTTL t:l:{%s}", name);
	/* [http] timeout 1 s, 3 commands of 300 ms, 2 s: 3.9 s. */
	CHECK(redis_admin(k) > 3000 && redis_admin(k) <= 3900);
	clock_gettime(CLOCK_MONOTONIC, &a);
	CHECK(store_lock(st, name, &l) == STORE_OK);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	CHECK(ms > 2500 && ms < 4500);
	store_unlock(&l);
	close(p[0]);
}

/* A lock that never comes free: given up after its lifetime, said so. */
static void
lock_held_too_long_gives_up(void)
{
	char name[65], k[160];
	struct store_lock l;

	fresh();
	name_of(name, 'e');
	snprintf(k, sizeof(k), "SET t:l:{%s} someone-else PX 60000", name);
	CHECK(redis_admin(k) == 0);
	CHECK(store_lock(st, name, &l) == STORE_ERROR);
	CHECK(logged("still held after 4900 ms: giving up") == 1);
}

/* Fencing: a save under a lock that passed to another holder fails. */
static void
save_refused_once_the_lock_is_anothers(void)
{
	char name[65], k[160];
	struct store_lock l;
	struct buf b;

	fresh();
	name_of(name, 'f');
	CHECK(store_lock(st, name, &l) == STORE_OK);
	CHECK(store_save(st, name, "mine", 4) == STORE_OK);
	snprintf(k, sizeof(k), "SET t:l:{%s} another-holder", name);
	CHECK(redis_admin(k) == 0);
	CHECK(store_save(st, name, "late", 4) == STORE_ERROR);
	CHECK(logged("its lock passed to another holder") == 1);
	buf_init(&b, 64);
	CHECK(store_load(st, name, &b) == STORE_OK);
	CHECK(b.len == 4 && memcmp(b.data, "mine", 4) == 0);
	buf_free(&b);
	/* Ours no more: unlocking leaves the other holder's lock. */
	store_unlock(&l);
	snprintf(k, sizeof(k), "EXISTS t:l:{%s}", name);
	CHECK(redis_admin(k) == 1);
}

static void
spend_once(void)
{
	char name[65], k[128];

	fresh();
	name_of(name, '1');
	CHECK(store_spend(st, name, NOW + 600) == STORE_OK);
	CHECK(store_spend(st, name, NOW + 600) == STORE_EXISTS);
	snprintf(k, sizeof(k), "PTTL t:s:{%s}", name);
	CHECK(redis_admin(k) > 590000 && redis_admin(k) <= 600000);
	CHECK(store_writable(st) == STORE_OK);
}

/* Records for the index tests: name fill i, created NOW - i minutes. */
static void
fill(int n)
{
	char name[65];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%04x", i);
		memset(name + 4, 'a', RECORD_NAME_LEN - 4);
		name[RECORD_NAME_LEN] = '\0';
		save_record(name, NOW - i * 60, NOW + 7200 + (i * 37) % 1000, 1,
			    RECORD_CONNECTED, 0);
	}
}

static int
query(struct listing *l, int health, enum listing_sort sort,
      const char *prefix_, size_t offset, size_t limit)
{
	struct listing_query q = { .now = NOW,
				   .health = health,
				   .sort = sort,
				   .prefix = prefix_,
				   .offset = offset,
				   .limit = limit };

	return store_query(st, &q, l);
}

/* The same questions to the indexes and to every head in memory (the
 * file store's way) give the same answers. */
static void
indexes_answer_as_a_scan_does(void)
{
	static const enum listing_sort sorts[] = { SORT_CONNECTED, SORT_EXPIRES,
						   SORT_REFRESHED,
						   SORT_STATUS };
	char a[65], b[65], c[65];
	struct listing all, page;
	size_t s, off, i;
	int h, same = 1;

	fresh();
	fill(60);
	name_of(a, '7');
	name_of(b, '8');
	name_of(c, '9');
	save_record(a, NOW - 99999, NOW + 10, 1, RECORD_CONNECTED, 4);
	save_record(b, NOW - 88888, 0, 0, RECORD_NEEDS_RECONNECT, 1);
	save_record(c, NOW - 7777, NOW + 600, 0, RECORD_CONNECTED, 0);
	for (h = -1; h < HEALTH__MAX; h++)
		for (s = 0; s < 4; s++)
			for (off = 0; off < 70; off += 25) {
				struct listing_query q = { .now = NOW,
							   .health = h,
							   .sort = sorts[s],
							   .prefix = "",
							   .offset = off,
							   .limit = 25 };

				CHECK(store_query(st, &q, &page) == STORE_OK);
				CHECK(listing_load(st, NOW, &all) == 0);
				listing_select(&all, &q, NULL, NULL);
				same &= page.n == all.n &&
					page.matching == all.matching &&
					memcmp(&page.totals, &all.totals,
					       sizeof(all.totals)) == 0;
				for (i = 0; i < page.n && i < all.n; i++)
					same &= strcmp(page.v[i].name,
						       all.v[i].name) == 0;
				listing_free(&page);
				listing_free(&all);
			}
	CHECK(same);
	CHECK(query(&page, -1, SORT_STATUS, "", 0, 3) == STORE_OK);
	CHECK(page.n == 3 && strcmp(page.v[0].name, b) == 0 &&
	      strcmp(page.v[1].name, a) == 0 && strcmp(page.v[2].name, c) == 0);
	CHECK(page.totals.connected == 62 && page.totals.reconnect == 1 &&
	      page.totals.failing == 1 && page.totals.expiring == 1);
	listing_free(&page);
	/* An id prefix, and the names of one exact owner. */
	CHECK(query(&page, -1, SORT_CONNECTED, "001", 0, 50) == STORE_OK);
	CHECK(page.matching == 16 && page.n == 16);
	listing_free(&page);
	{
		const char *names[] = { a, "ffffffffffffffffffffffffffffffff"
					   "ffffffffffffffffffffffffffffffff" };
		struct listing_query q = { .now = NOW,
					   .health = -1,
					   .prefix = "",
					   .names = names,
					   .nnames = 2,
					   .limit = 50 };

		CHECK(store_query(st, &q, &page) == STORE_OK);
		CHECK(page.matching == 1 && strcmp(page.v[0].name, a) == 0);
		CHECK(page.totals.connected == 62);
		listing_free(&page);
	}
}

/* A link without a refresh token turns expiring with the clock: the
 * indexes move it when its hour comes, not only when it is written. */
static void
expiring_moves_with_the_clock(void)
{
	char name[65];
	struct listing l;

	fresh();
	name_of(name, '5');
	save_record(name, NOW, NOW + 3600 + 2, 0, RECORD_CONNECTED, 0);
	CHECK(query(&l, HEALTH_EXPIRING, SORT_CONNECTED, "", 0, 10) ==
	      STORE_OK);
	CHECK(l.matching == 0 && l.totals.expiring == 0);
	listing_free(&l);
	sleep(3);
	CHECK(query(&l, HEALTH_EXPIRING, SORT_CONNECTED, "", 0, 10) ==
	      STORE_OK);
	CHECK(l.matching == 1 && l.n == 1 && l.totals.expiring == 1);
	listing_free(&l);
	CHECK(query(&l, HEALTH_CONNECTED, SORT_EXPIRES, "", 0, 10) == STORE_OK);
	CHECK(l.matching == 0);
	listing_free(&l);
}

/* A record gone by TTL leaves index entries: skipped by readers (a page
 * stays full), removed by them and by sweep. */
static void
entries_of_expired_records_are_skipped_and_swept(void)
{
	char k[128], name[65];
	struct listing l;

	fresh();
	fill(12);
	snprintf(name, sizeof(name), "%04x", 0);
	memset(name + 4, 'a', RECORD_NAME_LEN - 4);
	name[RECORD_NAME_LEN] = '\0';
	snprintf(k, sizeof(k), "DEL t:r:{%s}", name);
	CHECK(redis_admin(k) == 1);
	CHECK(query(&l, -1, SORT_CONNECTED, "", 0, 5) == STORE_OK);
	CHECK(l.n == 5 && l.matching == 11 && strcmp(l.v[0].name, name) != 0);
	listing_free(&l);
	name[3] = '1';
	snprintf(k, sizeof(k), "DEL t:r:{%s}", name);
	CHECK(redis_admin(k) == 1);
	CHECK(store_sweep(st) == 1);
	CHECK(store_sweep(st) == 0);
	CHECK(redis_admin("ZCARD t:{i}:all:c") == 10);
	CHECK(listing_load(st, NOW, &l) == 0 && l.n == 10);
	listing_free(&l);
}

/* Redis stopped: each call fails at once, the cause logged once; back,
 * the same store works again without being opened anew. */
static void
down_then_back(void)
{
	char name[65];
	struct store_lock l;
	struct buf b;
	int i;

	fresh();
	name_of(name, '2');
	CHECK(store_save(st, name, "kept", 4) == STORE_OK);
	redis_admin("SAVE");
	redis_stop();
	buf_init(&b, 64);
	for (i = 0; i < 5; i++)
		CHECK(store_load(st, name, &b) == STORE_ERROR);
	CHECK(store_lock(st, name, &l) == STORE_ERROR);
	CHECK(store_writable(st) == STORE_ERROR);
	CHECK(logged("cannot connect") == 1);
	CHECK(redis_start(top) == 0);
	/* One second at most of failing fast, then it tries again. */
	usleep(1100000);
	CHECK(store_load(st, name, &b) == STORE_OK);
	CHECK(b.len == 4 && memcmp(b.data, "kept", 4) == 0);
	CHECK(logged("connected again") == 1);
	buf_free(&b);
}

/* Restarted between two calls: the stale connection is replaced and the
 * command sent again, no error at all. */
static void
restart_between_calls_is_no_error(void)
{
	char name[65];
	struct buf b;

	fresh();
	name_of(name, '3');
	CHECK(store_save(st, name, "kept", 4) == STORE_OK);
	redis_admin("SAVE");
	redis_stop();
	CHECK(redis_start(top) == 0);
	buf_init(&b, 64);
	CHECK(store_load(st, name, &b) == STORE_OK);
	CHECK(logged("error") == 0);
	/* Its scripts flushed: loaded again, the call succeeds. */
	redis_admin("SCRIPT FLUSH");
	CHECK(store_spend(st, name, NOW + 60) == STORE_OK);
	CHECK(logged("error") == 0);
	buf_free(&b);
}

static void
out_of_memory_refuses_writes_not_reads(void)
{
	char name[65];
	struct buf b;

	fresh();
	name_of(name, '4');
	CHECK(store_save(st, name, "kept", 4) == STORE_OK);
	redis_admin("CONFIG SET maxmemory 1");
	CHECK(store_writable(st) == STORE_ERROR);
	CHECK(store_save(st, name, "lost", 4) == STORE_ERROR);
	CHECK(logged("out of memory (maxmemory)") == 1);
	buf_init(&b, 64);
	CHECK(store_load(st, name, &b) == STORE_OK);
	CHECK(b.len == 4 && memcmp(b.data, "kept", 4) == 0);
	buf_free(&b);
	redis_admin("CONFIG SET maxmemory 0");
	CHECK(store_writable(st) == STORE_OK);
}

static void
read_only_replica_refuses_writes(void)
{
	char name[65];

	fresh();
	name_of(name, '6');
	redis_admin("REPLICAOF 127.0.0.1 1");
	CHECK(store_writable(st) == STORE_ERROR);
	CHECK(store_spend(st, name, NOW + 60) == STORE_ERROR);
	CHECK(logged("a read-only replica") == 1);
	redis_admin("REPLICAOF NO ONE");
	CHECK(store_writable(st) == STORE_OK);
}

/* Slow past [store] redis_timeout_ms (stopped, not gone): an error in
 * about that time, not a hang. */
static void
slow_redis_times_out(void)
{
	struct timespec a, b;
	char name[65];
	struct buf buf;
	long ms;

	fresh();
	name_of(name, '7');
	CHECK(store_writable(st) == STORE_OK); /* connected */
	kill(redis_pid, SIGSTOP);
	buf_init(&buf, 64);
	clock_gettime(CLOCK_MONOTONIC, &a);
	CHECK(store_load(st, name, &buf) == STORE_ERROR);
	clock_gettime(CLOCK_MONOTONIC, &b);
	kill(redis_pid, SIGCONT);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	CHECK(ms >= 250 && ms < 1500);
	CHECK(logged("no answer within 300 ms ([store] redis_timeout_ms)") ==
	      1);
	usleep(1100000);
	CHECK(store_load(st, name, &buf) == STORE_NOTFOUND);
	buf_free(&buf);
}

static int
check_with(const char *password, char *msg, size_t len)
{
	char err[512];
	struct store *s;
	int rc, fd;

	unlink(pwfile);
	cfg.redis_password_file = NULL;
	if (password != NULL) {
		fd = open(pwfile, O_WRONLY | O_CREAT | O_EXCL, 0600);
		(void)!write(fd, password, strlen(password));
		close(fd);
		cfg.redis_password_file = pwfile;
	}
	s = store_open(&cfg, STORE_BACKEND_REDIS, err, sizeof(err));
	if (s == NULL) {
		snprintf(msg, len, "%s", err);
		return -2;
	}
	rc = store_check(s, msg, len);
	store_close(s);
	return rc;
}

/* check-config's words for each thing that can be wrong. */
static void
check_says_what_is_wrong(void)
{
	char msg[1024], bad[200];
	int fd;

	fresh();
	CHECK(check_with(NULL, msg, sizeof(msg)) == 1);
	CHECK(strstr(msg, "appendonly is off") != NULL);
	redis_admin("CONFIG SET appendonly yes");
	CHECK(check_with(NULL, msg, sizeof(msg)) == 0);
	CHECK(strstr(msg, "Redis 7") != NULL &&
	      strstr(msg, "a probe key written and deleted") != NULL);
	redis_admin("CONFIG SET maxmemory-policy allkeys-lru");
	CHECK(check_with(NULL, msg, sizeof(msg)) == 1);
	CHECK(strstr(msg, "may evict links") != NULL);
	redis_admin("CONFIG SET maxmemory-policy noeviction");
	CHECK(check_with("a-password\n", msg, sizeof(msg)) == -1);
	CHECK(strstr(msg, "no password set") != NULL);
	redis_admin("CONFIG SET requirepass right-one");
	CHECK(check_with(NULL, msg, sizeof(msg)) == -1);
	CHECK(strstr(msg, "wants a password") != NULL);
	CHECK(check_with("wrong-one\n", msg, sizeof(msg)) == -1);
	CHECK(strstr(msg, "wrong password") != NULL);
	CHECK(check_with("right-one\n", msg, sizeof(msg)) == 0);
	CHECK(strstr(msg, "password accepted") != NULL);
	/* An ACL user of its own (Redis 6). */
	{
		redisContext *c = redisConnectUnix(redis_sock);
		redisReply *r = redisCommand(c, "AUTH right-one");

		freeReplyObject(r);
		r = redisCommand(c, "ACL SETUSER isc-test on >acl-pass ~t:* "
				    "+@all");
		freeReplyObject(r);
		redisFree(c);
	}
	{
		static char user[] = "isc-test";

		cfg.redis_user = user;
	}
	CHECK(check_with("acl-pass\n", msg, sizeof(msg)) == 0);
	CHECK(strstr(msg, "password accepted") != NULL);
	CHECK(check_with("right-one\n", msg, sizeof(msg)) == -1);
	CHECK(strstr(msg, "wrong password or user") != NULL);
	cfg.redis_user = NULL;
	/* A password file others may read is refused at open. */
	fd = open(pwfile, O_WRONLY);
	close(fd);
	chmod(pwfile, 0644);
	cfg.redis_password_file = pwfile;
	CHECK(store_open(&cfg, STORE_BACKEND_REDIS, msg, sizeof(msg)) == NULL);
	CHECK(strstr(msg, "[store] redis_password_file") != NULL &&
	      strstr(msg, "0600") != NULL);
	cfg.redis_password_file = NULL;
	{
		redisContext *c = redisConnectUnix(redis_sock);
		redisReply *r = redisCommand(c, "AUTH right-one");

		freeReplyObject(r);
		r = redisCommand(c, "CONFIG SET requirepass %s", "");
		freeReplyObject(r);
		r = redisCommand(c, "CONFIG SET appendonly no");
		freeReplyObject(r);
		redisFree(c);
	}
	/* Full: the probe write says so. */
	redis_admin("CONFIG SET maxmemory 1");
	CHECK(check_with(NULL, msg, sizeof(msg)) == -1);
	CHECK(strstr(msg, "cannot write a probe key: out of memory") != NULL);
	redis_admin("CONFIG SET maxmemory 0");
	snprintf(bad, sizeof(bad), "unix:%s/nothing.sock", top);
	cfg.redis = bad;
	CHECK(check_with(NULL, msg, sizeof(msg)) == -1);
	CHECK(strstr(msg, "cannot connect") != NULL &&
	      strstr(msg, "nothing.sock") != NULL);
	snprintf(bad, sizeof(bad), "127.0.0.1:1");
	CHECK(check_with(NULL, msg, sizeof(msg)) == -1);
	CHECK(strstr(msg, "Connection refused") != NULL);
	cfg.redis = addr;
	cfg.redis_database = 99;
	CHECK(check_with(NULL, msg, sizeof(msg)) == -1);
	CHECK(strstr(msg, "no such database") != NULL);
	cfg.redis_database = 0;
	/* The check's own connection: never a log line of its own. */
	CHECK(logged("store: redis") == 0);
}

/* A record with these outbox counts (event.h), under name. */
static int
save_outbox(const char *name, int status, int events, int dead,
	    long long oldest)
{
	struct record r;
	struct buf b;
	int rc;

	memset(&r, 0, sizeof(r));
	r.meta.status = status;
	r.meta.created = r.meta.last_used = r.meta.updated = NOW - 60;
	r.meta.expires_at = NOW + 3600;
	r.meta.events = events;
	r.meta.events_dead = dead;
	r.meta.events_oldest = oldest;
	record_set(&r.access_token, "eyJhbGciOi.access.token");
	record_set(&r.refresh_token, "refresh-token");
	buf_init(&b, RECORD_MAX);
	rc = record_seal(&keys, name, &r, &b) == 0
		     ? store_save(st, name, b.data, b.len)
		     : STORE_ERROR;
	record_free(&r);
	buf_free(&b);
	return rc;
}

static int
count_names(void *ctx, const char *name, const unsigned char *head, size_t len)
{
	(void)name;
	(void)head;
	(void)len;
	(*(int *)ctx)++;
	return 0;
}

/* A tombstone (a deleted link kept for its events) is in no total and
 * no page, but listed; the outbox's sums are kept as a scan finds them. */
static void
tombstones_and_the_outbox_sums(void)
{
	char a[65], b[65], t[65], k[128];
	struct listing q, all;
	int listed = 0;

	fresh();
	fill(5);
	name_of(a, 'a');
	name_of(b, 'b');
	name_of(t, 'c');
	CHECK(save_outbox(a, RECORD_CONNECTED, 2, 0, NOW - 100) == STORE_OK);
	CHECK(save_outbox(b, RECORD_CONNECTED, 0, 3, 0) == STORE_OK);
	CHECK(save_outbox(t, RECORD_DELETED, 1, 0, NOW - 500) == STORE_OK);
	CHECK(query(&q, -1, SORT_STATUS, "", 0, 50) == STORE_OK);
	CHECK(listing_load(st, NOW, &all) == 0);
	CHECK(q.matching == 7 && q.n == 7 && q.totals.connected == 7);
	CHECK(q.events == 3 && q.events_dead == 3 &&
	      q.events_oldest == NOW - 500);
	CHECK(all.n == 7 && all.events == q.events &&
	      all.events_dead == q.events_dead &&
	      all.events_oldest == q.events_oldest);
	listing_free(&q);
	listing_free(&all);
	CHECK(store_list(st, RECORD_HEAD_LEN, count_names, &listed) == 0);
	CHECK(listed == 8);
	/* Found by its id, a tombstone is still no link. */
	CHECK(query(&q, -1, SORT_CONNECTED, t, 0, 50) == STORE_OK);
	CHECK(q.matching == 0 && q.n == 0 && q.events == 3);
	listing_free(&q);
	/* A tombstone lives max_idle_days from its last change. */
	snprintf(k, sizeof(k), "PTTL t:r:{%s}", t);
	CHECK(redis_admin(k) > 89LL * 86400 * 1000);
	/* Sent: the sums follow the records. */
	CHECK(save_outbox(a, RECORD_CONNECTED, 0, 0, 0) == STORE_OK);
	CHECK(store_delete(st, t) == STORE_OK);
	CHECK(query(&q, -1, SORT_STATUS, "", 0, 50) == STORE_OK);
	CHECK(q.events == 0 && q.events_dead == 3 && q.events_oldest == 0);
	listing_free(&q);
	CHECK(redis_admin("ZCARD t:{i}:ev") == 0);
	CHECK(redis_admin("HLEN t:{i}:evs") == 1);
}

/* More names than one round trip reads (1,000): each read once, and
 * every page of every view to be had, all of it at once too. */
static void
many_records_are_read_in_batches(void)
{
	struct listing l;
	char prev[65] = "";
	size_t i, sorted = 1;
	int n = 1100;

	fresh();
	fill(n);
	CHECK(listing_load(st, NOW, &l) == 0);
	CHECK(l.n == (size_t)n);
	for (i = 0; i < l.n; i++) {
		sorted &= strcmp(prev, l.v[i].name) < 0;
		memcpy(prev, l.v[i].name, sizeof(prev));
	}
	CHECK(sorted); /* in name order: none twice */
	listing_free(&l);
	CHECK(query(&l, -1, SORT_STATUS, "", 0, 0) == STORE_OK);
	CHECK(l.n == (size_t)n && l.matching == (size_t)n);
	listing_free(&l);
	CHECK(query(&l, -1, SORT_EXPIRES, "", 1050, 0) == STORE_OK);
	CHECK(l.n == 50);
	listing_free(&l);
	CHECK(query(&l, -1, SORT_STATUS, "", 1090, 50) == STORE_OK);
	CHECK(l.n == 10);
	listing_free(&l);
}

/* Every call, Redis down: STORE_ERROR (or -1), nothing else. */
static void
every_call_fails_cleanly_when_down(void)
{
	char name[65];
	struct store_lock l;
	struct listing li;
	struct buf b;

	fresh();
	name_of(name, '8');
	CHECK(save_record(name, NOW, NOW + 3600, 1, RECORD_CONNECTED, 0) ==
	      STORE_OK);
	redis_admin("SAVE");
	redis_stop();
	buf_init(&b, 64);
	CHECK(store_load(st, name, &b) == STORE_ERROR);
	CHECK(store_save(st, name, "x", 1) == STORE_ERROR);
	CHECK(store_delete(st, name) == STORE_ERROR);
	CHECK(store_lock(st, name, &l) == STORE_ERROR);
	CHECK(store_writable(st) == STORE_ERROR);
	CHECK(store_spend(st, name, NOW + 60) == STORE_ERROR);
	CHECK(listing_load(st, NOW, &li) == -1);
	CHECK(query(&li, -1, SORT_CONNECTED, "", 0, 10) == STORE_ERROR);
	CHECK(store_sweep(st) == -1);
	buf_free(&b);
	CHECK(redis_start(top) == 0);
	usleep(1100000);
	CHECK(query(&li, -1, SORT_CONNECTED, "", 0, 10) == STORE_OK);
	CHECK(li.n == 1);
	listing_free(&li);
}

/* Keys that are not what we made them (another program's, say): each
 * call that meets one fails, in Redis's words, and nothing else. */
static void
keys_of_another_type_are_clean_errors(void)
{
	char name[65], other[65], k[200];
	struct listing l;
	struct buf b;

	fresh();
	name_of(name, 'a');
	name_of(other, 'b');
	snprintf(k, sizeof(k), "RPUSH t:r:{%s} x", name);
	CHECK(redis_admin(k) == 1);
	buf_init(&b, 64);
	CHECK(store_load(st, name, &b) == STORE_ERROR);
	CHECK(logged("it answered: WRONGTYPE") == 1);
	buf_free(&b);
	/* Listed by the index, but not a string: the list fails. */
	snprintf(k, sizeof(k), "ZADD t:{i}:id 0 %s", name);
	CHECK(redis_admin(k) == 1);
	CHECK(listing_load(st, NOW, &l) == -1);
	CHECK(query(&l, -1, SORT_CONNECTED, name, 0, 10) == STORE_ERROR);
	CHECK(redis_admin("SET t:{i}:all:c not-a-sorted-set") == 0);
	CHECK(query(&l, -1, SORT_CONNECTED, "", 0, 10) == STORE_ERROR);
	CHECK(store_delete(st, other) == STORE_ERROR);
	CHECK(save_record(other, NOW, NOW + 3600, 1, RECORD_CONNECTED, 0) ==
	      STORE_ERROR);
}

static void
a_record_too_big_is_refused(void)
{
	char name[65], *cmd;
	struct buf b;
	size_t n = RECORD_MAX + 10;

	fresh();
	name_of(name, 'c');
	cmd = malloc(n + 1);
	memset(cmd, 'x', n);
	cmd[n] = '\0';
	{
		redisContext *c = redisConnectUnix(redis_sock);
		char k[100];
		redisReply *r;

		snprintf(k, sizeof(k), "t:r:{%s}", name);
		r = redisCommand(c, "SET %s %s", k, cmd);
		freeReplyObject(r);
		redisFree(c);
	}
	free(cmd);
	buf_init(&b, RECORD_MAX);
	CHECK(store_load(st, name, &b) == STORE_ERROR);
	CHECK(logged("not a record of ours, or too big: refused") == 1);
	buf_free(&b);
	CHECK(store_save(st, name, "x", RECORD_MAX + 1) == STORE_ERROR);
}

/* At most STORE_HELD_MAX locks at once; a store closed lets go of its. */
static void
locks_held_are_bounded_and_released_at_close(void)
{
	char names[STORE_HELD_MAX + 1][65], k[128];
	struct store_lock l[STORE_HELD_MAX + 1];
	int i;

	fresh();
	for (i = 0; i <= STORE_HELD_MAX; i++)
		name_of(names[i], (char)('0' + i));
	for (i = 0; i < STORE_HELD_MAX; i++)
		CHECK(store_lock(st, names[i], &l[i]) == STORE_OK);
	CHECK(store_lock(st, names[i], &l[i]) == STORE_ERROR);
	CHECK(logged("locks held already") == 1);
	snprintf(k, sizeof(k), "EXISTS t:l:{%s}", names[0]);
	CHECK(redis_admin(k) == 1);
	store_close(st);
	st = NULL;
	CHECK(redis_admin(k) == 0);
	fresh();
}

static void
bad_address_is_refused_at_open(void)
{
	struct config c;
	char err[256], bad[] = "no-port-here";

	memset(&c, 0, sizeof(c));
	c.redis = bad;
	c.redis_prefix = prefix;
	CHECK(store_open(&c, STORE_BACKEND_REDIS, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "[store] redis = \"no-port-here\"") != NULL);
}

/* Heads are read as long as asked for, up to 512 bytes. */
static int
longest(void *ctx, const char *name, const unsigned char *head, size_t len)
{
	size_t *max = ctx;

	(void)name;
	(void)head;
	if (len > *max)
		*max = len;
	return 0;
}

static void
list_reads_at_most_512_bytes_a_head(void)
{
	char name[65];
	size_t max = 0;

	char token[1001];
	struct record r;
	struct buf b;

	fresh();
	name_of(name, 'd');
	memset(&r, 0, sizeof(r));
	memset(token, 'x', 1000);
	token[1000] = '\0';
	r.meta.status = RECORD_CONNECTED;
	r.meta.created = r.meta.last_used = NOW;
	r.meta.expires_at = NOW + 3600;
	record_set(&r.access_token, token);
	buf_init(&b, RECORD_MAX);
	CHECK(record_seal(&keys, name, &r, &b) == 0 && b.len > 1000);
	CHECK(store_save(st, name, b.data, b.len) == STORE_OK);
	CHECK(store_list(st, 100000, longest, &max) == 0);
	CHECK(max == 512);
	record_free(&r);
	buf_free(&b);
}

/*
 * A Redis impostor, for what a real one never says (a proxy in front of
 * it might): on a unix socket, it answers each command with the first
 * rule whose prefix starts the command's words joined by spaces; a NULL
 * answer closes the connection.  The handshake's commands come last, so
 * a test may answer them otherwise.
 */
struct fake_rule {
	const char *prefix, *answer;
};

static pid_t fake_pid = -1;
static char fake_addr[200];

/* One command from in[0, have) into text; the bytes it took, 0 if it is
 * not all there yet. */
static size_t
fake_parse(const char *in, size_t have, char *text, size_t len)
{
	const char *p = in, *end = in + have;
	size_t used = 0;
	long n, k;
	char *e;

	if (have < 4 || *p != '*')
		return 0;
	n = strtol(p + 1, &e, 10);
	if ((p = memchr(p, '\n', (size_t)(end - p))) == NULL)
		return 0;
	for (p++, text[0] = '\0'; n > 0; n--) {
		if (p >= end || *p != '$')
			return 0;
		k = strtol(p + 1, &e, 10);
		if ((p = memchr(p, '\n', (size_t)(end - p))) == NULL ||
		    end - ++p < k + 2)
			return 0;
		used += (size_t)snprintf(text + used, len - used, "%s%.*s",
					 used > 0 ? " " : "", (int)k, p);
		if (used >= len)
			used = len - 1;
		p += k + 2;
	}
	return (size_t)(p - in);
}

static void
fake_serve(int fd, const struct fake_rule *rules)
{
	static const struct fake_rule hello[] = {
		{ "SELECT", "+OK\r\n" },
		{ "CLIENT SETNAME", "+OK\r\n" },
		{ "SCRIPT LOAD",
		  "$40\r\n0123456789012345678901234567890123456789"
		  "\r\n" },
		{ "", "-ERR the impostor knows no such command\r\n" },
	};
	char in[1 << 16], text[256];
	size_t have = 0, used, i;
	const char *answer;
	ssize_t n;

	for (;;) {
		n = read(fd, in + have, sizeof(in) - have);
		if (n <= 0)
			return;
		have += (size_t)n;
		while ((used = fake_parse(in, have, text, sizeof(text))) > 0) {
			answer = NULL;
			for (i = 0; rules[i].prefix != NULL; i++)
				if (strncmp(text, rules[i].prefix,
					    strlen(rules[i].prefix)) == 0)
					break;
			if (rules[i].prefix != NULL) {
				answer = rules[i].answer;
				if (answer == NULL)
					return;
			}
			for (i = 0; answer == NULL; i++)
				if (strncmp(text, hello[i].prefix,
					    strlen(hello[i].prefix)) == 0)
					answer = hello[i].answer;
			if (write(fd, answer, strlen(answer)) < 0)
				return;
			memmove(in, in + used, have - used);
			have -= used;
		}
	}
}

/* Starts the impostor with rules (ending in { NULL, NULL }); the store
 * cfg.redis points at it. */
static void
fake_start(const struct fake_rule *rules)
{
	struct sockaddr_un a;
	int lfd, fd;

	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/fake.sock", top);
	unlink(a.sun_path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd == -1 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) == -1 ||
	    listen(lfd, 8) == -1)
		abort();
	fflush(stdout);
	fake_pid = fork();
	if (fake_pid == 0) {
		alarm(30);
		while ((fd = accept(lfd, NULL, NULL)) != -1) {
			fake_serve(fd, rules);
			close(fd);
		}
		_exit(0);
	}
	close(lfd);
	snprintf(fake_addr, sizeof(fake_addr), "unix:%s", a.sun_path);
	cfg.redis = fake_addr;
}

static void
fake_stop(void)
{
	if (fake_pid > 0) {
		kill(fake_pid, SIGKILL);
		waitpid(fake_pid, NULL, 0);
	}
	fake_pid = -1;
	cfg.redis = addr;
}

/* A store on the impostor, a clean log. */
static struct store *
fake_store(const struct fake_rule *rules)
{
	char err[512];
	struct store *s;

	fresh();
	fake_start(rules);
	s = store_open(&cfg, STORE_BACKEND_REDIS, err, sizeof(err));
	if (s == NULL)
		abort();
	return s;
}

static void
a_server_that_hangs_up_is_named(void)
{
	static const struct fake_rule rules[] = { { "GET", NULL },
						  { NULL, NULL } };
	struct store *s = fake_store(rules);
	char name[65];
	struct buf b;

	name_of(name, 'a');
	buf_init(&b, 1024);
	CHECK(store_load(s, name, &b) == STORE_ERROR);
	CHECK(logged("the server closed the connection") == 1);
	buf_free(&b);
	store_close(s);
	fake_stop();
}

static void
scripts_lost_as_soon_as_loaded_is_an_error_not_a_loop(void)
{
	static const struct fake_rule rules[] = {
		{ "EVALSHA", "-NOSCRIPT No matching script.\r\n" },
		{ NULL, NULL }
	};
	static const struct fake_rule odd[] = {
		{ "SCRIPT LOAD", "+OK\r\n" },
		{ "EVALSHA", "-NOSCRIPT No matching script.\r\n" },
		{ NULL, NULL }
	};
	struct store *s = fake_store(rules);
	char name[65];

	/* Loaded again once, and refused again: say so, and stop. */
	name_of(name, 'b');
	CHECK(store_save(s, name, "x", 1) == STORE_ERROR);
	CHECK(logged("NOSCRIPT right after loading its scripts") == 1);
	store_close(s);
	fake_stop();
	/* SCRIPT LOAD answered with no SHA: the same, no worse. */
	s = fake_store(odd);
	CHECK(store_save(s, name, "x", 1) == STORE_ERROR);
	CHECK(logged("NOSCRIPT right after loading its scripts") == 1);
	store_close(s);
	fake_stop();
}

static void
odd_answers_are_refused_in_its_own_words(void)
{
	static const struct fake_rule rules[] = {
		/* A proxy that knows no CLIENT SETNAME: no need of it. */
		{ "CLIENT SETNAME", "-ERR unknown command 'CLIENT'\r\n" },
		{ "GET t:r:{c", ":5\r\n" },
		{ "GET t:r:{d", "-ERR bad\x01\x7f thing\r\n" },
		{ "GET", "$-1\r\n" },
		{ NULL, NULL }
	};
	struct store *s = fake_store(rules);
	char name[65];
	struct buf b;

	buf_init(&b, 1024);
	name_of(name, 'e');
	CHECK(store_load(s, name, &b) == STORE_NOTFOUND);
	name_of(name, 'c');
	CHECK(store_load(s, name, &b) == STORE_ERROR);
	CHECK(logged("not a record of ours, or too big: refused") == 1);
	/* Never a control character into the log. */
	name_of(name, 'd');
	CHECK(store_load(s, name, &b) == STORE_ERROR);
	CHECK(logged("it answered: ERR bad   thing") == 1);
	CHECK(b.len == 0);
	buf_free(&b);
	store_close(s);
	fake_stop();
}

static int
never_called(void *ctx, const char *name, const unsigned char *head, size_t len)
{
	(void)name;
	(void)head;
	(void)len;
	(*(int *)ctx)++;
	return 0;
}

static void
a_list_of_what_are_not_names_lists_nothing(void)
{
	static char batch[8 + 1000 * 8];
	static struct fake_rule rules[] = { { "ZRANGEBYLEX", batch },
					    { NULL, NULL } };
	struct store *s;
	size_t i, at;
	int n = 0;

	/* A whole batch (1000) of them, the last no name to go on from:
	 * the walk ends there, and does not ask for the same again. */
	at = (size_t)snprintf(batch, sizeof(batch), "*1000\r\n$3\r\nabc\r\n");
	for (i = 1; i < 1000; i++)
		at += (size_t)snprintf(batch + at, sizeof(batch) - at,
				       ":%zu\r\n", i % 10);
	s = fake_store(rules);
	CHECK(store_list(s, 8, never_called, &n) == STORE_OK);
	CHECK(n == 0);
	CHECK(logged("store: redis") == 0);
	store_close(s);
	fake_stop();
}

/* store_check against an impostor whose INFO says info. */
static int
check_info(const char *info, char *msg, size_t len)
{
	static char answer[1024];
	static struct fake_rule rules[] = { { "INFO", answer },
					    { "SET", "+OK\r\n" },
					    { "DEL", ":1\r\n" },
					    { NULL, NULL } };
	struct store *s;
	int rc;

	if (info[0] == ':')
		snprintf(answer, sizeof(answer), "%s", info);
	else
		snprintf(answer, sizeof(answer), "$%zu\r\n%s\r\n", strlen(info),
			 info);
	s = fake_store(rules);
	rc = store_check(s, msg, len);
	store_close(s);
	fake_stop();
	return rc;
}

static void
check_reads_the_version_and_settings_it_is_told(void)
{
	char msg[1024];

	CHECK(check_info("# Server\r\nredis_version:5.0.7\r\n", msg,
			 sizeof(msg)) == -1);
	CHECK(strstr(msg, "Redis 5.0.7, expected 6.2.0 or later") != NULL);
	CHECK(check_info("redis_version:6.1.99\r\n", msg, sizeof(msg)) == -1);
	CHECK(check_info("redis_version:v7\r\n", msg, sizeof(msg)) == -1);
	CHECK(strstr(msg, "Redis v7, expected") != NULL);
	CHECK(check_info("redis_version:99999999999999999999.0.0\r\n", msg,
			 sizeof(msg)) == -1);
	CHECK(check_info("# Server\r\n", msg, sizeof(msg)) == -1);
	CHECK(strstr(msg, "Redis (unknown), expected") != NULL);
	/* Not a text at all (a proxy's answer): no version either. */
	CHECK(check_info(":1\r\n", msg, sizeof(msg)) == -1);
	CHECK(strstr(msg, "Redis (unknown), expected") != NULL);
	/* The oldest it takes; a field's name inside another's is not it. */
	CHECK(check_info("redis_version:6.2.0\r\nmaster_role:x\r\n"
			 "role:master\r\naof_enabled:1\r\n"
			 "maxmemory_policy:noeviction\r\n",
			 msg, sizeof(msg)) == 0);
	CHECK(strstr(msg, "Redis 6.2.0, database 0, master, no password") !=
	      NULL);
}

static void
a_hang_up_in_the_handshake_is_named_too(void)
{
	static const struct fake_rule rules[] = { { "SELECT", NULL },
						  { NULL, NULL } };
	struct store *s = fake_store(rules);
	char name[65];
	struct buf b;

	name_of(name, 'a');
	buf_init(&b, 1024);
	CHECK(store_load(s, name, &b) == STORE_ERROR);
	CHECK(logged("the server closed the connection") == 1);
	buf_free(&b);
	store_close(s);
	fake_stop();
}

static void
a_socket_path_through_a_file_says_what_connect_said(void)
{
	char msg[1024], bad[200];

	fresh();
	snprintf(bad, sizeof(bad), "unix:%s/stderr/redis.sock", top);
	cfg.redis = bad;
	CHECK(check_with(NULL, msg, sizeof(msg)) == -1);
	CHECK(strstr(msg, "cannot connect: ") != NULL);
	CHECK(strstr(msg, "Not a directory") != NULL);
	CHECK(strstr(msg, "is redis-server running") == NULL);
	cfg.redis = addr;
}

static int
stop_at_first(void *ctx, const char *name, const unsigned char *head,
	      size_t len)
{
	(void)name;
	(void)head;
	(void)len;
	return ++*(int *)ctx == 1 ? 1 : 0;
}

static void
a_visitor_that_says_stop_ends_the_list(void)
{
	char a[65], b[65];
	int n = 0;

	fresh();
	name_of(a, 'a');
	name_of(b, 'b');
	CHECK(save_record(a, NOW, NOW + 3600, 1, RECORD_CONNECTED, 0) ==
	      STORE_OK);
	CHECK(save_record(b, NOW, NOW + 3600, 1, RECORD_CONNECTED, 0) ==
	      STORE_OK);
	CHECK(store_list(st, 8, stop_at_first, &n) != 0);
	CHECK(n == 1);
}

static void
a_count_that_is_no_number_fails_the_page(void)
{
	static const struct fake_rule rules[] = { { "EVALSHA", ":0\r\n" },
						  { "ZCARD", "*0\r\n" },
						  { NULL, NULL } };
	struct store *s = fake_store(rules);
	struct listing_query q = { .now = NOW, .health = -1, .prefix = "" };
	struct listing l;

	/* The admin page's totals: an error, not a crash or a made-up 0. */
	listing_init(&l, NOW);
	CHECK(store_query(s, &q, &l) == STORE_ERROR);
	CHECK(logged("ZCARD answered with no number") == 1);
	listing_free(&l);
	store_close(s);
	fake_stop();
}

int
main(void)
{
	int rc;

	if (mkdtemp(top) == NULL)
		return 1;
	snprintf(addr, sizeof(addr), "unix:%s/redis.sock", top);
	snprintf(pwfile, sizeof(pwfile), "%s/password", top);
	snprintf(errlog, sizeof(errlog), "%s/stderr", top);
	test_keyring(&keys, 1);
	if (redis_start(top) == -1) {
		printf("not ok 1 - redis-server starts (is it installed? "
		       "Debian's redis-server)\n1..1\n");
		return 1;
	}
	RUN(save_load_delete);
	RUN(record_expires_when_idle);
	RUN(lock_is_exclusive_across_processes);
	RUN(dead_holders_lock_lapses);
	RUN(lock_held_too_long_gives_up);
	RUN(save_refused_once_the_lock_is_anothers);
	RUN(spend_once);
	RUN(indexes_answer_as_a_scan_does);
	RUN(expiring_moves_with_the_clock);
	RUN(entries_of_expired_records_are_skipped_and_swept);
	RUN(out_of_memory_refuses_writes_not_reads);
	RUN(read_only_replica_refuses_writes);
	RUN(slow_redis_times_out);
	RUN(check_says_what_is_wrong);
	RUN(keys_of_another_type_are_clean_errors);
	RUN(a_record_too_big_is_refused);
	RUN(locks_held_are_bounded_and_released_at_close);
	RUN(bad_address_is_refused_at_open);
	RUN(list_reads_at_most_512_bytes_a_head);
	RUN(tombstones_and_the_outbox_sums);
	RUN(many_records_are_read_in_batches);
	RUN(every_call_fails_cleanly_when_down);
	RUN(restart_between_calls_is_no_error);
	RUN(down_then_back);
	RUN(a_server_that_hangs_up_is_named);
	RUN(scripts_lost_as_soon_as_loaded_is_an_error_not_a_loop);
	RUN(odd_answers_are_refused_in_its_own_words);
	RUN(a_list_of_what_are_not_names_lists_nothing);
	RUN(check_reads_the_version_and_settings_it_is_told);
	RUN(a_hang_up_in_the_handshake_is_named_too);
	RUN(a_socket_path_through_a_file_says_what_connect_said);
	RUN(a_visitor_that_says_stop_ends_the_list);
	RUN(a_count_that_is_no_number_fails_the_page);
	store_close(st);
	redis_stop();
	rc = DONE();
	unit_rmtree(top);
	return rc;
}
