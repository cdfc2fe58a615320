/* The configuration file, read once into a typed, validated struct. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <iniparser.h>

#include "event.h"
#include "fileowner.h"
#include "nitems.h"
#include "policy.h"
#include "secretfile.h"
#include "text.h"

enum type {
	T_STR,	   /* printable ASCII */
	T_URL,	   /* https, or http on a loopback host */
	T_FILE,	   /* absolute file system path */
	T_WEBPATH, /* local URL path: "/x", never "//host" */
	T_BOOL,
	T_UINT,
	T_ENUM,
	T_COOKIE, /* RFC 6265 cookie-name token */
	T_USER,	  /* REMOTE_USER value */
	T_ADDR,	  /* IPv4 or IPv6 address */
	T_NET,	  /* an address, or a network: address/prefix length */
	T_EVENT,  /* an event's type: link.created, ... */
	T_REDIS,  /* host:port or unix:/path */
	T_PREFIX, /* a Redis key prefix */
};

struct keydef {
	const char *section;
	const char *key;
	enum type type;
	int list; /* comma-separated list of the type */
	int required;
	const char *def;
	size_t off;
	unsigned long long min, max; /* T_UINT */
	const char *choices;	     /* T_ENUM: "a|b|c", stored as its index */
};

#define OFF(f) offsetof(struct config, f)

/* One line or two a key, as a table reads best (clang-format would give
 * each designator a line of its own). */
/* clang-format off */
static const struct keydef keys[] = {
	{ .section = "insuresign", .key = "environment", .type = T_ENUM,
	  .def = "production", .off = OFF(environment),
	  .choices = "production|legacy|lab" },
	{ .section = "insuresign", .key = "authorize_url", .type = T_URL,
	  .off = OFF(authorize_url) },
	{ .section = "insuresign", .key = "token_url", .type = T_URL,
	  .off = OFF(token_url) },
	{ .section = "insuresign", .key = "revocation_url", .type = T_URL,
	  .off = OFF(revocation_url) },
	{ .section = "insuresign", .key = "client_id", .type = T_STR,
	  .required = 1, .off = OFF(client_id) },
	{ .section = "insuresign", .key = "client_secret", .type = T_STR,
	  .off = OFF(client_secret) },
	{ .section = "insuresign", .key = "client_secret_file", .type = T_FILE,
	  .off = OFF(client_secret_file) },
	{ .section = "insuresign", .key = "redirect_uri", .type = T_URL,
	  .required = 1, .off = OFF(redirect_uri) },
	{ .section = "insuresign", .key = "scope", .type = T_STR,
	  .off = OFF(scope) },
	{ .section = "insuresign", .key = "issuer", .type = T_URL,
	  .off = OFF(issuer) },
	{ .section = "insuresign", .key = "pkce", .type = T_BOOL, .def = "true",
	  .off = OFF(pkce) },
	{ .section = "insuresign", .key = "ca_file", .type = T_FILE,
	  .off = OFF(ca_file) },
	{ .section = "insuresign", .key = "refresh_margin", .type = T_UINT,
	  .def = "60", .off = OFF(refresh_margin), .max = 86400 },
	{ .section = "insuresign", .key = "refresh_backoff", .type = T_UINT,
	  .def = "30", .off = OFF(refresh_backoff), .max = 86400 },
	{ .section = "http", .key = "connect_timeout", .type = T_UINT,
	  .def = "5", .off = OFF(connect_timeout), .min = 1, .max = 300 },
	{ .section = "http", .key = "timeout", .type = T_UINT, .def = "20",
	  .off = OFF(timeout), .min = 1, .max = 600 },
	{ .section = "app", .key = "base_path", .type = T_WEBPATH,
	  .def = "/insuresign", .off = OFF(base_path) },
	{ .section = "app", .key = "return_to", .type = T_WEBPATH, .def = "/",
	  .off = OFF(return_to) },
	{ .section = "app", .key = "return_to_allowed", .type = T_WEBPATH,
	  .list = 1, .off = OFF(return_to_allowed) },
	{ .section = "app", .key = "backend_key_file", .type = T_FILE,
	  .off = OFF(backend_key_file) },
	{ .section = "app", .key = "audit_log", .type = T_FILE,
	  .off = OFF(audit_log) },
	{ .section = "app", .key = "trusted_proxies", .type = T_ADDR,
	  .list = 1, .off = OFF(trusted_proxies) },
	{ .section = "app", .key = "state_dir", .type = T_FILE,
	  .def = "/var/lib/insuresign-connect", .off = OFF(state_dir) },
	{ .section = "session", .key = "cookie_name", .type = T_COOKIE,
	  .def = "insuresign_session", .off = OFF(cookie_name) },
	{ .section = "session", .key = "issue_cookie", .type = T_BOOL,
	  .def = "true", .off = OFF(issue_cookie) },
	{ .section = "session", .key = "secure", .type = T_ENUM, .def = "auto",
	  .off = OFF(secure), .choices = "auto|always|never" },
	{ .section = "store", .key = "backend", .type = T_ENUM,
	  .def = "file", .off = OFF(store_backend), .choices = "file|redis" },
	{ .section = "store", .key = "dir", .type = T_FILE,
	  .def = "/var/lib/insuresign-connect/tokens", .off = OFF(store_dir) },
	{ .section = "store", .key = "key_file", .type = T_FILE,
	  .def = "/etc/insuresign-connect/store.key", .off = OFF(key_file) },
	{ .section = "store", .key = "old_key_files", .type = T_FILE,
	  .list = 1, .off = OFF(old_key_files) },
	{ .section = "store", .key = "max_idle_days", .type = T_UINT,
	  .def = "90", .off = OFF(max_idle_days), .min = 1, .max = 36500 },
	{ .section = "store", .key = "redis", .type = T_REDIS,
	  .off = OFF(redis) },
	{ .section = "store", .key = "redis_database", .type = T_UINT,
	  .def = "0", .off = OFF(redis_database), .max = 65535 },
	{ .section = "store", .key = "redis_user", .type = T_USER,
	  .off = OFF(redis_user) },
	{ .section = "store", .key = "redis_password_file", .type = T_FILE,
	  .off = OFF(redis_password_file) },
	{ .section = "store", .key = "redis_prefix", .type = T_PREFIX,
	  .def = "isc:", .off = OFF(redis_prefix) },
	{ .section = "store", .key = "redis_connect_timeout_ms",
	  .type = T_UINT, .def = "1000", .off = OFF(redis_connect_timeout),
	  .min = 10, .max = 60000 },
	{ .section = "store", .key = "redis_timeout_ms", .type = T_UINT,
	  .def = "1000", .off = OFF(redis_timeout), .min = 10, .max = 60000 },
	{ .section = "limits", .key = "exchanges_at_once", .type = T_UINT,
	  .def = "4", .off = OFF(exchanges_at_once), .min = 1, .max = 256 },
	{ .section = "limits", .key = "callbacks_per_address", .type = T_UINT,
	  .def = "10", .off = OFF(callbacks_per_address), .min = 1,
	  .max = 1000000 },
	{ .section = "limits", .key = "callbacks_per_minute", .type = T_UINT,
	  .def = "120", .off = OFF(callbacks_per_minute), .min = 1,
	  .max = 1000000 },
	{ .section = "identity", .key = "owner", .type = T_ENUM,
	  .def = "browser", .off = OFF(owner),
	  .choices = "browser|web_server|backend" },
	{ .section = "identity", .key = "login_url", .type = T_WEBPATH,
	  .off = OFF(login_url) },
	{ .section = "identity", .key = "ignore_case", .type = T_BOOL,
	  .def = "false", .off = OFF(ignore_case) },
	{ .section = "admin", .key = "users", .type = T_USER, .list = 1,
	  .off = OFF(admin_users) },
	{ .section = "admin", .key = "key_file", .type = T_FILE,
	  .off = OFF(admin_key_file) },
	{ .section = "refresh", .key = "ahead", .type = T_UINT, .def = "900",
	  .off = OFF(refresh_ahead), .max = 86400 },
	{ .section = "refresh", .key = "touch_hours", .type = T_UINT,
	  .def = "0", .off = OFF(refresh_touch_hours), .max = 8760 },
	{ .section = "refresh", .key = "used_within_days", .type = T_UINT,
	  .def = "7", .off = OFF(refresh_used_within_days), .max = 36500 },
	{ .section = "refresh", .key = "per_second", .type = T_UINT,
	  .def = "5", .off = OFF(refresh_per_second), .min = 1, .max = 1000 },
	{ .section = "events", .key = "url", .type = T_URL,
	  .off = OFF(events_url) },
	{ .section = "events", .key = "secret_file", .type = T_FILE,
	  .off = OFF(events_secret_file) },
	{ .section = "events", .key = "types", .type = T_EVENT, .list = 1,
	  .off = OFF(events_types) },
	{ .section = "events", .key = "timeout", .type = T_UINT, .def = "5",
	  .off = OFF(events_timeout), .min = 1, .max = 60 },
	{ .section = "events", .key = "retry_min", .type = T_UINT,
	  .def = "10", .off = OFF(events_retry_min), .min = 1, .max = 3600 },
	{ .section = "events", .key = "retry_for", .type = T_UINT,
	  .def = "86400", .off = OFF(events_retry_for), .min = 1,
	  .max = 2592000 },
	{ .section = "events", .key = "from_workers", .type = T_BOOL,
	  .def = "true", .off = OFF(events_from_workers) },
	{ .section = "events", .key = "ca_file", .type = T_FILE,
	  .off = OFF(events_ca_file) },
	{ .section = "metrics", .key = "key_file", .type = T_FILE,
	  .off = OFF(metrics_key_file) },
	{ .section = "metrics", .key = "allow", .type = T_NET, .list = 1,
	  .off = OFF(metrics_allow) },
	{ .section = "log", .key = "format", .type = T_ENUM, .def = "text",
	  .off = OFF(log_format), .choices = "text|json" },
};
/* clang-format on */

/* T_UINT and T_ENUM: expectation() words them with their bounds. */
static const char *const expected[] = {
	[T_STR] = "printable ASCII text",
	[T_URL] = "an https:// URL (http:// only on a loopback host)",
	[T_FILE] = "an absolute file path",
	[T_WEBPATH] = "a local URL path such as /account",
	[T_BOOL] = "true or false",
	[T_COOKIE] = "a cookie name (letters, digits, - and _)",
	[T_USER] = "a user name without spaces or commas",
	[T_ADDR] = "IP addresses such as 127.0.0.1 or ::1",
	[T_NET] = "IP addresses or networks such as 127.0.0.1, ::1 or "
		  "10.0.0.0/8",
	[T_EVENT] = "event types: link.created, link.deleted, "
		    "link.refresh_failed, link.needs_reconnect, "
		    "link.recovered",
	[T_REDIS] = "host:port, [v6]:port or unix:/path",
	[T_PREFIX] = "1 to 64 printable characters without spaces, { or }",
};

static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			return 0;
	return 1;
}

int
config_url_host(const char *url, char *host, size_t len)
{
	const char *p, *end;

	if (strncmp(url, "https://", 8) == 0)
		p = url + 8;
	else if (strncmp(url, "http://", 7) == 0)
		p = url + 7;
	else
		return -1;
	/* No userinfo (RFC 3986 section 3.2.1): "http://127.0.0.1:80@evil/"
	 * is evil's URL to libcurl, whatever a naive reading says; and no
	 * backslash, which some parsers take for a slash. */
	if (memchr(p, '@', strcspn(p, "/?#")) != NULL ||
	    strchr(url, '\\') != NULL)
		return -1;
	if (*p == '[') {
		end = strchr(p, ']');
		if (end == NULL)
			return -1;
		p++;
	} else {
		end = p + strcspn(p, ":/?#");
	}
	if (end == p || (size_t)(end - p) >= len)
		return -1;
	memcpy(host, p, (size_t)(end - p));
	host[end - p] = '\0';
	return 0;
}

int
config_host_is_loopback(const char *host)
{
	char v6[INET6_ADDRSTRLEN];
	struct in_addr a4;
	struct in6_addr a6;
	size_t n = strlen(host);

	if (ascii_casecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	/* libcurl gives an IPv6 host in its brackets, config_url_host not. */
	if (n > 2 && host[0] == '[' && host[n - 1] == ']' &&
	    n - 2 < sizeof(v6)) {
		memcpy(v6, host + 1, n - 2);
		v6[n - 2] = '\0';
		host = v6;
	}
	return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

int
config_url_is_loopback(const char *url)
{
	char host[256];

	return config_url_host(url, host, sizeof(host)) == 0 &&
	       config_host_is_loopback(host);
}

int
config_redis_addr(const char *v, char *host, size_t len, unsigned *port)
{
	unsigned long long p;
	const char *colon;
	size_t n;

	if (!printable(v) || strchr(v, ' ') != NULL)
		return -1;
	if (strncmp(v, "unix:", 5) == 0) {
		/* sun_path holds 108 bytes, its NUL included. */
		if (v[5] != '/' || strlen(v + 5) >= len || strlen(v + 5) > 107)
			return -1;
		snprintf(host, len, "%s", v + 5);
		*port = 0;
		return 0;
	}
	colon = strrchr(v, ':');
	if (colon == NULL || parse_uint(colon + 1, 1, 65535, &p) == -1)
		return -1;
	n = (size_t)(colon - v);
	if (n >= 2 && v[0] == '[' && v[n - 1] == ']') {
		v++;
		n -= 2;
	} else if (memchr(v, ':', n) != NULL || memchr(v, '[', n) != NULL) {
		return -1; /* a v6 address goes in brackets */
	}
	if (n == 0 || n >= len)
		return -1;
	memcpy(host, v, n);
	host[n] = '\0';
	*port = (unsigned)p;
	return 0;
}

static int
valid_url(const char *v)
{
	char host[256];

	if (!printable(v) || strpbrk(v, " #") != NULL ||
	    config_url_host(v, host, sizeof(host)) == -1)
		return 0;
	/* RFC 6749 section 3.1.2.1 and 10.5: tokens only over TLS. */
	return strncmp(v, "https://", 8) == 0 || config_url_is_loopback(v);
}

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

/* Not empty, and of the characters in set alone. */
static int
valid_token(const char *v, const char *set)
{
	return *v != '\0' && v[strspn(v, set)] == '\0';
}

static int
parse_bool(const char *v, int *out)
{
	/* Each word for false, then its word for true. */
	static const char *const words[] = { "false", "true", "no", "yes",
					     "off",   "on",   "0",  "1" };
	size_t i;

	for (i = 0; i < nitems(words); i++) {
		if (ascii_casecmp(v, words[i]) == 0) {
			*out = (int)(i % 2);
			return 0;
		}
	}
	return -1;
}

static int
parse_enum(const char *v, const char *choices, int *out)
{
	size_t n = strlen(v);
	int i = 0;
	const char *p = choices;

	for (;;) {
		size_t k = strcspn(p, "|");

		if (k == n && strncmp(p, v, n) == 0) {
			*out = i;
			return 0;
		}
		if (p[k] == '\0')
			return -1;
		p += k + 1;
		i++;
	}
}

static int
valid_item(enum type t, const char *v)
{
	unsigned char a[16];

	switch (t) {
	case T_STR:
		return printable(v);
	case T_URL:
		return valid_url(v);
	case T_FILE:
		return v[0] == '/' && printable(v);
	case T_WEBPATH:
		return policy_local_path(v);
	case T_COOKIE:
		return valid_token(v, ALNUM "-_");
	case T_USER:
		return valid_token(v, ALNUM "-_.@+");
	case T_ADDR:
		return inet_pton(AF_INET, v, a) == 1 ||
		       inet_pton(AF_INET6, v, a) == 1;
	case T_NET:
		return policy_network_valid(v);
	case T_EVENT:
		return event_type_of(v) >= 0;
	case T_REDIS: {
		char host[256];
		unsigned port;

		return config_redis_addr(v, host, sizeof(host), &port) == 0;
	}
	case T_PREFIX:
		/* A brace would start a hash tag (store_redis.c's own). */
		return strlen(v) <= 64 && printable(v) &&
		       strpbrk(v, " {}") == NULL;
	default:
		return 0;
	}
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

static int
parse_list(const struct keydef *k, const char *v, struct strlist *out)
{
	char *copy = strdup(v), *p = copy, *item;
	size_t n = 1;
	const char *c;
	int rc = -1;

	for (c = v; *c != '\0'; c++)
		if (*c == ',')
			n++;
	out->v = calloc(n, sizeof(char *));
	if (copy == NULL || out->v == NULL)
		goto err;
	for (item = strsep(&p, ","); item != NULL; item = strsep(&p, ",")) {
		item = trim(item);
		if (*item == '\0')
			continue;
		if (!valid_item(k->type, item))
			goto err;
		out->v[out->n] = strdup(item);
		if (out->v[out->n] == NULL)
			goto err;
		out->n++;
	}
	rc = 0;
err:
	free(copy);
	return rc;
}

/* Stores value v for key k.  Returns -1 when the value is not valid. */
static int
set_value(struct config *cfg, const struct keydef *k, const char *v)
{
	void *field = (char *)cfg + k->off;
	unsigned long long u;
	int i;

	if (k->list)
		return parse_list(k, v, field);
	switch (k->type) {
	case T_BOOL:
		return parse_bool(v, field);
	case T_UINT:
		if (parse_uint(v, k->min, k->max, &u) == -1)
			return -1;
		*(unsigned *)field = (unsigned)u;
		return 0;
	case T_ENUM:
		/* Every enum field is an int-sized enum numbered as choices. */
		if (parse_enum(v, k->choices, &i) == -1)
			return -1;
		*(int *)field = i;
		return 0;
	default:
		if (!valid_item(k->type, v))
			return -1;
		break;
	}
	*(char **)field = strdup(v);
	return *(char **)field == NULL ? -1 : 0;
}

static void
expectation(const struct keydef *k, char *out, size_t len)
{
	if (k->type == T_UINT)
		snprintf(out, len, "a whole number from %llu to %llu", k->min,
			 k->max);
	else if (k->type == T_ENUM)
		snprintf(out, len, "one of %s", k->choices);
	else
		snprintf(out, len, "%s%s",
			 k->list ? "a comma-separated list of " : "",
			 expected[k->type]);
}

/* Whether the table has the key, or with key NULL any key of the section. */
static int
known(const char *section, const char *key)
{
	size_t i;

	for (i = 0; i < nitems(keys); i++)
		if (strcmp(keys[i].section, section) == 0 &&
		    (key == NULL || strcmp(keys[i].key, key) == 0))
			return 1;
	return 0;
}

/* Every section and key in the file must be one we know (no typos). */
static int
check_unknown(const dictionary *d, char *err, size_t len)
{
	int s, ns = iniparser_getnsec(d);
	ssize_t i;

	for (s = 0; s < ns; s++) {
		const char *sec = iniparser_getsecname(d, s);
		size_t n = strlen(sec);

		if (!known(sec, NULL)) {
			snprintf(err, len,
				 "unknown section [%s] (expected insuresign, "
				 "http, app, session, store, limits, identity, "
				 "admin, metrics, log, refresh or events)",
				 sec);
			return -1;
		}
		/* Its keys are "sec:key", in the order iniparser_getseckeys
		 * would copy them out (dictionary.h's table is public). */
		for (i = 0; i < d->size; i++) {
			const char *key = d->key[i];

			if (key != NULL && strncmp(key, sec, n) == 0 &&
			    key[n] == ':' && !known(sec, key + n + 1)) {
				snprintf(err, len,
					 "[%s] %s: unknown key (misspelt, or "
					 "in the wrong section?)",
					 sec, key + n + 1);
				return -1;
			}
		}
	}
	return 0;
}

static int
set_endpoints(struct config *cfg)
{
	/* InsureSign's documented hosts: current, pre-2021, sandbox. */
	static const char *const base[] = {
		[ENV_PRODUCTION] = "https://sign-auth.insuresign.io",
		[ENV_LEGACY] = "https://auth.insuresign.io",
		[ENV_LAB] = "https://lab-auth.insuresign.io",
	};
	char url[256];

	if (cfg->authorize_url == NULL) {
		snprintf(url, sizeof(url), "%s/oauth2/authorize",
			 base[cfg->environment]);
		cfg->authorize_url = strdup(url);
	}
	if (cfg->token_url == NULL) {
		snprintf(url, sizeof(url), "%s/oauth2/token",
			 base[cfg->environment]);
		cfg->token_url = strdup(url);
	}
	return cfg->authorize_url != NULL && cfg->token_url != NULL ? 0 : -1;
}

static int
read_client_secret(struct config *cfg, char *err, size_t len)
{
	const char *path = cfg->client_secret_file;
	char user[FILEOWNER_NAME_LEN], hint[600];

	fileowner_program_user(cfg->store_dir, user);
	snprintf(hint, sizeof(hint),
		 "create it: install -m 0600 -o %s /dev/null %s, then write "
		 "the secret on its first line",
		 user, path);
	return secretfile_line("[insuresign] client_secret_file", path, hint,
			       &cfg->client_secret, err, len);
}

/*
 * An inline client_secret is as private as the file it is in: refused in
 * one that group or others may read (the installed one is root:www-data,
 * 0640, so that the web server may read it and not write it).
 */
static int
check_inline_secret(const struct config *cfg, const struct stat *st, char *err,
		    size_t len)
{
	char user[FILEOWNER_NAME_LEN], who[FILEOWNER_NAME_LEN + 8];

	if (cfg->client_secret == NULL || cfg->client_secret_file != NULL ||
	    (st->st_mode & 044) == 0)
		return 0;
	if (st->st_mode & 004) {
		snprintf(who, sizeof(who), "every user");
	} else {
		fileowner_group(st->st_gid, user);
		snprintf(who, sizeof(who), "group %s", user);
	}
	fileowner_program_user(cfg->store_dir, user);
	snprintf(err, len,
		 "[insuresign] client_secret: inline in a file that %s can "
		 "read (mode %04o): move it to client_secret_file, or let %s "
		 "alone read this one: chown %s %s && chmod 600 %s",
		 who, (unsigned)st->st_mode & 07777, user, user, cfg->path,
		 cfg->path);
	return -1;
}

/* Checks that need several keys at once. */
static int
check_together(struct config *cfg, char *err, size_t len)
{
	size_t n;

	if ((cfg->client_secret == NULL) == (cfg->client_secret_file == NULL)) {
		snprintf(err, len,
			 "[insuresign] client_secret / client_secret_file: "
			 "expected exactly one of the two");
		return -1;
	}
	if (cfg->client_secret_file != NULL &&
	    read_client_secret(cfg, err, len) == -1)
		return -1;
	if (cfg->timeout < cfg->connect_timeout) {
		snprintf(err, len,
			 "[http] timeout = \"%u\": expected at least "
			 "connect_timeout (%u)",
			 cfg->timeout, cfg->connect_timeout);
		return -1;
	}
	if (strchr(cfg->redirect_uri, '?') != NULL) {
		snprintf(err, len,
			 "[insuresign] redirect_uri = \"%s\": expected no "
			 "query string",
			 cfg->redirect_uri);
		return -1;
	}
	/* "/" means the root: routes then hang off "" + "/callback". */
	n = strlen(cfg->base_path);
	if (strchr(cfg->base_path, '?') != NULL) {
		snprintf(err, len,
			 "[app] base_path = \"%s\": expected a path without a "
			 "query",
			 cfg->base_path);
		return -1;
	}
	while (n > 0 && cfg->base_path[n - 1] == '/')
		cfg->base_path[--n] = '\0';
	if (cfg->return_to_allowed.n == 0) {
		/* A list of empty items (", ,") still has its array. */
		free(cfg->return_to_allowed.v);
		cfg->return_to_allowed.v = calloc(1, sizeof(char *));
		if (cfg->return_to_allowed.v != NULL)
			cfg->return_to_allowed.v[0] = strdup(cfg->return_to);
		if (cfg->return_to_allowed.v == NULL ||
		    cfg->return_to_allowed.v[0] == NULL) {
			snprintf(err, len, "out of memory");
			return -1;
		}
		cfg->return_to_allowed.n = 1;
	}
	if (cfg->store_backend == STORE_BACKEND_REDIS && cfg->redis == NULL) {
		snprintf(err, len,
			 "[store] redis: missing: with backend = redis, "
			 "expected "
			 "host:port or unix:/path");
		return -1;
	}
	if (set_endpoints(cfg) == -1) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	if (cfg->events_url != NULL && cfg->events_secret_file == NULL) {
		snprintf(err, len,
			 "[events] secret_file: missing, and required with "
			 "[events] url (the key events are signed with)");
		return -1;
	}
	return 0;
}

/* iniparser's first complaint, for config_load to word with its line. */
static char ini_complaint[256];

static int
ini_error(const char *fmt, ...)
{
	va_list ap;

	if (ini_complaint[0] != '\0')
		return 0;
	va_start(ap, fmt);
	vsnprintf(ini_complaint, sizeof(ini_complaint), fmt, ap);
	va_end(ap);
	return 0;
}

/*
 * iniparser says "syntax error in FILE (LINE):\n-> TEXT" or "input line
 * too long in FILE (LINE)".  The line's text stays out of the message:
 * it may hold a secret.
 */
static void
ini_syntax_error(char *err, size_t len)
{
	char *text = strchr(ini_complaint, '\n');
	const char *p;
	unsigned long long line;
	char num[16];
	size_t n;

	if (text != NULL)
		*text = '\0'; /* the line's text may hold a "(" of its own */
	p = strrchr(ini_complaint, '(');
	n = p != NULL ? strspn(p + 1, "0123456789") : 0;
	if (n == 0 || n >= sizeof(num) || p[1 + n] != ')') {
		snprintf(err, len, "not a valid ini file");
		return;
	}
	memcpy(num, p + 1, n);
	num[n] = '\0';
	if (parse_uint(num, 1, 100000000, &line) == -1)
		line = 0;
	if (strstr(ini_complaint, "too long") != NULL)
		snprintf(err, len,
			 "line %llu: too long (at most 1023 characters)", line);
	else
		snprintf(err, len,
			 "line %llu: expected [section], key = value, or a "
			 "comment starting with ; or #",
			 line);
}

/* Why the file cannot be read, with the line that fixes it. */
static void
cannot_read(const char *path, char *err, size_t len)
{
	char user[FILEOWNER_NAME_LEN], group[FILEOWNER_NAME_LEN],
		mine[FILEOWNER_NAME_LEN];
	int e = errno;
	struct stat st;

	if (e != EACCES || stat(path, &st) == -1) {
		snprintf(err, len, "cannot read: %s", strerror(e));
		return;
	}
	fileowner_user(st.st_uid, user);
	fileowner_group(st.st_gid, group);
	fileowner_group(getegid(), mine);
	snprintf(err, len,
		 "cannot read: %s (owned by %s, group %s, mode %04o; the "
		 "program runs as group %s: chgrp %s %s && chmod 640 %s)",
		 strerror(e), user, group, (unsigned)st.st_mode & 07777, mine,
		 mine, path, path);
}

int
config_load(struct config *cfg, const char *path, char *err, size_t len)
{
	dictionary *d = NULL;
	char full[256], exp[128];
	struct stat st;
	size_t i;
	FILE *f;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	cfg->path = path;
	f = fopen(path, "r");
	if (f == NULL) {
		cannot_read(path, err, len);
		return -1;
	}
	rc = fstat(fileno(f), &st);
	fclose(f);
	/* fopen opens a directory, which iniparser reads as an empty file. */
	if (rc == -1 || S_ISDIR(st.st_mode)) {
		snprintf(err, len, "cannot read: %s",
			 strerror(rc == -1 ? errno : EISDIR));
		return -1;
	}
	ini_complaint[0] = '\0';
	iniparser_set_error_callback(ini_error);
	d = iniparser_load(path);
	if (d == NULL) {
		ini_syntax_error(err, len);
		goto err;
	}
	if (check_unknown(d, err, len) == -1)
		goto err;
	for (i = 0; i < nitems(keys); i++) {
		const struct keydef *k = &keys[i];
		const char *v;

		snprintf(full, sizeof(full), "%s:%s", k->section, k->key);
		v = iniparser_getstring(d, full, NULL);
		if (v != NULL && *v == '\0')
			v = NULL;
		if (v == NULL && k->required) {
			snprintf(err, len, "[%s] %s: missing, and required",
				 k->section, k->key);
			goto err;
		}
		if (v == NULL)
			v = k->def;
		if (v == NULL)
			continue;
		if (set_value(cfg, k, v) == -1) {
			expectation(k, exp, sizeof(exp));
			snprintf(err, len, "[%s] %s = \"%s\": expected %s",
				 k->section, k->key,
				 strstr(k->key, "secret") != NULL ? "(hidden)"
								  : v,
				 exp);
			goto err;
		}
	}
	if (check_together(cfg, err, len) == -1 ||
	    check_inline_secret(cfg, &st, err, len) == -1)
		goto err;
	iniparser_freedict(d);
	return 0;
err:
	iniparser_freedict(d); /* NULL: nothing (dictionary_del checks) */
	config_free(cfg);
	return -1;
}

static void
free_list(struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

void
config_free(struct config *cfg)
{
	size_t i;

	/* client_secret is a table field whether it came from the file or
	 * from client_secret_file, so the loop frees it either way. */
	if (cfg->client_secret != NULL)
		explicit_bzero(cfg->client_secret, strlen(cfg->client_secret));
	for (i = 0; i < nitems(keys); i++) {
		void *field = (char *)cfg + keys[i].off;

		if (keys[i].list)
			free_list(field);
		else if (keys[i].type != T_BOOL && keys[i].type != T_UINT &&
			 keys[i].type != T_ENUM)
			free(*(char **)field);
	}
	memset(cfg, 0, sizeof(*cfg));
}

const char *
config_path(const char *option)
{
	const char *env;

	if (option != NULL)
		return option;
	env = getenv(CONFIG_ENV);
	if (env != NULL && *env != '\0')
		return env;
	return CONFIG_DEFAULT_PATH;
}
