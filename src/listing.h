/*
 * Every stored record's metadata, read without the key (no record is
 * decrypted to be listed): for the admin page, `list`, `show` and `gc`.
 */
#ifndef LISTING_H
#define LISTING_H

#include <stddef.h>

#include "record.h"
#include "store.h"

/* How a record looks to an operator, derived from its metadata. */
enum health {
	HEALTH_CONNECTED,
	HEALTH_EXPIRING,  /* expires within the hour and cannot be refreshed */
	HEALTH_FAILING,	  /* the last refresh failed */
	HEALTH_RECONNECT, /* the grant is gone */
	HEALTH__MAX
};

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

struct listing {
	struct listing_entry *v;
	size_t n, cap;
	long long now;
	/* The outbox of every record, tombstones too (event.h): events
	 * waiting, given up on, and the oldest waiting's time (0: none). */
	unsigned long long events, events_dead;
	long long events_oldest;
};

enum listing_sort {
	SORT_CONNECTED,
	SORT_EXPIRES,
	SORT_REFRESHED,
	SORT_STATUS,
	SORT_USER /* needs listing_owner's ids: users A-Z, browsers last */
};

int listing_load(struct store *s, long long now, struct listing *l);
void listing_free(struct listing *l);
/* Each user's id into its entry (e->user), from r. */
int listing_owner(struct listing_entry *e, const struct record *r);
/* Newest first for times; worst first for status. */
void listing_sort(struct listing *l, enum listing_sort by);
/* The one record whose name starts with prefix; NULL if none or several. */
const struct listing_entry *listing_find(const struct listing *l,
					 const char *prefix, int *matches);

enum health listing_health(const struct record_meta *m, long long now);
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
