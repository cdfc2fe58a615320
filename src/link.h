/*
 * A link between one owner (a browser, or a web app's user: owner.h) and
 * one InsureSign account, over its life:
 * made from a code exchange, kept fresh, handed to the backend, ended.
 * The handlers and the command line use this; it uses oauth and store.
 */
#ifndef LINK_H
#define LINK_H

#include "app.h"
#include "oauth.h"
#include "record.h"

enum link_rc {
	LINK_OK,
	LINK_NONE,	  /* no link for this owner */
	LINK_RECONNECT,	  /* the grant is gone: the user must reconnect */
	LINK_UNAVAILABLE, /* the token expired and refreshing failed */
	LINK_STORE_ERROR  /* the store cannot be read or written */
};

/* Due: expires within refresh_margin seconds (or already has). */
int link_due(const struct record_meta *m, long long now, unsigned margin);

/* The record of an owner, wherever its key put it.  name gets its name. */
enum link_rc link_get(struct app *app, const struct owner *o, char *name,
		      struct record *r);
enum link_rc link_get_name(struct app *app, const char *name, struct record *r);

/* Stores new tokens for o; removes old's record when old is another owner
 * (a browser's session id, rotated as the link is made). */
enum link_rc link_create(struct app *app, const struct owner *o,
			 const struct owner *old, const struct oauth_tokens *t,
			 long long now);

/*
 * A valid access token for o, refreshed first when due: single flight
 * across processes (lock, re-read, refresh only if still due).  why says,
 * in the record's words, why the refresh failed when the answer is not
 * LINK_OK (the last failure's, when it is backing off); then r holds no
 * token but its meta stays, backoff_until included.
 */
enum link_rc link_token(struct app *app, const struct owner *o, long long now,
			struct record *r, enum refresh_error *why);
/* Refresh now, due or not (admin, CLI). */
enum link_rc link_refresh(struct app *app, const char *name, long long now,
			  struct record *r, enum refresh_error *why);

/*
 * Refresh ahead of need (refresh-due): refreshes name when its access
 * token expires within ahead seconds, or when its refresh token was last
 * used touch seconds ago or more (0: never), unless it is backing off.
 * Single flight with the web requests: decided again under the lock.
 * *tried says whether the token endpoint was asked (why: how it went).
 */
enum link_rc link_refresh_ahead(struct app *app, const char *name,
				long long now, unsigned ahead, unsigned touch,
				int *tried, enum refresh_error *why);

/*
 * For the outbox (outbox.c), with the record's lock held: the record as
 * stored, a tombstone too (link_get_name says LINK_NONE for one), and
 * written back as it is.
 */
enum link_rc link_read(struct app *app, const char *name, struct record *r);
enum link_rc link_write(struct app *app, const char *name, struct record *r);

/* Revokes (when configured) and deletes; who is logged in the audit.  With
 * link.deleted wanted ([events]), a tombstone holds the event until it is
 * sent. */
enum link_rc link_delete(struct app *app, const char *name, const char *who);

/*
 * Clean-up: removes links idle (or needing a reconnect) for longer than
 * [store] max_idle_days, and temp files a crash left.  Each removal is
 * reported through removed() and the audit trail.  Returns how many
 * links it kept, or -1 on error.
 */
long link_gc(struct app *app, long long now,
	     void (*removed)(const char *name, const char *why));

/* Re-seals every record under the current key (and renames it). */
int link_rekey(struct app *app, long *moved);

#endif
