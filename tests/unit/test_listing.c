/*
 * Unit tests for listing.c: the admin list's order and its JSON, on
 * entries made here (the stores' part is in test_store*.c).
 */
#include <cjson/cJSON.h>

#include <stdlib.h>
#include <string.h>

#include "listing.h"
#include "unit.h"

#define NOW 1800000000LL

/* A listing of n entries named by fill characters, created at the times
 * given, last refreshed at the same time. */
static void
make(struct listing *l, const char *fills, const long long *created)
{
	size_t i, n = strlen(fills);

	listing_init(l, NOW);
	l->v = calloc(n, sizeof(*l->v));
	if (l->v == NULL)
		abort();
	l->n = l->cap = n;
	for (i = 0; i < n; i++) {
		struct record_meta m;
		char name[RECORD_NAME_LEN + 1];

		memset(&m, 0, sizeof(m));
		m.status = RECORD_CONNECTED;
		m.has_refresh = 1;
		m.created = created[i];
		m.last_refresh = created[i];
		m.expires_at = NOW + 3600;
		memset(name, fills[i], RECORD_NAME_LEN);
		name[RECORD_NAME_LEN] = '\0';
		listing_entry_of(&l->v[i], name, &m, NOW);
	}
}

/* The fill characters of l's names, in order. */
static const char *
order(const struct listing *l)
{
	static char out[16];
	size_t i;

	for (i = 0; i < l->n && i < sizeof(out) - 1; i++)
		out[i] = l->v[i].name[0];
	out[i] = '\0';
	return out;
}

static void
set_owner(struct listing_entry *e, enum owner_kind kind, const char *id)
{
	struct record r;

	memset(&r, 0, sizeof(r));
	r.owner.kind = kind;
	snprintf(r.owner.id, sizeof(r.owner.id), "%s", id);
	CHECK(listing_owner(e, &r) == 0);
}

static void
by_user_puts_users_a_to_z_then_browsers(void)
{
	static const long long created[] = { 10, 20, 30, 40, 50 };
	struct listing l;

	make(&l, "abcde", created);
	set_owner(&l.v[0], OWNER_USER, "zoe@example.com");
	set_owner(&l.v[1], OWNER_BROWSER, "sid-b");
	set_owner(&l.v[2], OWNER_USER, "amy@example.com");
	set_owner(&l.v[3], OWNER_BROWSER, "sid-d");
	set_owner(&l.v[4], OWNER_USER, "amy@example.com");
	/* A session id is never kept, and a user's id only once. */
	CHECK(l.v[1].user == NULL && l.v[3].user == NULL);
	set_owner(&l.v[4], OWNER_USER, "other@example.com");
	CHECK_STR(l.v[4].user, "amy@example.com");
	listing_sort(&l, SORT_USER);
	/* amy's two newest first, then zoe, then browsers newest first. */
	CHECK_STR(order(&l), "ecadb");
	listing_free(&l);
}

static void
equal_times_go_by_name_the_way_redis_orders_them(void)
{
	static const long long created[] = { 7, 7, 7 };
	struct listing l;

	make(&l, "bca", created);
	listing_sort(&l, SORT_REFRESHED);
	CHECK_STR(order(&l), "cba");
	listing_sort(&l, SORT_CONNECTED);
	CHECK_STR(order(&l), "cba");
	listing_sort(&l, SORT_EXPIRES);
	CHECK_STR(order(&l), "abc");
	listing_free(&l);
}

static void
a_record_without_type_or_scope_shows_them_empty(void)
{
	static const long long created[] = { NOW - 60 };
	struct listing l;
	struct record r;
	cJSON *o;

	make(&l, "a", created);
	memset(&r, 0, sizeof(r));
	r.owner.kind = OWNER_USER;
	snprintf(r.owner.id, sizeof(r.owner.id), "amy@example.com");
	o = listing_json(&l.v[0], &r, NOW);
	CHECK(o != NULL);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "token_type")),
		  "");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "scope")), "");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(
			  cJSON_GetObjectItem(o, "owner"), "id")),
		  "amy@example.com");
	cJSON_Delete(o);
	listing_free(&l);
}

static void
unreadable_heads_are_listed_and_counted_as_nothing(void)
{
	static const unsigned char junk[RECORD_HEAD_LEN] = "not a record";
	char name[RECORD_NAME_LEN + 1];
	struct listing l;

	memset(name, 'f', RECORD_NAME_LEN);
	name[RECORD_NAME_LEN] = '\0';
	listing_init(&l, NOW);
	CHECK(listing_add(&l, name, junk, sizeof(junk)) == 0);
	CHECK(l.n == 1 && !l.v[0].readable);
	CHECK(l.events == 0 && l.events_dead == 0 && l.events_oldest == 0);
	listing_free(&l);
}

int
main(void)
{
	RUN(by_user_puts_users_a_to_z_then_browsers);
	RUN(equal_times_go_by_name_the_way_redis_orders_them);
	RUN(a_record_without_type_or_scope_shows_them_empty);
	RUN(unreadable_heads_are_listed_and_counted_as_nothing);
	return DONE();
}
