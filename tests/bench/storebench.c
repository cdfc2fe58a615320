/*
 * The store at scale, for `make bench`, with the program's own modules.
 *
 *	storebench gen CONFIG N STALE [PART PARTS]
 *		Fills CONFIG's store with N real sealed records (the sessions
 *		of sid(0) .. sid(N-1)), and STALE more idle for 200 days for
 *		gc to remove.  Records that are there already are left.
 *		PART of PARTS: only the shards whose number modulo PARTS is
 *		PART, so that several processes can share the work.
 *	storebench read CONFIG N SAMPLES ROUNDS
 *		Reads SAMPLES random records of the N, as /status and /token
 *		do (link_get: name HMAC, file read, AES-GCM open, JSON), once
 *		to warm the caches, then ROUNDS times timed one by one.
 *		Prints "reads R median_us M p90_us A p99_us B mean_us C".
 *
 * The generator writes each file straight to its place, without the temp
 * file, fsyncs and rename of store_save(): those make a crash safe, and
 * cost 1 to 10 ms a record on this machine, hours for a million.  The
 * bytes are what store_save() would write.  With [store] backend = redis
 * it calls store_save() itself (the record and its index entries, one
 * round trip), each process the names whose first byte is its part.
 *
 *	storebench query CONFIG ROUNDS
 *		The admin list's first page of 50 and its totals, asked of the
 *		store as the admin page asks (store_query), ROUNDS times, in
 *		this process: the store's own cost, without a process start.
 *		Prints "queries R median_ms M p90_ms P matching N".
 *	storebench refresh CONFIG N SECONDS
 *		The store's side of refreshes, for SECONDS, on random records
 *		of the N, as link.c does one (without the token request):
 *		lock, writable, load, open, seal, save, unlock.  Prints
 *		"refreshes R seconds S".  Run several at once for the most
 *		one store sustains.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "crypto.h"
#include "link.h"
#include "record.h"
#include "session.h"
#include "text.h"
#include "codec.h"

#define DAY	  86400LL
#define TOKEN_LEN 812 /* InsureSign's tokens look like JWTs, this long */

/* Session i's id: 43 base64url characters, the same in every run. */
static void
sid(unsigned long long i, char out[SESSION_ID_LEN + 1])
{
	unsigned char h[SHA256_LEN];
	char seed[64];

	snprintf(seed, sizeof(seed), "insuresign-connect bench %llu", i);
	crypto_sha256(seed, strlen(seed), h);
	b64url_encode(h, sizeof(h), out);
}

/* prefix, then random base64url characters: len in all. */
static int
random_token(const char *prefix, size_t len, char **out)
{
	unsigned char raw[TOKEN_LEN];
	char enc[TOKEN_LEN * 2];
	size_t n = strlen(prefix);

	*out = malloc(len + 1);
	if (*out == NULL || len > TOKEN_LEN || n > len ||
	    crypto_random(raw, len) == -1) {
		free(*out);
		*out = NULL;
		return -1;
	}
	b64url_encode(raw, len, enc);
	memcpy(*out, prefix, n);
	memcpy(*out + n, enc, len - n);
	(*out)[len] = '\0';
	return 0;
}

/* The store's 256 shard directories, made and opened once. */
static int shards[256];

static int
open_shards(const char *dir)
{
	int dirfd, i;

	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	if (dirfd == -1) {
		perror(dir);
		return -1;
	}
	for (i = 0; i < 256; i++) {
		char sub[3];

		snprintf(sub, sizeof(sub), "%02x", i);
		if (mkdirat(dirfd, sub, 0700) == -1 && errno != EEXIST)
			break;
		shards[i] =
			openat(dirfd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
		if (shards[i] == -1)
			break;
	}
	close(dirfd);
	if (i < 256) {
		fprintf(stderr, "storebench: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * One sealed record in its shard; 0 if written or there already, or if
 * its shard is another process's (the first byte of its name modulo
 * parts is not part: two processes never write to one directory).
 */
static int
put(const struct app *app, const char *id, long long created, long long used,
    long long expires, int status, int last_error, unsigned part,
    unsigned parts)
{
	char name[RECORD_NAME_LEN + 1], sub[3];
	unsigned long first;
	struct record r;
	struct buf raw;
	int fd, rc = -1;

	memset(&r, 0, sizeof(r));
	owner_browser(id, &r.owner);
	owner_record_name(&app->keys.keys[0], &r.owner, name);
	memcpy(sub, name, 2);
	sub[2] = '\0';
	first = strtoul(sub, NULL, 16);
	if (first % parts != part)
		return 0;
	r.meta.status = status;
	r.meta.last_error = last_error;
	r.meta.created = created;
	r.meta.updated = used;
	r.meta.last_used = used;
	r.meta.expires_at = expires;
	buf_init(&raw, RECORD_MAX);
	if (record_set(&r.token_type, "Bearer") == -1)
		goto err;
	if (status == RECORD_CONNECTED &&
	    (random_token("eyJhbGciOiJSUzI1NiJ9.", TOKEN_LEN,
			  &r.access_token) == -1 ||
	     random_token("rt_", 43, &r.refresh_token) == -1))
		goto err;
	if (record_seal(&app->keys, name, &r, &raw) == -1)
		goto err;
	if (app->cfg.store_backend == STORE_BACKEND_REDIS) {
		rc = store_save(app->store, name, raw.data, raw.len) == STORE_OK
			     ? 0
			     : -1;
		goto err;
	}
	fd = openat(shards[first], name,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
	if (fd == -1 && errno == EEXIST) {
		rc = 0;
	} else if (fd != -1) {
		rc = write(fd, raw.data, raw.len) == (ssize_t)raw.len ? 0 : -1;
		if (close(fd) == -1)
			rc = -1;
	}
err:
	buf_free(&raw);
	record_free(&r);
	if (rc == -1)
		fprintf(stderr, "storebench: %s/%.12s: %s\n",
			app->cfg.store_dir, name, strerror(errno));
	return rc;
}

static int
gen(struct app *app, unsigned long long n, unsigned long long stale,
    unsigned part, unsigned parts)
{
	long long now = (long long)time(NULL);
	unsigned long long i;
	char id[SESSION_ID_LEN + 1];

	if (app->cfg.store_backend == STORE_BACKEND_FILE &&
	    open_shards(app->cfg.store_dir) == -1)
		return 1;
	/* Connected over the last 30 days, used now, all sorts of expiry;
	 * a few need a reconnect or failed their last refresh (the admin
	 * page sorts and filters on these). */
	for (i = 0; i < n; i++) {
		sid(i, id);
		if (put(app, id, now - (long long)(i % (30 * DAY)), now,
			now + 3600 - (long long)(i % 7200),
			i % 97 == 96 ? RECORD_NEEDS_RECONNECT
				     : RECORD_CONNECTED,
			i % 89 == 88 ? REFRESH_TIMEOUT : REFRESH_OK, part,
			parts) == -1)
			return 1;
	}
	for (i = 0; i < stale; i++) {
		unsigned char raw[32];

		if (crypto_random(raw, sizeof(raw)) == -1)
			return 1;
		b64url_encode(raw, sizeof(raw), id);
		if (put(app, id, now - 200 * DAY, now - 200 * DAY,
			now - 200 * DAY + 3600, RECORD_CONNECTED, REFRESH_OK,
			part, parts) == -1)
			return 1;
	}
	return 0;
}

static double
now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* One record read as a request reads it; -1 unless it opens. */
static int
read_one(struct app *app, const char *id)
{
	char name[RECORD_NAME_LEN + 1];
	struct owner o;
	struct record r;

	owner_browser(id, &o);
	if (link_get(app, &o, name, &r) != LINK_OK)
		return -1;
	record_free(&r);
	return 0;
}

static int
bench_read(struct app *app, unsigned long long n, unsigned long long samples,
	   unsigned long long rounds)
{
	char(*ids)[SESSION_ID_LEN + 1];
	unsigned long long i, j, x = (unsigned long long)time(NULL) | 1;
	double *us, sum = 0;
	size_t k = 0;

	ids = calloc(samples, sizeof(*ids));
	us = calloc(samples * rounds, sizeof(*us));
	if (ids == NULL || us == NULL)
		return 1;
	for (i = 0; i < samples; i++) {
		/* xorshift64: a spread of records, different every run. */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		sid(x % n, ids[i]);
		if (read_one(app, ids[i]) == -1) {
			fprintf(stderr,
				"storebench: record %llu does not "
				"open\n",
				x % n);
			return 1;
		}
	}
	for (j = 0; j < rounds; j++)
		for (i = 0; i < samples; i++) {
			double t0 = now_us();

			if (read_one(app, ids[i]) == -1)
				return 1;
			us[k] = now_us() - t0;
			sum += us[k++];
		}
	qsort(us, k, sizeof(*us), cmp);
	printf("reads %zu median_us %.2f p90_us %.2f p99_us %.2f mean_us "
	       "%.2f\n",
	       k, us[k / 2], us[k * 9 / 10], us[k * 99 / 100], sum / (double)k);
	free(ids);
	free(us);
	return 0;
}

/* One refresh's store work on the record of id; -1 if any step fails. */
static int
refresh_one(struct app *app, const char *id, unsigned long long k)
{
	char name[RECORD_NAME_LEN + 1], token[64];
	struct store_lock lock;
	struct record r;
	struct owner o;
	struct buf raw;
	int rc = -1;

	owner_browser(id, &o);
	owner_record_name(&app->keys.keys[0], &o, name);
	if (store_lock(app->store, name, &lock) != STORE_OK)
		return -1;
	buf_init(&raw, RECORD_MAX);
	memset(&r, 0, sizeof(r));
	if (store_writable(app->store) != STORE_OK ||
	    store_load(app->store, name, &raw) != STORE_OK ||
	    record_open(&app->keys, name, (unsigned char *)raw.data, raw.len,
			&r) == -1)
		goto out;
	snprintf(token, sizeof(token), "eyJhbGciOiJSUzI1NiJ9.bench.%llu", k);
	r.meta.last_refresh = r.meta.updated = (long long)time(NULL);
	r.meta.expires_at = r.meta.last_refresh + 3600;
	buf_free(&raw);
	buf_init(&raw, RECORD_MAX);
	if (record_set(&r.access_token, token) == -1 ||
	    record_seal(&app->keys, name, &r, &raw) == -1 ||
	    store_save(app->store, name, raw.data, raw.len) != STORE_OK)
		goto out;
	rc = 0;
out:
	record_free(&r);
	buf_free(&raw);
	store_unlock(&lock);
	return rc;
}

static int
bench_refresh(struct app *app, unsigned long long n, unsigned long long secs)
{
	unsigned long long x = (unsigned long long)getpid() * 2654435761ULL | 1;
	unsigned long long done = 0;
	char id[SESSION_ID_LEN + 1];
	double t0 = now_us(), t;

	do {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		sid(x % n, id);
		if (refresh_one(app, id, done) == -1) {
			fprintf(stderr, "storebench: refresh of %llu failed\n",
				x % n);
			return 1;
		}
		done++;
		t = now_us();
	} while (t - t0 < (double)secs * 1e6);
	printf("refreshes %llu seconds %.3f\n", done, (t - t0) / 1e6);
	return 0;
}

static int
bench_query(struct app *app, unsigned long long rounds)
{
	struct listing_query q = {
		.health = -1, .sort = SORT_CONNECTED, .prefix = "", .limit = 50
	};
	double *ms = calloc(rounds, sizeof(*ms));
	unsigned long long i;
	size_t matching = 0;
	struct listing l;

	if (ms == NULL)
		return 1;
	for (i = 0; i < rounds; i++) {
		double t0 = now_us();

		q.now = (long long)time(NULL);
		if (store_query(app->store, &q, &l) != STORE_OK)
			return 1;
		ms[i] = (now_us() - t0) / 1000;
		matching = l.matching;
		listing_free(&l);
	}
	qsort(ms, rounds, sizeof(*ms), cmp);
	printf("queries %llu median_ms %.3f p90_ms %.3f matching %zu\n", rounds,
	       ms[rounds / 2], ms[rounds * 9 / 10], matching);
	free(ms);
	return 0;
}

int
main(int argc, char **argv)
{
	unsigned long long n, a = 0, b = 1, part = 0, parts = 1;
	char err[1024];
	struct app app;
	int rc, is_gen = argc > 1 && strcmp(argv[1], "gen") == 0;
	int is_query = argc > 1 && strcmp(argv[1], "query") == 0;

	if (argc < (is_query ? 4 : 5) ||
	    parse_uint(argv[3], is_gen ? 0 : 1, 100000000, &n) ||
	    (is_query && argc != 4) ||
	    (is_gen && (parse_uint(argv[4], 0, 100000000, &a) == -1 ||
			(argc != 5 && argc != 7) ||
			(argc == 7 &&
			 (parse_uint(argv[6], 1, 256, &parts) == -1 ||
			  parse_uint(argv[5], 0, parts - 1, &part) == -1)))) ||
	    (!is_gen && strcmp(argv[1], "refresh") == 0 &&
	     (argc != 5 || parse_uint(argv[4], 1, 3600, &a) == -1)) ||
	    (!is_gen && strcmp(argv[1], "read") == 0 &&
	     (argc != 6 || parse_uint(argv[4], 1, 10000000, &a) ||
	      parse_uint(argv[5], 1, 100000, &b) == -1))) {
		fprintf(stderr, "usage: storebench gen CONFIG N STALE [PART "
				"PARTS]\n"
				"       storebench read CONFIG N SAMPLES "
				"ROUNDS\n"
				"       storebench query CONFIG ROUNDS\n"
				"       storebench refresh CONFIG N SECONDS\n");
		return 2;
	}
	if (app_open(&app, argv[2], err, sizeof(err)) == -1) {
		fprintf(stderr, "storebench: %s: %s\n", argv[2], err);
		return 1;
	}
	if (is_gen)
		rc = gen(&app, n, a, (unsigned)part, (unsigned)parts);
	else if (strcmp(argv[1], "read") == 0)
		rc = bench_read(&app, n, a, b);
	else if (strcmp(argv[1], "refresh") == 0)
		rc = bench_refresh(&app, n, a);
	else if (strcmp(argv[1], "query") == 0)
		rc = bench_query(&app, n);
	else
		rc = 2;
	app_close(&app);
	return rc;
}
