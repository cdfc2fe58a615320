/*
 * Where records live.  The handlers never see this: link.c does.  Records
 * are opaque sealed bytes here, named by 64 hex characters, so a second
 * backend (Redis, for several web servers) implements these same calls.
 */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>

#include "buf.h"
#include "config.h"

enum store_rc {
	STORE_OK = 0,
	STORE_NOTFOUND = 1,
	STORE_EXISTS = 2,
	STORE_ERROR = -1
};

struct store;

/* An exclusive lock on one record, held across read-modify-write. */
struct store_lock {
	int fd;
};

/* Never fails for a bad directory: operations report it, one by one. */
struct store *store_open(const struct config *cfg);
void store_close(struct store *s);

int store_load(struct store *s, const char *name, struct buf *out);
int store_save(struct store *s, const char *name, const void *data, size_t len);
int store_delete(struct store *s, const char *name);
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

/* Calls visit with each record's name and first head_len bytes. */
typedef int (*store_visit)(void *ctx, const char *name,
			   const unsigned char *head, size_t len);
int store_list(struct store *s, size_t head_len, store_visit visit, void *ctx);

/* Removes temp files a crash left behind (their record is not locked:
 * no one is writing them) and expired spent values; returns how many,
 * or -1. */
long store_sweep(struct store *s);

/* Is the directory there, ours and private?  The reason goes in err. */
int store_check(const char *dir, char *err, size_t len);

#endif
