/*
 * Every stored record's metadata, read without the key (no record is
 * decrypted to be listed): for the admin page, `list`, `show` and `gc`.
 * A list is a question to the store (struct listing_query: filter, sort,
 * id prefix, page), answered by store_query(): the file store by reading
 * every head and listing_select(), Redis from its indexes.
 */
#ifndef LISTING_H
#define LISTING_H

#include <stddef.h>

#include "record.h"

struct store;

/* How a record looks to an operator, derived from its metadata.  The
 * order is the status sort's, best first (and Redis's index numbers). */
enum health {
	HEALTH_CONNECTED,
	HEALTH_EXPIRING,  /* expires within the hour and cannot be refreshed */
	HEALTH_FAILING,	  /* the last refresh failed */
	HEALTH_RECONNECT, /* the grant is gone */
	HEALTH__MAX
};

/* Within this of its expiry a link without a refresh token is expiring. */
#define HEALTH_EXPIRING_WITHIN 3600

/* How each health is named: in ?status= (name), to people and in JSON
 * (label), and in the pages' style (class="status-" css). */
struct health_names {
	const char *name, *label, *css;
};
extern const struct health_names health_table[HEALTH__MAX];

struct listing_entry {
	char name[RECORD_NAME_LEN + 1];
	struct record_meta meta;
	int readable; /* 0: the head is not a record of ours */
	enum health health;
	/* A user's id, once read with the key for a search or sort by user
	 * (listing_owner); NULL until then, and for browsers' links. */
	char *user;
};

enum listing_sort {
	SORT_CONNECTED,
	SORT_EXPIRES,
	SORT_REFRESHED,
	SORT_STATUS,
	SORT_USER /* needs listing_owner's ids: users A-Z, browsers last */
};

/*
 * What the admin page asks: one page of one view.  A user's id is only
 * inside the sealed record, so no store answers SORT_USER or a search
 * by the start of an id: the admin page reads every record for those
 * (listing_load, listing_owner, listing_select).  An exact user is its
 * record's name under each key: names.
 */
struct listing_query {
	long long now;		  /* health depends on the clock */
	int health;		  /* an enum health, or -1 for every record */
	enum listing_sort sort;	  /* newest first for times; worst first */
	const char *prefix;	  /* of the record's name; "" for any */
	const char *const *names; /* only these records, if not NULL */
	size_t nnames;
	size_t offset; /* the first match to return */
	size_t limit;  /* at most this many; 0: every match */
};

/* Over every readable record, whatever the query's filter. */
struct listing_totals {
	size_t connected, reconnect, failing, expiring;
};

/*
 * An answer: one page of entries, how many match in all, and the totals;
 * with the outbox of every record, tombstones too (event.h): events
 * waiting, given up on, and the oldest waiting's time (0: none).
 */
struct listing {
	struct listing_entry *v;
	size_t n, cap;
	size_t matching;
	struct listing_totals totals;
	long long now;
	unsigned long long events, events_dead;
	long long events_oldest;
};

/* Every record, unreadable heads included (gc, rekey, `list`), in no
 * order: store_list(). */
int listing_load(struct store *s, long long now, struct listing *l);
void listing_init(struct listing *l, long long now);
void listing_free(struct listing *l);
/* Each user's id into its entry (e->user), from r. */
int listing_owner(struct listing_entry *e, const struct record *r);
/* Adds one record from its head (len bytes, maybe fewer than a head). */
int listing_add(struct listing *l, const char *name, const unsigned char *head,
		size_t len);
/* Newest first for times; worst first for status. */
void listing_sort(struct listing *l, enum listing_sort by);
/*
 * Answers q from every record in l, in place: counts the totals, keeps
 * the readable matches of the filter, prefix and names (and of keep, if
 * not NULL: a test no store can make, such as on a user's id), sorts
 * them, and keeps the page (matching says how many there were).
 */
void listing_select(struct listing *l, const struct listing_query *q,
		    int (*keep)(const struct listing_entry *e, void *ctx),
		    void *ctx);

enum health listing_health(const struct record_meta *m, long long now);
/* When a record was last used (linked, refreshed, handed out; for one
 * needing a reconnect, or a tombstone, last written): idle expiry counts
 * from there. */
long long listing_last_active(const struct record_meta *m);
/* The entry a listing would hold for one record read with the key. */
void listing_entry_of(struct listing_entry *e, const char *name,
		      const struct record_meta *m, long long now);
/*
 * A link as JSON, the one shape for the admin page and the CLI (`list
 * --json`, `show`): its owner's kind, and with the record read with the
 * key (r not NULL), a user's id, the token type and scope.
 */
struct cJSON *listing_json(const struct listing_entry *e,
			   const struct record *r, long long now);
/* The same, and what the access token says of itself (jwt.h), for one
 * link's page and `show`. */
struct cJSON *listing_detail_json(const struct listing_entry *e,
				  const struct record *r, long long now);
/* "eyJh...(812)": a token's first 4 characters and its length. */
void listing_fingerprint(const struct record_meta *m, char *out, size_t len);

#endif
