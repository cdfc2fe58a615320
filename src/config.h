/* The configuration file, read once into a typed, validated struct. */
#ifndef CONFIG_H
#define CONFIG_H

#include <stddef.h>

#define CONFIG_DEFAULT_PATH "/etc/insuresign-connect/insuresign-connect.ini"
#define CONFIG_ENV	    "INSURESIGN_CONNECT_CONF"

struct strlist {
	char **v;
	size_t n;
};

/* Enums are numbered as their choices in config.c's key table. */
enum environment { ENV_PRODUCTION, ENV_LEGACY, ENV_LAB };
enum secure_mode { SECURE_AUTO, SECURE_ALWAYS, SECURE_NEVER };
/* [store] backend: where records live (store.h). */
enum store_backend { STORE_BACKEND_FILE, STORE_BACKEND_REDIS };
/* [log] format: a line of text, or a JSON object (log.h). */
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };
/* [identity] owner: who a link belongs to (see owner.h). */
enum owner_source {
	OWNER_FROM_BROWSER,
	OWNER_FROM_WEB_SERVER,
	OWNER_FROM_BACKEND
};

struct config {
	const char *path; /* the file it came from */

	/* [insuresign] */
	enum environment environment;
	char *authorize_url;
	char *token_url;
	char *revocation_url;
	char *client_id;
	char *client_secret;
	char *client_secret_file;
	char *redirect_uri;
	char *scope;
	char *issuer;
	int pkce;
	char *ca_file;
	unsigned refresh_margin;
	unsigned refresh_backoff;

	/* [http] */
	unsigned connect_timeout;
	unsigned timeout;

	/* [app] */
	char *base_path; /* "" for the root, else "/x" without a final '/' */
	char *return_to;
	struct strlist return_to_allowed;
	char *backend_key_file;
	char *audit_log;
	struct strlist trusted_proxies;
	char *state_dir; /* what the workers on this machine share */

	/* [session] */
	char *cookie_name;
	int issue_cookie;
	enum secure_mode secure;

	/* [store] */
	enum store_backend store_backend;
	char *store_dir;
	char *key_file;
	struct strlist old_key_files;
	unsigned max_idle_days;
	char *redis; /* "host:port" or "unix:/path" */
	unsigned redis_database;
	char *redis_user; /* an ACL user; NULL: the default user */
	char *redis_password_file;
	char *redis_prefix;		/* of every key, "isc:" */
	unsigned redis_connect_timeout; /* milliseconds */
	unsigned redis_timeout;		/* milliseconds, each command */

	/* [limits] */
	unsigned exchanges_at_once;
	unsigned callbacks_per_address;
	unsigned callbacks_per_minute;

	/* [identity] */
	enum owner_source owner;
	char *login_url;
	int ignore_case;

	/* [admin] */
	struct strlist admin_users;
	char *admin_key_file;

	/* [refresh] */
	unsigned refresh_ahead;
	unsigned refresh_touch_hours;
	unsigned refresh_used_within_days;
	unsigned refresh_per_second;

	/* [events] */
	char *events_url;
	char *events_secret_file;
	struct strlist events_types;
	unsigned events_timeout;
	unsigned events_retry_min;
	unsigned events_retry_for;
	int events_from_workers;
	char *events_ca_file;

	/* [metrics] */
	char *metrics_key_file;
	struct strlist metrics_allow;

	/* [log] */
	enum log_format log_format;
};

/*
 * Loads and validates the file.  On failure returns -1 with one line in
 * err naming the key, the value and what was expected (the caller names
 * the file).
 */
int config_load(struct config *cfg, const char *path, char *err, size_t len);
void config_free(struct config *cfg);

/* Which file to read: --config, else $INSURESIGN_CONNECT_CONF, else the
 * default. */
const char *config_path(const char *option);

/*
 * [store] redis: "unix:/path" gives the path in host and port 0;
 * "host:port" or "[v6]:port" the host and the port.  -1 if neither.
 */
int config_redis_addr(const char *v, char *host, size_t len, unsigned *port);

/* The host of an http(s) URL, without port or brackets; -1 if none. */
int config_url_host(const char *url, char *host, size_t len);

/* True for a URL whose host is loopback (127.0.0.0/8, ::1, localhost). */
int config_url_is_loopback(const char *url);
/* localhost, 127.0.0.0/8 or ::1 (in brackets or not): where plain http
 * may go, since it never leaves the machine. */
int config_host_is_loopback(const char *host);

#endif
