/*
 * The Redis store, for several web servers that share one Redis: the
 * same sealed records as the file store, under the same names, and the
 * only file that speaks to Redis (hiredis).  docs/STORE.md has the key
 * layout; in short, with P the key prefix ([store] redis_prefix):
 *
 *	P r:{NAME}	a record; expires when idle (max_idle_days)
 *	P l:{NAME}	its lock: a random owner token; expires by itself
 *	P s:{NAME}	a spent one-time value; expires with it
 *	P {i}:...	sorted-set indexes of the records, for the admin list
 *
 * NAME is a keyed hash (record.h), never a user id, session id or token;
 * the braces make it the hash tag, so a record and its lock share a
 * cluster slot, and every index shares one ("i").  Each command touches
 * keys of one slot only, so the layout works behind a Redis Cluster
 * proxy unchanged.
 *
 * Each process keeps one connection, made on first use (never one
 * inherited across fork), and makes a new one by itself after a failure.
 * Every failure is STORE_ERROR with its cause logged once (redis_fail);
 * nothing is written half: a record is one SET, and an index entry that
 * outlives its record is skipped, and removed, by its next reader.
 */
#include "store_ops.h"

#include <hiredis.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "crypto.h"
#include "log.h"
#include "nitems.h"
#include "secretfile.h"
#include "text.h"

/* The oldest Redis with SET ... GET, ZRANGE's forms and ACLs we use. */
#define VERSION_MIN "6.2.0"
/* After a failed connect, fail at once for this long, not once per
 * call of a request (each would wait out the connect timeout). */
#define DOWN_MS 1000
/* The same cause is logged again after this long, not on every call. */
#define RELOG_MS 60000
/* A record saved after it went idle still lives this long. */
#define TTL_MIN_MS 60000
#define BATCH	   1000 /* names per round trip when reading many */
#define ARGS_MAX   40	/* INDEX: EVALSHA, its SHA, 20 keys, 10 values */
#define KEY_MAX	   (64 + 8 + RECORD_NAME_LEN)

/*
 * The scripts.  Each runs atomically and touches keys of one slot.
 * ACQUIRE takes a lock or spends a value: ours if the key was free, or
 * already ours (a retry whose first answer was lost).  RELEASE lets go
 * only of our own lock.  SAVE writes a record unless its lock has passed
 * to another holder (one that outlived its lifetime).
 */
static const char acquire_lua[] =
	"if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then "
	"return 1 end "
	"if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end "
	"return 0";
static const char release_lua[] =
	"if redis.call('GET', KEYS[1]) == ARGV[1] then "
	"return redis.call('DEL', KEYS[1]) end "
	"return 0";
/* The outbox's part of INDEX and UNINDEX: n's counts are now ne, nd. */
#define OUTBOX_LUA                                                          \
	"local old = redis.call('HGET', KEYS[19], n) "                      \
	"local oe, od = 0, 0 "                                              \
	"if old then local a, b = string.match(old, '(%d+) (%d+)') "        \
	"oe, od = tonumber(a), tonumber(b) end "                            \
	"if ne ~= oe then redis.call('HINCRBY', KEYS[20], 'events', "       \
	"ne - oe) end "                                                     \
	"if nd ~= od then redis.call('HINCRBY', KEYS[20], 'dead', "         \
	"nd - od) end "                                                     \
	"if ne + nd > 0 then redis.call('HSET', KEYS[19], n, ne .. ' ' .. " \
	"nd) elseif old then redis.call('HDEL', KEYS[19], n) end "          \
	"if ne > 0 then redis.call('ZADD', KEYS[18], ARGV[9], n) "          \
	"elseif oe > 0 then redis.call('ZREM', KEYS[18], n) end "

static const char save_lua[] =
	"local h = redis.call('GET', KEYS[2]) "
	"if ARGV[3] ~= '' and h and h ~= ARGV[3] then return 0 end "
	"redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) "
	"return 1";

/*
 * The indexes, all in slot "i": KEYS[1] every name (score 0, for id
 * prefixes and for lists of every record, tombstones too), KEYS[2]
 * "soon" (see below), KEYS[3..5] every link by created, expires_at and
 * last_refresh, and KEYS[6..17] the same three for each health (enum
 * health order).  INDEX files a name under its health (a name is in a
 * health's three indexes or in none of them: the first tells), or, for
 * a tombstone (health -1: a deleted link kept for its events, event.h),
 * under none; UNINDEX removes it.
 *
 * A health changes with the clock in one way only: a link without a
 * refresh token becomes expiring an hour before its token expires.
 * "soon" holds those links, scored by that moment; SOON moves the ones
 * whose moment has passed, before each query (each link moves once).
 *
 * The outbox, for the admin page and /metrics without reading every
 * record: KEYS[18] the records with events waiting, by the oldest's
 * time; KEYS[19] each such record's "waiting given-up" counts, so that
 * KEYS[20] can keep the sums ("events", "dead") by difference.
 */
static const char index_lua[] =
	"local n, h = ARGV[1], tonumber(ARGV[2]) "
	"local ne, nd = tonumber(ARGV[7]), tonumber(ARGV[8]) "
	"for c = 0, 3 do "
	"if c ~= h and redis.call('ZSCORE', KEYS[6 + 3 * c], n) then "
	"for i = 0, 2 do redis.call('ZREM', KEYS[6 + 3 * c + i], n) end "
	"end end "
	"redis.call('ZADD', KEYS[1], 0, n) "
	"if h >= 0 then for i = 0, 2 do "
	"redis.call('ZADD', KEYS[3 + i], ARGV[3 + i], n) "
	"redis.call('ZADD', KEYS[6 + 3 * h + i], ARGV[3 + i], n) end "
	"else for i = 3, 5 do redis.call('ZREM', KEYS[i], n) end end "
	"if ARGV[6] ~= '' then redis.call('ZADD', KEYS[2], ARGV[6], n) "
	"else redis.call('ZREM', KEYS[2], n) end " OUTBOX_LUA "return 1";
static const char unindex_lua[] =
	"for i = 1, 17 do redis.call('ZREM', KEYS[i], ARGV[1]) end "
	"local n, ne, nd = ARGV[1], 0, 0 " OUTBOX_LUA "return 1";
static const char soon_lua[] =
	"local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', "
	"'(' .. ARGV[1], 'LIMIT', 0, 500) "
	"for _, n in ipairs(due) do "
	"redis.call('ZREM', KEYS[2], n) "
	"if redis.call('ZREM', KEYS[6], n) == 1 then "
	"redis.call('ZREM', KEYS[7], n) redis.call('ZREM', KEYS[8], n) "
	"for i = 0, 2 do "
	"local s = redis.call('ZSCORE', KEYS[3 + i], n) "
	"if s then redis.call('ZADD', KEYS[9 + i], s, n) end end end end "
	"return #due";

enum script { ACQUIRE, RELEASE, SAVE, INDEX, UNINDEX, SOON, SCRIPTS };

static const char *const scripts[SCRIPTS] = {
	[ACQUIRE] = acquire_lua, [RELEASE] = release_lua, [SAVE] = save_lua,
	[INDEX] = index_lua,	 [UNINDEX] = unindex_lua, [SOON] = soon_lua,
};

/* The index keys, in the order the scripts name them. */
#define INDEX_KEYS 20
static const char *const index_names[INDEX_KEYS] = {
	"id",	"soon", "all:c", "all:e", "all:r", "h0:c", "h0:e",
	"h0:r", "h1:c", "h1:e",	 "h1:r",  "h2:c",  "h2:e", "h2:r",
	"h3:c", "h3:e", "h3:r",	 "ev",	  "evs",   "tot",
};

struct redis_store {
	struct store base;
	char where[300]; /* [store] redis, for messages */
	char host[256];	 /* or the socket's path */
	unsigned port;	 /* 0: a unix socket */
	unsigned db;
	char *user, *password;
	char prefix[65];
	char index[INDEX_KEYS][KEY_MAX]; /* index_names[], prefixed */
	unsigned connect_ms, command_ms;
	long long lock_ms;   /* a lock's lifetime */
	long long idle_secs; /* [store] max_idle_days */
	redisContext *c;
	pid_t pid; /* the process that made c */
	int fresh; /* c made for this call: no retry */
	char sha[SCRIPTS][41];
	long long down_until; /* ms: fail at once until then */
	char cause[256];      /* the last failure logged */
	long long logged_at;  /* ms */
	int quiet;	      /* check-config: the caller says it */
	struct {
		char name[RECORD_NAME_LEN + 1]; /* "": a free slot */
		char token[33];
	} held[STORE_HELD_MAX];
};

/* One command's arguments, binary safe. */
struct cmd {
	int argc;
	const char *argv[ARGS_MAX];
	size_t len[ARGS_MAX];
	char num[12][24]; /* room for the numbers it carries */
};

static struct redis_store *
redis_store(struct store *s)
{
	return (struct redis_store *)s;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
arg(struct cmd *c, const void *p, size_t n)
{
	if (c->argc == ARGS_MAX)
		abort(); /* a command of ours longer than we allowed */
	c->argv[c->argc] = p;
	c->len[c->argc++] = n;
}

static void
args(struct cmd *c, const char *s)
{
	arg(c, s, strlen(s));
}

/* A new command of the strings given, up to the NULL; more may follow. */
static void cmd(struct cmd *c, ...) __attribute__((sentinel));

static void
cmd(struct cmd *c, ...)
{
	const char *s;
	va_list ap;

	c->argc = 0;
	va_start(ap, c);
	for (s = va_arg(ap, const char *); s != NULL;
	     s = va_arg(ap, const char *))
		args(c, s);
	va_end(ap);
}

/* A number argument, kept in the command's own room (slot 0 to 10;
 * 11 is evalsha's). */
static void
argn(struct cmd *c, int slot, long long v)
{
	snprintf(c->num[slot], sizeof(c->num[slot]), "%lld", v);
	args(c, c->num[slot]);
}

static void
key(const struct redis_store *s, char *out, const char *kind, const char *name)
{
	snprintf(out, KEY_MAX, "%s%s:{%s}", s->prefix, kind, name);
}

/* -- failures ------------------------------------------------------------ */

/*
 * A failure, logged with its cause: once, and again only when the cause
 * changes or a minute has passed (a Redis that is down fails every
 * request; the log says so once).  Always STORE_ERROR.
 */
static int redis_fail(struct redis_store *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
redis_fail(struct redis_store *s, const char *fmt, ...)
{
	char cause[sizeof(s->cause)];
	long long t = now_ms();
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cause, sizeof(cause), fmt, ap);
	va_end(ap);
	if (!s->quiet &&
	    (strcmp(cause, s->cause) != 0 || t - s->logged_at >= RELOG_MS)) {
		log_error("store: redis %s: %s", s->where, cause);
		s->logged_at = t;
	}
	memcpy(s->cause, cause, sizeof(cause));
	return STORE_ERROR;
}

/* An error reply: what it means, in the operator's words, or failing
 * that, in Redis's own. */
static int
reply_failed(struct redis_store *s, const redisReply *r)
{
	static const struct {
		const char *prefix, *cause;
	} known[] = {
		{ "NOAUTH", "it wants a password: set [store] "
			    "redis_password_file" },
		{ "WRONGPASS", "wrong password or user: check [store] "
			       "redis_password_file and redis_user" },
		{ "ERR invalid password", "wrong password: check [store] "
					  "redis_password_file" },
		{ "ERR AUTH", "it has no password set, but [store] "
			      "redis_password_file gives one: set "
			      "requirepass, or drop the setting" },
		{ "OOM", "out of memory (maxmemory): writes are refused; "
			 "give it more memory, and keep maxmemory-policy "
			 "noeviction" },
		{ "READONLY", "a read-only replica: point [store] redis at "
			      "the primary" },
		{ "LOADING", "still loading its data after a start" },
		{ "MISCONF", "it cannot save to its disk (MISCONF), so it "
			     "refuses writes: see its log" },
		{ "NOPERM", "its ACL user lacks a permission: allow the "
			    "commands and the key prefix" },
		{ "ERR DB index", "no such database: check [store] "
				  "redis_database" },
		{ "MASTERDOWN", "a replica whose primary is down" },
		{ "CLUSTERDOWN", "the cluster is down" },
	};
	const char *e = r->str;
	char said[80];
	size_t i;

	for (i = 0; i < nitems(known); i++)
		if (strncmp(e, known[i].prefix, strlen(known[i].prefix)) == 0)
			return redis_fail(s, "%s", known[i].cause);
	/* Redis's own words, first line only, printable: an error reply
	 * names commands, never the values we sent. */
	for (i = 0; i + 1 < sizeof(said) && i < r->len; i++)
		said[i] =
			r->str[i] >= 0x20 && r->str[i] < 0x7f ? r->str[i] : ' ';
	said[i] = '\0';
	return redis_fail(s, "it answered: %s", said);
}

/* The connection failed (not Redis): drop it, and say why. */
static int
io_failed(struct redis_store *s, int e, int connecting)
{
	int rc;

	if (s->c != NULL && s->c->err == REDIS_ERR_EOF)
		rc = redis_fail(s, "the server closed the connection");
	else if (e == EAGAIN || e == EWOULDBLOCK || e == ETIMEDOUT ||
		 e == EINPROGRESS)
		rc = redis_fail(s, "no answer within %u ms ([store] %s)",
				connecting ? s->connect_ms : s->command_ms,
				connecting ? "redis_connect_timeout_ms"
					   : "redis_timeout_ms");
	else if (connecting && (e == ECONNREFUSED || e == ENOENT))
		rc = redis_fail(s,
				"cannot connect: %s (is redis-server running "
				"and listening there? [store] redis)",
				strerror(e));
	else
		rc = redis_fail(s, "%s: %s",
				connecting ? "cannot connect" : "connection",
				s->c != NULL && s->c->errstr[0] != '\0'
					? s->c->errstr
					: strerror(e));
	if (s->c != NULL)
		redisFree(s->c);
	s->c = NULL;
	return rc;
}

/* -- the connection ------------------------------------------------------ */

/* Frees the replies there are, and leaves NULL in their places. */
static void
free_replies(redisReply **r, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (r[i] != NULL)
			freeReplyObject(r[i]);
		r[i] = NULL;
	}
}

static redisContext *
dial(const struct redis_store *s, unsigned ms)
{
	struct timeval tv = { (time_t)(ms / 1000),
			      (suseconds_t)(ms % 1000) * 1000 };

	return s->port == 0
		       ? redisConnectUnixWithTimeout(s->host, tv)
		       : redisConnectWithTimeout(s->host, (int)s->port, tv);
}

/*
 * The handshake: password, database, a name that says who we are in
 * CLIENT LIST (the bench counts our connections by it), the scripts.
 * One round trip.
 */
static int
handshake(struct redis_store *s)
{
	struct timeval tv = { (time_t)(s->command_ms / 1000),
			      (suseconds_t)(s->command_ms % 1000) * 1000 };
	redisReply *r;
	int n, i, rc = STORE_OK;

	if (redisSetTimeout(s->c, tv) != REDIS_OK)
		return io_failed(s, errno, 1);
	/* Each %s is one argument, whatever it holds (hiredis). */
	if (s->password != NULL && s->user != NULL)
		redisAppendCommand(s->c, "AUTH %s %s", s->user, s->password);
	else if (s->password != NULL)
		redisAppendCommand(s->c, "AUTH %s", s->password);
	redisAppendCommand(s->c, "SELECT %u", s->db);
	redisAppendCommand(s->c, "CLIENT SETNAME insuresign-connect-%ld",
			   (long)getpid());
	for (i = 0; i < SCRIPTS; i++)
		redisAppendCommand(s->c, "SCRIPT LOAD %s", scripts[i]);
	n = (s->password != NULL) + 2 + SCRIPTS;
	for (i = 0; i < n; i++) {
		if (redisGetReply(s->c, (void **)&r) != REDIS_OK)
			return io_failed(s, errno, 0);
		/* A proxy may refuse CLIENT SETNAME: a name is no need. */
		if (r->type == REDIS_REPLY_ERROR && rc == STORE_OK &&
		    i != n - SCRIPTS - 1)
			rc = reply_failed(s, r);
		if (i >= n - SCRIPTS && r->type == REDIS_REPLY_STRING &&
		    r->len == 40)
			memcpy(s->sha[i - (n - SCRIPTS)], r->str, 41);
		freeReplyObject(r);
	}
	return rc;
}

/* The connection, made now if there is none (or only a parent's). */
static int
connected(struct redis_store *s)
{
	int e;

	if (s->c != NULL && s->pid == getpid())
		return STORE_OK;
	if (s->c != NULL) {
		/* Made before a fork: the parent's.  Closing our copy of
		 * the socket sends nothing on it. */
		redisFree(s->c);
		s->c = NULL;
	}
	if (now_ms() < s->down_until)
		return STORE_ERROR; /* the cause is logged already */
	s->down_until = now_ms() + DOWN_MS;
	s->c = dial(s, s->connect_ms);
	e = errno;
	if (s->c == NULL)
		return redis_fail(s, "out of memory");
	if (s->c->err != 0)
		return io_failed(s, e, 1);
	if (handshake(s) != STORE_OK) {
		if (s->c != NULL)
			redisFree(s->c);
		s->c = NULL;
		return STORE_ERROR;
	}
	s->down_until = 0;
	s->pid = getpid();
	s->fresh = 1;
	if (s->cause[0] != '\0') {
		if (!s->quiet)
			log_info("store: redis %s: connected again", s->where);
		s->cause[0] = '\0';
	}
	return STORE_OK;
}

/* Did the connection break (Redis restarted, or closed it), rather than
 * Redis being slow or refusing? */
static int
broken(const redisContext *c, int e)
{
	return c->err == REDIS_ERR_EOF ||
	       (c->err == REDIS_ERR_IO && (e == ECONNRESET || e == EPIPE));
}

/*
 * Sends n commands in one round trip and reads their n replies into r
 * (each the caller's to freeReplyObject).  A connection that broke is
 * dropped, and the commands sent once more on a new one if the old was
 * reused: Redis restarted since our last call is not an error.  So
 * every command we send must be safe to send twice.  An error reply is
 * left to the caller, but for NOSCRIPT (Redis lost our scripts: they
 * are loaded again, and the commands sent again).
 */
static int
exchange(struct redis_store *s, int n, struct cmd *cmds, redisReply **r)
{
	int i, tries, e, noscript;

	for (i = 0; i < n; i++)
		r[i] = NULL;
	for (tries = 0; tries < 2; tries++) {
		if (connected(s) != STORE_OK)
			return STORE_ERROR;
		for (i = 0; i < n; i++)
			redisAppendCommandArgv(s->c, cmds[i].argc, cmds[i].argv,
					       cmds[i].len);
		noscript = 0;
		e = 0;
		for (i = 0; i < n; i++) {
			if (redisGetReply(s->c, (void **)&r[i]) != REDIS_OK) {
				e = errno;
				break;
			}
			if (r[i]->type == REDIS_REPLY_ERROR &&
			    strncmp(r[i]->str, "NOSCRIPT", 8) == 0)
				noscript = 1;
		}
		if (i == n && !noscript) {
			s->fresh = 0;
			return STORE_OK;
		}
		free_replies(r, n);
		if (!noscript && (s->fresh || !broken(s->c, e))) {
			s->fresh = 0;
			return io_failed(s, e, 0);
		}
		redisFree(s->c); /* reused and broken, or scripts lost */
		s->c = NULL;
	}
	/* Only NOSCRIPT gets here twice: a second break on the fresh
	 * connection failed above. */
	return redis_fail(s, "NOSCRIPT right after loading its scripts (a "
			     "proxy in front of several servers?)");
}

/* exchange(), and the first error reply reported as a failure (the
 * replies then freed). */
static int
run(struct redis_store *s, int n, struct cmd *c, redisReply **r)
{
	int i;

	if (exchange(s, n, c, r) != STORE_OK)
		return STORE_ERROR;
	for (i = 0; i < n; i++)
		if (r[i]->type == REDIS_REPLY_ERROR) {
			reply_failed(s, r[i]);
			free_replies(r, n);
			return STORE_ERROR;
		}
	return STORE_OK;
}

/* An EVALSHA of a script, its keys to be added next. */
static void
evalsha(const struct redis_store *s, struct cmd *c, enum script which,
	int nkeys)
{
	cmd(c, "EVALSHA", NULL);
	/* Its 40 hex digits are known once connected (SCRIPT LOAD), maybe
	 * only when this command is sent: the length is theirs already. */
	arg(c, s->sha[which], 40);
	argn(c, 11, nkeys);
}

/* An EVALSHA of INDEX, UNINDEX or SOON with every index key, its
 * arguments to be added next. */
static void
eval_indexes(const struct redis_store *s, struct cmd *c, enum script which)
{
	size_t i;

	evalsha(s, c, which, INDEX_KEYS);
	for (i = 0; i < INDEX_KEYS; i++)
		args(c, s->index[i]);
}

/* -- open, close --------------------------------------------------------- */

static void
redis_close(struct store *base)
{
	struct redis_store *s = redis_store(base);
	size_t i;

	for (i = 0; i < STORE_HELD_MAX; i++)
		if (s->held[i].name[0] != '\0')
			s->base.ops->unlock(base, s->held[i].name);
	if (s->c != NULL)
		redisFree(s->c);
	free(s->user);
	secret_free(s->password);
	free(s);
}

static struct store *
redis_open(const struct config *cfg, char *err, size_t len)
{
	struct redis_store *s = calloc(1, sizeof(*s));
	size_t i;

	if (s == NULL) {
		snprintf(err, len, "out of memory");
		return NULL;
	}
	s->base.ops = &store_redis_ops;
	/* A connection Redis closed must be an error, not the end of the
	 * process (serve.c ignores SIGPIPE too; the command line did not). */
	signal(SIGPIPE, SIG_IGN);
	if (cfg->redis == NULL) {
		/* backend = file, and migrate asked for Redis. */
		snprintf(err, len,
			 "[store] redis: not set (host:port or "
			 "unix:/path of the Redis to use)");
		goto err;
	}
	snprintf(s->where, sizeof(s->where), "%s", cfg->redis);
	if (config_redis_addr(cfg->redis, s->host, sizeof(s->host), &s->port) ==
	    -1) {
		snprintf(err, len,
			 "[store] redis = \"%s\": expected "
			 "host:port or unix:/path",
			 cfg->redis);
		goto err;
	}
	snprintf(s->prefix, sizeof(s->prefix), "%s", cfg->redis_prefix);
	for (i = 0; i < INDEX_KEYS; i++)
		snprintf(s->index[i], KEY_MAX, "%s{i}:%s", s->prefix,
			 index_names[i]);
	s->db = cfg->redis_database;
	s->connect_ms = cfg->redis_connect_timeout;
	s->command_ms = cfg->redis_timeout;
	/* Longer than any holder needs: a token request ([http] timeout)
	 * and the store's own few commands around it. */
	s->lock_ms =
		(long long)cfg->timeout * 1000 + 3LL * s->command_ms + 2000;
	s->idle_secs = (long long)cfg->max_idle_days * 86400;
	if (cfg->redis_user != NULL &&
	    (s->user = strdup(cfg->redis_user)) == NULL) {
		snprintf(err, len, "out of memory");
		goto err;
	}
	if (cfg->redis_password_file != NULL &&
	    secretfile_line("[store] redis_password_file",
			    cfg->redis_password_file,
			    "create it with the password on its first line, "
			    "mode 0600, owned by the user the program runs as",
			    &s->password, err, len) == -1)
		goto err;
	return &s->base;
err:
	redis_close(&s->base);
	return NULL;
}

/* -- records ------------------------------------------------------------- */

static int
redis_load(struct store *base, const char *name, struct buf *out)
{
	struct redis_store *s = redis_store(base);
	char k[KEY_MAX];
	redisReply *r;
	struct cmd c;
	int rc = STORE_ERROR;

	key(s, k, "r", name);
	cmd(&c, "GET", k, NULL);
	if (run(s, 1, &c, &r) != STORE_OK)
		return STORE_ERROR;
	if (r->type == REDIS_REPLY_NIL)
		rc = STORE_NOTFOUND;
	else if (r->type != REDIS_REPLY_STRING || r->len > RECORD_MAX)
		log_error("store: redis: %.12s: not a record of ours, or too "
			  "big: refused",
			  name);
	else if (buf_add(out, r->str, r->len) == 0)
		rc = STORE_OK;
	freeReplyObject(r);
	return rc;
}

/* The slot of this process's lock on name ("": a free slot), or
 * STORE_HELD_MAX if none. */
static size_t
held(const struct redis_store *s, const char *name)
{
	size_t i;

	for (i = 0; i < STORE_HELD_MAX; i++)
		if (strcmp(s->held[i].name, name) == 0)
			break;
	return i;
}

/* The INDEX (or UNINDEX) command for name, its keys and arguments. */
static void
index_cmd(const struct redis_store *s, struct cmd *c, const char *name,
	  const struct record_meta *m, long long now)
{
	enum health h;

	eval_indexes(s, c, m != NULL ? INDEX : UNINDEX);
	args(c, name);
	if (m == NULL)
		return;
	/* A tombstone is no link: in no health's index (-1). */
	h = listing_health(m, now);
	argn(c, 0, m->status == RECORD_DELETED ? -1 : (long long)h);
	argn(c, 1, m->created);
	argn(c, 2, m->expires_at);
	argn(c, 3, m->last_refresh);
	if (m->status != RECORD_DELETED && h == HEALTH_CONNECTED &&
	    !m->has_refresh)
		argn(c, 4, m->expires_at - HEALTH_EXPIRING_WITHIN);
	else
		args(c, "");
	argn(c, 5, m->events);
	argn(c, 6, m->events_dead);
	argn(c, 7, m->events_oldest);
}

/*
 * The index first, then the record, in one round trip: a failure in
 * between leaves an index entry ahead of its record, never a record
 * the indexes miss; readers skip and remove such entries.
 */
static int
redis_save(struct store *base, const char *name, const void *data, size_t len)
{
	struct redis_store *s = redis_store(base);
	char rk[KEY_MAX], lk[KEY_MAX];
	long long now = now_ms() / 1000, ttl;
	size_t h = held(s, name);
	struct record_meta m;
	struct cmd c[2];
	redisReply *r[2];
	int n = 0, rc = STORE_OK, readable;

	readable = record_read_meta(data, len, &m) == 0;
	ttl = readable ? (listing_last_active(&m) + s->idle_secs - now) * 1000
		       : s->idle_secs * 1000;
	if (ttl < TTL_MIN_MS)
		ttl = TTL_MIN_MS;
	if (readable)
		index_cmd(s, &c[n++], name, &m, now);
	key(s, rk, "r", name);
	key(s, lk, "l", name);
	evalsha(s, &c[n], SAVE, 2);
	args(&c[n], rk);
	args(&c[n], lk);
	arg(&c[n], data, len);
	argn(&c[n], 0, ttl);
	args(&c[n], h < STORE_HELD_MAX ? s->held[h].token : "");
	n++;
	if (run(s, n, c, r) != STORE_OK)
		return STORE_ERROR;
	if (r[n - 1]->integer != 1)
		rc = redis_fail(s,
				"write %.12s refused: its lock passed to "
				"another holder (held past its lifetime)",
				name);
	free_replies(r, n);
	return rc;
}

/* The record first, then its index entries: see redis_save. */
static int
redis_remove(struct store *base, const char *name)
{
	struct redis_store *s = redis_store(base);
	char rk[KEY_MAX];
	struct cmd c[2];
	redisReply *r[2];
	int rc = STORE_OK;

	key(s, rk, "r", name);
	cmd(&c[0], "DEL", rk, NULL);
	index_cmd(s, &c[1], name, NULL, 0);
	if (run(s, 2, c, r) != STORE_OK)
		return STORE_ERROR;
	if (r[0]->integer == 0)
		rc = STORE_NOTFOUND;
	free_replies(r, 2);
	return rc;
}

/* ACQUIRE on key k with a new random token: 1 taken, 0 not, -1 failed. */
static int
acquire(struct redis_store *s, const char *k, const char *token, long long ms)
{
	redisReply *r;
	struct cmd c;
	int rc;

	evalsha(s, &c, ACQUIRE, 1);
	args(&c, k);
	args(&c, token);
	argn(&c, 0, ms);
	if (run(s, 1, &c, &r) != STORE_OK)
		return -1;
	rc = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
	freeReplyObject(r);
	return rc;
}

static int
new_token(char out[33])
{
	unsigned char raw[16];

	if (crypto_random(raw, sizeof(raw)) == -1)
		return -1;
	hex_encode(raw, sizeof(raw), out);
	return 0;
}

/*
 * Waits for the lock, polling with back-off (2 ms, doubling to 50 ms,
 * with jitter so that waiters spread out), for at most its lifetime and
 * a second: by then a holder that died (kill -9) has lost it.
 */
static int
redis_lock(struct store *base, const char *name)
{
	struct redis_store *s = redis_store(base);
	long long deadline = now_ms() + s->lock_ms + 1000, delay = 2;
	char k[KEY_MAX], token[33];
	unsigned char jitter;
	size_t i = held(s, "");
	int rc;

	if (i == STORE_HELD_MAX) {
		log_error("store: lock %.12s: %d locks held already", name,
			  STORE_HELD_MAX);
		return STORE_ERROR;
	}
	if (new_token(token) == -1)
		return STORE_ERROR;
	key(s, k, "l", name);
	for (;;) {
		rc = acquire(s, k, token, s->lock_ms);
		if (rc == -1)
			return STORE_ERROR;
		if (rc == 1)
			break;
		if (now_ms() >= deadline)
			return redis_fail(s,
					  "lock %.12s: still held after %lld "
					  "ms: giving up",
					  name, s->lock_ms + 1000);
		if (crypto_random(&jitter, 1) == -1)
			jitter = 0;
		usleep((useconds_t)(delay * 1000 + jitter * 4));
		delay = delay * 2 > 50 ? 50 : delay * 2;
	}
	memcpy(s->held[i].name, name, RECORD_NAME_LEN + 1);
	memcpy(s->held[i].token, token, sizeof(token));
	return STORE_OK;
}

static void
redis_unlock(struct store *base, const char *name)
{
	struct redis_store *s = redis_store(base);
	char k[KEY_MAX];
	redisReply *r;
	struct cmd c;
	size_t i = held(s, name);

	if (i == STORE_HELD_MAX)
		return;
	key(s, k, "l", name);
	evalsha(s, &c, RELEASE, 1);
	args(&c, k);
	args(&c, s->held[i].token);
	/* If this fails, the lock lapses by itself within its lifetime. */
	if (run(s, 1, &c, &r) == STORE_OK)
		freeReplyObject(r);
	explicit_bzero(&s->held[i], sizeof(s->held[i]));
}

/* A write that changes nothing we keep: refused exactly when a record's
 * would be (out of memory, a replica, a disk Redis cannot save to). */
static int
redis_writable(struct store *base)
{
	struct redis_store *s = redis_store(base);
	char k[KEY_MAX];
	redisReply *r;
	struct cmd c;

	snprintf(k, sizeof(k), "%sprobe", s->prefix);
	cmd(&c, "SET", k, "1", "PX", "10000", NULL);
	if (run(s, 1, &c, &r) != STORE_OK)
		return STORE_ERROR;
	freeReplyObject(r);
	return STORE_OK;
}

static int
redis_spend(struct store *base, const char *name, long long expires_at)
{
	struct redis_store *s = redis_store(base);
	long long ms = (expires_at - now_ms() / 1000) * 1000;
	char k[KEY_MAX], token[33];
	int rc;

	if (new_token(token) == -1)
		return STORE_ERROR;
	key(s, k, "s", name);
	rc = acquire(s, k, token, ms > 1000 ? ms : 1000);
	return rc == -1 ? STORE_ERROR : rc == 1 ? STORE_OK : STORE_EXISTS;
}

/* -- lists --------------------------------------------------------------- */

/*
 * The heads of n names (GETRANGE, one round trip), each given to visit
 * (if not NULL: sweep only counts); a name whose record is gone
 * (expired, or deleted between two steps) is skipped, and its index
 * entries removed.  *gone counts those.
 */
static int
heads(struct redis_store *s, const char *const *names, size_t n,
      size_t head_len, store_visit visit, void *ctx, size_t *gone)
{
	char(*k)[KEY_MAX] = malloc(n * KEY_MAX);
	struct cmd *c = malloc(n * sizeof(*c));
	redisReply **r = calloc(n, sizeof(*r));
	size_t i;
	int rc = STORE_ERROR;

	if (k == NULL || c == NULL || r == NULL) {
		log_error("store: redis: out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		key(s, k[i], "r", names[i]);
		cmd(&c[i], "GETRANGE", k[i], "0", NULL);
		argn(&c[i], 0, (long long)head_len - 1);
	}
	if (run(s, (int)n, c, r) != STORE_OK)
		goto out;
	rc = STORE_OK;
	for (i = 0; i < n && rc == STORE_OK; i++) {
		redisReply *u;
		struct cmd uc;

		if (r[i]->len == 0) {
			index_cmd(s, &uc, names[i], NULL, 0);
			if (run(s, 1, &uc, &u) == STORE_OK)
				freeReplyObject(u);
			(*gone)++;
		} else if (visit != NULL &&
			   visit(ctx, names[i], (unsigned char *)r[i]->str,
				 r[i]->len) != 0) {
			rc = STORE_ERROR;
		}
	}
out:
	if (r != NULL)
		free_replies(r, (int)n);
	free(r);
	free(c);
	free(k);
	return rc;
}

/* The heads of the names an index gave (r: an array reply); anything
 * there that is not a record's name is passed over. */
static int
reply_heads(struct redis_store *s, const redisReply *r, size_t head_len,
	    store_visit visit, void *ctx, size_t *gone)
{
	size_t i, n = 0, all = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
	const char **names;
	int rc;

	if (all == 0)
		return STORE_OK;
	names = malloc(all * sizeof(*names));
	if (names == NULL)
		return redis_fail(s, "out of memory");
	for (i = 0; i < all; i++)
		if (r->element[i]->type == REDIS_REPLY_STRING &&
		    store_valid_name(r->element[i]->str))
			names[n++] = r->element[i]->str;
	rc = n == 0 ? STORE_OK : heads(s, names, n, head_len, visit, ctx, gone);
	free(names);
	return rc;
}

/* Names of the "id" index from min on, BATCH at a time, and their heads:
 * in name order, and each name present throughout seen exactly once. */
static int
walk(struct redis_store *s, const char *min, const char *max, size_t head_len,
     store_visit visit, void *ctx, size_t *gone)
{
	char from[RECORD_NAME_LEN + 2];
	redisReply *r;
	struct cmd c;
	int rc = STORE_OK;
	size_t n;

	snprintf(from, sizeof(from), "%s", min);
	do {
		cmd(&c, "ZRANGEBYLEX", s->index[0], from, max, "LIMIT", "0",
		    NULL);
		argn(&c, 0, BATCH);
		if (run(s, 1, &c, &r) != STORE_OK)
			return STORE_ERROR;
		n = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
		if (n > 0) {
			const redisReply *last = r->element[n - 1];

			rc = reply_heads(s, r, head_len, visit, ctx, gone);
			/* No name to go on from (not Redis's answer): the
			 * end, not the same batch again forever. */
			if (last->type != REDIS_REPLY_STRING)
				n = 0;
			else
				snprintf(from, sizeof(from), "(%.*s",
					 RECORD_NAME_LEN, last->str);
		}
		freeReplyObject(r);
	} while (rc == STORE_OK && n == BATCH);
	return rc;
}

static int
redis_list(struct store *base, size_t head_len, store_visit visit, void *ctx)
{
	size_t gone = 0;

	if (head_len > 512)
		head_len = 512;
	return walk(redis_store(base), "-", "+", head_len, visit, ctx, &gone);
}

static int
add_readable(void *ctx, const char *name, const unsigned char *head, size_t len)
{
	struct listing *l = ctx;
	size_t n = l->n;

	/* listing_add adds no tombstone (event.h), and one unreadable. */
	if (listing_add(l, name, head, len) == -1)
		return -1;
	if (l->n > n && !l->v[l->n - 1].readable)
		l->n--;
	return 0;
}

/* Links that have become expiring since they were filed: see soon_lua. */
static int
move_due(struct redis_store *s, long long now)
{
	redisReply *r;
	struct cmd c;
	long long moved;

	do {
		eval_indexes(s, &c, SOON);
		argn(&c, 0, now);
		if (run(s, 1, &c, &r) != STORE_OK)
			return STORE_ERROR;
		moved = r->integer;
		freeReplyObject(r);
	} while (moved == 500);
	return STORE_OK;
}

/* An integer from a reply (a number, or a string of one), else 0. */
static long long
number(const redisReply *r)
{
	unsigned long long v;

	if (r->type == REDIS_REPLY_INTEGER)
		return r->integer;
	if (r->type == REDIS_REPLY_STRING &&
	    parse_uint(r->str, 0, 1ULL << 62, &v) == 0)
		return (long long)v;
	return 0;
}

/*
 * The totals into t, and the sizes of each health's index into count
 * (ZCARDs); the outbox's sums and its oldest event into out.
 */
static int
totals(struct redis_store *s, struct listing_totals *t, long long count[5],
       struct listing *out)
{
	struct cmd c[7];
	redisReply *r[7];
	int i, rc = STORE_OK;

	/* all, then each health's "created" index. */
	for (i = 0; i < 5; i++)
		cmd(&c[i], "ZCARD", s->index[i == 0 ? 2 : 5 + 3 * (i - 1)],
		    NULL);
	cmd(&c[5], "HMGET", s->index[19], "events", "dead", NULL);
	cmd(&c[6], "ZRANGE", s->index[17], "0", "0", "WITHSCORES", NULL);
	if (exchange(s, 7, c, r) != STORE_OK)
		return STORE_ERROR;
	for (i = 0; i < 7 && rc == STORE_OK; i++)
		if (r[i]->type == REDIS_REPLY_ERROR)
			rc = reply_failed(s, r[i]);
		else if (i < 5 && r[i]->type != REDIS_REPLY_INTEGER)
			rc = redis_fail(s, "ZCARD answered with no number");
		else if (i < 5)
			count[i] = r[i]->integer;
	if (rc == STORE_OK) {
		t->reconnect = (size_t)count[1 + HEALTH_RECONNECT];
		t->connected = (size_t)(count[0] - count[1 + HEALTH_RECONNECT]);
		t->failing = (size_t)count[1 + HEALTH_FAILING];
		t->expiring = (size_t)count[1 + HEALTH_EXPIRING];
		if (r[5]->type == REDIS_REPLY_ARRAY && r[5]->elements == 2) {
			out->events =
				(unsigned long long)number(r[5]->element[0]);
			out->events_dead =
				(unsigned long long)number(r[5]->element[1]);
		}
		if (r[6]->type == REDIS_REPLY_ARRAY && r[6]->elements == 2)
			out->events_oldest = number(r[6]->element[1]);
	}
	free_replies(r, 7);
	return rc;
}

/* The records from rank skip on of one index, need of them (-1: all),
 * newest first unless asc, into out; *got says how many names came. */
static int
range(struct redis_store *s, size_t index, int asc, long long skip,
      long long need, struct listing *out, size_t *gone, long long *got)
{
	redisReply *r;
	struct cmd c;
	int rc;

	cmd(&c, asc ? "ZRANGE" : "ZREVRANGE", s->index[index], NULL);
	argn(&c, 0, skip);
	argn(&c, 1, need < 0 ? -1 : skip + need - 1);
	if (run(s, 1, &c, &r) != STORE_OK)
		return STORE_ERROR;
	*got = r->type == REDIS_REPLY_ARRAY ? (long long)r->elements : 0;
	rc = reply_heads(s, r, RECORD_HEAD_LEN, add_readable, out, gone);
	freeReplyObject(r);
	return rc;
}

/*
 * One page from the indexes: O(log N + page).  The status sort is the
 * health indexes one after another, worst first, each by created.
 */
static int
page(struct redis_store *s, const struct listing_query *q,
     const long long count[5], struct listing *out, size_t *gone)
{
	static const char sort_index[] = { [SORT_CONNECTED] = 0,
					   [SORT_EXPIRES] = 1,
					   [SORT_REFRESHED] = 2,
					   [SORT_STATUS] = 0 };
	long long skip = (long long)q->offset, need, got;
	int h;

	need = q->limit == 0 ? -1 : (long long)q->limit;
	if (q->sort != SORT_STATUS || q->health >= 0) {
		size_t index = (q->health < 0 ? 2 : 5 + 3 * (size_t)q->health) +
			       (size_t)sort_index[q->sort];

		return range(s, index, q->sort == SORT_EXPIRES, skip, need, out,
			     gone, &got);
	}
	for (h = HEALTH__MAX - 1; h >= 0 && need != 0; h--) {
		if (skip >= count[1 + h]) {
			skip -= count[1 + h];
			continue;
		}
		if (range(s, 5 + 3 * (size_t)h, 0, skip, need, out, gone,
			  &got) != STORE_OK)
			return STORE_ERROR;
		if (need > 0)
			need = need > got ? need - got : 0;
		skip = 0;
	}
	return STORE_OK;
}

static int
redis_query(struct store *base, const struct listing_query *q,
	    struct listing *out)
{
	struct redis_store *s = redis_store(base);
	struct listing_totals t;
	char min[RECORD_NAME_LEN + 2], max[RECORD_NAME_LEN + 3];
	long long count[5];
	size_t gone;
	int tries, rc;

	/* A failure here leaves a health a little behind the clock; a
	 * Redis that is down fails the next call anyway. */
	move_due(s, q->now);
	for (tries = 0; tries < 3; tries++) {
		struct listing sums;

		gone = 0;
		out->n = 0;
		listing_init(&sums, q->now);
		if (totals(s, &t, count, &sums) != STORE_OK)
			return STORE_ERROR;
		if (q->names != NULL) {
			/* An exact owner: a record or two, read by name. */
			rc = q->nnames == 0 ? STORE_OK
					    : heads(s, q->names, q->nnames,
						    RECORD_HEAD_LEN,
						    add_readable, out, &gone);
			listing_select(out, q, NULL, NULL);
		} else if (q->prefix[0] != '\0' || q->sort == SORT_USER) {
			/* Every match (every record for SORT_USER, which
			 * no index knows), then as the file store does:
			 * O(matches). */
			snprintf(min, sizeof(min), "[%.*s", RECORD_NAME_LEN,
				 q->prefix);
			snprintf(max, sizeof(max), "[%.*s\xff", RECORD_NAME_LEN,
				 q->prefix);
			rc = walk(s, min, max, RECORD_HEAD_LEN, add_readable,
				  out, &gone);
			listing_select(out, q, NULL, NULL);
		} else {
			rc = page(s, q, count, out, &gone);
			out->matching =
				(size_t)(q->health < 0 ? count[0]
						       : count[1 + q->health]);
		}
		if (rc != STORE_OK)
			return STORE_ERROR;
		out->totals = t;
		/* The page's records added their own events: the sums are
		 * every record's. */
		out->events = sums.events;
		out->events_dead = sums.events_dead;
		out->events_oldest = sums.events_oldest;
		if (gone == 0)
			break; /* else entries were removed: ask again */
	}
	return STORE_OK;
}

/* Index entries whose record is gone (expired by TTL, say): removed. */
static long
redis_sweep(struct store *base)
{
	size_t gone = 0;

	if (walk(redis_store(base), "-", "+", 1, NULL, NULL, &gone) != STORE_OK)
		return -1;
	return (long)gone;
}

/* -- check-config -------------------------------------------------------- */

/* "7.0.15" against VERSION_MIN: 1 if at least, 0 if older. */
static int
version_ok(const char *v)
{
	unsigned long long have[3] = { 0, 0, 0 }, want[3] = { 6, 2, 0 };
	const char *p = v;
	char part[16];
	size_t i, n;

	for (i = 0; i < 3 && *p != '\0'; i++) {
		n = strspn(p, "0123456789");
		if (n == 0 || n >= sizeof(part))
			return 0;
		memcpy(part, p, n);
		part[n] = '\0';
		if (parse_uint(part, 0, 1000000, &have[i]) == -1)
			return 0;
		p += n;
		if (*p == '.')
			p++;
	}
	for (i = 0; i < 3; i++)
		if (have[i] != want[i])
			return have[i] > want[i];
	return 1;
}

/* The value of "name:" in an INFO reply, into out ("" if none). */
static void
info_field(const char *info, const char *name, char *out, size_t len)
{
	const char *p = info;
	size_t n = strlen(name), k;

	out[0] = '\0';
	while ((p = strstr(p, name)) != NULL) {
		if ((p == info || p[-1] == '\n') && p[n] == ':') {
			p += n + 1;
			k = strcspn(p, "\r\n");
			snprintf(out, len, "%.*s", (int)(k < len ? k : len - 1),
				 p);
			return;
		}
		p += n;
	}
}

/*
 * Connects anew (the check's own connection, closed after), signs in,
 * reads the version and settings, writes and deletes a probe key.
 * 0: all good; 1: works, with a warning in msg; -1: what is wrong.
 */
static int
redis_check(struct store *base, char *msg, size_t len)
{
	struct redis_store *s = redis_store(base);
	char version[32], policy[64], aof[8], role[16], k[KEY_MAX];
	redisContext *saved = s->c;
	const char *info;
	pid_t pid = s->pid;
	redisReply *r[3] = { NULL, NULL, NULL };
	struct cmd c[3];
	int rc = -1, i;

	s->c = NULL;
	s->down_until = 0;
	s->cause[0] = '\0';
	s->quiet = 1;
	snprintf(k, sizeof(k), "%sprobe", s->prefix);
	cmd(&c[0], "INFO", NULL);
	cmd(&c[1], "SET", k, "1", "PX", "10000", NULL);
	cmd(&c[2], "DEL", k, NULL);
	if (exchange(s, 3, c, r) != STORE_OK) {
		snprintf(msg, len, "redis %s: %s", s->where, s->cause);
		goto out;
	}
	for (i = 0; i < 3; i++)
		if (r[i]->type == REDIS_REPLY_ERROR) {
			reply_failed(s, r[i]);
			snprintf(msg, len, "redis %s: %s%s", s->where,
				 i == 0 ? "" : "cannot write a probe key: ",
				 s->cause);
			goto out;
		}
	/* A proxy may answer INFO with anything, or nothing to read. */
	info = r[0]->str != NULL ? r[0]->str : "";
	info_field(info, "redis_version", version, sizeof(version));
	info_field(info, "maxmemory_policy", policy, sizeof(policy));
	info_field(info, "aof_enabled", aof, sizeof(aof));
	info_field(info, "role", role, sizeof(role));
	if (!version_ok(version)) {
		snprintf(msg, len,
			 "redis %s: Redis %s, expected %s or later (SET with "
			 "PX in scripts, ZRANGEBYLEX, ACLs)",
			 s->where, version[0] != '\0' ? version : "(unknown)",
			 VERSION_MIN);
		goto out;
	}
	rc = 0;
	if (policy[0] != '\0' && strcmp(policy, "noeviction") != 0) {
		rc = 1;
		snprintf(msg, len,
			 "redis %s: Redis %s works, but maxmemory-policy is "
			 "%s: it may evict links when full (set noeviction)",
			 s->where, version, policy);
	} else if (strcmp(aof, "1") != 0) {
		rc = 1;
		snprintf(msg, len,
			 "redis %s: Redis %s works, but appendonly is off: a "
			 "restart loses the links made since its last "
			 "snapshot (set appendonly yes)",
			 s->where, version);
	} else {
		snprintf(msg, len,
			 "redis %s: Redis %s, database %u, %s, %s; a probe "
			 "key written and deleted",
			 s->where, version, s->db, role,
			 s->password != NULL ? "password accepted"
					     : "no password");
	}
out:
	free_replies(r, 3);
	if (s->c != NULL)
		redisFree(s->c);
	s->c = saved;
	s->pid = pid;
	s->quiet = 0;
	s->cause[0] = '\0';
	s->down_until = 0;
	return rc;
}

const struct store_ops store_redis_ops = {
	.kind = "redis",
	.open = redis_open,
	.close = redis_close,
	.load = redis_load,
	.save = redis_save,
	.remove = redis_remove,
	.lock = redis_lock,
	.unlock = redis_unlock,
	.writable = redis_writable,
	.spend = redis_spend,
	.list = redis_list,
	.query = redis_query,
	.sweep = redis_sweep,
	.check = redis_check,
};
