/*
 * A stored link: one user's tokens and their metadata, and the sealed
 * bytes they are stored as.  The format is described in docs/STORE.md.
 */
#ifndef RECORD_H
#define RECORD_H

#include <stddef.h>

#include "buf.h"
#include "keyring.h"
#include "owner.h"

#define RECORD_NAME_LEN 64 /* hex HMAC-SHA256 of its owner (owner.h) */
#define RECORD_HEAD_LEN 72 /* magic, key id, metadata: readable, no key */
#define RECORD_MAX	(64 * 1024)

/* RECORD_DELETED: a tombstone, kept while its events wait (event.h). */
enum record_status {
	RECORD_CONNECTED = 1,
	RECORD_NEEDS_RECONNECT = 2,
	RECORD_DELETED = 3
};

/* Why the last refresh failed; 0 when it did not.  Stored as one byte. */
enum refresh_error {
	REFRESH_OK = 0,
	REFRESH_INVALID_GRANT,
	REFRESH_INVALID_CLIENT,
	REFRESH_REJECTED,
	REFRESH_SERVER_ERROR,
	REFRESH_RATE_LIMITED,
	REFRESH_TIMEOUT,
	REFRESH_NETWORK,
	REFRESH_TLS,
	REFRESH_BAD_REPLY,
	REFRESH__MAX
};

/* What the admin list and gc read without the key (never a secret). */
struct record_meta {
	int status;
	int owner_kind; /* enum owner_kind: whose, but never who */
	int last_error;
	int has_refresh;
	unsigned token_len;
	char fingerprint[5]; /* the access token's first 4 characters */
	long long created;   /* connected since */
	long long updated;   /* last write */
	long long expires_at;
	long long last_refresh;
	long long last_used;
	long long backoff_until;
	/* The outbox (event.h): events waiting, given up on, the oldest. */
	int events;
	int events_dead;
	long long events_oldest;
};

struct record {
	struct record_meta meta;
	struct owner owner; /* whose link: rekey renames the record by it */
	char *access_token;
	char *refresh_token;
	char *token_type;
	char *scope;
	int failures;	   /* refreshes failed in a row (for the back-off) */
	char *events;	   /* the outbox: JSON that event.c reads and writes */
	int events_queued; /* one was queued since it was read (not stored) */
	int old_key; /* opened with an old key: rewrite under the new one */
};

/* Seals r under the current key; the file name is bound in (AEAD data). */
int record_seal(const struct keyring *kr, const char *name, struct record *r,
		struct buf *out);
int record_open(const struct keyring *kr, const char *name,
		const unsigned char *data, size_t len, struct record *r);
int record_read_meta(const unsigned char *data, size_t len,
		     struct record_meta *m);
/* Replaces a string member (NULL allowed), wiping the old value. */
int record_set(char **member, const char *value);
void record_free(struct record *r);

const char *refresh_error_name(int e);

/*
 * The wait after the n-th failure in a row of what a record keeps: base
 * seconds, doubled at each failure up to an hour (or up to base, if that
 * is longer).  So a link that keeps failing ([insuresign] refresh_backoff)
 * costs InsureSign a request an hour, and an event ([events] retry_min)
 * is tried hourly.
 */
long long record_backoff(unsigned base, int n);

#endif
