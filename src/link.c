/* A link between one owner and one InsureSign account, over its life. */
#include "link.h"

#include <string.h>
#include <time.h>

#include "event.h"
#include "listing.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"

/* Touch last_used at most this often: reads must not turn into writes. */
#define TOUCH_EVERY 3600

int
link_due(const struct record_meta *m, long long now, unsigned margin)
{
	return m->status == RECORD_CONNECTED &&
	       m->expires_at - (long long)margin <= now;
}

/* The record as stored, a tombstone (RECORD_DELETED) too. */
enum link_rc
link_read(struct app *app, const char *name, struct record *r)
{
	struct buf raw;
	int rc;

	memset(r, 0, sizeof(*r));
	buf_init(&raw, RECORD_MAX);
	rc = store_load(app->store, name, &raw);
	if (rc == STORE_OK &&
	    record_open(&app->keys, name, (unsigned char *)raw.data, raw.len,
			r) == -1) {
		log_error("record %.12s: cannot be decrypted (tampered, "
			  "truncated, or sealed with a key we do not have)",
			  name);
		rc = STORE_ERROR;
	}
	buf_free(&raw);
	if (rc == STORE_ERROR)
		metrics_count(METRIC_STORE_READ_ERRORS);
	return rc == STORE_OK	      ? LINK_OK
	       : rc == STORE_NOTFOUND ? LINK_NONE
				      : LINK_STORE_ERROR;
}

/* A link: a tombstone is none (its events wait in it, for outbox.c). */
enum link_rc
link_get_name(struct app *app, const char *name, struct record *r)
{
	enum link_rc rc = link_read(app, name, r);

	if (rc == LINK_OK && r->meta.status == RECORD_DELETED) {
		record_free(r);
		rc = LINK_NONE;
	}
	return rc;
}

static enum link_rc
save(struct app *app, const char *name, struct record *r, long long now)
{
	struct buf raw;
	int rc;

	r->meta.updated = now;
	buf_init(&raw, RECORD_MAX);
	rc = record_seal(&app->keys, name, r, &raw) == 0
		     ? store_save(app->store, name, raw.data, raw.len)
		     : STORE_ERROR;
	buf_free(&raw);
	if (rc != STORE_OK)
		metrics_count(METRIC_STORE_WRITE_ERRORS);
	/* Written with a new event: the workers may send it from now. */
	if (rc == STORE_OK && r->events_queued)
		outbox_wake(app, now);
	r->events_queued = 0;
	return rc == STORE_OK ? LINK_OK : LINK_STORE_ERROR;
}

enum link_rc
link_write(struct app *app, const char *name, struct record *r)
{
	/* Sending events changes no link: its time of last change stays,
	 * for gc. */
	return save(app, name, r, r->meta.updated);
}

/*
 * Ends the record name (its lock held): with link.deleted wanted, a
 * tombstone that keeps the owner and the events, written in place of
 * the link in one write (outbox.c sends them, then removes it); else, or
 * when the record cannot be read, a plain delete.  STORE_OK,
 * STORE_NOTFOUND (no link: nothing done), or STORE_ERROR.
 */
static int
bury(struct app *app, const char *name, const char *reason, long long now)
{
	struct record r;
	enum link_rc rc;

	if (app->cfg.events_url == NULL)
		return store_delete(app->store, name);
	rc = link_get_name(app, name, &r);
	if (rc == LINK_NONE) /* no record, or a tombstone already */
		return STORE_NOTFOUND;
	if (rc != LINK_OK) /* unreadable: whose it was is unknown */
		return store_delete(app->store, name);
	/* No event for this, and none waiting: nothing to keep. */
	if (!event_wanted(app, EVENT_LINK_DELETED) && r.meta.events == 0) {
		record_free(&r);
		return store_delete(app->store, name);
	}
	record_set(&r.access_token, NULL);
	record_set(&r.refresh_token, NULL);
	record_set(&r.scope, NULL);
	r.meta.status = RECORD_DELETED;
	r.meta.expires_at = 0;
	r.meta.backoff_until = 0;
	rc = event_queue(app, &r, name, EVENT_LINK_DELETED, reason, now) == 0
		     ? save(app, name, &r, now)
		     : LINK_STORE_ERROR;
	record_free(&r);
	return rc == LINK_OK ? STORE_OK : STORE_ERROR;
}

/* How a deletion's who reads in its event: the user, the web app's
 * backend, or the operator (by name, key or command line). */
static const char *
deleted_by(const char *who)
{
	return strcmp(who, "user") == 0 || strcmp(who, "backend") == 0
		       ? who
		       : "admin";
}

enum link_rc
link_get(struct app *app, const struct owner *o, char *name, struct record *r)
{
	enum link_rc rc = LINK_NONE;
	size_t i;

	/* The current key first; old keys until `rekey` has moved all. */
	for (i = 0; i < app->keys.n && rc == LINK_NONE; i++) {
		owner_record_name(&app->keys.keys[i], o, name);
		rc = link_get_name(app, name, r);
	}
	return rc;
}

enum link_rc
link_create(struct app *app, const struct owner *o, const struct owner *old,
	    const struct oauth_tokens *t, long long now)
{
	char name[RECORD_NAME_LEN + 1], gone[RECORD_NAME_LEN + 1];
	const char *again = NULL;
	struct store_lock lock;
	struct record r, prior;
	enum link_rc rc = LINK_STORE_ERROR;
	size_t i;

	memset(&r, 0, sizeof(r));
	r.owner = *o;
	owner_record_name(&app->keys.keys[0], o, name);
	if (store_lock(app->store, name, &lock) != STORE_OK)
		return LINK_STORE_ERROR;
	/* Events still waiting in this owner's last record (a tombstone,
	 * or the link it had) come first: in order, none lost. */
	if (link_read(app, name, &prior) == LINK_OK) {
		if (prior.meta.status != RECORD_DELETED)
			again = "reconnected";
		r.events = prior.events;
		prior.events = NULL;
		record_free(&prior);
	}
	r.meta.status = RECORD_CONNECTED;
	r.meta.created = now;
	r.meta.last_used = now;
	r.meta.expires_at = now + t->expires_in;
	if (record_set(&r.access_token, t->access_token) == -1 ||
	    record_set(&r.refresh_token, t->refresh_token) == -1 ||
	    record_set(&r.token_type, t->token_type) == -1 ||
	    record_set(&r.scope, t->scope) == -1 ||
	    event_queue(app, &r, name, EVENT_LINK_CREATED, again, now) == -1)
		goto err;
	rc = save(app, name, &r, now);
err:
	store_unlock(&lock);
	record_free(&r);
	if (rc != LINK_OK)
		return rc;
	audit("linked", name, "expires_in=%lld refresh_token=%s", t->expires_in,
	      t->refresh_token != NULL ? "yes" : "no");
	/* A browser's old session id no longer reaches any tokens (session
	 * fixation).  Under its lock: a refresh in flight would write it
	 * back. */
	if (old != NULL && old->id[0] != '\0' &&
	    (old->kind != o->kind || strcmp(old->id, o->id) != 0))
		for (i = 0; i < app->keys.n; i++) {
			owner_record_name(&app->keys.keys[i], old, gone);
			if (store_lock(app->store, gone, &lock) != STORE_OK)
				continue;
			if (bury(app, gone, "replaced", now) == STORE_OK)
				audit("replaced", gone, "by=%.12s", name);
			store_unlock(&lock);
		}
	return LINK_OK;
}

static void
apply_tokens(struct record *r, const struct oauth_tokens *t, long long now,
	     int *failed)
{
	*failed |= record_set(&r->access_token, t->access_token);
	*failed |= record_set(&r->token_type, t->token_type);
	/* RFC 6749 section 6: no refresh_token in the reply keeps the old. */
	if (t->refresh_token != NULL)
		*failed |= record_set(&r->refresh_token, t->refresh_token);
	if (t->scope != NULL)
		*failed |= record_set(&r->scope, t->scope);
	r->meta.expires_at = now + t->expires_in;
	r->meta.last_refresh = now;
	r->meta.last_error = REFRESH_OK;
	r->meta.backoff_until = 0;
	r->failures = 0;
}

/* What the record keeps of what the token endpoint did. */
static enum refresh_error
refresh_error_of(enum oauth_rc rc)
{
	static const enum refresh_error map[OAUTH__MAX] = {
		[OAUTH_OK] = REFRESH_OK,
		[OAUTH_INVALID_GRANT] = REFRESH_INVALID_GRANT,
		[OAUTH_INVALID_CLIENT] = REFRESH_INVALID_CLIENT,
		[OAUTH_REJECTED] = REFRESH_REJECTED,
		[OAUTH_SERVER_ERROR] = REFRESH_SERVER_ERROR,
		[OAUTH_RATE_LIMITED] = REFRESH_RATE_LIMITED,
		[OAUTH_TIMEOUT] = REFRESH_TIMEOUT,
		[OAUTH_NETWORK] = REFRESH_NETWORK,
		[OAUTH_TLS] = REFRESH_TLS,
		[OAUTH_BAD_REPLY] = REFRESH_BAD_REPLY,
	};

	return map[rc];
}

/* The grant is gone (reason says how): the link waits for its user. */
static enum link_rc
needs_reconnect(struct app *app, const char *name, struct record *r,
		const char *reason, long long now)
{
	r->meta.status = RECORD_NEEDS_RECONNECT;
	event_queue(app, r, name, EVENT_LINK_NEEDS_RECONNECT, reason, now);
	save(app, name, r, now);
	audit("needs_reconnect", name, "reason=%s", reason);
	return LINK_RECONNECT;
}

/* The refresh itself, with the record's lock held and the record fresh. */
static enum link_rc
refresh_locked(struct app *app, const char *name, struct record *r,
	       long long now, enum refresh_error *why)
{
	struct oauth_result res;
	struct oauth_tokens t;
	int failed = 0;
	enum link_rc rc;

	if (r->refresh_token == NULL) {
		*why = REFRESH_INVALID_GRANT;
		return needs_reconnect(app, name, r, "no_refresh_token", now);
	}
	/* Asking spends a rotating refresh token: never ask when the new
	 * one could not be kept (a full or read-only disk, say). */
	if (store_writable(app->store) != STORE_OK)
		return LINK_STORE_ERROR;
	log_info("refresh %.12s: starting", name);
	if (oauth_refresh(app->http, &app->cfg, r->refresh_token, &t, &res) ==
	    OAUTH_OK) {
		/* Back after failing: the web app may want to know. */
		if (r->meta.last_error != REFRESH_OK)
			event_queue(app, r, name, EVENT_LINK_RECOVERED,
				    refresh_error_name(r->meta.last_error),
				    now);
		apply_tokens(r, &t, now, &failed);
		oauth_tokens_free(&t);
		if (failed)
			return LINK_STORE_ERROR;
		rc = save(app, name, r, now);
		if (rc == LINK_OK)
			audit("refreshed", name, "expires_in=%lld",
			      r->meta.expires_at - now);
		return rc;
	}
	*why = refresh_error_of(res.rc);
	if (*why == REFRESH_INVALID_GRANT) {
		/* The grant is gone: drop the tokens, keep the record. */
		r->meta.last_error = *why;
		record_set(&r->access_token, NULL);
		record_set(&r->refresh_token, NULL);
		return needs_reconnect(app, name, r, "invalid_grant", now);
	}
	if (*why == REFRESH_INVALID_CLIENT)
		log_error("token endpoint rejected our client credentials "
			  "(invalid_client): check [insuresign] client_id and "
			  "client_secret");
	/* The first failure of a run of them: one event, not one a try. */
	if (r->meta.last_error == REFRESH_OK)
		event_queue(app, r, name, EVENT_LINK_REFRESH_FAILED,
			    refresh_error_name(*why), now);
	r->meta.last_error = *why;
	if (r->failures < 1000)
		r->failures++;
	r->meta.backoff_until =
		now + record_backoff(app->cfg.refresh_backoff, r->failures);
	save(app, name, r, now);
	audit("refresh_failed", name, "kind=%s", refresh_error_name(*why));
	return LINK_UNAVAILABLE;
}

/* When a refresh is due: always (forced), within margin seconds of the
 * access token's expiry, or touch seconds after the last (0: never);
 * tried says whether the token endpoint was asked. */
struct when {
	int force;
	unsigned margin;
	unsigned touch;
	int tried;
};

static int
due(const struct record_meta *m, long long now, const struct when *w)
{
	long long last =
		m->last_refresh > m->created ? m->last_refresh : m->created;

	return w->force || link_due(m, now, w->margin) ||
	       (w->touch > 0 && m->status == RECORD_CONNECTED &&
		now - last >= (long long)w->touch);
}

static enum link_rc
refresh(struct app *app, const char *name, long long now, struct when *w,
	struct record *r, enum refresh_error *why)
{
	struct store_lock lock;
	enum link_rc rc;

	*why = REFRESH_OK;
	if (store_lock(app->store, name, &lock) != STORE_OK)
		return LINK_STORE_ERROR;
	/* Re-read under the lock: another worker may have just refreshed. */
	rc = link_get_name(app, name, r);
	if (rc != LINK_OK)
		goto out;
	if (r->meta.status == RECORD_NEEDS_RECONNECT) {
		rc = LINK_RECONNECT;
		goto out;
	}
	if (!due(&r->meta, now, w))
		goto out;
	if (!w->force && now < r->meta.backoff_until) {
		*why = r->meta.last_error;
		rc = LINK_UNAVAILABLE;
	} else {
		w->tried = 1;
		rc = refresh_locked(app, name, r, now, why);
	}
	/* A refresh that failed, or was not tried for want of a writable
	 * store, still leaves a token good for a little while. */
	if ((rc == LINK_UNAVAILABLE || rc == LINK_STORE_ERROR) && !w->force &&
	    r->access_token != NULL && r->meta.expires_at > now)
		rc = LINK_OK;
out:
	store_unlock(&lock);
	if (rc != LINK_OK)
		record_free(r);
	return rc;
}

static void
touch(struct app *app, const char *name, long long now)
{
	struct store_lock lock;
	struct record r;

	if (store_lock(app->store, name, &lock) != STORE_OK)
		return;
	if (link_get_name(app, name, &r) == LINK_OK) {
		r.meta.last_used = now;
		save(app, name, &r, now);
		record_free(&r);
	}
	store_unlock(&lock);
}

enum link_rc
link_token(struct app *app, const struct owner *o, long long now,
	   struct record *r, enum refresh_error *why)
{
	struct when when = { 0, app->cfg.refresh_margin, 0, 0 };
	char name[RECORD_NAME_LEN + 1];
	enum link_rc rc;

	*why = REFRESH_OK;
	rc = link_get(app, o, name, r);
	if (rc != LINK_OK)
		return rc;
	if (r->meta.status == RECORD_NEEDS_RECONNECT) {
		record_free(r);
		return LINK_RECONNECT;
	}
	if (!link_due(&r->meta, now, app->cfg.refresh_margin)) {
		if (now - r->meta.last_used >= TOUCH_EVERY)
			touch(app, name, now);
		return LINK_OK;
	}
	record_free(r);
	rc = refresh(app, name, now, &when, r, why);
	/* Moved meanwhile (rekey renames records): look it up once more. */
	if (rc == LINK_NONE && link_get(app, o, name, r) == LINK_OK) {
		record_free(r);
		rc = refresh(app, name, now, &when, r, why);
	}
	return rc;
}

enum link_rc
link_refresh(struct app *app, const char *name, long long now, struct record *r,
	     enum refresh_error *why)
{
	struct when forced = { 1, 0, 0, 0 };

	return refresh(app, name, now, &forced, r, why);
}

enum link_rc
link_refresh_ahead(struct app *app, const char *name, long long now,
		   unsigned ahead, unsigned touch, int *tried,
		   enum refresh_error *why)
{
	struct when when = { 0, ahead, touch, 0 };
	struct record r;
	enum link_rc rc;

	rc = refresh(app, name, now, &when, &r, why);
	/* A web request that refreshed it first was seen under the lock:
	 * then it was no longer due, and not tried. */
	*tried = when.tried;
	if (rc == LINK_OK)
		record_free(&r);
	return rc;
}

enum link_rc
link_delete(struct app *app, const char *name, const char *who)
{
	struct oauth_result why;
	struct store_lock lock;
	struct record r;
	enum link_rc rc;
	int src;

	if (store_lock(app->store, name, &lock) != STORE_OK)
		return LINK_STORE_ERROR;
	rc = link_read(app, name, &r);
	if (rc == LINK_OK && r.meta.status == RECORD_DELETED) {
		record_free(&r); /* gone already: its events wait */
		store_unlock(&lock);
		return LINK_NONE;
	}
	/* A record we cannot read is still deleted on request. */
	if (rc == LINK_OK && app->cfg.revocation_url != NULL &&
	    r.refresh_token != NULL) {
		if (oauth_revoke(app->http, &app->cfg, r.refresh_token, &why) ==
		    OAUTH_OK)
			audit("revoked", name, "by=%s", who);
		else
			log_warn("revoke %.12s failed (%s): deleting the local "
				 "record anyway",
				 name, oauth_rc_name(why.rc));
	}
	record_free(&r);
	src = bury(app, name, deleted_by(who), (long long)time(NULL));
	store_unlock(&lock);
	if (src == STORE_NOTFOUND)
		return LINK_NONE;
	if (src != STORE_OK)
		return LINK_STORE_ERROR;
	audit("disconnected", name, "by=%s", who);
	return LINK_OK;
}

/* Idle: no link, refresh or token handed out since the cut-off. */
static int
stale(const struct record_meta *m, long long cutoff)
{
	long long last = m->last_used;

	if (m->created > last)
		last = m->created;
	if (m->last_refresh > last)
		last = m->last_refresh;
	if (m->status == RECORD_NEEDS_RECONNECT)
		last = m->updated;
	return last < cutoff;
}

long
link_gc(struct app *app, long long now,
	void (*removed)(const char *name, const char *why))
{
	long long cutoff = now - (long long)app->cfg.max_idle_days * 86400;
	struct listing l;
	long kept = 0;
	size_t i;

	if (listing_load(app->store, now, &l) == -1)
		return -1;
	for (i = 0; i < l.n; i++) {
		const struct listing_entry *e = &l.v[i];
		struct record_meta m;
		struct store_lock lock;
		struct buf raw;
		const char *why;

		if (!e->readable)
			continue;
		kept++;
		if (!stale(&e->meta, cutoff))
			continue;
		/* Decide again under the lock: it may have been used since. */
		if (store_lock(app->store, e->name, &lock) != STORE_OK)
			continue;
		buf_init(&raw, RECORD_MAX);
		if (store_load(app->store, e->name, &raw) == STORE_OK &&
		    record_read_meta((unsigned char *)raw.data, raw.len, &m) ==
			    0 &&
		    m.status != RECORD_DELETED && stale(&m, cutoff) &&
		    bury(app, e->name, "gc", now) == STORE_OK) {
			why = m.status == RECORD_NEEDS_RECONNECT
				      ? "needs_reconnect"
				      : "idle";
			audit("gc_removed", e->name, "reason=%s", why);
			kept--;
			if (removed != NULL)
				removed(e->name, why);
		}
		buf_free(&raw);
		store_unlock(&lock);
	}
	listing_free(&l);
	return kept;
}

static int
rekey_one(struct app *app, const char *old)
{
	char name[RECORD_NAME_LEN + 1];
	struct store_lock lo, ln;
	struct record r;
	int rc = -1;

	if (store_lock(app->store, old, &lo) != STORE_OK)
		return -1;
	if (link_get_name(app, old, &r) != LINK_OK)
		goto out;
	owner_record_name(&app->keys.keys[0], &r.owner, name);
	if (!r.old_key && strcmp(name, old) == 0) {
		rc = 0; /* already under the current key */
		goto out;
	}
	/* Always old, then new: nobody else ever holds two locks. */
	if (strcmp(name, old) != 0 &&
	    store_lock(app->store, name, &ln) != STORE_OK)
		goto out;
	if (save(app, name, &r, r.meta.updated) == LINK_OK &&
	    (strcmp(name, old) == 0 ||
	     store_delete(app->store, old) == STORE_OK)) {
		audit("rekeyed", old, "now=%.12s", name);
		rc = 1;
	}
	if (strcmp(name, old) != 0)
		store_unlock(&ln);
out:
	record_free(&r);
	store_unlock(&lo);
	return rc;
}

int
link_rekey(struct app *app, long *moved)
{
	struct listing l;
	size_t i;
	int failed = 0;

	*moved = 0;
	/* The clock only matters to health, which rekey does not read. */
	if (listing_load(app->store, 0, &l) == -1)
		return -1;
	for (i = 0; i < l.n; i++) {
		int rc = rekey_one(app, l.v[i].name);

		if (rc == -1)
			failed = 1;
		else
			*moved += rc;
	}
	listing_free(&l);
	return failed ? -1 : 0;
}
