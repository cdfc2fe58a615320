/* Unit tests for config.c: defaults, and an error naming every bad value. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "unit.h"

/* The smallest valid file; each test adds or swaps lines. */
#define ID     "[insuresign]\nclient_id = my-client\n"
#define SECRET "client_secret = s3cret\n"
#define REDIR  "redirect_uri = https://app.example/insuresign/callback\n"
#define GOOD   ID SECRET REDIR

static char dir[] = "/tmp/isc-unit-XXXXXX";
static char ini[64];
static char err[512];
static struct config cfg;

static int
write_file(const char *path, const char *text, mode_t mode)
{
	size_t n = strlen(text);
	int fd, rc;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd == -1)
		return -1;
	rc = write(fd, text, n) == (ssize_t)n ? 0 : -1;
	close(fd);
	return rc == 0 ? chmod(path, mode) : -1;
}

/* Writes text as the config file and loads it; err holds any message. */
static int
load(const char *text)
{
	config_free(&cfg);
	err[0] = '\0';
	if (write_file(ini, text, 0600) == -1)
		return -2;
	return config_load(&cfg, ini, err, sizeof(err));
}

/* Failed, with a message that names what (and, if given, the value). */
static int
refused(const char *text, const char *what, const char *value)
{
	int rc = load(text);

	if (rc != -1 || strstr(err, what) == NULL ||
	    (value != NULL && strstr(err, value) == NULL)) {
		printf("#   rc %d, err: %s\n", rc, err);
		return 0;
	}
	return 1;
}

static void
good_file_gets_the_defaults(void)
{
	CHECK(load(GOOD) == 0);
	CHECK_STR(cfg.client_id, "my-client");
	CHECK_STR(cfg.client_secret, "s3cret");
	CHECK_STR(cfg.base_path, "/insuresign");
	CHECK_STR(cfg.return_to, "/");
	CHECK(cfg.return_to_allowed.n == 1);
	CHECK_STR(cfg.return_to_allowed.v[0], "/");
	CHECK(cfg.pkce == 1);
	CHECK(cfg.connect_timeout == 5);
	CHECK(cfg.timeout == 20);
	CHECK(cfg.refresh_margin == 60);
	CHECK_STR(cfg.cookie_name, "insuresign_session");
	CHECK(cfg.secure == SECURE_AUTO);
	CHECK(cfg.scope == NULL && cfg.revocation_url == NULL);
}

static void
production_is_the_default_environment(void)
{
	CHECK(load(GOOD) == 0);
	CHECK(cfg.environment == ENV_PRODUCTION);
	CHECK_STR(cfg.authorize_url,
		  "https://sign-auth.insuresign.io/oauth2/authorize");
	CHECK_STR(cfg.token_url,
		  "https://sign-auth.insuresign.io/oauth2/token");
}

static void
legacy_and_lab_environments_pick_their_hosts(void)
{
	/* Credentials from before 2021-01-15 live on the legacy host. */
	CHECK(load(GOOD "environment = legacy\n") == 0);
	CHECK(cfg.environment == ENV_LEGACY);
	CHECK_STR(cfg.authorize_url,
		  "https://auth.insuresign.io/oauth2/authorize");
	CHECK_STR(cfg.token_url, "https://auth.insuresign.io/oauth2/token");
	CHECK(load(GOOD "environment = lab\n") == 0);
	CHECK(cfg.environment == ENV_LAB);
	CHECK_STR(cfg.authorize_url,
		  "https://lab-auth.insuresign.io/oauth2/authorize");
	CHECK_STR(cfg.token_url, "https://lab-auth.insuresign.io/oauth2/token");
}

static void
explicit_urls_override_the_environment(void)
{
	CHECK(load(GOOD "environment = lab\n"
			"authorize_url = https://idp.example/auth?x=1\n") == 0);
	CHECK_STR(cfg.authorize_url, "https://idp.example/auth?x=1");
	CHECK_STR(cfg.token_url, "https://lab-auth.insuresign.io/oauth2/token");
	CHECK(load(GOOD "token_url = https://idp.example/token\n") == 0);
	CHECK_STR(cfg.token_url, "https://idp.example/token");
}

static void
base_path_loses_its_final_slash(void)
{
	CHECK(load(GOOD "[app]\nbase_path = /x/\n") == 0);
	CHECK_STR(cfg.base_path, "/x");
	CHECK(load(GOOD "[app]\nbase_path = /\n") == 0);
	CHECK_STR(cfg.base_path, "");
}

static void
lists_are_split_and_trimmed(void)
{
	CHECK(load(GOOD "[app]\nreturn_to_allowed = /account , /settings/\n"
			"trusted_proxies = 10.0.0.1,::1\n") == 0);
	CHECK(cfg.return_to_allowed.n == 2);
	CHECK_STR(cfg.return_to_allowed.v[1], "/settings/");
	CHECK(cfg.trusted_proxies.n == 2);
	CHECK_STR(cfg.trusted_proxies.v[1], "::1");
}

static void
loopback_http_urls_are_accepted(void)
{
	/* RFC 8252 section 8.3: loopback needs no TLS (the mock server). */
	CHECK(load(GOOD "token_url = http://127.0.0.1:9/t\n") == 0);
	CHECK(load(GOOD "token_url = http://[::1]:9/t\n") == 0);
	CHECK_STR(cfg.token_url, "http://[::1]:9/t");
	CHECK(load(GOOD "token_url = http://localhost/t\n") == 0);
}

static void
missing_file_is_refused_with_the_reason(void)
{
	char path[128];

	/* The caller names the file; the message says what is wrong. */
	snprintf(path, sizeof(path), "%s/none.ini", dir);
	config_free(&cfg);
	CHECK(config_load(&cfg, path, err, sizeof(err)) == -1);
	CHECK(strstr(err, "cannot read") != NULL);
	CHECK(strstr(err, "No such file") != NULL);
}

static void
unknown_key_is_refused(void)
{
	CHECK(refused(GOOD "client_idd = x\n", "client_idd", NULL));
	CHECK(refused(GOOD "[http]\ntimeout_ms = 5\n", "timeout_ms", NULL));
}

static void
unknown_section_is_refused(void)
{
	CHECK(refused(GOOD "[bogus]\nx = 1\n", "unknown section [bogus]",
		      NULL));
	CHECK(refused(GOOD "[empty]\n", "empty", NULL));
}

static void
missing_client_id_is_refused(void)
{
	CHECK(refused("[insuresign]\n" SECRET REDIR, "client_id", "missing"));
	CHECK(refused("[insuresign]\nclient_id =\n" SECRET REDIR, "client_id",
		      "missing"));
}

static void
missing_redirect_uri_is_refused(void)
{
	CHECK(refused(ID SECRET, "redirect_uri", "missing"));
}

static void
http_url_on_another_host_is_refused(void)
{
	/* RFC 6749 section 10.5: codes and tokens travel only over TLS. */
	CHECK(refused(GOOD "token_url = http://idp.example/t\n", "token_url",
		      "http://idp.example/t"));
	CHECK(refused(GOOD "token_url = http://128.0.0.1/t\n", "token_url",
		      "http://128.0.0.1/t"));
	CHECK(refused(ID SECRET "redirect_uri = ftp://app.example/cb\n",
		      "redirect_uri", "ftp://app.example/cb"));
}

static void
userinfo_never_hides_the_host(void)
{
	/* The review's URL: a loopback host to a naive reading, example.com
	 * to libcurl, which would send the Basic credentials in clear. */
	CHECK(refused(GOOD "token_url = http://127.0.0.1:80@example.com/t\n",
		      "token_url", "http://127.0.0.1:80@example.com/t"));
	CHECK(refused(GOOD "token_url = https://u:p@idp.example/t\n",
		      "token_url", "https://u:p@idp.example/t"));
	CHECK(refused(GOOD "token_url = http://127.0.0.1\\@example.com/t\n",
		      "token_url", "http://127.0.0.1\\@example.com/t"));
	CHECK(refused(GOOD "token_url = http://127.0.0.1\\.example.com/t\n",
		      "token_url", "http://127.0.0.1\\.example.com/t"));
	/* An @ after the authority is only a path or a query. */
	CHECK(load(GOOD "token_url = https://idp.example/t?a=b@c\n") == 0);
	config_free(&cfg);
}

static void
pkce_must_be_a_boolean(void)
{
	CHECK(refused(GOOD "pkce = maybe\n", "pkce", "maybe"));
	CHECK(load(GOOD "pkce = off\n") == 0 && cfg.pkce == 0);
}

static void
connect_timeout_must_be_in_range(void)
{
	CHECK(refused(GOOD "[http]\nconnect_timeout = 0\n", "connect_timeout",
		      "\"0\""));
	CHECK(refused(GOOD "[http]\nconnect_timeout = 99999\n",
		      "connect_timeout", "99999"));
	CHECK(refused(GOOD "[http]\nconnect_timeout = 5s\n", "connect_timeout",
		      "5s"));
}

static void
environment_must_be_a_known_one(void)
{
	CHECK(refused(GOOD "environment = staging\n", "environment",
		      "staging"));
}

static void
both_secret_and_secret_file_are_refused(void)
{
	CHECK(refused(GOOD "client_secret_file = /etc/secret\n",
		      "client_secret_file", "exactly one"));
}

static void
neither_secret_nor_secret_file_is_refused(void)
{
	CHECK(refused(ID REDIR, "client_secret_file", "exactly one"));
}

static void
secret_file_is_read_when_mode_0600(void)
{
	char path[128], text[512];

	snprintf(path, sizeof(path), "%s/secret", dir);
	CHECK(write_file(path, "from-file\nsecond line\n", 0600) == 0);
	snprintf(text, sizeof(text), ID REDIR "client_secret_file = %s\n",
		 path);
	CHECK(load(text) == 0);
	CHECK_STR(cfg.client_secret, "from-file");
	unlink(path);
}

static void
secret_file_readable_by_others_is_refused(void)
{
	char path[128], text[512];

	snprintf(path, sizeof(path), "%s/secret", dir);
	CHECK(write_file(path, "from-file\n", 0644) == 0);
	snprintf(text, sizeof(text), ID REDIR "client_secret_file = %s\n",
		 path);
	CHECK(refused(text, "client_secret_file", path));
	CHECK(strstr(err, "0600") != NULL);
	unlink(path);
}

static void
secret_value_never_appears_in_an_error(void)
{
	CHECK(refused(ID REDIR "client_secret = top\tsecret\n", "client_secret",
		      NULL));
	CHECK(strstr(err, "top") == NULL);
}

static void
quoted_secret_keeps_semicolon_and_hash(void)
{
	/* iniparser ends an unquoted value at ';' or '#' (a comment). */
	CHECK(load(ID REDIR "client_secret = \"a;b#c\"\n") == 0);
	CHECK_STR(cfg.client_secret, "a;b#c");
}

static void
timeout_below_connect_timeout_is_refused(void)
{
	CHECK(refused(GOOD "[http]\nconnect_timeout = 10\ntimeout = 5\n",
		      "timeout", "\"5\""));
	CHECK(strstr(err, "connect_timeout") != NULL);
}

static void
cookie_name_with_a_space_is_refused(void)
{
	CHECK(refused(GOOD "[session]\ncookie_name = my session\n",
		      "cookie_name", "my session"));
	CHECK(refused(GOOD "[session]\ncookie_name = a=b\n", "cookie_name",
		      "a=b"));
}

static void
redirect_uri_with_a_query_is_refused(void)
{
	CHECK(refused(ID SECRET "redirect_uri = https://app.example/cb?x=1\n",
		      "redirect_uri", "https://app.example/cb?x=1"));
}

static void
base_path_with_a_query_is_refused(void)
{
	CHECK(refused(GOOD "[app]\nbase_path = /isc?x=1\n", "[app] base_path",
		      "expected a path without a query"));
}

static void
events_url_needs_a_secret_file(void)
{
	CHECK(refused(GOOD "[events]\nurl = https://app.example/events\n",
		      "[events] secret_file: missing, and required with "
		      "[events] url",
		      NULL));
}

/* fopen opens a directory; iniparser read it as an empty file, and the
 * error was "[insuresign] client_id: missing". */
static void
directory_is_refused_as_one(void)
{
	config_free(&cfg);
	CHECK(config_load(&cfg, dir, err, sizeof(err)) == -1);
	CHECK_STR(err, "cannot read: Is a directory");
}

/* --config, else the environment's, else the packaged path. */
static void
config_path_takes_option_then_environment_then_default(void)
{
	CHECK(unsetenv(CONFIG_ENV) == 0);
	CHECK_STR(config_path(NULL), CONFIG_DEFAULT_PATH);
	CHECK(setenv(CONFIG_ENV, "", 1) == 0);
	CHECK_STR(config_path(NULL), CONFIG_DEFAULT_PATH);
	CHECK(setenv(CONFIG_ENV, "/env.ini", 1) == 0);
	CHECK_STR(config_path(NULL), "/env.ini");
	CHECK_STR(config_path("/opt.ini"), "/opt.ini");
	CHECK(unsetenv(CONFIG_ENV) == 0);
}

static void
bad_list_item_is_refused(void)
{
	CHECK(refused(GOOD "[app]\ntrusted_proxies = 10.0.0.1, proxy.lan\n",
		      "trusted_proxies", "proxy.lan"));
	CHECK(refused(GOOD "[app]\nreturn_to_allowed = /a, //evil\n",
		      "return_to_allowed", "//evil"));
}

static void
syntax_error_names_its_line_and_hides_its_text(void)
{
	/* iniparser's own line number, passed through; the text of the line
	 * stays out of the message, for it may be a secret. */
	CHECK(refused(GOOD "[app]\nreturn_to = /account\n"
			   "client_secret top-secret-value\n",
		      "line 7:", NULL));
	CHECK(strstr(err, "key = value") != NULL);
	CHECK(strstr(err, "top-secret") == NULL);
	CHECK(strstr(err, "not a valid ini file") == NULL);
	/* A "(" in the line's text is not the line number's. */
	CHECK(refused(GOOD "[app]\nreturn_to (/account)\n", "line 6:", NULL));
	/* A comment after a value is fine in an ini (not in Apache). */
	CHECK(load(GOOD "pkce = true ; PKCE S256\n") == 0);
}

static void
overlong_line_names_its_line(void)
{
	static char text[4096];
	size_t n = strlen(GOOD);

	memcpy(text, GOOD, n);
	memcpy(text + n, "scope = ", 8);
	memset(text + n + 8, 'x', 2000);
	memcpy(text + n + 2008, "\n", 2);
	CHECK(refused(text, "line 5: too long", NULL));
}

static void
inline_secret_in_a_readable_file_is_refused(void)
{
	char fix[256];

	/* Issue 10, section 6: the ini must be as private as the secret. */
	CHECK(load(GOOD) == 0);
	CHECK(write_file(ini, GOOD, 0644) == 0);
	config_free(&cfg);
	CHECK(config_load(&cfg, ini, err, sizeof(err)) == -1);
	CHECK(strstr(err, "[insuresign] client_secret: inline") != NULL);
	CHECK(strstr(err, "every user can read (mode 0644)") != NULL);
	snprintf(fix, sizeof(fix), "&& chmod 600 %s", ini);
	CHECK(strstr(err, fix) != NULL);
	CHECK(strstr(err, "client_secret_file") != NULL);
	CHECK(strstr(err, "s3cret") == NULL);
	CHECK(write_file(ini, GOOD, 0640) == 0);
	CHECK(config_load(&cfg, ini, err, sizeof(err)) == -1);
	CHECK(strstr(err, "that group ") != NULL);
	CHECK(strstr(err, "(mode 0640)") != NULL);
}

static void
secret_file_in_a_readable_ini_is_fine(void)
{
	char path[128], text[512];

	/* The installed layout: the ini root:www-data 0640, the secret in a
	 * file of its own. */
	snprintf(path, sizeof(path), "%s/secret", dir);
	CHECK(write_file(path, "from-file\n", 0600) == 0);
	snprintf(text, sizeof(text), ID REDIR "client_secret_file = %s\n",
		 path);
	CHECK(write_file(ini, text, 0640) == 0);
	config_free(&cfg);
	CHECK(config_load(&cfg, ini, err, sizeof(err)) == 0);
	CHECK_STR(cfg.client_secret, "from-file");
	unlink(path);
}

static void
missing_secret_file_says_how_to_make_it(void)
{
	char text[512], fix[256];

	snprintf(text, sizeof(text),
		 ID REDIR "client_secret_file = %s/nothing\n", dir);
	CHECK(refused(text, "client_secret_file", "No such file"));
	snprintf(fix, sizeof(fix), "install -m 0600 -o ");
	CHECK(strstr(err, fix) != NULL);
	snprintf(fix, sizeof(fix), " /dev/null %s/nothing", dir);
	CHECK(strstr(err, fix) != NULL);
}

static void
load_ini(char *out, size_t len)
{
	struct config c;

	if (config_load(&c, ini, out, len) == 0) {
		snprintf(out, len, "loaded");
		config_free(&c);
	}
}

static void
unreadable_ini_says_owner_group_and_the_fix(void)
{
	char want[512];

	/* Issue 12, item 1: make install left it 0640 root:root, and the
	 * web server's user got a bare "Permission denied". */
	CHECK(write_file(ini, GOOD, 0640) == 0);
	if (unit_as_user("www-data", load_ini, err, sizeof(err)) == -1) {
		printf("# skipped: needs root and a www-data user\n");
		return;
	}
	snprintf(want, sizeof(want),
		 "cannot read: Permission denied (owned by root, group root, "
		 "mode 0640; the program runs as group www-data: chgrp "
		 "www-data %s && chmod 640 %s)",
		 ini, ini);
	CHECK_STR(err, want);
	CHECK(write_file(ini, ID "client_secret_file = /nonexistent\n" REDIR,
			 0640) == 0);
	CHECK(chown(ini, 0, getpwnam("www-data")->pw_gid) == 0);
	CHECK(unit_as_user("www-data", load_ini, err, sizeof(err)) == 0);
	CHECK(strstr(err, "client_secret_file = \"/nonexistent\"") != NULL);
	CHECK(strstr(err, "install -m 0600 -o www-data /dev/null "
			  "/nonexistent") != NULL);
}

static void
url_is_loopback_for_127_8_and_ipv6_and_localhost(void)
{
	CHECK(config_url_is_loopback("http://127.0.0.2/"));
	CHECK(config_url_is_loopback("http://127.255.255.255:80/x"));
	CHECK(config_url_is_loopback("http://[::1]:9/"));
	CHECK(config_url_is_loopback("http://localhost/"));
	CHECK(config_url_is_loopback("http://LOCALHOST:8080"));
}

static void
url_is_not_loopback_for_other_hosts(void)
{
	CHECK(!config_url_is_loopback("http://128.0.0.1/"));
	CHECK(!config_url_is_loopback("http://example.com/"));
	CHECK(!config_url_is_loopback("http://127.0.0.1.example.com/"));
	CHECK(!config_url_is_loopback("http://localhost.example.com/"));
	CHECK(!config_url_is_loopback("http://127.0.0.1@example.com/"));
	CHECK(!config_url_is_loopback("http://[::2]/"));
	CHECK(!config_url_is_loopback("ftp://127.0.0.1/"));
	CHECK(!config_url_is_loopback("127.0.0.1"));
	/* The host as libcurl gives it: an IPv6 one in its brackets, in
	 * any of its spellings; http.c asks this before sending anything. */
	CHECK(config_host_is_loopback("[::1]"));
	CHECK(config_host_is_loopback("[0:0:0:0:0:0:0:1]"));
	CHECK(config_host_is_loopback("::1"));
	CHECK(config_host_is_loopback("127.0.0.1"));
	CHECK(!config_host_is_loopback("[::2]"));
	CHECK(!config_host_is_loopback("[::1"));
	CHECK(!config_host_is_loopback("[]"));
	CHECK(!config_host_is_loopback("[example.com]"));
	CHECK(!config_host_is_loopback(""));
}

static void
file_store_is_the_default_and_redis_has_its_defaults(void)
{
	CHECK(load(GOOD) == 0);
	CHECK(cfg.store_backend == STORE_BACKEND_FILE);
	CHECK(cfg.redis == NULL && cfg.redis_password_file == NULL);
	CHECK_STR(cfg.redis_prefix, "isc:");
	CHECK(cfg.redis_database == 0);
	CHECK(cfg.redis_connect_timeout == 1000 && cfg.redis_timeout == 1000);
	CHECK(load(GOOD "[store]\nbackend = redis\nredis = unix:/run/r.sock\n"
			"redis_database = 3\nredis_prefix = site-a:\n"
			"redis_timeout_ms = 250\n") == 0);
	CHECK(cfg.store_backend == STORE_BACKEND_REDIS);
	CHECK_STR(cfg.redis, "unix:/run/r.sock");
	CHECK(cfg.redis_database == 3 && cfg.redis_timeout == 250);
	CHECK_STR(cfg.redis_prefix, "site-a:");
}

static void
redis_backend_needs_an_address(void)
{
	CHECK(refused(GOOD "[store]\nbackend = redis\n", "[store] redis",
		      "host:port or unix:/path"));
	CHECK(refused(GOOD "[store]\nbackend = memcached\n", "backend",
		      "file|redis"));
}

static void
redis_addresses_are_checked(void)
{
	static const char *const bad[] = {
		"localhost",	   "localhost:",    "localhost:0",
		"localhost:70000", "unix:relative", "::1:6379",
		"[::1]",	   ":6379",	    "host name:6379",
	};
	char text[256], host[256];
	unsigned port;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), GOOD "[store]\nredis = %s\n",
			 bad[i]);
		CHECK(refused(text, "[store] redis", "host:port"));
	}
	CHECK(config_redis_addr("10.0.0.5:6379", host, sizeof(host), &port) ==
		      0 &&
	      strcmp(host, "10.0.0.5") == 0 && port == 6379);
	CHECK(config_redis_addr("[::1]:6380", host, sizeof(host), &port) == 0 &&
	      strcmp(host, "::1") == 0 && port == 6380);
	CHECK(config_redis_addr("unix:/run/redis.sock", host, sizeof(host),
				&port) == 0 &&
	      strcmp(host, "/run/redis.sock") == 0 && port == 0);
	CHECK(config_redis_addr("redis.internal:6379", host, 8, &port) == -1);
}

static void
redis_prefix_may_not_start_a_hash_tag(void)
{
	CHECK(refused(GOOD "[store]\nredis_prefix = a{b}:\n", "redis_prefix",
		      "without spaces, { or }"));
	CHECK(refused(GOOD "[store]\nredis_prefix = "
			   "0123456789012345678901234567890123456789"
			   "012345678901234567890123456\n",
		      "redis_prefix", NULL));
	CHECK(refused(GOOD "[store]\nredis_timeout_ms = 5\n",
		      "redis_timeout_ms", "10 to 60000"));
}

int
main(void)
{
	int rc;

	if (mkdtemp(dir) == NULL || chmod(dir, 0711) == -1) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(ini, sizeof(ini), "%s/c.ini", dir);
	RUN(good_file_gets_the_defaults);
	RUN(production_is_the_default_environment);
	RUN(legacy_and_lab_environments_pick_their_hosts);
	RUN(explicit_urls_override_the_environment);
	RUN(base_path_loses_its_final_slash);
	RUN(lists_are_split_and_trimmed);
	RUN(loopback_http_urls_are_accepted);
	RUN(missing_file_is_refused_with_the_reason);
	RUN(unknown_key_is_refused);
	RUN(unknown_section_is_refused);
	RUN(missing_client_id_is_refused);
	RUN(missing_redirect_uri_is_refused);
	RUN(http_url_on_another_host_is_refused);
	RUN(userinfo_never_hides_the_host);
	RUN(pkce_must_be_a_boolean);
	RUN(connect_timeout_must_be_in_range);
	RUN(environment_must_be_a_known_one);
	RUN(both_secret_and_secret_file_are_refused);
	RUN(neither_secret_nor_secret_file_is_refused);
	RUN(secret_file_is_read_when_mode_0600);
	RUN(secret_file_readable_by_others_is_refused);
	RUN(secret_value_never_appears_in_an_error);
	RUN(quoted_secret_keeps_semicolon_and_hash);
	RUN(timeout_below_connect_timeout_is_refused);
	RUN(cookie_name_with_a_space_is_refused);
	RUN(redirect_uri_with_a_query_is_refused);
	RUN(base_path_with_a_query_is_refused);
	RUN(events_url_needs_a_secret_file);
	RUN(directory_is_refused_as_one);
	RUN(config_path_takes_option_then_environment_then_default);
	RUN(bad_list_item_is_refused);
	RUN(syntax_error_names_its_line_and_hides_its_text);
	RUN(overlong_line_names_its_line);
	RUN(inline_secret_in_a_readable_file_is_refused);
	RUN(secret_file_in_a_readable_ini_is_fine);
	RUN(missing_secret_file_says_how_to_make_it);
	RUN(unreadable_ini_says_owner_group_and_the_fix);
	RUN(url_is_loopback_for_127_8_and_ipv6_and_localhost);
	RUN(url_is_not_loopback_for_other_hosts);
	RUN(file_store_is_the_default_and_redis_has_its_defaults);
	RUN(redis_backend_needs_an_address);
	RUN(redis_addresses_are_checked);
	RUN(redis_prefix_may_not_start_a_hash_tag);
	config_free(&cfg);
	rc = DONE();
	unit_rmtree(dir);
	return rc;
}
