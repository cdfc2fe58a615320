/*
 * Unit tests for link.c: when a token is due, and the paths of a link's
 * life that need no token endpoint (app.http stays NULL: no network).
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "link.h"
#include "session.h"
#include "unit.h"

#define SID  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define SID2 "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
#define NOW  1800000000LL

static char top[] = "/tmp/isc-unit-XXXXXX";
static struct app app;

static struct record_meta
meta(int status, long long expires_at)
{
	struct record_meta m;

	memset(&m, 0, sizeof(m));
	m.status = status;
	m.expires_at = expires_at;
	return m;
}

static void
due_within_the_margin(void)
{
	struct record_meta m = meta(RECORD_CONNECTED, 1000);

	CHECK(link_due(&m, 940, 60));
	CHECK(link_due(&m, 999, 60));
}

static void
not_due_before_the_margin(void)
{
	struct record_meta m = meta(RECORD_CONNECTED, 1000);

	CHECK(!link_due(&m, 939, 60));
	CHECK(!link_due(&m, 0, 60));
}

static void
due_when_already_expired(void)
{
	struct record_meta m = meta(RECORD_CONNECTED, 1000);

	CHECK(link_due(&m, 1000, 60));
	CHECK(link_due(&m, 5000, 60));
}

static void
never_due_when_it_needs_reconnect(void)
{
	struct record_meta m = meta(RECORD_NEEDS_RECONNECT, 1000);

	/* No refresh token is left to refresh with. */
	CHECK(!link_due(&m, 940, 60));
	CHECK(!link_due(&m, 5000, 60));
}

static void
margin_zero_is_due_at_expiry_exactly(void)
{
	struct record_meta m = meta(RECORD_CONNECTED, 1000);

	CHECK(!link_due(&m, 999, 0));
	CHECK(link_due(&m, 1000, 0));
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static void
quiet(void)
{
	int fd = open("/dev/null", O_WRONLY);

	/* Audit lines go to stderr; the TAP output stays readable. */
	if (fd != -1) {
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
}

/* An app with a fresh store in top/store and one fixed key. */
static void
fresh(void)
{
	static char dir[64];
	struct key *k = &app.keys.keys[0];

	store_close(app.store);
	memset(&app, 0, sizeof(app));
	snprintf(dir, sizeof(dir), "%s/store", top);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	if (mkdir(dir, 0700) == -1)
		abort();
	app.cfg.store_dir = dir;
	app.cfg.refresh_margin = 60;
	app.cfg.refresh_backoff = 30;
	memcpy(k->id, "K001", KEY_ID_LEN);
	memset(k->name, 1, KEY_LEN);
	memset(k->record, 2, KEY_LEN);
	memset(k->cookie, 3, KEY_LEN);
	memset(k->csrf, 4, KEY_LEN);
	app.keys.n = 1;
	app.store = store_open(&app.cfg);
	if (app.store == NULL)
		abort();
}

static char at[] = "at-0123456789", rt[] = "rt-0123456789";
static char bearer[] = "Bearer";

static enum link_rc
create(const char *sid, const char *old_sid, char *refresh, long long ttl)
{
	struct oauth_tokens t;

	memset(&t, 0, sizeof(t));
	t.access_token = at;
	t.refresh_token = refresh;
	t.token_type = bearer;
	t.expires_in = ttl;
	return link_create(&app, sid, old_sid, &t, NOW);
}

/* Rewrites the stored record of SID through f, as another worker might. */
static int
rewrite(void (*f)(struct record *))
{
	char name[RECORD_NAME_LEN + 1];
	struct record r;
	struct buf b;
	int rc;

	if (link_get(&app, SID, name, &r) != LINK_OK)
		return -1;
	f(&r);
	buf_init(&b, RECORD_MAX);
	rc = -1;
	if (record_seal(&app.keys, name, &r, &b) == 0 &&
	    store_save(app.store, name, b.data, b.len) == STORE_OK)
		rc = 0;
	buf_free(&b);
	record_free(&r);
	return rc;
}

static void
create_then_token_gives_the_access_token(void)
{
	enum refresh_error why;
	struct record r;

	fresh();
	CHECK(create(SID, NULL, rt, 3600) == LINK_OK);
	CHECK(link_token(&app, SID, NOW + 60, &r, &why) == LINK_OK);
	CHECK_STR(r.access_token, at);
	CHECK_STR(r.refresh_token, rt);
	CHECK(r.meta.expires_at == NOW + 3600);
	CHECK(r.meta.status == RECORD_CONNECTED);
	record_free(&r);
}

static void
token_for_an_unknown_session_is_none(void)
{
	enum refresh_error why;
	struct record r;

	fresh();
	CHECK(create(SID, NULL, rt, 3600) == LINK_OK);
	CHECK(link_token(&app, SID2, NOW, &r, &why) == LINK_NONE);
}

static void
record_is_named_by_the_hmac_of_the_session(void)
{
	char name[RECORD_NAME_LEN + 1], want[RECORD_NAME_LEN + 1];
	struct record r;

	fresh();
	CHECK(create(SID, NULL, rt, 3600) == LINK_OK);
	CHECK(link_get(&app, SID, name, &r) == LINK_OK);
	session_record_name(&app.keys.keys[0], SID, want);
	CHECK_STR(name, want);
	CHECK(strstr(name, "AAAA") == NULL);
	record_free(&r);
}

static void
create_removes_the_old_sessions_record(void)
{
	char name[RECORD_NAME_LEN + 1];
	struct record r;

	/* The id rotates when a link is made (session fixation). */
	fresh();
	CHECK(create(SID, NULL, rt, 3600) == LINK_OK);
	CHECK(create(SID2, SID, rt, 3600) == LINK_OK);
	CHECK(link_get(&app, SID, name, &r) == LINK_NONE);
	CHECK(link_get(&app, SID2, name, &r) == LINK_OK);
	record_free(&r);
}

static void
due_without_refresh_token_needs_reconnect(void)
{
	char name[RECORD_NAME_LEN + 1];
	enum refresh_error why;
	struct record r;

	fresh();
	CHECK(create(SID, NULL, NULL, 30) == LINK_OK);
	CHECK(link_token(&app, SID, NOW, &r, &why) == LINK_RECONNECT);
	CHECK(link_get(&app, SID, name, &r) == LINK_OK);
	CHECK(r.meta.status == RECORD_NEEDS_RECONNECT);
	record_free(&r);
	CHECK(link_token(&app, SID, NOW, &r, &why) == LINK_RECONNECT);
}

static void
backoff(struct record *r)
{
	r->meta.expires_at = NOW + 30;
	r->meta.backoff_until = NOW + 20;
	r->meta.last_error = REFRESH_SERVER_ERROR;
}

static void
create_removes_the_old_record_under_its_lock(void)
{
	char name[RECORD_NAME_LEN + 1], c;
	struct store_lock l;
	struct record r;
	int up[2];
	pid_t pid;

	/* A refresh in flight for the old id (another worker) holds its lock
	 * and writes the record back as it finishes: the delete must wait
	 * for it, or the rotated-away id would reach the tokens again. */
	fresh();
	CHECK(create(SID, NULL, rt, 3600) == LINK_OK);
	session_record_name(&app.keys.keys[0], SID, name);
	CHECK(pipe(up) == 0);
	pid = fork();
	if (pid == 0) {
		struct timespec t = { 0, 200 * 1000 * 1000 };
		struct buf b;

		/* As refresh() does: lock, read, (talk to InsureSign), save. */
		buf_init(&b, RECORD_MAX);
		if (store_lock(app.store, name, &l) != STORE_OK ||
		    link_get(&app, SID, name, &r) != LINK_OK ||
		    write(up[1], "L", 1) != 1)
			_exit(1);
		nanosleep(&t, NULL);
		_exit(record_seal(&app.keys, name, &r, &b) == 0 &&
				      store_save(app.store, name, b.data,
						 b.len) == STORE_OK
			      ? 0
			      : 1);
	}
	CHECK(read(up[0], &c, 1) == 1);
	CHECK(create(SID2, SID, rt, 3600) == LINK_OK);
	CHECK(waitpid(pid, NULL, 0) == pid);
	CHECK(link_get(&app, SID, name, &r) == LINK_NONE);
	close(up[0]);
	close(up[1]);
}

static void
token_in_backoff_is_still_handed_out_until_it_expires(void)
{
	enum refresh_error why;
	struct record r;

	/* A failed refresh must not take a still-valid token away. */
	fresh();
	CHECK(create(SID, NULL, rt, 3600) == LINK_OK);
	CHECK(rewrite(backoff) == 0);
	CHECK(link_token(&app, SID, NOW, &r, &why) == LINK_OK);
	CHECK_STR(r.access_token, at);
	record_free(&r);
}

static void
backoff_expired(struct record *r)
{
	r->meta.expires_at = NOW - 1;
	r->meta.backoff_until = NOW + 20;
	r->meta.last_error = REFRESH_SERVER_ERROR;
}

static void
expired_token_in_backoff_is_unavailable(void)
{
	enum refresh_error why;
	struct record r;

	fresh();
	CHECK(create(SID, NULL, rt, 3600) == LINK_OK);
	CHECK(rewrite(backoff_expired) == 0);
	CHECK(link_token(&app, SID, NOW, &r, &why) == LINK_UNAVAILABLE);
	CHECK(why == REFRESH_SERVER_ERROR);
	CHECK(r.access_token == NULL);
}

static void
delete_removes_the_link(void)
{
	char name[RECORD_NAME_LEN + 1];
	struct record r;

	fresh();
	CHECK(create(SID, NULL, rt, 3600) == LINK_OK);
	CHECK(link_get(&app, SID, name, &r) == LINK_OK);
	record_free(&r);
	CHECK(link_delete(&app, name, "test") == LINK_OK);
	CHECK(link_get(&app, SID, name, &r) == LINK_NONE);
}

int
main(void)
{
	int rc;

	if (mkdtemp(top) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	quiet();
	RUN(due_within_the_margin);
	RUN(not_due_before_the_margin);
	RUN(due_when_already_expired);
	RUN(never_due_when_it_needs_reconnect);
	RUN(margin_zero_is_due_at_expiry_exactly);
	RUN(create_then_token_gives_the_access_token);
	RUN(token_for_an_unknown_session_is_none);
	RUN(record_is_named_by_the_hmac_of_the_session);
	RUN(create_removes_the_old_sessions_record);
	RUN(create_removes_the_old_record_under_its_lock);
	RUN(due_without_refresh_token_needs_reconnect);
	RUN(token_in_backoff_is_still_handed_out_until_it_expires);
	RUN(expired_token_in_backoff_is_unavailable);
	RUN(delete_removes_the_link);
	store_close(app.store);
	rc = DONE();
	nftw(top, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return rc;
}
