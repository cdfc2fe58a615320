/*
 * Unit tests for event.c and outbox.c: events queued into the record
 * that changes (a tombstone for a deleted link), what they say, their
 * order, retries, giving up, and delivery through tests/unit/http_stub.c
 * (http_post: the receiver), signed as the README says.
 */
#include <cjson/cJSON.h>

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "crypto.h"
#include "event.h"
#include "http_stub.h"
#include "link.h"
#include "outbox.h"
#include "testkeys.h"
#include "unit.h"

#define NOW    1800000000LL
#define SECRET "events-secret-0123456789abcdefghijklmnop"

static char top[] = "/tmp/isc-unit-XXXXXX";
static struct app app;
static char token_url[] = "https://token.example/oauth2/token";
static char events_url[] = "https://app.example/events";
static char client_id[] = "test-client", client_secret[] = "test-secret";
static char secret[] = SECRET;
static struct owner alice, browser;

static void
fresh(void)
{
	static char store[64], state[64];

	shared_close(&app.outbox);
	store_close(app.store);
	http_free(app.http);
	memset(&app, 0, sizeof(app));
	shared_init(&app.limits);
	shared_init(&app.outbox);
	snprintf(store, sizeof(store), "%s/store", top);
	snprintf(state, sizeof(state), "%s/state", top);
	unit_rmtree(store);
	unit_rmtree(state);
	if (mkdir(store, 0700) == -1 || mkdir(state, 0700) == -1)
		abort();
	app.cfg.store_dir = store;
	app.cfg.state_dir = state;
	app.cfg.refresh_margin = 60;
	app.cfg.refresh_backoff = 30;
	app.cfg.max_idle_days = 90;
	app.cfg.token_url = token_url;
	app.cfg.client_id = client_id;
	app.cfg.client_secret = client_secret;
	app.cfg.events_url = events_url;
	app.cfg.events_retry_min = 10;
	app.cfg.events_retry_for = 86400;
	app.cfg.events_timeout = 5;
	app.events_secret = secret;
	test_keyring(&app.keys, 1);
	app.store = store_open(&app.cfg, STORE_BACKEND_FILE, NULL, 0);
	app.http = http_new(&app.cfg);
	if (app.store == NULL || app.http == NULL)
		abort();
	http_stub_reply = HTTP_STUB_REFRESH;
	http_stub_calls = 0;
	http_stub_events = 0;
	http_stub_event_status = 204;
	http_stub_event_rc = HTTP_OK;
}

static void
make_link(const struct owner *o, long long at, long long ttl)
{
	static char at_[] = "at-0123456789", rt[] = "rt-0123456789";
	static char bearer[] = "Bearer";
	struct oauth_tokens t;

	memset(&t, 0, sizeof(t));
	t.access_token = at_;
	t.refresh_token = rt;
	t.token_type = bearer;
	t.expires_in = ttl;
	CHECK(link_create(&app, o, NULL, &t, at) == LINK_OK);
}

static const char *
name_of(const struct owner *o)
{
	static char name[RECORD_NAME_LEN + 1];

	owner_record_name(&app.keys.keys[0], o, name);
	return name;
}

/* The stored record of o, tombstone or not. */
static struct record
stored(const struct owner *o)
{
	struct record r;

	if (link_read(&app, name_of(o), &r) != LINK_OK)
		memset(&r, 0, sizeof(r));
	return r;
}

/* The types of o's waiting events, in order, as "a,b,c". */
static const char *
waiting(const struct owner *o)
{
	static char out[512];
	struct record r = stored(o);
	cJSON *j = event_outbox_json(&r), *e;

	out[0] = '\0';
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(j, "waiting"))
	{
		if (out[0] != '\0')
			strcat(out, ",");
		strcat(out,
		       cJSON_GetStringValue(cJSON_GetObjectItem(e, "type")));
	}
	cJSON_Delete(j);
	record_free(&r);
	return out;
}

static void
a_new_link_carries_its_created_event(void)
{
	struct event ev;
	struct record r;
	cJSON *body;

	fresh();
	make_link(&alice, NOW, 3600);
	r = stored(&alice);
	CHECK(r.meta.events == 1 && r.meta.events_oldest == NOW);
	CHECK(event_first(&r, &ev) == 1);
	CHECK(ev.type == EVENT_LINK_CREATED && ev.at == NOW && ev.tries == 0);
	CHECK(strncmp(ev.id, "evt_", 4) == 0 && strlen(ev.id) == 36);
	body = cJSON_Parse(ev.body);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(body, "id")), ev.id);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(body, "type")),
		  "link.created");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(body, "record")),
		  name_of(&alice));
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(body, "created_at")),
		  "2027-01-15T08:00:00Z");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(
			  cJSON_GetObjectItem(body, "owner"), "kind")),
		  "user");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(
			  cJSON_GetObjectItem(body, "owner"), "id")),
		  "alice@example.com");
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(body, "reason")));
	/* Never a token. */
	CHECK(strstr(ev.body, "at-0123456789") == NULL);
	CHECK(strstr(ev.body, "rt-0123456789") == NULL);
	cJSON_Delete(body);
	event_free(&ev);
	record_free(&r);
}

static void
a_browsers_session_id_is_never_in_an_event(void)
{
	struct event ev;
	struct record r;

	fresh();
	make_link(&browser, NOW, 3600);
	r = stored(&browser);
	CHECK(event_first(&r, &ev) == 1);
	CHECK(strstr(ev.body, "\"owner\":{\"kind\":\"browser\"}") != NULL);
	CHECK(strstr(ev.body, browser.id) == NULL);
	event_free(&ev);
	record_free(&r);
}

static void
nothing_is_queued_when_events_are_off_or_not_asked_for(void)
{
	static char deleted[] = "link.deleted";
	static char *types[] = { deleted };
	struct record r;

	fresh();
	app.cfg.events_url = NULL;
	make_link(&alice, NOW, 3600);
	r = stored(&alice);
	CHECK(r.events == NULL && r.meta.events == 0);
	record_free(&r);
	/* Deleted with events off: gone at once, no tombstone. */
	CHECK(link_delete(&app, name_of(&alice), "user") == LINK_OK);
	r = stored(&alice);
	CHECK(r.meta.status == 0);
	fresh();
	app.cfg.events_types.v = types;
	app.cfg.events_types.n = 1;
	make_link(&alice, NOW, 3600);
	CHECK_STR(waiting(&alice), "");
	CHECK(link_delete(&app, name_of(&alice), "backend") == LINK_OK);
	CHECK_STR(waiting(&alice), "link.deleted");
	app.cfg.events_types.n = 0;
}

static void
a_deleted_link_leaves_a_tombstone_with_its_events_in_order(void)
{
	char name[RECORD_NAME_LEN + 1];
	struct record r;

	fresh();
	make_link(&alice, NOW, 3600);
	CHECK(link_delete(&app, name_of(&alice), "user") == LINK_OK);
	r = stored(&alice);
	CHECK(r.meta.status == RECORD_DELETED);
	CHECK(r.access_token == NULL && r.refresh_token == NULL);
	CHECK(r.owner.kind == OWNER_USER); /* the events name it */
	record_free(&r);
	CHECK_STR(waiting(&alice), "link.created,link.deleted");
	/* No link any more, to anyone asking. */
	CHECK(link_get(&app, &alice, name, &r) == LINK_NONE);
	CHECK(link_get_name(&app, name_of(&alice), &r) == LINK_NONE);
	/* Deleting it again does nothing, and keeps the events. */
	CHECK(link_delete(&app, name_of(&alice), "admin") == LINK_NONE);
	CHECK_STR(waiting(&alice), "link.created,link.deleted");
	/* A new link for the same user takes them over, in order. */
	make_link(&alice, NOW + 5, 3600);
	CHECK_STR(waiting(&alice), "link.created,link.deleted,link.created");
	CHECK(link_get(&app, &alice, name, &r) == LINK_OK);
	record_free(&r);
}

static void
refresh_failures_recovery_and_reconnect(void)
{
	enum refresh_error why;
	struct record r;
	int tried;

	fresh();
	make_link(&alice, NOW, 600);
	http_stub_reply = HTTP_STUB_SERVER_ERROR;
	link_refresh_ahead(&app, name_of(&alice), NOW, 900, 0, &tried, &why);
	link_refresh_ahead(&app, name_of(&alice), NOW + 31, 900, 0, &tried,
			   &why);
	CHECK(http_stub_calls == 2);
	/* One event for the run of failures. */
	CHECK_STR(waiting(&alice), "link.created,link.refresh_failed");
	http_stub_reply = HTTP_STUB_REFRESH;
	CHECK(link_refresh(&app, name_of(&alice), NOW + 100, &r, &why) ==
	      LINK_OK);
	record_free(&r);
	CHECK_STR(waiting(&alice),
		  "link.created,link.refresh_failed,link.recovered");
	http_stub_reply = HTTP_STUB_INVALID_GRANT;
	CHECK(link_refresh(&app, name_of(&alice), NOW + 200, &r, &why) ==
	      LINK_RECONNECT);
	CHECK_STR(waiting(&alice),
		  "link.created,link.refresh_failed,link.recovered,"
		  "link.needs_reconnect");
}

static void
gc_and_a_new_session_leave_tombstones_too(void)
{
	struct record r;
	struct owner b2;

	fresh();
	make_link(&browser, NOW, 3600);
	/* The browser's session id rotates as it links again. */
	owner_browser("BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", &b2);
	{
		static char at_[] = "at-x", rt[] = "rt-x", bearer[] = "Bearer";
		struct oauth_tokens t = { at_, rt, bearer, NULL, 3600 };

		CHECK(link_create(&app, &b2, &browser, &t, NOW + 1) == LINK_OK);
	}
	r = stored(&browser);
	CHECK(r.meta.status == RECORD_DELETED);
	record_free(&r);
	CHECK_STR(waiting(&browser), "link.created,link.deleted");
	/* gc: idle past max_idle_days. */
	CHECK(link_gc(&app, NOW + 91 * 86400LL, NULL) == 0);
	r = stored(&b2);
	CHECK(r.meta.status == RECORD_DELETED);
	record_free(&r);
	CHECK_STR(waiting(&b2), "link.created,link.deleted");
}

/* The signature a receiver computes: HMAC-SHA256(secret, t "." body). */
static void
signed_as_the_readme_says(void)
{
	char t[24], want[200], hex[65];
	unsigned char mac[SHA256_LEN];
	struct outbox_result res;
	struct buf msg;
	const char *sig;

	fresh();
	make_link(&alice, NOW, 3600);
	CHECK(outbox_deliver(&app, NOW, 0, &res) == 0);
	CHECK(res.sent == 1 && res.failed == 0 && res.waiting == 0);
	CHECK(http_stub_events == 1);
	CHECK_STR(http_stub_url, events_url);
	CHECK_STR(http_stub_event_headers[0], "Content-Type: application/json");
	sig = http_stub_event_headers[1];
	CHECK(strncmp(sig, "InsureSign-Connect-Signature: t=", 32) == 0);
	snprintf(t, sizeof(t), "%.*s", (int)strcspn(sig + 32, ","), sig + 32);
	buf_init(&msg, 8192);
	buf_printf(&msg, "%s.%s", t, http_stub_body);
	crypto_hmac((const unsigned char *)SECRET, strlen(SECRET), msg.data,
		    msg.len, mac);
	hex_encode(mac, sizeof(mac), hex);
	snprintf(want, sizeof(want), "InsureSign-Connect-Signature: t=%s,v1=%s",
		 t, hex);
	CHECK_STR(sig, want);
	buf_free(&msg);
	CHECK(strstr(http_stub_event_headers[2],
		     "InsureSign-Connect-Event-Id: "
		     "evt_") == http_stub_event_headers[2]);
	CHECK(strstr(http_stub_body,
		     strchr(http_stub_event_headers[2], ' ') + 1) != NULL);
	CHECK_STR(waiting(&alice), "");
}

static void
a_failed_event_holds_back_the_next_of_its_link(void)
{
	struct outbox_result res;

	fresh();
	make_link(&alice, NOW, 3600);
	CHECK(link_delete(&app, name_of(&alice), "user") == LINK_OK);
	http_stub_event_status = 500;
	CHECK(outbox_deliver(&app, NOW, 0, &res) == 0);
	CHECK(res.sent == 0 && res.failed == 1 && res.waiting == 2);
	CHECK(http_stub_events == 1); /* the second waits for the first */
	CHECK_STR(waiting(&alice), "link.created,link.deleted");
	/* Not due again for retry_min: nothing sent. */
	http_stub_event_status = 200;
	CHECK(outbox_deliver(&app, NOW, 0, &res) == 0);
	CHECK(http_stub_events == 1);
	/* --all: now, in order; the tombstone goes with its last. */
	CHECK(outbox_deliver(&app, NOW, 1, &res) == 0);
	CHECK(res.sent == 2 && http_stub_events == 3);
	CHECK(strstr(http_stub_body, "link.deleted") != NULL);
	{
		struct record r = stored(&alice);

		CHECK(r.meta.status == 0); /* none: removed */
	}
}

static void
retries_double_then_give_up_after_retry_for(void)
{
	static const long long waits[] = { 10, 20, 40, 80 };
	struct record r;
	struct event ev;
	long long t = NOW;
	size_t i;

	fresh();
	make_link(&alice, NOW, 3600);
	r = stored(&alice);
	for (i = 0; i < sizeof(waits) / sizeof(waits[0]); i++) {
		CHECK(event_first(&r, &ev) == 1);
		CHECK(event_settle(&app, &r, ev.id, 0, DELIVERY_TIMEOUT, t) ==
		      SETTLED_RETRY);
		event_free(&ev);
		CHECK(event_first(&r, &ev) == 1);
		CHECK(ev.next == t + waits[i] && ev.tries == (int)i + 1);
		event_free(&ev);
		t += waits[i];
	}
	CHECK(event_first(&r, &ev) == 1);
	/* Another deliverer settled it already: nothing happens. */
	CHECK(event_settle(&app, &r, "evt_other", 1, DELIVERY_TIMEOUT, t) ==
	      SETTLED_GONE);
	CHECK(event_settle(&app, &r, ev.id, 0, DELIVERY_REJECTED,
			   NOW + 86400) == SETTLED_DEAD);
	CHECK(r.meta.events == 0 && r.meta.events_dead == 1);
	event_free(&ev);
	CHECK(event_first(&r, &ev) == 0);
	/* deliver --all brings it back, due now. */
	CHECK(event_retry_all(&r, NOW + 90000) == 1);
	CHECK(r.meta.events == 1 && r.meta.events_dead == 0);
	CHECK(event_first(&r, &ev) == 1 && ev.next == NOW + 90000);
	event_free(&ev);
	record_free(&r);
}

static void
the_receiver_down_ends_the_run_and_undeliverable_ones_are_kept(void)
{
	struct outbox_result res;
	struct record r;

	fresh();
	app.cfg.events_retry_for = 5;
	make_link(&alice, NOW, 3600);
	make_link(&browser, NOW, 3600);
	http_stub_event_rc = HTTP_NETWORK;
	CHECK(outbox_deliver(&app, NOW, 0, &res) == 0);
	/* The first refusal ends the run: the other link was not tried. */
	CHECK(res.stopped && res.failed == 1 && http_stub_events == 1);
	CHECK(res.waiting == 2);
	/* Past retry_for, a 4xx: given up, kept, counted. */
	http_stub_event_rc = HTTP_OK;
	http_stub_event_status = 400;
	CHECK(outbox_deliver(&app, NOW + 10, 0, &res) == 0);
	CHECK(res.given_up >= 1);
	r = stored(&alice);
	CHECK(r.meta.events_dead + r.meta.events >= 1);
	record_free(&r);
	/* Events off: nothing to deliver. */
	app.cfg.events_url = NULL;
	CHECK(outbox_deliver(&app, NOW, 0, &res) == -1);
}

static void
an_outbox_holds_at_most_its_max(void)
{
	struct record r;
	int i;

	fresh();
	make_link(&alice, NOW, 3600);
	r = stored(&alice);
	for (i = 0; i < EVENT_OUTBOX_MAX + 5; i++)
		CHECK(event_queue(&app, &r, name_of(&alice),
				  EVENT_LINK_REFRESH_FAILED, "timeout",
				  NOW + i) == 0);
	CHECK(r.meta.events == EVENT_OUTBOX_MAX);
	/* The oldest went: the created one and the first few. */
	CHECK(r.meta.events_oldest == NOW + 5);
	record_free(&r);
}

static void
each_way_a_delivery_fails(void)
{
	static const struct {
		enum http_rc rc;
		long status;
		int stops;
	} cases[] = {
		{ HTTP_TIMEOUT, 0, 1 }, { HTTP_TLS, 0, 1 },
		{ HTTP_NETWORK, 0, 1 }, { HTTP_TOO_BIG, 0, 0 },
		{ HTTP_OK, 302, 0 },	{ HTTP_OK, 404, 0 },
		{ HTTP_OK, 503, 0 },
	};
	struct outbox_result res;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fresh();
		make_link(&alice, NOW, 3600);
		http_stub_event_rc = cases[i].rc;
		http_stub_event_status = cases[i].status;
		CHECK(outbox_deliver(&app, NOW, 0, &res) == 0);
		CHECK(res.sent == 0 && res.failed == 1);
		CHECK(res.stopped == cases[i].stops);
		CHECK_STR(waiting(&alice), "link.created");
	}
}

static void
server_errors_in_a_row_end_the_run(void)
{
	struct outbox_result res;
	struct owner o[4];
	char id[32];
	const char *why;
	int i;

	fresh();
	for (i = 0; i < 4; i++) {
		snprintf(id, sizeof(id), "user%d", i);
		owner_user(&app.cfg, id, &o[i], &why);
		make_link(&o[i], NOW, 3600);
	}
	http_stub_event_status = 500;
	CHECK(outbox_deliver(&app, NOW, 0, &res) == 0);
	/* Three links' first events: then the receiver is taken for down. */
	CHECK(res.stopped && res.failed == 3 && http_stub_events == 3);
	CHECK(res.waiting == 4);
}

static void
a_tombstone_of_given_up_events_goes_after_max_idle_days(void)
{
	struct outbox_result res;
	struct record r;

	fresh();
	app.cfg.events_retry_for = 1;
	make_link(&alice, NOW, 3600);
	CHECK(link_delete(&app, name_of(&alice), "user") == LINK_OK);
	http_stub_event_status = 400;
	CHECK(outbox_deliver(&app, NOW + 10, 0, &res) == 0);
	CHECK(res.given_up == 2 && res.waiting == 0);
	r = stored(&alice);
	CHECK(r.meta.status == RECORD_DELETED && r.meta.events_dead == 2);
	record_free(&r);
	/* Kept to be seen... */
	CHECK(outbox_deliver(&app, NOW + 86400, 0, &res) == 0);
	r = stored(&alice);
	CHECK(r.meta.status == RECORD_DELETED);
	record_free(&r);
	/* ... for max_idle_days after its last change. */
	CHECK(outbox_deliver(&app, NOW + 10 + 90 * 86400LL, 0, &res) == 0);
	r = stored(&alice);
	CHECK(r.meta.status == 0);
	CHECK(http_stub_events == 2);
}

static void
an_unreadable_outbox_is_no_event(void)
{
	static char junk[] = "not json", array[] = "[]";
	struct record r;
	struct event ev;

	memset(&r, 0, sizeof(r));
	r.events = junk;
	CHECK(event_first(&r, &ev) == -1);
	CHECK(event_settle(&app, &r, "evt_x", 1, DELIVERY_REJECTED, NOW) ==
	      SETTLED_GONE);
	CHECK(event_retry_all(&r, NOW) == 0);
	CHECK(event_outbox_json(&r) == NULL);
	r.events = array;
	CHECK(event_first(&r, &ev) == -1);
	r.events = NULL;
	CHECK(event_first(&r, &ev) == 0);
	CHECK(event_retry_all(&r, NOW) == 0);
	CHECK(event_outbox_json(&r) == NULL);
	/* Entries of the wrong shape: never an event to send. */
	{
		static char no_id[] =
			"{\"waiting\":[{\"type\":\"link.created\","
			"\"body\":\"{}\"}]}";
		static char bad_type[] =
			"{\"waiting\":[{\"id\":\"evt_1\","
			"\"type\":\"link.x\",\"body\":\"{}\"}]}";
		static char no_body[] = "{\"waiting\":[{\"id\":\"evt_1\","
					"\"type\":\"link.created\"}]}";

		r.events = no_id;
		CHECK(event_first(&r, &ev) == -1);
		r.events = bad_type;
		CHECK(event_first(&r, &ev) == -1);
		static char long_id[] =
			"{\"waiting\":[{\"id\":\"evt_0123456789012345678901"
			"2345678901234567\",\"type\":\"link.created\",\"body\":"
			"\"{}\"}]}";
		static char type_not_text[] =
			"{\"waiting\":[{\"id\":\"evt_1\",\"type\":7,"
			"\"body\":\"{}\"}]}";
		static char none[] = "{\"waiting\":[]}";

		r.events = no_body;
		CHECK(event_first(&r, &ev) == -1);
		CHECK(event_settle(&app, &r, "evt_2", 1, DELIVERY_REJECTED,
				   NOW) == SETTLED_GONE);
		r.events = long_id;
		CHECK(event_first(&r, &ev) == -1);
		r.events = type_not_text;
		CHECK(event_first(&r, &ev) == -1);
		/* Nothing waits: nothing to settle, nothing sent. */
		r.events = none;
		CHECK(event_first(&r, &ev) == 0);
		CHECK(event_settle(&app, &r, "evt_1", 1, DELIVERY_REJECTED,
				   NOW) == SETTLED_GONE);
		r.events = NULL;
	}
	CHECK(event_type_of("link.nothing") == -1);
	CHECK_STR(event_type_name(EVENT__MAX), "unknown");
	CHECK_STR(event_failure_name(DELIVERY__MAX), "unknown");
	CHECK_STR(event_failure_name(DELIVERY_TLS), "tls_error");
}

static void
given_up_events_kept_are_at_most_their_max(void)
{
	struct record r;
	struct event ev;
	int i;

	fresh();
	make_link(&alice, NOW, 3600);
	r = stored(&alice);
	for (i = 0; i < EVENT_DEAD_MAX + 4; i++)
		event_queue(&app, &r, name_of(&alice), EVENT_LINK_RECOVERED,
			    NULL, NOW);
	while (event_first(&r, &ev) == 1) {
		event_settle(&app, &r, ev.id, 0, DELIVERY_REJECTED,
			     NOW + 86400);
		event_free(&ev);
	}
	CHECK(r.meta.events == 0 && r.meta.events_dead == EVENT_DEAD_MAX);
	record_free(&r);
}

/* The workers' way: a detached deliverer, which the store shows the
 * work of (its counters are its own). */
static void
a_worker_hands_due_events_to_a_detached_deliverer(void)
{
	struct record r;
	int i;

	fresh();
	app.cfg.events_from_workers = 1;
	make_link(&alice, (long long)time(NULL), 3600);
	r = stored(&alice);
	CHECK(r.meta.events == 1);
	record_free(&r);
	outbox_after_request(&app, -1);
	for (i = 0; i < 200; i++) {
		r = stored(&alice);
		if (r.meta.events == 0)
			break;
		record_free(&r);
		usleep(25000);
	}
	CHECK(r.meta.events == 0);
	record_free(&r);
	/* Nothing due now: a request starts nothing. */
	make_link(&browser, (long long)time(NULL), 3600);
	app.cfg.events_from_workers = 0;
	outbox_after_request(&app, -1);
	app.cfg.events_url = NULL;
	outbox_after_request(&app, -1);
	usleep(200000);
	CHECK_STR(waiting(&browser), "link.created");
}

/* Last: a broken state dir is not tried again for a minute. */
static void
without_the_state_dir_the_timer_still_delivers(void)
{
	struct outbox_result res;

	fresh();
	make_link(&alice, NOW, 3600);
	shared_close(&app.outbox);
	chmod(app.cfg.state_dir, 0755);
	CHECK(outbox_deliver(&app, NOW, 0, &res) == 0);
	CHECK(res.sent == 1);
	app.cfg.events_from_workers = 1;
	outbox_after_request(&app, -1); /* no hint: nothing, quietly */
	chmod(app.cfg.state_dir, 0700);
}

/* The reason in o's last waiting event's body, "(null)" for none. */
static const char *
last_reason(const struct owner *o)
{
	static char out[64];
	struct record r = stored(o);
	cJSON *j = r.events != NULL ? cJSON_Parse(r.events) : NULL, *e,
	      *last = NULL, *body;

	cJSON_ArrayForEach(e, cJSON_GetObjectItem(j, "waiting")) last = e;
	snprintf(out, sizeof(out), "(no event)");
	body = cJSON_Parse(
		cJSON_GetStringValue(cJSON_GetObjectItem(last, "body")));
	if (body != NULL) {
		const char *why = cJSON_GetStringValue(
			cJSON_GetObjectItem(body, "reason"));

		snprintf(out, sizeof(out), "%s", why != NULL ? why : "(null)");
	}
	cJSON_Delete(body);
	cJSON_Delete(j);
	record_free(&r);
	return out;
}

static void
linking_again_while_linked_says_reconnected(void)
{
	fresh();
	make_link(&alice, NOW, 3600);
	CHECK_STR(last_reason(&alice), "(null)");
	make_link(&alice, NOW + 5, 3600);
	CHECK_STR(waiting(&alice), "link.created,link.created");
	CHECK_STR(last_reason(&alice), "reconnected");
}

static void
a_new_session_over_a_tombstone_deletes_nothing_twice(void)
{
	static char at_[] = "at-x", rt[] = "rt-x", bearer[] = "Bearer";
	struct oauth_tokens t = { at_, rt, bearer, NULL, 3600 };
	struct owner b2;

	/* The browser's link was deleted (a tombstone with its events);
	 * it links again with a new session: the old one had no link. */
	fresh();
	make_link(&browser, NOW, 3600);
	CHECK(link_delete(&app, name_of(&browser), "user") == LINK_OK);
	CHECK_STR(waiting(&browser), "link.created,link.deleted");
	owner_browser("CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC", &b2);
	CHECK(link_create(&app, &b2, &browser, &t, NOW + 1) == LINK_OK);
	CHECK_STR(waiting(&browser), "link.created,link.deleted");
	CHECK_STR(waiting(&b2), "link.created");
}

static void
with_nothing_to_say_a_deletion_leaves_no_tombstone(void)
{
	static char failed[] = "link.refresh_failed";
	static char *types[] = { failed };
	struct record r;

	/* Events on, but link.deleted not asked for and none waiting. */
	fresh();
	app.cfg.events_types.v = types;
	app.cfg.events_types.n = 1;
	make_link(&alice, NOW, 3600);
	CHECK_STR(waiting(&alice), "");
	CHECK(link_delete(&app, name_of(&alice), "user") == LINK_OK);
	CHECK(access(app.cfg.store_dir, F_OK) == 0);
	r = stored(&alice);
	CHECK(r.meta.status == 0); /* no record at all */
	record_free(&r);
	app.cfg.events_types.n = 0;
}

static void
an_unreadable_record_is_deleted_all_the_same(void)
{
	struct buf raw;
	struct record r;

	/* Whose it was is unknown, so no event can name it: removed. */
	fresh();
	CHECK(store_save(app.store, name_of(&alice), "garbage", 7) == STORE_OK);
	CHECK(link_delete(&app, name_of(&alice), "user") == LINK_OK);
	buf_init(&raw, 1024);
	CHECK(store_load(app.store, name_of(&alice), &raw) == STORE_NOTFOUND);
	buf_free(&raw);
	r = stored(&alice);
	CHECK(r.meta.status == 0);
	record_free(&r);
}

static void
a_link_that_cannot_be_written_is_an_error(void)
{
	char path[256];
	const char *name;

	/* A directory where the record goes: the save fails, and the
	 * caller hears so (the user sees an error, not "connected"). */
	fresh();
	name = name_of(&alice);
	snprintf(path, sizeof(path), "%s/%.2s", app.cfg.store_dir, name);
	CHECK(mkdir(path, 0700) == 0);
	snprintf(path, sizeof(path), "%s/%.2s/%s", app.cfg.store_dir, name,
		 name);
	CHECK(mkdir(path, 0700) == 0);
	{
		static char at_[] = "at-x", rt[] = "rt-x", bearer[] = "Bearer";
		struct oauth_tokens t = { at_, rt, bearer, NULL, 3600 };

		CHECK(link_create(&app, &alice, NULL, &t, NOW) ==
		      LINK_STORE_ERROR);
	}
	CHECK(rmdir(path) == 0);
}

static void
links_whose_events_waited_longest_go_first(void)
{
	char older[RECORD_NAME_LEN + 1], newer[RECORD_NAME_LEN + 1];
	const struct owner *o_old = &alice, *o_new = &browser;
	struct outbox_result res;

	/* The older link's name sorts last: only its age puts it first. */
	fresh();
	snprintf(older, sizeof(older), "%s", name_of(&alice));
	snprintf(newer, sizeof(newer), "%s", name_of(&browser));
	if (strcmp(older, newer) < 0) {
		o_old = &browser;
		o_new = &alice;
		snprintf(older, sizeof(older), "%s", name_of(o_old));
		snprintf(newer, sizeof(newer), "%s", name_of(o_new));
	}
	CHECK(strcmp(older, newer) > 0);
	make_link(o_new, NOW, 3600);
	make_link(o_old, NOW - 100, 3600);
	CHECK(outbox_deliver(&app, NOW, 0, &res) == 0);
	CHECK(res.sent == 2 && http_stub_events == 2);
	CHECK(strstr(http_stub_body, newer) != NULL);
}

static void
a_store_that_cannot_be_listed_delivers_nothing(void)
{
	struct outbox_result res;

	fresh();
	make_link(&alice, NOW, 3600);
	CHECK(chmod(app.cfg.store_dir, 0755) == 0);
	CHECK(outbox_deliver(&app, NOW, 0, &res) == -1);
	CHECK(http_stub_events == 0 && res.sent == 0);
	CHECK(chmod(app.cfg.store_dir, 0700) == 0);
	/* Nothing was lost: it goes once the store is back. */
	CHECK(outbox_deliver(&app, NOW, 0, &res) == 0);
	CHECK(res.sent == 1 && http_stub_events == 1);
}

int
main(void)
{
	const char *why;
	int fd, rc;

	if (mkdtemp(top) == NULL)
		return 1;
	fd = open("/dev/null", O_WRONLY);
	if (fd != -1) {
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	owner_user(&app.cfg, "alice@example.com", &alice, &why);
	owner_browser("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &browser);
	RUN(a_new_link_carries_its_created_event);
	RUN(linking_again_while_linked_says_reconnected);
	RUN(a_new_session_over_a_tombstone_deletes_nothing_twice);
	RUN(with_nothing_to_say_a_deletion_leaves_no_tombstone);
	RUN(an_unreadable_record_is_deleted_all_the_same);
	RUN(a_link_that_cannot_be_written_is_an_error);
	RUN(a_browsers_session_id_is_never_in_an_event);
	RUN(nothing_is_queued_when_events_are_off_or_not_asked_for);
	RUN(a_deleted_link_leaves_a_tombstone_with_its_events_in_order);
	RUN(refresh_failures_recovery_and_reconnect);
	RUN(gc_and_a_new_session_leave_tombstones_too);
	RUN(signed_as_the_readme_says);
	RUN(links_whose_events_waited_longest_go_first);
	RUN(a_store_that_cannot_be_listed_delivers_nothing);
	RUN(a_failed_event_holds_back_the_next_of_its_link);
	RUN(retries_double_then_give_up_after_retry_for);
	RUN(the_receiver_down_ends_the_run_and_undeliverable_ones_are_kept);
	RUN(an_outbox_holds_at_most_its_max);
	RUN(each_way_a_delivery_fails);
	RUN(server_errors_in_a_row_end_the_run);
	RUN(a_tombstone_of_given_up_events_goes_after_max_idle_days);
	RUN(an_unreadable_outbox_is_no_event);
	RUN(given_up_events_kept_are_at_most_their_max);
	RUN(a_worker_hands_due_events_to_a_detached_deliverer);
	RUN(without_the_state_dir_the_timer_still_delivers);
	shared_close(&app.outbox);
	store_close(app.store);
	http_free(app.http);
	rc = DONE();
	unit_rmtree(top);
	return rc;
}
