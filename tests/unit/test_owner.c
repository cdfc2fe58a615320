/* owner.c: user ids, and the names of the records they own. */
#include "owner.h"

#include "codec.h"
#include "crypto.h"
#include "testkeys.h"
#include "unit.h"

static struct config cfg;

static int
valid(const char *id)
{
	struct owner o;
	const char *why;

	return owner_user(&cfg, id, &o, &why) == 0;
}

static void
user_ids_are_utf8_without_control_characters(void)
{
	char max[USER_ID_MAX + 2];

	CHECK(valid("alice"));
	CHECK(valid("alice@example.com"));
	CHECK(valid("42"));
	CHECK(valid("8f14e45f-ceea-467f-a0e7-bd3b3d7a2f5e"));
	CHECK(valid("J\xc3\xbcrgen M\xc3\xbcller")); /* Jürgen Müller */
	CHECK(valid("\xe7\x94\xb0\xe4\xb8\xad"));    /* 田中 */
	CHECK(valid("\xf0\x9f\x98\x80"));	     /* U+1F600 */
	CHECK(valid("a b/c:d"));
	memset(max, 'x', USER_ID_MAX);
	max[USER_ID_MAX] = '\0';
	CHECK(valid(max));
	max[USER_ID_MAX] = 'x';
	max[USER_ID_MAX + 1] = '\0';
	CHECK(!valid(max));
	CHECK(!valid(""));
	CHECK(!valid("a\tb"));
	CHECK(!valid("a\nb"));
	CHECK(!valid("a\x7f"));
	CHECK(!valid("\xc2\x85"));	   /* U+0085, a C1 control */
	CHECK(!valid("\xc0\xaf"));	   /* overlong "/" */
	CHECK(!valid("\xe0\x80\xaf"));	   /* overlong, three bytes */
	CHECK(!valid("\xed\xa0\x80"));	   /* a surrogate */
	CHECK(!valid("\xf4\x90\x80\x80")); /* past U+10FFFF */
	CHECK(!valid("\xff"));
	CHECK(!valid("\xc3"));	   /* cut short */
	CHECK(!valid("\xc3\x28")); /* bad continuation */
}

static void
a_refusal_names_the_rule(void)
{
	struct owner o;
	const char *why = NULL;

	CHECK(owner_user(&cfg, "a\tb", &o, &why) == -1);
	CHECK(why != NULL && strstr(why, "1 to 255 bytes") != NULL);
	CHECK(owner_user(&cfg, "ok", &o, &why) == 0 && why == NULL);
}

static void
case_is_kept_unless_the_operator_folds_it(void)
{
	struct owner a, b;
	const char *why;

	CHECK(owner_user(&cfg, "Alice", &a, &why) == 0);
	CHECK(owner_user(&cfg, "alice", &b, &why) == 0);
	CHECK(strcmp(a.id, b.id) != 0);
	cfg.ignore_case = 1;
	CHECK(owner_user(&cfg, "ALICE@Example.COM", &a, &why) == 0);
	CHECK_STR(a.id, "alice@example.com");
	/* Only ASCII letters fold: "Ü" stays as it is. */
	CHECK(owner_user(&cfg, "\xc3\x9c", &a, &why) == 0);
	CHECK_STR(a.id, "\xc3\x9c");
	cfg.ignore_case = 0;
}

static void
record_names_keep_browsers_and_users_apart(void)
{
	char n1[65], n2[65], n3[65];
	unsigned char mac[SHA256_LEN];
	struct owner o;
	struct key k;
	const char *why;

	test_key(&k, 0);
	/* A browser's record keeps the name it had before owners existed:
	 * the HMAC of the session id alone. */
	owner_browser("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &o);
	owner_record_name(&k, &o, n1);
	crypto_hmac(k.name, KEY_LEN, o.id, strlen(o.id), mac);
	hex_encode(mac, sizeof(mac), n2);
	CHECK_STR(n1, n2);
	/* The same text as a user id is another record. */
	CHECK(owner_user(&cfg, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
			 &o, &why) == 0);
	owner_record_name(&k, &o, n3);
	CHECK(strcmp(n1, n3) != 0);
	CHECK(strlen(n3) == 64 && strstr(n3, "AAAA") == NULL);
	CHECK_STR(owner_kind_name(OWNER_USER), "user");
	CHECK_STR(owner_kind_name(OWNER_BROWSER), "browser");
}

int
main(void)
{
	RUN(user_ids_are_utf8_without_control_characters);
	RUN(a_refusal_names_the_rule);
	RUN(case_is_kept_unless_the_operator_folds_it);
	RUN(record_names_keep_browsers_and_users_apart);
	return DONE();
}
