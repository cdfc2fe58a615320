/* Every stored record's metadata, read without the key. */
#include "listing.h"

#include <cjson/cJSON.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "jwt.h"
#include "store.h"
#include "timefmt.h"

void
listing_init(struct listing *l, long long now)
{
	memset(l, 0, sizeof(*l));
	l->now = now;
}

int
listing_add(struct listing *l, const char *name, const unsigned char *head,
	    size_t len)
{
	struct listing_entry *e;

	if (l->n == l->cap) {
		size_t cap = l->cap == 0 ? 256 : l->cap * 2;
		void *p = realloc(l->v, cap * sizeof(*l->v));

		if (p == NULL)
			return -1;
		l->v = p;
		l->cap = cap;
	}
	e = &l->v[l->n];
	memcpy(e->name, name, RECORD_NAME_LEN);
	e->name[RECORD_NAME_LEN] = '\0';
	e->user = NULL;
	e->readable = record_read_meta(head, len, &e->meta) == 0;
	if (e->readable && e->meta.events + e->meta.events_dead > 0) {
		l->events += (unsigned long long)e->meta.events;
		l->events_dead += (unsigned long long)e->meta.events_dead;
		if (e->meta.events > 0 &&
		    (l->events_oldest == 0 ||
		     e->meta.events_oldest < l->events_oldest))
			l->events_oldest = e->meta.events_oldest;
	}
	/* A tombstone is no link: its events wait in it (event.h). */
	if (e->readable && e->meta.status == RECORD_DELETED)
		return 0;
	l->n++;
	e->health = listing_health(&e->meta, l->now);
	return 0;
}

static int
visit(void *ctx, const char *name, const unsigned char *head, size_t len)
{
	return listing_add(ctx, name, head, len);
}

int
listing_load(struct store *s, long long now, struct listing *l)
{
	listing_init(l, now);
	if (store_list(s, RECORD_HEAD_LEN, visit, l) != 0) {
		listing_free(l);
		return -1;
	}
	return 0;
}

void
listing_free(struct listing *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].user);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

enum health
listing_health(const struct record_meta *m, long long now)
{
	if (m->status == RECORD_NEEDS_RECONNECT)
		return HEALTH_RECONNECT;
	if (m->last_error != REFRESH_OK)
		return HEALTH_FAILING;
	/* Not expires_at - now: the head is unauthenticated, any value. */
	if (!m->has_refresh && m->expires_at < now + HEALTH_EXPIRING_WITHIN)
		return HEALTH_EXPIRING;
	return HEALTH_CONNECTED;
}

const struct health_names health_table[HEALTH__MAX] = {
	[HEALTH_CONNECTED] = { "connected", "connected", "connected" },
	[HEALTH_EXPIRING] = { "expiring", "expiring soon", "expiring-soon" },
	[HEALTH_FAILING] = { "failing", "refresh failing", "refresh-failing" },
	[HEALTH_RECONNECT] = { "reconnect", "needs reconnect",
			       "needs-reconnect" },
};

void
listing_entry_of(struct listing_entry *e, const char *name,
		 const struct record_meta *m, long long now)
{
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->meta = *m;
	e->user = NULL;
	e->readable = 1;
	e->health = listing_health(m, now);
}

static int
cmp_ll(long long a, long long b)
{
	return (a < b) - (a > b); /* descending */
}

static int
by_connected(const void *a, const void *b)
{
	const struct listing_entry *x = a, *y = b;
	int c = cmp_ll(x->meta.created, y->meta.created);

	/* Equals by name the other way, as Redis's ZREVRANGE orders them:
	 * both stores give the same pages. */
	return c != 0 ? c : strcmp(y->name, x->name);
}

static int
by_expires(const void *a, const void *b)
{
	const struct listing_entry *x = a, *y = b;
	int c = -cmp_ll(x->meta.expires_at, y->meta.expires_at);

	/* Soonest first: what an operator looks for. */
	return c != 0 ? c : strcmp(x->name, y->name);
}

static int
by_refreshed(const void *a, const void *b)
{
	const struct listing_entry *x = a, *y = b;
	int c = cmp_ll(x->meta.last_refresh, y->meta.last_refresh);

	return c != 0 ? c : strcmp(y->name, x->name);
}

static int
by_status(const void *a, const void *b)
{
	const struct listing_entry *x = a, *y = b;

	if (x->health != y->health)
		return (int)y->health - (int)x->health; /* worst first */
	return by_connected(a, b);
}

static int
by_user(const void *a, const void *b)
{
	const struct listing_entry *x = a, *y = b;

	if ((x->user == NULL) != (y->user == NULL))
		return x->user == NULL ? 1 : -1;
	if (x->user != NULL && strcmp(x->user, y->user) != 0)
		return strcmp(x->user, y->user);
	return by_connected(a, b);
}

int
listing_owner(struct listing_entry *e, const struct record *r)
{
	if (r->owner.kind != OWNER_USER || e->user != NULL)
		return 0;
	e->user = strdup(r->owner.id);
	return e->user != NULL ? 0 : -1;
}

void
listing_sort(struct listing *l, enum listing_sort by)
{
	int (*cmp[])(const void *, const void *) = {
		[SORT_CONNECTED] = by_connected, [SORT_EXPIRES] = by_expires,
		[SORT_REFRESHED] = by_refreshed, [SORT_STATUS] = by_status,
		[SORT_USER] = by_user,
	};

	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), cmp[by]);
}

static void
count(struct listing_totals *t, const struct listing_entry *e)
{
	if (e->meta.status == RECORD_CONNECTED)
		t->connected++;
	else
		t->reconnect++;
	if (e->health == HEALTH_FAILING)
		t->failing++;
	/* Only links that will lapse: InsureSign's access tokens live an
	 * hour, so counting every token that expires within one counted
	 * every link; a refresh token renews them. */
	if (e->health == HEALTH_EXPIRING)
		t->expiring++;
}

static int
named(const struct listing_query *q, const char *name)
{
	size_t i;

	if (q->names == NULL)
		return 1;
	for (i = 0; i < q->nnames; i++)
		if (strcmp(q->names[i], name) == 0)
			return 1;
	return 0;
}

void
listing_select(struct listing *l, const struct listing_query *q,
	       int (*keep)(const struct listing_entry *e, void *ctx), void *ctx)
{
	size_t i, kept = 0, plen = strlen(q->prefix), first, end;

	memset(&l->totals, 0, sizeof(l->totals));
	for (i = 0; i < l->n; i++) {
		struct listing_entry *e = &l->v[i];

		if (e->readable)
			count(&l->totals, e);
		if (e->readable &&
		    (q->health < 0 || (int)e->health == q->health) &&
		    strncmp(e->name, q->prefix, plen) == 0 &&
		    named(q, e->name) && (keep == NULL || keep(e, ctx))) {
			l->v[kept++] = *e;
		} else {
			free(e->user);
			e->user = NULL;
		}
	}
	l->n = kept;
	l->matching = kept;
	listing_sort(l, q->sort);
	first = q->offset < l->n ? q->offset : l->n;
	end = q->limit == 0 || q->limit > l->n - first ? l->n
						       : first + q->limit;
	for (i = 0; i < l->n; i++)
		if (i < first || i >= end) {
			free(l->v[i].user);
			l->v[i].user = NULL;
		}
	if (first > 0) /* and so l->v is not NULL */
		memmove(l->v, l->v + first, (end - first) * sizeof(*l->v));
	l->n = end - first;
}

long long
listing_last_active(const struct record_meta *m)
{
	long long last = m->last_used;

	if (m->created > last)
		last = m->created;
	if (m->last_refresh > last)
		last = m->last_refresh;
	/* A link needing a reconnect, and a tombstone kept for its events
	 * (event.h), count from their last change. */
	if (m->status == RECORD_NEEDS_RECONNECT || m->status == RECORD_DELETED)
		last = m->updated;
	return last;
}

cJSON *
listing_json(const struct listing_entry *e, const struct record *r,
	     long long now)
{
	char fp[32];
	cJSON *o = cJSON_CreateObject(), *owner;

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "id", e->name);
	cJSON_AddStringToObject(o, "status", health_table[e->health].label);
	timefmt_json(o, "connected_since", e->meta.created);
	timefmt_json(o, "expires_at",
		     e->meta.status == RECORD_CONNECTED ? e->meta.expires_at
							: 0);
	if (e->meta.status == RECORD_CONNECTED)
		cJSON_AddNumberToObject(o, "expires_in",
					(double)e->meta.expires_at -
						(double)now);
	timefmt_json(o, "last_refresh", e->meta.last_refresh);
	cJSON_AddStringToObject(o, "last_refresh_result",
				refresh_error_name(e->meta.last_error));
	cJSON_AddBoolToObject(o, "refresh_token", e->meta.has_refresh);
	/* The first 4 characters and the length: never more of a token. */
	listing_fingerprint(&e->meta, fp, sizeof(fp));
	cJSON_AddStringToObject(o, "fingerprint", fp);
	owner = cJSON_AddObjectToObject(o, "owner");
	cJSON_AddStringToObject(owner, "kind",
				owner_kind_name(e->meta.owner_kind));
	/* A user's id is the operator's to see; a session id never is. */
	if (r != NULL && r->owner.kind == OWNER_USER)
		cJSON_AddStringToObject(owner, "id", r->owner.id);
	else if (r == NULL && e->user != NULL)
		cJSON_AddStringToObject(owner, "id", e->user);
	if (r != NULL) {
		cJSON_AddStringToObject(o, "token_type",
					r->token_type != NULL ? r->token_type
							      : "");
		cJSON_AddStringToObject(o, "scope",
					r->scope != NULL ? r->scope : "");
	}
	return o;
}

cJSON *
listing_detail_json(const struct listing_entry *e, const struct record *r,
		    long long now)
{
	cJSON *o = listing_json(e, r, now), *ev;

	if (o == NULL)
		return NULL;
	cJSON_AddItemToObject(o, "token", jwt_describe(r->access_token));
	/* Its events still to be sent, or given up on (event.h); or null. */
	ev = event_outbox_json(r);
	cJSON_AddItemToObject(o, "events",
			      ev != NULL ? ev : cJSON_CreateNull());
	return o;
}

void
listing_fingerprint(const struct record_meta *m, char *out, size_t len)
{
	if (m->token_len == 0)
		snprintf(out, len, "-");
	else
		snprintf(out, len, "%.4s...(%u)", m->fingerprint, m->token_len);
}
