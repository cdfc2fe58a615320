/* Every stored record's metadata, read without the key. */
#include "listing.h"

#include <cjson/cJSON.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "jwt.h"
#include "timefmt.h"

static int
visit(void *ctx, const char *name, const unsigned char *head, size_t len)
{
	struct listing *l = ctx;
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
	memcpy(e->name, name, RECORD_NAME_LEN + 1);
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

int
listing_load(struct store *s, long long now, struct listing *l)
{
	l->v = NULL;
	l->n = l->cap = 0;
	l->now = now;
	l->events = l->events_dead = 0;
	l->events_oldest = 0;
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
	if (!m->has_refresh && m->expires_at < now + 3600)
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

	return c != 0 ? c : strcmp(x->name, y->name);
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

	return c != 0 ? c : strcmp(x->name, y->name);
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

const struct listing_entry *
listing_find(const struct listing *l, const char *prefix, int *matches)
{
	const struct listing_entry *hit = NULL;
	size_t i, n = strlen(prefix);

	*matches = 0;
	for (i = 0; i < l->n; i++)
		if (strncmp(l->v[i].name, prefix, n) == 0) {
			hit = &l->v[i];
			(*matches)++;
		}
	return *matches == 1 ? hit : NULL;
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
	/* Its events still to be sent, or given up on (event.h). */
	ev = event_outbox_json(r);
	if (ev != NULL)
		cJSON_AddItemToObject(o, "events", ev);
	else
		cJSON_AddNullToObject(o, "events");
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
