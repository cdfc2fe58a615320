/* policy.c: return_to, same-origin posts, bearer keys. */
#include "policy.h"

#include <stdlib.h>

#include "unit.h"

static struct config cfg;
static struct request req;
static char home[] = "/", account[] = "/account", settings[] = "/settings/";
static char redirect[] = "https://app.example.com/insuresign/callback";

static void
setup(void)
{
	static char *allowed[] = { account, settings };

	cfg.return_to = home;
	cfg.return_to_allowed.v = allowed;
	cfg.return_to_allowed.n = 2;
	cfg.redirect_uri = redirect;
}

static void
local_path_is_one_rule(void)
{
	CHECK(policy_local_path("/"));
	CHECK(policy_local_path("/account"));
	CHECK(policy_local_path("/a-b_c~d.e/f"));
	CHECK(policy_local_path("/account?tab=1&x=a%20b"));
	CHECK(!policy_local_path(""));
	CHECK(!policy_local_path("account"));
	CHECK(!policy_local_path("//evil"));
	CHECK(!policy_local_path("/\\evil"));
	CHECK(!policy_local_path("/a/../b"));
	CHECK(!policy_local_path("/a/./b"));
	CHECK(!policy_local_path("/a/%2e%2e/b"));
	CHECK(!policy_local_path("/a b"));
	CHECK(!policy_local_path("/a#b"));
	CHECK(!policy_local_path("/a?x=\"><script>"));
	CHECK(!policy_local_path("/a?x='y"));
	CHECK(!policy_local_path("/a?x=1 2"));
	CHECK(!policy_local_path("https://evil"));
}

static void
local_path_has_a_length_cap(void)
{
	char p[LOCAL_PATH_MAX + 2];

	memset(p, 'a', sizeof(p));
	p[0] = '/';
	p[LOCAL_PATH_MAX] = '\0';
	CHECK(policy_local_path(p));
	p[LOCAL_PATH_MAX] = 'a';
	p[LOCAL_PATH_MAX + 1] = '\0';
	CHECK(!policy_local_path(p));
}

static void
return_to_accepts_paths_under_the_list(void)
{
	CHECK(policy_return_to(&cfg, "/account"));
	CHECK(policy_return_to(&cfg, "/account/x"));
	CHECK(policy_return_to(&cfg, "/account?tab=1"));
	CHECK(policy_return_to(&cfg, "/settings/profile"));
	CHECK(policy_return_to(&cfg, "/")); /* [app] return_to itself */
}

static void
return_to_refuses_everything_else(void)
{
	CHECK(!policy_return_to(&cfg, "/accountant"));
	CHECK(!policy_return_to(&cfg, "//evil"));
	CHECK(!policy_return_to(&cfg, "/\\evil"));
	CHECK(!policy_return_to(&cfg, "/account/../admin"));
	CHECK(!policy_return_to(&cfg, "/account/%2e%2e/admin"));
	CHECK(!policy_return_to(&cfg, "https://evil"));
	CHECK(!policy_return_to(&cfg, "/account\"><script>"));
	CHECK(!policy_return_to(&cfg, "/account?x=\"><script>"));
	CHECK(!policy_return_to(&cfg, "/admin"));
	CHECK(!policy_return_to(&cfg, ""));
}

static void
return_url_starts_or_extends_the_query(void)
{
	char out[128];

	policy_return_url("/account", "connected", out, sizeof(out));
	CHECK_STR(out, "/account?insuresign=connected");
	policy_return_url("/account?tab=1", "connected", out, sizeof(out));
	CHECK_STR(out, "/account?tab=1&insuresign=connected");
}

static void
same_origin_by_origin_host_or_redirect_uri(void)
{
	memset(&req, 0, sizeof(req));
	CHECK(policy_same_origin(&cfg, &req)); /* no Origin: not a browser */
	req.host = "app.example.com";
	req.https = 1;
	req.origin = "https://app.example.com";
	CHECK(policy_same_origin(&cfg, &req));
	req.https = 0;
	req.host = "10.0.0.5"; /* behind a proxy: redirect_uri's origin */
	CHECK(policy_same_origin(&cfg, &req));
	req.origin = "https://app.example.com.evil";
	CHECK(!policy_same_origin(&cfg, &req));
	req.origin = "https://evil.example";
	CHECK(!policy_same_origin(&cfg, &req));
}

static void
origin_null_needs_fetch_site_same_origin(void)
{
	memset(&req, 0, sizeof(req));
	req.origin = "null";
	CHECK(!policy_same_origin(&cfg, &req));
	req.fetch_site = "cross-site";
	CHECK(!policy_same_origin(&cfg, &req));
	req.fetch_site = "same-origin";
	CHECK(policy_same_origin(&cfg, &req));
}

static void
came_from_fetch_metadata_first_then_referer(void)
{
	memset(&req, 0, sizeof(req));
	req.host = "app.example.com";
	req.https = 1;
	CHECK(policy_came_from(&cfg, &req) == FROM_UNKNOWN);
	req.fetch_site = "none"; /* typed, or a bookmark */
	CHECK(policy_came_from(&cfg, &req) == FROM_HERE);
	req.fetch_site = "same-origin";
	CHECK(policy_came_from(&cfg, &req) == FROM_HERE);
	req.referer = "https://evil.example/"; /* Fetch Metadata wins */
	CHECK(policy_came_from(&cfg, &req) == FROM_HERE);
	req.fetch_site = "same-site";
	CHECK(policy_came_from(&cfg, &req) == FROM_ELSEWHERE);
	req.fetch_site = "cross-site";
	CHECK(policy_came_from(&cfg, &req) == FROM_ELSEWHERE);
	req.fetch_site = NULL;
	CHECK(policy_came_from(&cfg, &req) == FROM_ELSEWHERE);
	req.referer = "https://app.example.com/account?tab=1";
	CHECK(policy_came_from(&cfg, &req) == FROM_HERE);
	req.referer = "https://app.example.com";
	CHECK(policy_came_from(&cfg, &req) == FROM_HERE);
	req.referer = "https://app.example.com.evil/account";
	CHECK(policy_came_from(&cfg, &req) == FROM_ELSEWHERE);
	req.referer = "http://app.example.com/account"; /* another scheme */
	CHECK(policy_came_from(&cfg, &req) == FROM_ELSEWHERE);
}

static void
bearer_compares_the_whole_key(void)
{
	memset(&req, 0, sizeof(req));
	CHECK(!policy_bearer(&req, "k0123"));
	req.bearer = "k0123";
	CHECK(policy_bearer(&req, "k0123"));
	CHECK(!policy_bearer(&req, "k012"));
	CHECK(!policy_bearer(&req, "k01234"));
	CHECK(!policy_bearer(&req, NULL)); /* the key is off */
}

static void
admin_is_a_listed_user_or_the_admin_key(void)
{
	static char alice[] = "alice";
	static char *users[] = { alice };
	char who[64];

	memset(&req, 0, sizeof(req));
	cfg.admin_users.v = users;
	cfg.admin_users.n = 1;
	CHECK(!policy_admin(&cfg, &req, "k0123", who, sizeof(who)));
	req.remote_user = "bob";
	CHECK(!policy_admin(&cfg, &req, "k0123", who, sizeof(who)));
	req.remote_user = "alice";
	CHECK(policy_admin(&cfg, &req, NULL, who, sizeof(who)));
	CHECK_STR(who, "alice");
	req.remote_user = NULL;
	req.bearer = "k0123";
	CHECK(policy_admin(&cfg, &req, "k0123", who, sizeof(who)));
	CHECK_STR(who, "bearer-key");
	CHECK(!policy_admin(&cfg, &req, NULL, who, sizeof(who)));
	cfg.admin_users.n = 0;
}

static void
addresses_and_networks(void)
{
	static char a1[] = "192.0.2.7", a2[] = "10.0.0.0/8",
		    a3[] = "2001:db8::/32", a4[] = "198.51.100.0/25",
		    a5[] = "::1";
	static char *items[] = { a1, a2, a3, a4, a5 };
	struct strlist l = { items, 5 };

	CHECK(policy_address_in(&l, "192.0.2.7"));
	CHECK(policy_address_in(&l, "::ffff:192.0.2.7")); /* the same one */
	CHECK(!policy_address_in(&l, "192.0.2.8"));
	CHECK(policy_address_in(&l, "10.255.1.2"));
	CHECK(!policy_address_in(&l, "11.0.0.1"));
	CHECK(policy_address_in(&l, "2001:db8:ffff::1"));
	CHECK(!policy_address_in(&l, "2001:db9::1"));
	CHECK(policy_address_in(&l, "198.51.100.127"));
	CHECK(!policy_address_in(&l, "198.51.100.128")); /* past the /25 */
	CHECK(policy_address_in(&l, "::1"));
	CHECK(!policy_address_in(&l, "::2"));
	CHECK(!policy_address_in(&l, ""));
	CHECK(!policy_address_in(&l, "not an address"));
	CHECK(policy_network_valid("0.0.0.0/0"));
	CHECK(policy_network_valid("::/0"));
	CHECK(policy_network_valid("2001:db8::1/128"));
	CHECK(!policy_network_valid("10.0.0.0/33"));
	CHECK(!policy_network_valid("10.0.0.0/"));
	CHECK(!policy_network_valid("10.0.0.0/8x"));
	CHECK(!policy_network_valid("2001:db8::/129"));
	CHECK(!policy_network_valid("example.com"));
	CHECK(!policy_network_valid(
		"1111:2222:3333:4444:5555:6666:7777:8888:9999:0000:1111:2222"
		"/64"));
}

int
main(void)
{
	setup();
	RUN(local_path_is_one_rule);
	RUN(local_path_has_a_length_cap);
	RUN(return_to_accepts_paths_under_the_list);
	RUN(return_to_refuses_everything_else);
	RUN(return_url_starts_or_extends_the_query);
	RUN(same_origin_by_origin_host_or_redirect_uri);
	RUN(origin_null_needs_fetch_site_same_origin);
	RUN(came_from_fetch_metadata_first_then_referer);
	RUN(bearer_compares_the_whole_key);
	RUN(admin_is_a_listed_user_or_the_admin_key);
	RUN(addresses_and_networks);
	return DONE();
}
