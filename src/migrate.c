/* Every link from one store to the other: see migrate.h. */
#include "migrate.h"

#include <stdlib.h>
#include <string.h>

#include "listing.h"
#include "log.h"
#include "store.h"

enum outcome { COPIED, SAME, NEWER, IDLE, UNREADABLE, GONE, FAILED };

/* Does raw hold a record that our keys open, under this name? */
static int
opens(struct app *app, const char *name, const struct buf *raw)
{
	struct record r;

	if (record_open(&app->keys, name, (const unsigned char *)raw->data,
			raw->len, &r) == -1)
		return 0;
	record_free(&r);
	return 1;
}

/* One record, with both its locks held: no refresh, on either side,
 * can come between our read and our write. */
static enum outcome
copy_locked(struct app *app, struct store *from, struct store *to,
	    const char *name, int to_live, long long cutoff)
{
	struct record_meta mf, mt;
	struct buf f, t;
	enum outcome rc = FAILED;
	int src;

	buf_init(&f, RECORD_MAX);
	buf_init(&t, RECORD_MAX);
	src = store_load(from, name, &f);
	if (src != STORE_OK) {
		rc = src == STORE_NOTFOUND ? GONE : FAILED;
		goto out;
	}
	if (record_read_meta((unsigned char *)f.data, f.len, &mf) == -1 ||
	    !opens(app, name, &f)) {
		log_warn("migrate %.12s: not a record our keys open: not "
			 "copied",
			 name);
		rc = UNREADABLE;
		goto out;
	}
	if (listing_last_active(&mf) < cutoff) {
		rc = IDLE;
		goto out;
	}
	src = store_load(to, name, &t);
	if (src == STORE_OK && t.len == f.len &&
	    memcmp(t.data, f.data, f.len) == 0) {
		rc = SAME;
	} else if (src == STORE_OK &&
		   record_read_meta((unsigned char *)t.data, t.len, &mt) == 0 &&
		   (mt.updated > mf.updated ||
		    (mt.updated == mf.updated && to_live))) {
		rc = NEWER; /* written there since: the site moved already */
	} else if (src != STORE_ERROR &&
		   store_save(to, name, f.data, f.len) == STORE_OK) {
		rc = COPIED;
	}
out:
	buf_free(&f);
	buf_free(&t);
	return rc;
}

static enum outcome
copy(struct app *app, struct store *from, struct store *to, const char *name,
     int to_live, long long cutoff)
{
	struct store_lock lf, lt;
	enum outcome rc = FAILED;

	/* Always from, then to: nobody else holds locks in both stores. */
	if (store_lock(from, name, &lf) != STORE_OK)
		return FAILED;
	if (store_lock(to, name, &lt) == STORE_OK) {
		rc = copy_locked(app, from, to, name, to_live, cutoff);
		store_unlock(&lt);
	}
	store_unlock(&lf);
	return rc;
}

/* Read back: the same bytes as the source, or newer, and they open. */
static int
verify(struct app *app, struct store *from, struct store *to, const char *name)
{
	struct record_meta mf, mt;
	struct buf f, t;
	int ok = 0;

	buf_init(&f, RECORD_MAX);
	buf_init(&t, RECORD_MAX);
	if (store_load(to, name, &t) == STORE_OK && opens(app, name, &t) &&
	    record_read_meta((unsigned char *)t.data, t.len, &mt) == 0) {
		int src = store_load(from, name, &f);

		ok = src == STORE_NOTFOUND ||
		     (src == STORE_OK &&
		      ((f.len == t.len && memcmp(f.data, t.data, t.len) == 0) ||
		       (record_read_meta((unsigned char *)f.data, f.len, &mf) ==
				0 &&
			mt.updated >= mf.updated)));
	}
	if (!ok)
		log_warn("migrate %.12s: the copy differs from its source "
			 "(changed since, or unreadable): run migrate again",
			 name);
	buf_free(&f);
	buf_free(&t);
	return ok;
}

/* Every record's name, tombstones (event.h) and unreadable ones too. */
struct names {
	char (*v)[RECORD_NAME_LEN + 1];
	size_t n, cap;
};

static int
add_name(void *ctx, const char *name, const unsigned char *head, size_t len)
{
	struct names *l = ctx;

	(void)head;
	(void)len;
	if (l->n == l->cap) {
		size_t cap = l->cap == 0 ? 256 : l->cap * 2;
		void *p = realloc(l->v, cap * sizeof(*l->v));

		if (p == NULL)
			return -1;
		l->v = p;
		l->cap = cap;
	}
	memcpy(l->v[l->n++], name, RECORD_NAME_LEN + 1);
	return 0;
}

int
migrate(struct app *app, struct store *from, struct store *to, int to_live,
	long long now, struct migrate_counts *n)
{
	long long cutoff = now - (long long)app->cfg.max_idle_days * 86400;
	struct names l = { NULL, 0, 0 };
	enum outcome *done;
	size_t i;

	memset(n, 0, sizeof(*n));
	if (store_list(from, 1, add_name, &l) != 0 ||
	    (done = calloc(l.n + 1, sizeof(*done))) == NULL) {
		free(l.v);
		return -1;
	}
	n->links = (long)l.n;
	for (i = 0; i < l.n; i++) {
		done[i] = copy(app, from, to, l.v[i], to_live, cutoff);
		n->copied += done[i] == COPIED;
		n->same += done[i] == SAME;
		n->newer += done[i] == NEWER;
		n->idle += done[i] == IDLE;
		n->unreadable += done[i] == UNREADABLE;
		n->gone += done[i] == GONE;
		n->failed += done[i] == FAILED;
	}
	for (i = 0; i < l.n; i++)
		if (done[i] == COPIED || done[i] == SAME || done[i] == NEWER) {
			if (verify(app, from, to, l.v[i]))
				n->verified++;
			else
				n->mismatched++;
		}
	free(done);
	free(l.v);
	return 0;
}
