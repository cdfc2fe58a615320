/* Unit tests for session.c: the admin pages' CSRF token and its window. */
#include <string.h>

#include "session.h"
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

int
main(void)
{
	RUN(admin_csrf_holds_for_its_hour_and_the_next);
	RUN(admin_csrf_is_refused_once_two_hours_have_turned);
	RUN(the_old_token_that_never_expired_is_refused);
	RUN(admin_csrf_is_one_users);
	RUN(admin_csrf_survives_a_key_rotation);
	return DONE();
}
