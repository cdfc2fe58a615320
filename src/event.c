/* Events for the web app, waiting in their link's record.  See event.h. */
#include "event.h"

#include <cjson/cJSON.h>

#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "crypto.h"
#include "log.h"
#include "timefmt.h"

static const char *const type_names[EVENT__MAX] = {
	[EVENT_LINK_CREATED] = "link.created",
	[EVENT_LINK_DELETED] = "link.deleted",
	[EVENT_LINK_REFRESH_FAILED] = "link.refresh_failed",
	[EVENT_LINK_NEEDS_RECONNECT] = "link.needs_reconnect",
	[EVENT_LINK_RECOVERED] = "link.recovered",
};

static const char *const failure_names[DELIVERY__MAX] = {
	[DELIVERY_REJECTED] = "rejected",
	[DELIVERY_SERVER_ERROR] = "server_error",
	[DELIVERY_TIMEOUT] = "timeout",
	[DELIVERY_NETWORK] = "network_error",
	[DELIVERY_TLS] = "tls_error",
};

int
event_type_of(const char *name)
{
	int i;

	for (i = 0; i < EVENT__MAX; i++)
		if (strcmp(type_names[i], name) == 0)
			return i;
	return -1;
}

const char *
event_type_name(enum event_type t)
{
	return (unsigned)t < EVENT__MAX ? type_names[t] : "unknown";
}

const char *
event_failure_name(enum delivery_failure f)
{
	return (unsigned)f < DELIVERY__MAX ? failure_names[f] : "unknown";
}

int
event_wanted(const struct app *app, enum event_type t)
{
	const struct strlist *l = &app->cfg.events_types;
	size_t i;

	if (app->cfg.events_url == NULL)
		return 0;
	if (l->n == 0)
		return 1; /* every type */
	for (i = 0; i < l->n; i++)
		if (event_type_of(l->v[i]) == (int)t)
			return 1;
	return 0;
}

/* The outbox of r, parsed; a record without one gets an empty one. */
static cJSON *
outbox_of(const struct record *r)
{
	cJSON *o = r->events != NULL ? cJSON_Parse(r->events)
				     : cJSON_CreateObject();

	if (o == NULL || !cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return NULL;
	}
	if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(o, "waiting")))
		cJSON_AddArrayToObject(o, "waiting");
	if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(o, "dead")))
		cJSON_AddArrayToObject(o, "dead");
	return o;
}

static cJSON *
waiting(cJSON *o)
{
	return cJSON_GetObjectItemCaseSensitive(o, "waiting");
}

static cJSON *
dead(cJSON *o)
{
	return cJSON_GetObjectItemCaseSensitive(o, "dead");
}

static long long
number(const cJSON *e, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, name);

	return cJSON_IsNumber(v) ? (long long)v->valuedouble : 0;
}

/*
 * Writes the outbox back into r, and the head's counts (how many wait,
 * how many were given up, since when the oldest waits).  An empty
 * outbox is no outbox at all.
 */
static int
store_outbox(struct record *r, cJSON *o)
{
	cJSON *w = waiting(o), *e;
	char *text = NULL;

	r->meta.events = cJSON_GetArraySize(w);
	r->meta.events_dead = cJSON_GetArraySize(dead(o));
	r->meta.events_oldest = 0;
	cJSON_ArrayForEach(e, w)
	{
		long long at = number(e, "at");

		if (r->meta.events_oldest == 0 || at < r->meta.events_oldest)
			r->meta.events_oldest = at;
	}
	if (r->meta.events + r->meta.events_dead > 0) {
		text = cJSON_PrintUnformatted(o);
		if (text == NULL)
			return -1;
	}
	if (r->events != NULL)
		explicit_bzero(r->events, strlen(r->events));
	cJSON_free(r->events);
	r->events = text;
	return 0;
}

/* The payload: what the receiver gets, signed (outbox.c). */
static char *
payload(const struct record *r, const char *name, const char *id,
	enum event_type t, const char *reason, long long now)
{
	char when[TIME_LEN];
	cJSON *o = cJSON_CreateObject(), *owner;
	char *text;

	if (o == NULL)
		return NULL;
	timefmt_iso(now, when);
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "type", type_names[t]);
	cJSON_AddStringToObject(o, "created_at", when);
	/* A user's id is the web app's own; a browser's session id is a
	 * secret, never sent: the record id stands for it. */
	owner = cJSON_AddObjectToObject(o, "owner");
	cJSON_AddStringToObject(owner, "kind", owner_kind_name(r->owner.kind));
	if (r->owner.kind == OWNER_USER)
		cJSON_AddStringToObject(owner, "id", r->owner.id);
	cJSON_AddStringToObject(o, "record", name);
	cJSON_AddItemToObject(o, "reason",
			      reason != NULL ? cJSON_CreateString(reason)
					     : cJSON_CreateNull());
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

int
event_queue(struct app *app, struct record *r, const char *name,
	    enum event_type t, const char *reason, long long now)
{
	unsigned char rnd[16];
	char id[40], *body = NULL;
	cJSON *o = NULL, *e;
	int rc = -1;

	if (!event_wanted(app, t))
		return 0;
	memcpy(id, "evt_", 4);
	if (crypto_random(rnd, sizeof(rnd)) == -1)
		goto err;
	hex_encode(rnd, sizeof(rnd), id + 4);
	body = payload(r, name, id, t, reason, now);
	o = outbox_of(r);
	e = cJSON_CreateObject();
	if (body == NULL || o == NULL || e == NULL) {
		cJSON_Delete(e);
		goto err;
	}
	cJSON_AddStringToObject(e, "id", id);
	cJSON_AddStringToObject(e, "type", type_names[t]);
	cJSON_AddNumberToObject(e, "at", (double)now);
	cJSON_AddNumberToObject(e, "next", (double)now);
	cJSON_AddNumberToObject(e, "tries", 0);
	cJSON_AddStringToObject(e, "body", body);
	cJSON_AddItemToArray(waiting(o), e);
	if (cJSON_GetArraySize(waiting(o)) > EVENT_OUTBOX_MAX) {
		/* Full: the oldest goes, said aloud; the newest says more
		 * about the link now. */
		log_warn("events: the outbox of record %.12s is full (%d "
			 "events): dropping its oldest; is [events] url "
			 "answering?",
			 name, EVENT_OUTBOX_MAX);
		cJSON_DeleteItemFromArray(waiting(o), 0);
		metrics_count(METRIC_EVENTS_DROPPED);
	}
	if (store_outbox(r, o) == -1)
		goto err;
	metrics_count(METRIC_EVENTS_QUEUED + (int)t);
	audit("event_queued", name, "type=%s id=%s", type_names[t], id);
	/* The caller's write wakes the workers (link.c), not this: a
	 * deliverer started now would not find it yet. */
	r->events_queued = 1;
	rc = 0;
err:
	if (rc == -1)
		log_error("events: could not queue %s for record %.12s",
			  type_names[t], name);
	cJSON_Delete(o);
	cJSON_free(body);
	return rc;
}

int
event_first(const struct record *r, struct event *ev)
{
	const cJSON *e, *body, *type, *id;
	cJSON *o;
	int rc = 0;

	memset(ev, 0, sizeof(*ev));
	if (r->events == NULL)
		return 0;
	o = outbox_of(r);
	if (o == NULL)
		return -1;
	e = cJSON_GetArrayItem(waiting(o), 0);
	if (e != NULL) {
		id = cJSON_GetObjectItemCaseSensitive(e, "id");
		type = cJSON_GetObjectItemCaseSensitive(e, "type");
		body = cJSON_GetObjectItemCaseSensitive(e, "body");
		rc = -1;
		if (cJSON_IsString(id) && strlen(id->valuestring) < 40 &&
		    cJSON_IsString(type) && cJSON_IsString(body) &&
		    event_type_of(type->valuestring) >= 0) {
			memcpy(ev->id, id->valuestring,
			       strlen(id->valuestring) + 1);
			ev->type = (enum event_type)event_type_of(
				type->valuestring);
			ev->at = number(e, "at");
			ev->next = number(e, "next");
			ev->tries = (int)number(e, "tries");
			ev->body = strdup(body->valuestring);
			rc = ev->body != NULL ? 1 : -1;
		}
	}
	cJSON_Delete(o);
	return rc;
}

void
event_free(struct event *e)
{
	secret_free(e->body);
	e->body = NULL;
}

static void
set_number(cJSON *e, const char *name, long long v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(e, name);
	cJSON_AddNumberToObject(e, name, (double)v);
}

enum settled
event_settle(const struct app *app, struct record *r, const char *id, int sent,
	     enum delivery_failure why, long long now)
{
	const cJSON *eid;
	cJSON *o = outbox_of(r), *e;
	enum settled rc = SETTLED_GONE;
	int tries;

	if (o == NULL)
		return SETTLED_GONE;
	e = cJSON_GetArrayItem(waiting(o), 0);
	eid = e != NULL ? cJSON_GetObjectItemCaseSensitive(e, "id") : NULL;
	if (!cJSON_IsString(eid) || strcmp(eid->valuestring, id) != 0)
		goto out;
	if (sent) {
		cJSON_DeleteItemFromArray(waiting(o), 0);
		rc = SETTLED_SENT;
	} else {
		tries = (int)number(e, "tries") + 1;
		set_number(e, "tries", tries);
		cJSON_DeleteItemFromObjectCaseSensitive(e, "last");
		cJSON_AddStringToObject(e, "last", failure_names[why]);
		if (now - number(e, "at") >=
		    (long long)app->cfg.events_retry_for) {
			/* Given up: kept to be shown, the next one goes on. */
			cJSON_AddItemToArray(dead(o), cJSON_DetachItemFromArray(
							      waiting(o), 0));
			if (cJSON_GetArraySize(dead(o)) > EVENT_DEAD_MAX)
				cJSON_DeleteItemFromArray(dead(o), 0);
			rc = SETTLED_DEAD;
		} else {
			set_number(
				e, "next",
				now + record_backoff(app->cfg.events_retry_min,
						     tries));
			rc = SETTLED_RETRY;
		}
	}
	if (store_outbox(r, o) == -1)
		rc = SETTLED_GONE;
out:
	cJSON_Delete(o);
	return rc;
}

int
event_retry_all(struct record *r, long long now)
{
	cJSON *o, *e;
	int n = 0;

	if (r->events == NULL)
		return 0;
	o = outbox_of(r);
	if (o == NULL)
		return 0;
	while ((e = cJSON_DetachItemFromArray(dead(o), 0)) != NULL) {
		/* A new day of tries, from now. */
		set_number(e, "at", now);
		cJSON_AddItemToArray(waiting(o), e);
	}
	cJSON_ArrayForEach(e, waiting(o))
	{
		set_number(e, "next", now);
		n++;
	}
	if (store_outbox(r, o) == -1)
		n = 0;
	cJSON_Delete(o);
	return n;
}

static cJSON *
describe(const cJSON *list)
{
	const cJSON *e, *v;
	cJSON *a = cJSON_CreateArray(), *d;

	cJSON_ArrayForEach(e, list)
	{
		d = cJSON_CreateObject();
		if (d == NULL)
			break;
		v = cJSON_GetObjectItemCaseSensitive(e, "id");
		cJSON_AddStringToObject(
			d, "id", cJSON_IsString(v) ? v->valuestring : "");
		v = cJSON_GetObjectItemCaseSensitive(e, "type");
		cJSON_AddStringToObject(
			d, "type", cJSON_IsString(v) ? v->valuestring : "");
		timefmt_json(d, "created_at", number(e, "at"));
		cJSON_AddNumberToObject(d, "tries", (double)number(e, "tries"));
		v = cJSON_GetObjectItemCaseSensitive(e, "last");
		cJSON_AddItemToObject(
			d, "last_error",
			cJSON_IsString(v) ? cJSON_CreateString(v->valuestring)
					  : cJSON_CreateNull());
		timefmt_json(d, "next_attempt", number(e, "next"));
		cJSON_AddItemToArray(a, d);
	}
	return a;
}

cJSON *
event_outbox_json(const struct record *r)
{
	cJSON *o, *out;

	if (r->events == NULL || (o = outbox_of(r)) == NULL)
		return NULL;
	out = cJSON_CreateObject();
	if (out != NULL) {
		cJSON_AddItemToObject(out, "waiting", describe(waiting(o)));
		cJSON_AddItemToObject(out, "undeliverable", describe(dead(o)));
	}
	cJSON_Delete(o);
	return out;
}
