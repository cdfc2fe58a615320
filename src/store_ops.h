/*
 * What a store backend implements: store.c dispatches each call of
 * store.h to the backend's table, so that the two read side by side.
 * Only store.c and the backends include this.
 */
#ifndef STORE_OPS_H
#define STORE_OPS_H

#include "store.h"

struct store_ops {
	const char *kind;
	struct store *(*open)(const struct config *cfg, char *err, size_t len);
	void (*close)(struct store *s);
	int (*load)(struct store *s, const char *name, struct buf *out);
	int (*save)(struct store *s, const char *name, const void *data,
		    size_t len);
	int (*remove)(struct store *s, const char *name);
	int (*lock)(struct store *s, const char *name);
	void (*unlock)(struct store *s, const char *name);
	int (*writable)(struct store *s);
	int (*spend)(struct store *s, const char *name, long long expires_at);
	int (*list)(struct store *s, size_t head_len, store_visit visit,
		    void *ctx);
	int (*query)(struct store *s, const struct listing_query *q,
		     struct listing *out);
	long (*sweep)(struct store *s);
	int (*check)(struct store *s, char *msg, size_t len);
};

/* Every backend's own struct starts with this. */
struct store {
	const struct store_ops *ops;
};

/* Locks one process holds at once: rekey and migrate hold two. */
#define STORE_HELD_MAX 4

extern const struct store_ops store_file_ops;
extern const struct store_ops store_redis_ops;

/* A record's name: 64 lower-case hex characters. */
int store_valid_name(const char *name);

#endif
