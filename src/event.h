/*
 * Events for the web app ([events] url): link.created, link.deleted,
 * link.refresh_failed, link.needs_reconnect, link.recovered.  Each is a
 * small JSON object (an id, its type, when, the owner, the record, a
 * reason; never a token), and waits in its link's outbox until the web
 * app's receiver takes it (outbox.c).
 *
 * The outbox rides in the record itself, in its sealed part: an event is
 * queued into the record that the change is written to, so the one
 * atomic write (rename, in the file store) that makes the change also
 * makes its event: a crash, kill -9 included, loses neither alone.  A
 * deleted link leaves a tombstone (RECORD_DELETED) holding its events
 * until they are sent.  The head says how many wait, and since when, so
 * that they are found and counted without the key.
 */
#ifndef EVENT_H
#define EVENT_H

#include "app.h"
#include "metrics.h"
#include "record.h"

/* Events one link's outbox holds; past it the oldest waiting is dropped
 * (counted, logged).  One per change of state, so it takes a receiver
 * down for days, or a link flapping for hours, to reach it. */
#define EVENT_OUTBOX_MAX 32
#define EVENT_DEAD_MAX	 16 /* given-up events kept to be shown */

/* "link.created", ...; -1 for no such name. */
int event_type_of(const char *name);
const char *event_type_name(enum event_type t);

/* "rejected", "timeout", ...: a delivery failure in words. */
const char *event_failure_name(enum delivery_failure f);

/* Are events on, and is this one of [events] types? */
int event_wanted(const struct app *app, enum event_type t);

/*
 * Queues event t about the link in r (named name) into r's outbox, for
 * the caller to write with r.  reason may be NULL.  Returns 0 (also when
 * the event is not wanted), -1 when it could not be made.
 */
int event_queue(struct app *app, struct record *r, const char *name,
		enum event_type t, const char *reason, long long now);

/* The first event waiting in a record's outbox. */
struct event {
	char id[40];
	enum event_type type;
	long long at;	/* queued */
	long long next; /* not to be sent before */
	int tries;
	char *body; /* the JSON sent, byte for byte at every try */
};

/* The first waiting event of r into e (1; event_free it), or 0 for none,
 * or -1 for an outbox that cannot be read. */
int event_first(const struct record *r, struct event *e);
void event_free(struct event *e);

enum settled { SETTLED_SENT, SETTLED_RETRY, SETTLED_DEAD, SETTLED_GONE };

/*
 * What became of the attempt to send event id of r: sent (removed), or
 * failed for why (retried after [events] retry_min, doubled at each try,
 * or given up after [events] retry_for: moved to the dead, kept to be
 * shown).  SETTLED_GONE when the event was no longer first (another
 * deliverer settled it).
 */
enum settled event_settle(const struct app *app, struct record *r,
			  const char *id, int sent, enum delivery_failure why,
			  long long now);

/* Moves every given-up event back to the waiting ones, to be sent now,
 * and makes every waiting one due now (deliver --all).  How many. */
int event_retry_all(struct record *r, long long now);

/* The outbox of r as JSON for the operator: {"waiting": [...],
 * "undeliverable": [...]}, each {id, type, created_at, tries, last_error,
 * next_attempt}; NULL when it is empty. */
struct cJSON *event_outbox_json(const struct record *r);

#endif
