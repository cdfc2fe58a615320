/*
 * Where records live.  The handlers never see this: link.c, listing.c,
 * pending.c and the command line do.  Records are opaque sealed bytes
 * here, named by 64 hex characters, and their first RECORD_HEAD_LEN
 * bytes (record.h) are readable without the key.  Two backends answer
 * these calls, chosen by [store] backend (store.c): files on one machine
 * (store_file.c) and Redis, shared by several (store_redis.c).
 *
 * Every call reports a failure of the store itself as STORE_ERROR, with
 * its cause logged once, where it happened; callers turn it into a 503.
 */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>

#include "buf.h"
#include "config.h"
#include "listing.h"
#include "record.h"

enum store_rc {
	STORE_OK = 0,
	STORE_NOTFOUND = 1,
	STORE_EXISTS = 2,
	STORE_ERROR = -1
};

struct store;

/*
 * An exclusive lock on one record, held across read-modify-write, by
 * this process, across machines where the store is shared.  What holds
 * it (an open file description, a random owner token) the backend keeps.
 */
struct store_lock {
	struct store *s; /* NULL: not held */
	char name[RECORD_NAME_LEN + 1];
};

/*
 * Opens the backend asked for (app.c: [store] backend; migrate: either).
 * NULL with err set only for what no request could cure (a password
 * file that cannot be read, no memory); a store that is down or a
 * directory that is wrong is reported by each operation, and by
 * store_check().
 */
struct store *store_open(const struct config *cfg, enum store_backend which,
			 char *err, size_t len);
void store_close(struct store *s);
/* "file" or "redis". */
const char *store_kind(const struct store *s);

int store_load(struct store *s, const char *name, struct buf *out);
/*
 * Writes a record whole, or not at all.  Under the record's lock where
 * there is one (every write of link.c's is): Redis then refuses a write
 * whose lock has passed to another holder.
 */
int store_save(struct store *s, const char *name, const void *data, size_t len);
int store_delete(struct store *s, const char *name);
/* Waits for the lock; STORE_ERROR when the store fails (Redis: also
 * when no holder let go within the lock's lifetime). */
int store_lock(struct store *s, const char *name, struct store_lock *l);
void store_unlock(struct store_lock *l);

/*
 * Can the store take a write now?  Asked before spending anything that
 * cannot be had twice (an authorization code, a rotating refresh token):
 * STORE_OK, or STORE_ERROR with the reason logged.
 */
int store_writable(struct store *s);

/*
 * Remembers that a one-time value (named by its keyed hash) was used, until
 * expires_at: STORE_OK the first time, STORE_EXISTS for a replay.
 */
int store_spend(struct store *s, const char *name, long long expires_at);

/* Calls visit with each record's name and first head_len bytes, in no
 * particular order; stops at the first non-zero return. */
typedef int (*store_visit)(void *ctx, const char *name,
			   const unsigned char *head, size_t len);
int store_list(struct store *s, size_t head_len, store_visit visit, void *ctx);

/*
 * One page of the admin list, with its totals, into out (listing_free
 * it).  The file store reads every head (O(records)); Redis answers from
 * its indexes in O(page), or O(matches) for an id prefix.
 */
int store_query(struct store *s, const struct listing_query *q,
		struct listing *out);

/* Removes what a crash or an expiry left behind: temp files whose
 * record is not locked (no one is writing them) and expired spent
 * values; in Redis, index entries of records gone.  Returns how many,
 * or -1. */
long store_sweep(struct store *s);

/* Is the store usable (the directory there, ours and private; Redis
 * reachable, ours to write)?  0 and what was checked in msg, or -1 and
 * what is wrong, with the fix. */
int store_check(struct store *s, char *msg, size_t len);

#endif
