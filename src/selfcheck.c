/* The start-up self-check, also printed by `check-config`. */
#include "selfcheck.h"

#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "http.h"
#include "limit.h"
#include "nitems.h"
#include "store.h"

static int say(check_report report, enum check_level level, const char *fmt,
	       ...) __attribute__((format(printf, 3, 4)));

/* Reports one line; 1 if it is an error, for the caller's count. */
static int
say(check_report report, enum check_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	report(level, msg);
	return level == CHECK_ERROR;
}

/* The path of an http(s) URL ("/x/callback"), or "" if it has none
 * (config.c took only http and https URLs). */
static const char *
url_path(const char *url)
{
	const char *p = strchr(strstr(url, "://") + 3, '/');

	return p != NULL ? p : "";
}

/* Each endpoint as libcurl itself reads it: the host it will connect to,
 * never a userinfo trick (config.c refuses those too). */
static int
check_urls(const struct config *cfg, check_report report)
{
	const char *urls[] = { cfg->token_url, cfg->revocation_url };
	char host[256], why[256];
	int errors = 0;
	size_t i;

	for (i = 0; i < nitems(urls); i++) {
		if (urls[i] == NULL)
			continue;
		if (http_check_url(urls[i], host, sizeof(host), why,
				   sizeof(why)) == -1)
			errors += say(report, CHECK_ERROR, "%s: %s", urls[i],
				      why);
		else
			say(report, CHECK_OK, "%s: libcurl connects to host %s",
			    urls[i], host);
	}
	return errors;
}

/* Whose links these are ([identity] owner), and what that mode needs. */
static int
check_identity(const struct app *app, check_report report)
{
	const struct config *cfg = &app->cfg;

	if (cfg->owner == OWNER_FROM_BACKEND && app->backend_key == NULL) {
		report(CHECK_ERROR, "[identity] owner = backend: set [app] "
				    "backend_key_file, or no connect ticket "
				    "can be asked for and nobody can connect");
		return 1;
	}
	if (cfg->owner == OWNER_FROM_BACKEND)
		report(CHECK_OK, "[identity] owner = backend: links belong to "
				 "the users your backend names (POST "
				 "/connect-tickets)");
	else if (cfg->owner == OWNER_FROM_WEB_SERVER)
		report(CHECK_OK, "[identity] owner = web_server: links belong "
				 "to REMOTE_USER; the web server must sign "
				 "users in on the whole base path but /token, "
				 "/links/ and /connect-tickets");
	else if (!cfg->issue_cookie) {
		/* Issue 13: PHPSESSID and the like are made anew at sign-in. */
		say(report, CHECK_WARN,
		    "[identity] owner = browser with [session] "
		    "issue_cookie = false: links belong to the web app's "
		    "session cookie %s, so a link is lost whenever the "
		    "web app rotates its session id (most do at every "
		    "sign-in); set [identity] owner = web_server or "
		    "backend to keep links by user",
		    cfg->cookie_name);
	} else
		report(CHECK_OK,
		       "[identity] owner = browser: a link belongs to "
		       "one browser's session cookie");
	return 0;
}

int
selfcheck(const struct app *app, int resolve, check_report report)
{
	const struct config *cfg = &app->cfg;
	char msg[1024], want[512], host[256];
	struct addrinfo *ai, hints;
	int errors = 0, rc;

	/* Redis: a connection of the check's own, and not for each CGI
	 * request (the first store call reports a Redis that is down). */
	if (cfg->store_backend == STORE_BACKEND_FILE || resolve ||
	    getenv("GATEWAY_INTERFACE") == NULL) {
		rc = store_check(app->store, msg, sizeof(msg));
		report(rc == -1	 ? CHECK_ERROR
		       : rc == 1 ? CHECK_WARN
				 : CHECK_OK,
		       msg);
		errors += rc == -1;
	}
	if (limit_check(cfg, msg, sizeof(msg)) == -1)
		errors += say(report, CHECK_ERROR, "%s", msg);
	else
		say(report, CHECK_OK, "state dir %s: ours, mode 0700",
		    cfg->state_dir);
	say(report, CHECK_OK, "key file %s: 32 bytes, mode 0600%s",
	    cfg->key_file,
	    cfg->old_key_files.n > 0
		    ? " (old keys listed: run `rekey`, then drop them)"
		    : "");
	snprintf(want, sizeof(want), "%s/callback", cfg->base_path);
	if (strcmp(url_path(cfg->redirect_uri), want) != 0)
		say(report, CHECK_WARN,
		    "redirect_uri %s points at %s, not at this program's "
		    "callback (%s): fine only if the web server maps that "
		    "path here",
		    cfg->redirect_uri, url_path(cfg->redirect_uri), want);
	else
		say(report, CHECK_OK, "redirect_uri %s: ends at %s",
		    cfg->redirect_uri, want);
	errors += check_identity(app, report);
	/*
	 * libcurl is loaded on first use (http.c says why).  A FastCGI
	 * process loads it here, so a missing one shows at start, and the
	 * workers a listener forks share its pages.  One CGI process serves
	 * one request: loading it for each is the cost that waiting saves
	 * (RFC 3875 section 4.1.4: a CGI program sees GATEWAY_INTERFACE).
	 */
	if (resolve || getenv("GATEWAY_INTERFACE") == NULL) {
		if (http_load(want, sizeof(want)) == -1) {
			errors += say(report, CHECK_ERROR,
				      "libcurl cannot be loaded, so no code "
				      "exchange or refresh can work: %s "
				      "(install Debian's libcurl4)",
				      want);
		} else {
			report(CHECK_OK, "libcurl.so.4 loads");
			errors += check_urls(cfg, report);
		}
	}
	if (!resolve)
		return errors;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	/* config.c took token_url only with a host it could read. */
	(void)config_url_host(cfg->token_url, host, sizeof(host));
	if (getaddrinfo(host, NULL, &hints, &ai) != 0) {
		say(report, CHECK_WARN,
		    "token endpoint host of %s does not resolve (DNS, or a "
		    "typo in [insuresign] token_url?)",
		    cfg->token_url);
	} else {
		say(report, CHECK_OK, "token endpoint host %s resolves", host);
		freeaddrinfo(ai);
	}
	/* Events wait in the outbox while it cannot be reached: a warning. */
	if (cfg->events_url == NULL)
		return errors;
	if (http_probe(cfg, cfg->events_url, cfg->events_ca_file, want,
		       sizeof(want)) == HTTP_OK)
		say(report, CHECK_OK, "[events] url %s: reachable (TCP, TLS)",
		    cfg->events_url);
	else
		say(report, CHECK_WARN,
		    "[events] url %s cannot be reached now: %s; events wait "
		    "in their links' records until it can",
		    cfg->events_url, want);
	return errors;
}
