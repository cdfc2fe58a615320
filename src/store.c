/*
 * The store's one dispatch point: each call goes to the backend that
 * [store] backend chose, files (store_file.c) or Redis (store_redis.c).
 */
#include "store_ops.h"

#include <string.h>

#include "codec.h"

static const struct store_ops *const backends[] = {
	[STORE_BACKEND_FILE] = &store_file_ops,
	[STORE_BACKEND_REDIS] = &store_redis_ops,
};

int
store_valid_name(const char *name)
{
	return strlen(name) == RECORD_NAME_LEN &&
	       hex_valid(name, RECORD_NAME_LEN);
}

struct store *
store_open(const struct config *cfg, enum store_backend which, char *err,
	   size_t len)
{
	return backends[which]->open(cfg, err, len);
}

void
store_close(struct store *s)
{
	if (s != NULL)
		s->ops->close(s);
}

const char *
store_kind(const struct store *s)
{
	return s->ops->kind;
}

int
store_load(struct store *s, const char *name, struct buf *out)
{
	if (!store_valid_name(name))
		return STORE_ERROR;
	return s->ops->load(s, name, out);
}

int
store_save(struct store *s, const char *name, const void *data, size_t len)
{
	if (!store_valid_name(name) || len > RECORD_MAX)
		return STORE_ERROR;
	return s->ops->save(s, name, data, len);
}

int
store_delete(struct store *s, const char *name)
{
	if (!store_valid_name(name))
		return STORE_ERROR;
	return s->ops->remove(s, name);
}

int
store_lock(struct store *s, const char *name, struct store_lock *l)
{
	memset(l, 0, sizeof(*l));
	if (!store_valid_name(name) || s->ops->lock(s, name) != STORE_OK)
		return STORE_ERROR;
	l->s = s;
	memcpy(l->name, name, RECORD_NAME_LEN);
	return STORE_OK;
}

void
store_unlock(struct store_lock *l)
{
	if (l->s != NULL)
		l->s->ops->unlock(l->s, l->name);
	l->s = NULL;
}

int
store_writable(struct store *s)
{
	return s->ops->writable(s);
}

int
store_spend(struct store *s, const char *name, long long expires_at)
{
	if (!store_valid_name(name))
		return STORE_ERROR;
	return s->ops->spend(s, name, expires_at);
}

int
store_list(struct store *s, size_t head_len, store_visit visit, void *ctx)
{
	return s->ops->list(s, head_len, visit, ctx);
}

int
store_query(struct store *s, const struct listing_query *q, struct listing *out)
{
	listing_init(out, q->now);
	if (s->ops->query(s, q, out) != STORE_OK) {
		listing_free(out);
		return STORE_ERROR;
	}
	return STORE_OK;
}

long
store_sweep(struct store *s)
{
	return s->ops->sweep(s);
}

int
store_check(struct store *s, char *msg, size_t len)
{
	return s->ops->check(s, msg, len);
}
