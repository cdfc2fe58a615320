/* The command line: the same program, run by an operator or from cron. */
#include "cli.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ahead.h"
#include "app.h"
#include "keyring.h"
#include "link.h"
#include "listing.h"
#include "outbox.h"
#include "migrate.h"
#include "nitems.h"
#include "fileowner.h"
#include "selfcheck.h"
#include "session.h"
#include "store.h"
#include "codec.h"
#include "timefmt.h"

#define EXIT_USAGE 2

static int
fail(const char *cmd, const char *what)
{
	fprintf(stderr, "insuresign-connect %s: %s\n", cmd, what);
	return 1;
}

static void
print_json(cJSON *o)
{
	char *s = cJSON_Print(o);

	if (s != NULL)
		puts(s);
	cJSON_free(s);
	cJSON_Delete(o);
}

static void
when(long long t, char *out)
{
	if (t <= 0)
		snprintf(out, TIME_LEN, "-");
	else
		timefmt_iso(t, out);
}

static int
cmd_list(struct app *app, const struct cli_opts *o)
{
	long long now = (long long)time(NULL);
	struct listing l;
	size_t i;

	if (listing_load(app->store, now, &l) == -1)
		return fail("list", "cannot read the store (see the log line "
				    "above)");
	/* Every user's id: with the key, from inside each record. */
	for (i = 0; i < l.n; i++) {
		struct record r;

		if (l.v[i].readable && l.v[i].meta.owner_kind == OWNER_USER &&
		    link_get_name(app, l.v[i].name, &r) == LINK_OK) {
			listing_owner(&l.v[i], &r);
			record_free(&r);
		}
	}
	listing_sort(&l, SORT_CONNECTED);
	if (o->json) {
		cJSON *a = cJSON_CreateArray();

		for (i = 0; i < l.n; i++)
			if (l.v[i].readable)
				cJSON_AddItemToArray(
					a, listing_json(&l.v[i], NULL, now));
		print_json(a);
	} else {
		printf("%-12s  %-24s  %-15s  %-20s  %-12s  %-20s  %s\n", "ID",
		       "OWNER", "STATUS", "CONNECTED SINCE", "EXPIRES",
		       "LAST REFRESH", "REFRESH");
		for (i = 0; i < l.n; i++) {
			const struct listing_entry *e = &l.v[i];
			char since[TIME_LEN], last[TIME_LEN], rel[32];

			if (!e->readable) {
				printf("%-12.12s  (not a record: ignored)\n",
				       e->name);
				continue;
			}
			when(e->meta.created, since);
			when(e->meta.last_refresh, last);
			timefmt_relative(e->meta.expires_at, now, rel,
					 sizeof(rel));
			printf("%-12.12s  %-24.24s  %-15s  %-20s  %-12s  %-20s "
			       " %s\n",
			       e->name,
			       e->user != NULL ? e->user
			       : e->meta.owner_kind == OWNER_USER
				       ? "(unreadable)"
				       : "(browser)",
			       health_table[e->health].label, since,
			       e->meta.status == RECORD_CONNECTED ? rel : "-",
			       last, e->meta.has_refresh ? "yes" : "no");
		}
	}
	listing_free(&l);
	return 0;
}

/*
 * Which record a command is about: --user ID (a web app's user's link), or
 * the operand, a unique prefix of a record's name (as `list` shows).
 */
static int
resolve(struct app *app, const char *cmd, const struct cli_opts *o, char *name)
{
	struct listing_query q = { .now = (long long)time(NULL),
				   .health = -1,
				   .sort = SORT_CONNECTED,
				   .prefix = o->args[0],
				   .limit = 2 };
	struct listing l;
	struct owner owner;
	struct record r;
	const char *prefix = o->args[0], *why;
	enum link_rc rc;
	size_t n;

	if (o->user != NULL) {
		if (owner_user(&app->cfg, o->user, &owner, &why) == -1)
			return fail(cmd, why);
		rc = link_get(app, &owner, name, &r);
		if (rc == LINK_OK)
			record_free(&r);
		return rc == LINK_OK	 ? 0
		       : rc == LINK_NONE ? fail(cmd, "that user has no link")
					 : fail(cmd, "the store cannot be read "
						     "(see the log line)");
	}
	if (strlen(prefix) < 4 || strlen(prefix) > RECORD_NAME_LEN ||
	    !hex_valid(prefix, strlen(prefix)))
		return fail(cmd, "expected a record id (at least 4 of its hex "
				 "digits, as `list` shows) or --user ID");
	if (store_query(app->store, &q, &l) != STORE_OK)
		return fail(cmd, "cannot read the store");
	n = l.matching;
	if (n == 1)
		memcpy(name, l.v[0].name, RECORD_NAME_LEN + 1);
	listing_free(&l);
	if (n == 0)
		return fail(cmd, "no record has that id");
	if (n > 1)
		return fail(cmd, "several records start so: give more digits");
	return 0;
}

static int
cmd_show(struct app *app, const struct cli_opts *o)
{
	char name[RECORD_NAME_LEN + 1];
	long long now = (long long)time(NULL);
	struct listing_entry e;
	struct record r;

	if (resolve(app, "show", o, name) != 0)
		return 1;
	if (link_get_name(app, name, &r) != LINK_OK)
		return fail("show",
			    "the record cannot be read (see the log line)");
	listing_entry_of(&e, name, &r.meta, now);
	print_json(listing_detail_json(&e, &r, now));
	record_free(&r);
	return 0;
}

static int
link_error(const char *cmd, enum link_rc rc, enum refresh_error why)
{
	char msg[256];

	switch (rc) {
	case LINK_NONE:
		return fail(cmd, "not connected");
	case LINK_RECONNECT:
		return fail(cmd,
			    "needs reconnect: the user must connect again");
	case LINK_UNAVAILABLE:
		snprintf(msg, sizeof(msg), "refresh failed: %s",
			 refresh_error_name(why));
		return fail(cmd, msg);
	default:
		return fail(cmd, "the store cannot be read or written (see the "
				 "log line)");
	}
}

static int
cmd_token(struct app *app, const struct cli_opts *o)
{
	enum refresh_error why;
	struct record r;
	enum link_rc rc;
	struct owner owner;
	const char *bad = NULL;

	if (o->user != NULL)
		owner_user(&app->cfg, o->user, &owner, &bad);
	else if (session_id_valid(&app->cfg, o->session))
		owner_browser(o->session, &owner);
	else
		bad = "not a session id of the expected form";
	if (bad != NULL)
		return fail("token", bad);
	rc = link_token(app, &owner, (long long)time(NULL), &r, &why);
	if (rc == LINK_OK) {
		puts(r.access_token);
		record_free(&r);
	}
	return rc == LINK_OK ? 0 : link_error("token", rc, why);
}

static int
cmd_refresh(struct app *app, const struct cli_opts *o)
{
	char name[RECORD_NAME_LEN + 1], exp[TIME_LEN];
	enum refresh_error why;
	struct record r;
	enum link_rc rc;

	if (resolve(app, "refresh", o, name) != 0)
		return 1;
	rc = link_refresh(app, name, (long long)time(NULL), &r, &why);
	if (rc == LINK_OK) {
		timefmt_iso(r.meta.expires_at, exp);
		printf("refreshed %.12s: expires %s\n", name, exp);
		record_free(&r);
	}
	return rc == LINK_OK ? 0 : link_error("refresh", rc, why);
}

static int
cmd_delete(struct app *app, const struct cli_opts *o)
{
	char name[RECORD_NAME_LEN + 1];
	enum link_rc rc;

	if (resolve(app, "delete", o, name) != 0)
		return 1;
	rc = link_delete(app, name, "cli");
	if (rc == LINK_OK)
		printf("deleted %.12s\n", name);
	return rc == LINK_OK ? 0 : link_error("delete", rc, REFRESH_OK);
}

static long gc_removed;

static void
print_removed(const char *name, const char *why)
{
	printf("removed %.12s (%s)\n", name, why);
	gc_removed++;
}

/*
 * Redis expires idle links itself (their TTL is max_idle_days from their
 * last use): what is left to gc is their index entries, removed as they
 * are read, a thousand names at a time; the links kept are the indexes'
 * totals.  Nothing is held in memory for every link.
 */
static int
gc_redis(struct app *app, long long now)
{
	struct listing_query q = { .now = now,
				   .health = -1,
				   .sort = SORT_CONNECTED,
				   .prefix = "",
				   .limit = 1 };
	struct listing l;
	long gone, kept;

	gone = store_sweep(app->store);
	if (gone < 0 || store_query(app->store, &q, &l) != STORE_OK)
		return fail("gc", "cannot read the store");
	kept = (long)(l.totals.connected + l.totals.reconnect);
	listing_free(&l);
	printf("kept %ld link%s (Redis expires those unused for %u days); "
	       "removed %ld index %s of %s Redis expired\n",
	       kept, kept == 1 ? "" : "s", app->cfg.max_idle_days, gone,
	       gone == 1 ? "entry" : "entries", gone == 1 ? "a link" : "links");
	return 0;
}

/* What it did, even when that is nothing: cron mails and timers show it. */
static int
cmd_gc(struct app *app, const struct cli_opts *o)
{
	long long now = (long long)time(NULL);
	long kept, temps;

	(void)o;
	if (strcmp(store_kind(app->store), "redis") == 0)
		return gc_redis(app, now);
	gc_removed = 0;
	kept = link_gc(app, now, print_removed);
	if (kept == -1)
		return fail("gc", "cannot read the store");
	temps = store_sweep(app->store);
	printf("kept %ld link%s (used in the last %u days), removed "
	       "%ld; removed %ld stray temp file%s\n",
	       kept, kept == 1 ? "" : "s", app->cfg.max_idle_days, gc_removed,
	       temps > 0 ? temps : 0, temps == 1 ? "" : "s");
	return 0;
}

/* Refresh ahead of need, from a timer (ahead.h); says what it did. */
static int
cmd_refresh_due(struct app *app, const struct cli_opts *o)
{
	struct ahead_result r;

	(void)o;
	if (ahead_run(app, (long long)time(NULL), &r) == -1)
		return fail("refresh-due", "cannot read the store");
	printf("refreshed %ld of %ld link%s due; %ld failed, %ld need a "
	       "reconnect, %ld skipped (refreshed meanwhile, or backing "
	       "off)\n",
	       r.refreshed, r.due, r.due == 1 ? "" : "s", r.failed, r.reconnect,
	       r.skipped);
	if (r.stopped)
		return fail("refresh-due", "stopped: the token endpoint "
					   "keeps failing (see the log line)");
	return 0;
}

/* Sends the events that are due (outbox.h), from a timer; --all: every
 * one waiting or given up on, now. */
static int
cmd_deliver(struct app *app, const struct cli_opts *o)
{
	struct outbox_result r;

	if (app->cfg.events_url == NULL)
		return fail("deliver", "events are off: set [events] url and "
				       "secret_file");
	if (outbox_deliver(app, (long long)time(NULL), o->all, &r) == -1)
		return fail("deliver", "cannot read the store");
	printf("sent %ld event%s, %ld failed (retried later), %ld given up; "
	       "%ld waiting\n",
	       r.sent, r.sent == 1 ? "" : "s", r.failed, r.given_up, r.waiting);
	if (r.stopped)
		return fail("deliver", "stopped: the receiver cannot be "
				       "reached (see the log line)");
	return 0;
}

static int
cmd_rekey(struct app *app, const struct cli_opts *o)
{
	long moved;
	int rc;

	(void)o;
	rc = link_rekey(app, &moved);
	printf("re-sealed %ld record%s under the current key\n", moved,
	       moved == 1 ? "" : "s");
	return rc == 0 ? 0
		       : fail("rekey", "some records could not be moved (see "
				       "the log lines); run it again");
}

static int
cmd_keygen(struct app *app, const struct cli_opts *o)
{
	char err[512];

	(void)app;
	if (keyring_generate(o->args[0], err, sizeof(err)) == -1)
		return fail("keygen", err);
	printf("wrote a new key to %s (mode 0600)\n", o->args[0]);
	return 0;
}

static void
print_check(enum check_level level, const char *what)
{
	static const char *const tags[] = { "ok", "warning", "error" };

	printf("%-8s %s\n", tags[level], what);
}

static int
cmd_check_config(struct app *app, const struct cli_opts *o)
{
	printf("%-8s %s: every key valid, secrets and keys readable\n", "ok",
	       config_path(o->config));
	if (selfcheck(app, 1, print_check) > 0)
		return fail("check-config", "fix the errors above");
	return 0;
}

static int
backend_named(const char *s, enum store_backend *out)
{
	if (strcmp(s, "file") == 0)
		*out = STORE_BACKEND_FILE;
	else if (strcmp(s, "redis") == 0)
		*out = STORE_BACKEND_REDIS;
	else
		return -1;
	return 0;
}

/* migrate FROM TO: what it did, and whether every copy reads back. */
static int
cmd_migrate(struct app *app, const struct cli_opts *o)
{
	enum store_backend which[2];
	struct store *from = NULL, *to = NULL;
	struct migrate_counts n;
	char err[1024];
	int rc = 1;

	if (backend_named(o->args[0], &which[0]) == -1 ||
	    backend_named(o->args[1], &which[1]) == -1 || which[0] == which[1])
		return fail("migrate", "expected `migrate file redis` or "
				       "`migrate redis file`");
	from = store_open(&app->cfg, which[0], err, sizeof(err));
	to = from != NULL ? store_open(&app->cfg, which[1], err, sizeof(err))
			  : NULL;
	/* Both stores usable, said as check-config says it. */
	if (to == NULL || store_check(from, err, sizeof(err)) == -1 ||
	    store_check(to, err, sizeof(err)) == -1) {
		fail("migrate", err);
		goto out;
	}
	if (migrate(app, from, to, app->cfg.store_backend == which[1],
		    (long long)time(NULL), &n) == -1) {
		fail("migrate", "cannot read the store to copy from (see the "
				"log line)");
		goto out;
	}
	printf("migrate %s -> %s: %ld link%s: copied %ld, already there %ld, "
	       "newer there %ld (kept), idle %ld (left for gc), unreadable "
	       "%ld, gone meanwhile %ld, failed %ld\n",
	       o->args[0], o->args[1], n.links, n.links == 1 ? "" : "s",
	       n.copied, n.same, n.newer, n.idle, n.unreadable, n.gone,
	       n.failed);
	printf("verified %ld of %ld: each read back from %s and opened with "
	       "the store key\n",
	       n.verified, n.copied + n.same + n.newer, o->args[1]);
	if (n.failed > 0 || n.mismatched > 0)
		fail("migrate", "not every link was copied (see the log "
				"lines): run it again");
	else
		rc = 0;
out:
	store_close(from);
	store_close(to);
	return rc;
}

struct command {
	const char *name;
	/* app: opened from the configuration when store is set, else NULL */
	int (*fn)(struct app *app, const struct cli_opts *o);
	int nargs; /* exactly this many operands (cli_run checks) */
	const char *usage;
	/* Runs as the store's owner: 1 uses the configured store, 2 the
	 * file store whichever is configured. */
	int store;
};

static const struct command commands[] = {
	{ "list", cmd_list, 0, "list [--json]", 1 },
	{ "show", cmd_show, 1, "show ID | --user ID", 1 },
	{ "token", cmd_token, 0, "token --session COOKIE_VALUE | --user ID",
	  1 },
	{ "refresh", cmd_refresh, 1, "refresh ID | --user ID", 1 },
	{ "delete", cmd_delete, 1, "delete ID | --user ID", 1 },
	{ "gc", cmd_gc, 0, "gc", 1 },
	{ "refresh-due", cmd_refresh_due, 0, "refresh-due", 1 },
	{ "deliver", cmd_deliver, 0, "deliver [--all]", 1 },
	{ "rekey", cmd_rekey, 0, "rekey", 1 },
	{ "keygen", cmd_keygen, 1, "keygen FILE", 0 },
	{ "check-config", cmd_check_config, 0, "check-config", 1 },
	{ "migrate", cmd_migrate, 2, "migrate file redis | redis file", 2 },
};

/*
 * Run as root, a command would read what the program's user may not
 * (check-config would say "ok" to files the web server cannot open), and
 * files it made in the store would lock the web server out.  Not chown
 * (that hands the store to root): run it as the store's owner.
 */
static int
refuse_root(const struct command *c, const struct cli_opts *o)
{
	char user[FILEOWNER_NAME_LEN], err[1024];
	struct config cfg;
	struct stat st;
	int i, rc = 0;

	if (geteuid() != 0 || !c->store ||
	    config_load(&cfg, config_path(o->config), err, sizeof(err)) == -1)
		return 0; /* not root, or the command says what is wrong */
	/* Redis's store has no files to lock the web server out of. */
	if ((c->store == 2 || cfg.store_backend == STORE_BACKEND_FILE) &&
	    stat(cfg.store_dir, &st) == 0 && st.st_uid != 0) {
		fileowner_user(st.st_uid, user);
		fprintf(stderr,
			"insuresign-connect %s: the store %s belongs to %s: "
			"run this as %s, not as root:\n  runuser -u %s -- "
			"insuresign-connect %s",
			c->name, cfg.store_dir, user, user, user, c->name);
		for (i = 0; i < o->nargs; i++)
			fprintf(stderr, " %s", o->args[i]);
		fprintf(stderr, "%s%s%s%s\n", o->json ? " --json" : "",
			o->session != NULL ? " --session \"$SESSION\""
			: o->user != NULL  ? " --user \"$USER_ID\""
					   : "",
			o->config != NULL ? " --config " : "",
			o->config != NULL ? o->config : "");
		rc = -1;
	}
	config_free(&cfg);
	return rc;
}

static const struct command *
find_command(const char *name)
{
	size_t i;

	for (i = 0; i < nitems(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int
cli_known(const char *cmd)
{
	return find_command(cmd) != NULL;
}

int
cli_run(const char *cmd, const struct cli_opts *opts)
{
	const struct command *c = find_command(cmd);
	const char *path = config_path(opts->config);
	char err[1024];
	struct app app;
	int rc;

	if (c == NULL) {
		fprintf(stderr, "%s: unknown command \"%s\"\n",
			program_invocation_short_name, cmd);
		return EXIT_USAGE;
	}
	/* --user ID stands for the one operand, never beside it; token takes
	 * one of --session and --user. */
	if (opts->nargs != c->nargs - (opts->user != NULL && c->nargs == 1) ||
	    (c->fn == cmd_token &&
	     (opts->session == NULL) == (opts->user == NULL))) {
		fprintf(stderr, "usage: %s %s [--config FILE]\n",
			program_invocation_short_name, c->usage);
		return EXIT_USAGE;
	}
	if (refuse_root(c, opts) == -1)
		return 1;
	if (!c->store)
		return c->fn(NULL, opts);
	if (app_open(&app, path, err, sizeof(err)) == -1) {
		fprintf(stderr, "insuresign-connect %s: %s: %s\n", cmd, path,
			err);
		return 1;
	}
	rc = c->fn(&app, opts);
	app_close(&app);
	return rc;
}
