/* Sending the events to the web app's receiver.  See outbox.h for why. */
#include "outbox.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "crypto.h"
#include "event.h"
#include "link.h"
#include "log.h"
#include "metrics.h"
#include "timefmt.h"

#define FILE_NAME    "outbox"
#define LOCK_DELIVER 0	/* the byte a deliverer holds, one a machine */
#define LEASE	     30 /* s a worker's deliverer has before another may */
#define RUN_MAX	     50 /* s a run takes before it leaves the rest */
#define GIVE_UP	     3	/* 5xx answers in a row that end a run */

static const char magic[8] = "ISCOUT1";

/* What the workers share in [app] state_dir's outbox file. */
struct hint {
	char magic[8];
	atomic_llong due;     /* an event may be sent from then; 0: none */
	atomic_ullong queued; /* one more at each event queued */
};

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics take a lock");

/* The shared hint, mapped on first use and kept; NULL without it (then
 * the timer alone delivers). */
static struct hint *
hint(struct app *app)
{
	static long long tried; /* a broken state dir: asked once a minute */
	long long now = (long long)time(NULL);
	char err[512];
	struct hint *h;

	if (app->outbox.mem != NULL)
		return app->outbox.mem;
	if (tried != 0 && now - tried < 60 && now >= tried)
		return NULL;
	if (shared_open(&app->outbox, app->cfg.state_dir, FILE_NAME,
			sizeof(struct hint), err, sizeof(err)) == -1) {
		tried = now;
		log_error("events: %s (until it is fixed, only the deliver "
			  "timer sends events)",
			  err);
		return NULL;
	}
	tried = 0;
	h = app->outbox.mem;
	if (memcmp(h->magic, magic, sizeof(magic)) != 0) {
		/* A new file: nothing is known to be due yet (the next run
		 * of the timer finds what is). */
		atomic_store(&h->due, 0);
		atomic_store(&h->queued, 0);
		memcpy(h->magic, magic, sizeof(magic));
	}
	return h;
}

void
outbox_wake(struct app *app, long long now)
{
	struct hint *h = hint(app);
	long long d;

	if (h == NULL)
		return;
	atomic_fetch_add(&h->queued, 1);
	d = atomic_load(&h->due);
	while ((d == 0 || d > now) &&
	       !atomic_compare_exchange_weak(&h->due, &d, now))
		;
}

/* -- one event to the receiver --------------------------------------- */

/*
 * POSTs the event, signed: t=<now>, v1=<hex HMAC-SHA256 of "t.body" under
 * the secret> (the way Stripe signs, so a receiver can refuse a replay by
 * t and a forgery by v1).  1 when the receiver took it (2xx), else 0 with
 * why.
 */
static int
send_event(struct app *app, struct http *h, const struct event *ev,
	   long long now, enum delivery_failure *why)
{
	char t[24], sig[160], id[80], hex[2 * SHA256_LEN + 1];
	const char *headers[] = { "Content-Type: application/json", sig, id,
				  NULL };
	unsigned char mac[SHA256_LEN];
	struct http_reply reply;
	enum http_rc rc;
	struct buf msg;
	int sent;

	snprintf(t, sizeof(t), "%lld", now);
	buf_init(&msg, RECORD_MAX + sizeof(t) + 1);
	buf_printf(&msg, "%s.%s", t, ev->body);
	if (msg.failed) {
		*why = DELIVERY_REJECTED;
		return 0;
	}
	crypto_hmac((const unsigned char *)app->events_secret,
		    strlen(app->events_secret), msg.data, msg.len, mac);
	buf_free(&msg);
	hex_encode(mac, sizeof(mac), hex);
	snprintf(sig, sizeof(sig), "InsureSign-Connect-Signature: t=%s,v1=%s",
		 t, hex);
	snprintf(id, sizeof(id), "InsureSign-Connect-Event-Id: %s", ev->id);
	rc = http_post(h, app->cfg.events_url, headers, ev->body, &reply);
	if (rc != HTTP_OK) {
		*why = rc == HTTP_TIMEOUT   ? DELIVERY_TIMEOUT
		       : rc == HTTP_TLS	    ? DELIVERY_TLS
		       : rc == HTTP_TOO_BIG ? DELIVERY_REJECTED
					    : DELIVERY_NETWORK;
		return 0;
	}
	sent = reply.status >= 200 && reply.status <= 299;
	*why = reply.status >= 500 ? DELIVERY_SERVER_ERROR : DELIVERY_REJECTED;
	if (!sent)
		log_warn("events: %s answered %ld to %s %s",
			 app->cfg.events_url, reply.status,
			 event_type_name(ev->type), ev->id);
	http_reply_free(&reply);
	return sent;
}

/* -- one link's events, in order ------------------------------------- */

struct run {
	struct app *app;
	struct http *http;
	long long begun; /* the run's now, from the caller */
	double start;	 /* CLOCK_MONOTONIC then */
	int all;
	long long earliest; /* the next time a waiting event is due */
	int server_errors;  /* 5xx in a row */
	struct outbox_result *res;
};

/* Now, in the run's time (the caller's now, and what passed since). */
static long long
clock_of(const struct run *run)
{
	return run->begun + (long long)(timefmt_monotonic() - run->start);
}

static void
earliest(struct run *run, long long t)
{
	if (run->earliest == 0 || t < run->earliest)
		run->earliest = t;
}

/*
 * A tombstone whose events are all sent goes; one holding only events
 * given up on stays to be seen until [store] max_idle_days have passed.
 */
static int
spent(const struct app *app, const struct record *r, long long now)
{
	return r->meta.status == RECORD_DELETED && r->meta.events == 0 &&
	       (r->meta.events_dead == 0 ||
		now - r->meta.updated >=
			(long long)app->cfg.max_idle_days * 86400);
}

/* Writes r back, or removes it when it is a spent tombstone. */
static void
put_back(struct run *run, const char *name, struct record *r, long long now)
{
	if (spent(run->app, r, now)) {
		if (store_delete(run->app->store, name) == STORE_OK)
			audit("tombstone_removed", name, "events=sent");
	} else {
		link_write(run->app, name, r);
	}
}

/*
 * Takes the first event of name that is due (lock held only for that),
 * or 0 with nothing due (a spent tombstone removed on the way).
 */
static int
take(struct run *run, const char *name, int *revive, struct event *ev)
{
	long long now = clock_of(run);
	struct store_lock lock;
	struct record r;
	int got = 0;

	if (store_lock(run->app->store, name, &lock) != STORE_OK)
		return 0;
	if (link_read(run->app, name, &r) == LINK_OK) {
		if (*revive && event_retry_all(&r, now) > 0)
			link_write(run->app, name, &r);
		*revive = 0;
		got = event_first(&r, ev);
		if (got == 1 && ev->next > now) {
			earliest(run, ev->next);
			event_free(ev);
			got = 0;
		} else if (got != 1 && spent(run->app, &r, now)) {
			put_back(run, name, &r, now);
		}
		record_free(&r);
	}
	store_unlock(&lock);
	return got == 1;
}

/* Records how the attempt went, under the lock. */
static enum settled
settle(struct run *run, const char *name, const struct event *ev, int sent,
       enum delivery_failure why)
{
	long long now = clock_of(run);
	struct store_lock lock;
	enum settled st = SETTLED_GONE;
	struct record r;

	if (store_lock(run->app->store, name, &lock) != STORE_OK)
		return SETTLED_GONE;
	if (link_read(run->app, name, &r) == LINK_OK) {
		st = event_settle(run->app, &r, ev->id, sent, why, now);
		if (st != SETTLED_GONE)
			put_back(run, name, &r, now);
		record_free(&r);
	}
	store_unlock(&lock);
	if (st == SETTLED_RETRY)
		earliest(run, now + run->app->cfg.events_retry_min);
	return st;
}

/* Sends name's due events in order; -1 when the run must end (the
 * receiver cannot be reached). */
static int
deliver_link(struct run *run, const char *name)
{
	enum delivery_failure why = DELIVERY_REJECTED;
	int revive = run->all, sent;
	enum settled st;
	struct event ev;

	while (take(run, name, &revive, &ev)) {
		/* The signature's t is the wall clock's: the receiver's is. */
		sent = send_event(run->app, run->http, &ev,
				  (long long)time(NULL), &why);
		st = settle(run, name, &ev, sent, why);
		if (sent) {
			metrics_count(METRIC_EVENTS_DELIVERED + (int)ev.type);
			audit("event_sent", name, "type=%s id=%s",
			      event_type_name(ev.type), ev.id);
			run->res->sent++;
			run->server_errors = 0;
		} else {
			metrics_count(METRIC_EVENT_FAILURES + (int)why);
			run->res->failed++;
		}
		if (st == SETTLED_DEAD) {
			metrics_count(METRIC_EVENTS_GIVEN_UP);
			run->res->given_up++;
			log_error("events: gave up on %s %s of record %.12s "
				  "after [events] retry_for (last: %s)",
				  event_type_name(ev.type), ev.id, name,
				  event_failure_name(why));
		}
		event_free(&ev);
		if (sent || st == SETTLED_DEAD)
			continue; /* the next one of this link */
		if (why == DELIVERY_SERVER_ERROR)
			run->server_errors++;
		if (why == DELIVERY_TIMEOUT || why == DELIVERY_NETWORK ||
		    why == DELIVERY_TLS || run->server_errors >= GIVE_UP)
			return -1;
		break;
	}
	return 0;
}

/* -- a run ------------------------------------------------------------ */

/* A record with events (or a tombstone), from its head. */
struct pending {
	char name[RECORD_NAME_LEN + 1];
	long long oldest;
	int waiting;
};

struct scan {
	struct pending *v;
	size_t n, cap;
	int all;
	long waiting;
};

static int
visit(void *ctx, const char *name, const unsigned char *head, size_t len)
{
	struct scan *s = ctx;
	struct record_meta m;
	void *p;

	if (record_read_meta(head, len, &m) == -1 ||
	    (m.events == 0 && m.status != RECORD_DELETED &&
	     !(s->all && m.events_dead > 0)))
		return 0;
	if (s->n == s->cap) {
		p = realloc(s->v,
			    (s->cap == 0 ? 64 : s->cap * 2) * sizeof(*s->v));
		if (p == NULL)
			return -1;
		s->v = p;
		s->cap = s->cap == 0 ? 64 : s->cap * 2;
	}
	memcpy(s->v[s->n].name, name, RECORD_NAME_LEN + 1);
	s->v[s->n].oldest = m.events > 0 ? m.events_oldest : 0;
	s->v[s->n].waiting = m.events;
	s->waiting += m.events;
	s->n++;
	return 0;
}

/* The links whose events have waited longest, first. */
static int
oldest_first(const void *a, const void *b)
{
	const struct pending *x = a, *y = b;

	if (x->oldest != y->oldest)
		return x->oldest < y->oldest ? -1 : 1;
	return strcmp(x->name, y->name);
}

int
outbox_deliver(struct app *app, long long now, int all,
	       struct outbox_result *res)
{
	struct scan scan = { NULL, 0, 0, all, 0 };
	struct run run = {
		app, NULL, now, timefmt_monotonic(), all, 0, 0, res
	};
	unsigned long long queued = 0;
	struct hint *h;
	size_t i;
	int locked = 0, rc = -1;

	memset(res, 0, sizeof(*res));
	if (app->cfg.events_url == NULL || app->events_secret == NULL)
		return -1;
	h = hint(app);
	if (h != NULL && shared_lock(&app->outbox, LOCK_DELIVER, 1) == 0) {
		locked = 1;
		queued = atomic_load(&h->queued);
	}
	if (store_list(app->store, RECORD_HEAD_LEN, visit, &scan) != 0)
		goto out;
	qsort(scan.v, scan.n, sizeof(scan.v[0]), oldest_first);
	run.http = http_new_with(&app->cfg, app->cfg.events_timeout,
				 app->cfg.events_ca_file);
	for (i = 0; run.http != NULL && i < scan.n && !res->stopped; i++) {
		if (clock_of(&run) - now >= RUN_MAX ||
		    deliver_link(&run, scan.v[i].name) == -1) {
			res->stopped = 1;
			log_warn("events: %s: stopping this run; %zu link%s "
				 "wait%s for the next",
				 app->cfg.events_url, scan.n - i,
				 scan.n - i == 1 ? "" : "s",
				 scan.n - i == 1 ? "s" : "");
		}
	}
	http_free(run.http);
	res->waiting = scan.waiting - res->sent - res->given_up;
	if (res->waiting < 0)
		res->waiting = 0;
	if (h != NULL) {
		/* Queued meanwhile: due now.  Stopped: try again soon. */
		if (res->stopped)
			earliest(&run,
				 clock_of(&run) + app->cfg.events_retry_min);
		if (atomic_load(&h->queued) != queued)
			earliest(&run, clock_of(&run));
		atomic_store(&h->due, run.earliest);
	}
	rc = 0;
out:
	if (locked)
		shared_unlock(&app->outbox, LOCK_DELIVER);
	free(scan.v);
	return rc;
}

/* -- from the workers ------------------------------------------------- */

/* The deliverer a worker starts: a grandchild, in a session of its own,
 * that nothing waits for (init reaps it). */
static void
deliverer(struct app *app, int listen_fd)
{
	static const int stops[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1,
				     SIGALRM };
	struct outbox_result res;
	sigset_t none;
	size_t i;
	int fd;

	setsid();
	for (i = 0; i < sizeof(stops) / sizeof(stops[0]); i++)
		signal(stops[i], SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* A lock of its own: the worker's file description is shared with
	 * every deliverer it starts, and would let two run at once. */
	shared_close(&app->outbox);
	/* Never the web server's socket: nobody may connect to us here. */
	if (listen_fd >= 0)
		close(listen_fd);
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		if (fd > STDOUT_FILENO)
			close(fd);
	}
	outbox_deliver(app, (long long)time(NULL), 0, &res);
}

void
outbox_after_request(struct app *app, int listen_fd)
{
	long long now, d;
	struct hint *h;
	pid_t pid;

	if (app->cfg.events_url == NULL || !app->cfg.events_from_workers)
		return;
	h = hint(app);
	if (h == NULL)
		return;
	now = (long long)time(NULL);
	d = atomic_load(&h->due);
	if (d == 0 || d > now)
		return;
	/* The worker that moves "due" on starts the deliverer; it sets it
	 * right when done, or the lease runs out. */
	if (!atomic_compare_exchange_strong(&h->due, &d, now + LEASE))
		return;
	pid = fork();
	if (pid == -1) {
		log_error("events: fork: %s", strerror(errno));
		atomic_store(&h->due, now);
		return;
	}
	if (pid > 0) {
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
		return;
	}
	if (fork() == 0)
		deliverer(app, listen_fd);
	_exit(0);
}
