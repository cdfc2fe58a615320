/* Unit tests for session.c (the CSRF tokens and their window) and
 * ticket.c (connect tickets). */
#include <string.h>

#include "pending.h"
#include "session.h"
#include "ticket.h"
#include "testkeys.h"
#include "unit.h"

/* The start of an hour, and ten seconds into it. */
#define HOUR (1700000000LL / TOKEN_WINDOW * TOKEN_WINDOW)
#define T0   (HOUR + 10)

static int
ok_at(const struct keyring *kr, const char *who, long long now,
      const char *token)
{
	return session_token_ok(kr, "admin", who, now, token);
}

static void
admin_csrf_holds_for_its_hour_and_the_next(void)
{
	char token[CSRF_LEN + 1];
	struct keyring kr;

	test_keyring(&kr, 1);
	session_token(&kr.keys[0], "admin", "alice", T0, token);
	CHECK(strlen(token) == CSRF_LEN);
	CHECK(ok_at(&kr, "alice", T0, token));
	CHECK(ok_at(&kr, "alice", HOUR + TOKEN_WINDOW - 1, token));
	/* A page loaded just before the hour turned still posts. */
	CHECK(ok_at(&kr, "alice", HOUR + TOKEN_WINDOW, token));
	CHECK(ok_at(&kr, "alice", HOUR + 2 * TOKEN_WINDOW - 1, token));
}

static void
admin_csrf_is_refused_once_two_hours_have_turned(void)
{
	char token[CSRF_LEN + 1];
	struct keyring kr;

	test_keyring(&kr, 1);
	session_token(&kr.keys[0], "admin", "alice", T0, token);
	CHECK(!ok_at(&kr, "alice", HOUR + 2 * TOKEN_WINDOW, token));
	CHECK(!ok_at(&kr, "alice", T0 + 365LL * 86400, token));
	/* Nor before it was made: no token for a later hour works now. */
	CHECK(!ok_at(&kr, "alice", HOUR - 1, token));
}

static void
the_old_token_that_never_expired_is_refused(void)
{
	char token[CSRF_LEN + 1];
	struct keyring kr;

	/* Until now the admin token was HMAC("admin:" + user), forever. */
	test_keyring(&kr, 1);
	session_csrf(&kr.keys[0], "admin:alice", token);
	CHECK(!ok_at(&kr, "alice", T0, token));
}

static void
admin_csrf_is_one_users(void)
{
	char token[CSRF_LEN + 1];
	struct keyring kr;

	test_keyring(&kr, 1);
	session_token(&kr.keys[0], "admin", "alice", T0, token);
	CHECK(!ok_at(&kr, "bob", T0, token));
	CHECK(!ok_at(&kr, "alic", T0, token));
	/* The window comes first, so no user name can borrow another hour:
	 * "admin:W:alice" is never user "W:alice"'s token for an hour. */
	CHECK(!ok_at(&kr, "0:alice", T0, token));
}

static void
admin_csrf_survives_a_key_rotation(void)
{
	static const unsigned char rotated[] = { 9, 0 }, gone[] = { 9 };
	char token[CSRF_LEN + 1];
	struct keyring kr;
	struct key k;

	/* Made under key 0, which is now the old key, then no key at all. */
	test_key(&k, 0);
	session_token(&k, "admin", "alice", T0, token);
	test_keyring_of(&kr, rotated, 2);
	CHECK(ok_at(&kr, "alice", T0, token));
	test_keyring_of(&kr, gone, 1);
	CHECK(!ok_at(&kr, "alice", T0, token));
}

static void
no_session_or_a_token_cut_short_never_passes(void)
{
	char token[CSRF_LEN + 1];
	struct keyring kr;

	/* With no session id, the token would be the same for everyone. */
	test_keyring(&kr, 1);
	session_csrf(&kr.keys[0], "", token);
	CHECK(!session_csrf_ok(&kr, "", token));
	session_csrf(&kr.keys[0], "sid-1", token);
	CHECK(session_csrf_ok(&kr, "sid-1", token));
	token[CSRF_LEN - 1] = '\0';
	CHECK(!session_csrf_ok(&kr, "sid-1", token));
}

static void
a_ticket_opens_once_issued_and_only_for_what_fits(void)
{
	char longer[USER_ID_MAX + 2];
	struct ticket t, got;
	struct keyring kr;
	struct buf b;

	test_keyring(&kr, 1);
	buf_init(&b, TICKET_MAX);
	CHECK(ticket_issue(&kr.keys[0], "amy@example.com", "/app", T0, &t,
			   &b) == 0);
	CHECK(ticket_open(&kr, buf_str(&b), T0 + 10, &got) == 0);
	CHECK_STR(got.user, "amy@example.com");
	CHECK_STR(got.return_to, "/app");
	CHECK(ticket_open(&kr, buf_str(&b), T0 + TICKET_TTL + 1, &got) == -1);
	CHECK(ticket_open(&kr, "not base64url!", T0, &got) == -1);
	/* What a ticket cannot carry whole is never issued cut short. */
	memset(longer, 'u', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	b.len = 0;
	CHECK(ticket_issue(&kr.keys[0], longer, "/app", T0, &t, &b) == -1);
	CHECK(ticket_issue(&kr.keys[0], "amy", longer, T0, &t, &b) == -1);
	CHECK(b.len == 0);
	buf_free(&b);
}

/* Tickets and the pending cookie are sealed the same way, under the same
 * subkey (keyring_seal): only their AEAD data tells them apart, and it
 * must. */
static void
a_ticket_is_never_a_pending_cookie_nor_the_reverse(void)
{
	struct pending_set set = { .n = 0 }, got_set;
	struct ticket t, got;
	struct pending p;
	struct keyring kr;
	struct buf tk, pc;

	test_keyring(&kr, 1);
	buf_init(&tk, TICKET_MAX);
	buf_init(&pc, 8192);
	CHECK(ticket_issue(&kr.keys[0], "amy", "/app", T0, &t, &tk) == 0);
	CHECK(pending_new(&p, "/app", "amy", T0) == 0);
	pending_add(&set, &p, T0);
	CHECK(pending_seal(&kr.keys[0], "sid", &set, &pc) == 0);
	CHECK(pending_unseal(&kr, "sid", buf_str(&pc), &got_set) == 0);
	CHECK(ticket_open(&kr, buf_str(&tk), T0, &got) == 0);
	CHECK(ticket_open(&kr, buf_str(&pc), T0, &got) == -1);
	CHECK(pending_unseal(&kr, "sid", buf_str(&tk), &got_set) == -1);
	CHECK(pending_unseal(&kr, "", buf_str(&tk), &got_set) == -1);
	CHECK(got_set.n == 0);
	buf_free(&tk);
	buf_free(&pc);
}

int
main(void)
{
	RUN(admin_csrf_holds_for_its_hour_and_the_next);
	RUN(admin_csrf_is_refused_once_two_hours_have_turned);
	RUN(the_old_token_that_never_expired_is_refused);
	RUN(admin_csrf_is_one_users);
	RUN(admin_csrf_survives_a_key_rotation);
	RUN(no_session_or_a_token_cut_short_never_passes);
	RUN(a_ticket_opens_once_issued_and_only_for_what_fits);
	RUN(a_ticket_is_never_a_pending_cookie_nor_the_reverse);
	return DONE();
}
