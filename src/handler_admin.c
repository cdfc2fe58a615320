/*
 * The admin pages, for the operator, a handler each (route.c):
 * GET /admin: every stored link, 50 a page, sortable, filterable.
 * GET /admin/record?id=: one link, with its audit trail.
 * POST /admin/refresh, POST /admin/delete: CSRF token and Origin checked.
 * ?format=json on both views.  Tokens are only ever shown masked.
 */
#include "handler.h"

#include <cjson/cJSON.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "event.h"
#include "html.h"
#include "jwt.h"
#include "link.h"
#include "listing.h"
#include "log.h"
#include "nitems.h"
#include "page.h"
#include "policy.h"
#include "session.h"
#include "url.h"
#include "timefmt.h"

#define PER_PAGE   50
#define AUDIT_TAIL (1024 * 1024) /* the detail view reads this much */

/* Who is asking: a REMOTE_USER on the list, or the admin bearer key. */
static int
authorize(struct app *app, const struct request *req, struct response *res,
	  char *who, size_t len)
{
	if (app->cfg.admin_users.n == 0 && app->admin_key == NULL) {
		page_error(
			res, &app->cfg, 403, "Admin page not enabled",
			"It is off until you say who may use it: list the "
			"web server's authenticated users in [admin] users "
			"(with Apache Require or lighttpd mod_auth in front), "
			"or set [admin] key_file for a bearer key.",
			NULL, NULL);
		return 0;
	}
	if (policy_admin(&app->cfg, req, app->admin_key, who, len))
		return 1;
	if (app->admin_key != NULL)
		res_header(res, "WWW-Authenticate",
			   "Bearer realm=\"insuresign-connect admin\"");
	page_error(
		res, &app->cfg, req->remote_user != NULL ? 403 : 401,
		"Not allowed",
		req->remote_user != NULL
			? "Your user name is not in [admin] users."
			: "Sign in (the web server's authentication) or send "
			  "the admin bearer key.",
		NULL, NULL);
	return 0;
}

static int
wants_json(const struct request *req)
{
	const struct field *f = &req->query[PARAM_FORMAT];

	return f->state == FIELD_OK && strcmp(f->val, "json") == 0;
}

struct view {
	enum listing_sort sort;
	int filter; /* enum health, or -1 for all */
	const char *q;
	const char *user; /* a user id, or "" */
	int prefix;	  /* user is the start of the ids wanted */
	unsigned long long page;
};

static const char *const sort_names[] = {
	[SORT_CONNECTED] = "connected", [SORT_EXPIRES] = "expires",
	[SORT_REFRESHED] = "refreshed", [SORT_STATUS] = "status",
	[SORT_USER] = "user",
};

static void
read_view(const struct request *req, struct view *v)
{
	const struct field *f = req->query;
	const struct field *sort = &f[PARAM_SORT], *filter = &f[PARAM_FILTER];
	size_t i;

	v->sort = SORT_CONNECTED;
	for (i = 0; sort->state == FIELD_OK && i < nitems(sort_names); i++)
		if (strcmp(sort_names[i], sort->val) == 0)
			v->sort = (enum listing_sort)i;
	v->filter = -1;
	for (i = 0; filter->state == FIELD_OK && i < nitems(health_table); i++)
		if (strcmp(health_table[i].name, filter->val) == 0)
			v->filter = (int)i;
	v->q = f[PARAM_Q].state == FIELD_OK ? f[PARAM_Q].val : "";
	v->user = f[PARAM_USER].state == FIELD_OK ? f[PARAM_USER].val : "";
	v->prefix = f[PARAM_MATCH].state == FIELD_OK &&
		    strcmp(f[PARAM_MATCH].val, "prefix") == 0;
	v->page = f[PARAM_PAGE].state == FIELD_OK ? f[PARAM_PAGE].num : 1;
}

/*
 * The query string of a view, for the links that keep it: raw, since
 * html() escapes the "&" (and q is percent-encoded first).
 */
static void
view_query(struct buf *q, const struct view *v, int sort,
	   unsigned long long page)
{
	buf_printf(q, "?sort=%s", sort_names[sort]);
	if (v->filter >= 0)
		buf_printf(q, "&status=%s", health_table[v->filter].name);
	if (v->q[0] != '\0') {
		buf_adds(q, "&q=");
		url_encode(q, v->q);
	}
	if (v->user[0] != '\0') {
		buf_adds(q, "&user=");
		url_encode(q, v->user);
		if (v->prefix)
			buf_adds(q, "&match=prefix");
	}
	if (page > 1)
		buf_printf(q, "&page=%llu", page);
}

/*
 * Reads the user id of each entry (with the key: the id is only inside
 * the sealed record).  Unreadable records keep none.
 */
static void
owners(struct app *app, struct listing *l)
{
	struct record r;
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (!l->v[i].readable || l->v[i].user != NULL ||
		    l->v[i].meta.owner_kind != OWNER_USER)
			continue;
		if (link_get_name(app, l->v[i].name, &r) == LINK_OK) {
			listing_owner(&l->v[i], &r);
			record_free(&r);
		}
	}
}

/*
 * The exact user the view asks for: the names its record has, one per
 * key, into names (none for an id that is not a valid one).
 */
static size_t
user_names(const struct app *app, const struct view *v,
	   char names[KEYRING_MAX][RECORD_NAME_LEN + 1])
{
	struct owner o;
	const char *why;
	size_t i;

	if (owner_user(&app->cfg, v->user, &o, &why) == -1)
		return 0;
	for (i = 0; i < app->keys.n; i++)
		owner_record_name(&app->keys.keys[i], &o, names[i]);
	return app->keys.n;
}

/* A search by the start of a user id: read by owners() first. */
static int
user_starts(const struct listing_entry *e, void *ctx)
{
	const struct view *v = ctx;

	return e->user != NULL &&
	       strncmp(e->user, v->user, strlen(v->user)) == 0;
}

/*
 * The page of v, asked of the store as one page (Redis answers it from
 * its indexes) and again for the last page when v's is past it.  A
 * search by the start of a user id, or a sort by user, needs every
 * user's id, which only the sealed records hold: then every record is
 * read (record_open is ~5 us a record), in either store.
 */
static int
load_view(struct app *app, struct view *v, long long now, struct listing *l,
	  size_t *pages)
{
	char names[KEYRING_MAX][RECORD_NAME_LEN + 1];
	const char *name_of[KEYRING_MAX];
	struct listing_query q = { .now = now,
				   .health = v->filter,
				   .sort = v->sort,
				   .prefix = v->q,
				   .limit = PER_PAGE };
	int all = (v->user[0] != '\0' && v->prefix) || v->sort == SORT_USER;
	size_t i;

	if (v->user[0] != '\0' && !v->prefix) {
		q.nnames = user_names(app, v, names);
		for (i = 0; i < q.nnames; i++)
			name_of[i] = names[i];
		q.names = name_of;
	}
	for (;;) {
		/* page is at most a million (request.c): no overflow. */
		q.offset = (size_t)(v->page - 1) * PER_PAGE;
		if (all) {
			if (listing_load(app->store, now, l) == -1)
				return -1;
			owners(app, l);
			listing_select(l, &q,
				       v->user[0] != '\0' ? user_starts : NULL,
				       v);
		} else if (store_query(app->store, &q, l) != STORE_OK) {
			return -1;
		}
		*pages = l->matching == 0
				 ? 1
				 : (l->matching + PER_PAGE - 1) / PER_PAGE;
		if (v->page <= *pages)
			return 0;
		v->page = *pages;
		listing_free(l);
	}
}

static void
cell_time(struct buf *b, long long t)
{
	char s[TIME_LEN];

	if (t <= 0) {
		html(b, "<td>-</td>");
		return;
	}
	timefmt_iso(t, s);
	html(b, "<td><time datetime=\"%s\">%s</time></td>", s, s);
}

static void
list_row(struct buf *b, const struct app *app, const struct listing_entry *e,
	 long long now)
{
	const struct health_names *h = &health_table[e->health];
	char rel[32], exp[TIME_LEN], fp[32];

	html(b,
	     "<tr><td><a href=\"%s/admin/record?id=%s\"><code>%.12s</code>"
	     "</a></td>",
	     app->cfg.base_path, e->name, e->name);
	if (e->user != NULL)
		html(b, "<td>%s</td>", e->user);
	else
		html(b, "<td class=\"mute\">%s</td>",
		     e->meta.owner_kind == OWNER_USER ? "(unreadable)"
						      : "browser session");
	html(b, "<td class=\"status-%s\">%s</td>", h->css, h->label);
	cell_time(b, e->meta.created);
	if (e->meta.status == RECORD_CONNECTED) {
		timefmt_relative(e->meta.expires_at, now, rel, sizeof(rel));
		timefmt_iso(e->meta.expires_at, exp);
		html(b, "<td>%s<br><span class=\"mute\">%s</span></td>", rel,
		     exp);
	} else {
		html(b, "<td>-</td>");
	}
	cell_time(b, e->meta.last_refresh);
	listing_fingerprint(&e->meta, fp, sizeof(fp));
	html(b, "<td>%s</td><td>%s</td><td><code>%s</code></td></tr>\n",
	     refresh_error_name(e->meta.last_error),
	     e->meta.has_refresh ? "yes" : "no", fp);
}

static void
sort_header(struct buf *b, const struct app *app, const struct view *v,
	    int sort, const char *label)
{
	struct buf q;

	buf_init(&q, 1024);
	view_query(&q, v, sort, 1);
	if ((int)v->sort == sort)
		html(b,
		     "<th scope=\"col\"><a href=\"%s/admin%s\" "
		     "aria-current=\"true\">%s</a></th>",
		     app->cfg.base_path, buf_str(&q), label);
	else
		html(b, "<th scope=\"col\"><a href=\"%s/admin%s\">%s</a></th>",
		     app->cfg.base_path, buf_str(&q), label);
	buf_free(&q);
}

/* The link to the page before this view's, or after it. */
static void
pager(struct buf *b, const struct app *app, const struct view *v,
      unsigned long long page)
{
	int prev = page < v->page;
	struct buf q;

	buf_init(&q, 1024);
	view_query(&q, v, (int)v->sort, page);
	html(b, "<a rel=\"%s\" href=\"%s/admin%s\">%s</a>%s",
	     prev ? "prev" : "next", app->cfg.base_path, buf_str(&q),
	     prev ? "Previous" : "Next", prev ? " " : "");
	buf_free(&q);
}

static void
option(struct buf *b, const char *name, int selected)
{
	if (selected)
		html(b, "<option selected>%s</option>", name);
	else
		html(b, "<option>%s</option>", name);
}

static void
notice(struct buf *b, const struct request *req)
{
	const struct field *f = &req->query[PARAM_DONE];
	const char *text = NULL;

	if (f->state != FIELD_OK)
		return;
	if (strcmp(f->val, "refreshed") == 0)
		text = "Refreshed: a new access token was stored.";
	else if (strcmp(f->val, "deleted") == 0)
		text = "Deleted.";
	else if (strcmp(f->val, "refresh-failed") == 0)
		text = "The refresh failed: see the last refresh result.";
	else if (strcmp(f->val, "reconnect") == 0)
		text = "InsureSign no longer accepts this link: it needs a "
		       "reconnect by its user.";
	if (text != NULL)
		html(b, "<p class=\"card notice\" role=\"status\">%s</p>\n",
		     text);
}

static void
list_json(struct response *res, const struct listing *l, const struct view *v,
	  long long now)
{
	const struct listing_totals *t = &l->totals;
	cJSON *o = cJSON_CreateObject(), *a, *tot;
	size_t i;

	if (o == NULL)
		goto out;
	tot = cJSON_AddObjectToObject(o, "totals");
	cJSON_AddNumberToObject(tot, "connected", (double)t->connected);
	cJSON_AddNumberToObject(tot, "needs_reconnect", (double)t->reconnect);
	cJSON_AddNumberToObject(tot, "refresh_failing", (double)t->failing);
	cJSON_AddNumberToObject(tot, "expiring_within_hour",
				(double)t->expiring);
	/* The outbox (event.h): what waits for the web app's receiver. */
	cJSON_AddNumberToObject(tot, "events_waiting", (double)l->events);
	cJSON_AddNumberToObject(tot, "events_undeliverable",
				(double)l->events_dead);
	timefmt_json(tot, "events_oldest", l->events_oldest);
	cJSON_AddNumberToObject(o, "page", (double)v->page);
	cJSON_AddNumberToObject(o, "per_page", PER_PAGE);
	cJSON_AddNumberToObject(o, "matching", (double)l->matching);
	a = cJSON_AddArrayToObject(o, "records");
	for (i = 0; i < l->n; i++)
		cJSON_AddItemToArray(a, listing_json(&l->v[i], NULL, now));
out:
	res_json(res, 200, o);
}

/* GET /admin */
void
handle_admin_list(struct app *app, const struct request *req,
		  struct response *res)
{
	long long now = (long long)time(NULL);
	struct buf *b = &res->body;
	size_t i, pages;
	struct listing l;
	struct view v;
	char who[128];

	if (!authorize(app, req, res, who, sizeof(who)))
		return;
	read_view(req, &v);
	if (load_view(app, &v, now, &l, &pages) == -1) {
		page_error(res, &app->cfg, 503, "Store unavailable",
			   "The token store cannot be read; the log says why.",
			   NULL, NULL);
		return;
	}
	owners(app, &l);
	if (wants_json(req)) {
		list_json(res, &l, &v, now);
		listing_free(&l);
		return;
	}
	page_begin(res, &app->cfg, "InsureSign links");
	html(b, "<h1>InsureSign links</h1>\n");
	notice(b, req);
	html(b,
	     "<ul class=\"totals\"><li><strong>%zu</strong> connected</li>"
	     "<li><strong>%zu</strong> need reconnect</li><li><strong>%zu"
	     "</strong> refresh failing</li><li><strong>%zu</strong> expiring "
	     "in the next hour</li></ul>\n",
	     l.totals.connected, l.totals.reconnect, l.totals.failing,
	     l.totals.expiring);
	if (app->cfg.events_url != NULL || l.events + l.events_dead > 0)
		html(b,
		     "<ul class=\"totals\"><li><strong>%llu</strong> events "
		     "waiting for the web app</li><li><strong>%llu</strong> "
		     "given up (see their links)</li></ul>\n",
		     l.events, l.events_dead);
	html(b,
	     "<form class=\"card\" method=\"get\" action=\"%s/admin\">\n"
	     "<label>Record id starts with <input name=\"q\" size=\"14\" "
	     "pattern=\"[0-9a-f]*\" value=\"%s\"></label>\n<label>User "
	     "<input name=\"user\" size=\"20\" value=\"%s\"></label>\n"
	     "<label><select name=\"match\"><option value=\"exact\">is"
	     "</option>",
	     app->cfg.base_path, v.q, v.user);
	if (v.prefix)
		html(b, "<option value=\"prefix\" selected>starts with"
			"</option>");
	else
		html(b, "<option value=\"prefix\">starts with</option>");
	html(b, "</select></label>\n<label>Status <select name=\"status\">"
		"<option value=\"\">all</option>");
	for (i = 0; i < nitems(health_table); i++)
		option(b, health_table[i].name, (int)i == v.filter);
	html(b, "</select></label>\n<label>Sort by <select name=\"sort\">");
	for (i = 0; i < nitems(sort_names); i++)
		option(b, sort_names[i], (int)i == (int)v.sort);
	html(b,
	     "</select></label>\n<button type=\"submit\">Show</button></form>\n"
	     "<table>\n<caption>Page %llu of %zu (%zu matching)</caption>\n"
	     "<thead><tr><th scope=\"col\">Record</th>",
	     v.page, pages, l.matching);
	sort_header(b, app, &v, SORT_USER, "Owner");
	sort_header(b, app, &v, SORT_STATUS, "Status");
	sort_header(b, app, &v, SORT_CONNECTED, "Connected since");
	sort_header(b, app, &v, SORT_EXPIRES, "Access token expires");
	sort_header(b, app, &v, SORT_REFRESHED, "Last refresh");
	html(b, "<th scope=\"col\">Result</th><th scope=\"col\">Refresh "
		"token</th><th scope=\"col\">Token</th></tr></thead>\n"
		"<tbody>\n");
	for (i = 0; i < l.n; i++)
		list_row(b, app, &l.v[i], now);
	html(b, "</tbody>\n</table>\n<nav aria-label=\"pages\"><p>");
	if (v.page > 1)
		pager(b, app, &v, v.page - 1);
	if (v.page < pages)
		pager(b, app, &v, v.page + 1);
	html(b, "</p></nav>\n");
	page_end(res);
	listing_free(&l);
}

/* This record's lines from the audit file's last megabyte. */
static void
audit_lines(const struct app *app, const char *name, struct buf *out)
{
	char tag[32], *chunk, *line, *end;
	struct stat st;
	off_t from;
	ssize_t n;
	int fd;

	if (app->cfg.audit_log == NULL)
		return;
	fd = open(app->cfg.audit_log, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1)
		return;
	/* fstat of what open just gave fails for no file we can open; if it
	 * did, the file's start is still a place to read from. */
	from = fstat(fd, &st) == 0 && st.st_size > AUDIT_TAIL
		       ? st.st_size - AUDIT_TAIL
		       : 0;
	chunk = malloc(AUDIT_TAIL + 1);
	n = chunk != NULL ? pread(fd, chunk, AUDIT_TAIL, from) : -1;
	close(fd);
	if (n > 0) {
		chunk[n] = '\0';
		snprintf(tag, sizeof(tag), "record=%.12s ", name);
		/* Whole lines only: the last may be still being written. */
		for (line = chunk; (end = strchr(line, '\n')) != NULL;
		     line = end + 1) {
			*end = '\0';
			if (strstr(line, tag) != NULL) {
				buf_adds(out, line);
				buf_addc(out, '\n');
			}
		}
	}
	free(chunk);
}

/* "Refresh now" or "Delete": a POST to /admin/{action} with the token. */
static void
record_form(struct buf *b, const struct app *app, const char *action,
	    const char *name, const char *csrf, const char *label, int danger)
{
	html(b,
	     "<form class=\"inline\" method=\"post\" action=\"%s/admin/%s\">"
	     "<input type=\"hidden\" name=\"id\" value=\"%s\">"
	     "<input type=\"hidden\" name=\"csrf\" value=\"%s\">",
	     app->cfg.base_path, action, name, csrf);
	if (danger)
		html(b,
		     "<button type=\"submit\" class=\"danger\">%s</button>"
		     "</form>\n",
		     label);
	else
		html(b, "<button type=\"submit\">%s</button></form>\n", label);
}

/* One claim's value as text: times as times, arrays joined. */
static void
claim_value(struct buf *b, const char *name, const cJSON *v)
{
	static const char *const times[] = { "exp", "iat", "nbf", "auth_time" };
	const cJSON *e;
	char t[TIME_LEN];
	size_t i;
	int first = 1;

	for (i = 0; cJSON_IsNumber(v) && i < nitems(times); i++)
		if (strcmp(name, times[i]) == 0) {
			timefmt_iso((long long)v->valuedouble, t);
			html(b, "%lld (%s)", (long long)v->valuedouble, t);
			return;
		}
	if (cJSON_IsString(v))
		html(b, "%s", v->valuestring);
	else if (cJSON_IsNumber(v))
		html(b, "%lld", (long long)v->valuedouble);
	else if (cJSON_IsBool(v))
		html(b, "%s", cJSON_IsTrue(v) ? "true" : "false");
	else if (cJSON_IsArray(v))
		cJSON_ArrayForEach(e, v)
		{
			if (!first)
				html(b, ", ");
			first = 0;
			claim_value(b, "", e);
		}
	else
		html(b, "null");
}

/* A row for an event of the outbox: its type, when, tries, last failure. */
static void
event_rows(struct buf *b, const cJSON *list, const char *state)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, list)
	{
		const char *last = cJSON_GetStringValue(
			cJSON_GetObjectItem(e, "last_error"));

		html(b,
		     "<tr><td>%s</td><td>%s</td><td>%s</td><td>%d</td>"
		     "<td>%s</td><td><code>%s</code></td></tr>\n",
		     cJSON_GetStringValue(cJSON_GetObjectItem(e, "type")),
		     state,
		     cJSON_GetStringValue(cJSON_GetObjectItem(e, "created_at")),
		     (int)cJSON_GetNumberValue(cJSON_GetObjectItem(e, "tries")),
		     last != NULL ? last : "-",
		     cJSON_GetStringValue(cJSON_GetObjectItem(e, "id")));
	}
}

/* The events of this link still to be sent, or given up on. */
static void
events_card(struct buf *b, const struct record *r)
{
	cJSON *o = event_outbox_json(r);

	if (o == NULL)
		return;
	html(b, "<div class=\"card\">\n<h2>Events for the web app</h2>\n"
		"<table>\n<thead><tr><th scope=\"col\">Event</th>"
		"<th scope=\"col\">State</th><th scope=\"col\">Queued</th>"
		"<th scope=\"col\">Tries</th><th scope=\"col\">Last "
		"failure</th><th scope=\"col\">Id</th></tr></thead>\n"
		"<tbody>\n");
	event_rows(b, cJSON_GetObjectItem(o, "waiting"), "waiting");
	event_rows(b, cJSON_GetObjectItem(o, "undeliverable"),
		   "given up: insuresign-connect deliver --all sends it again");
	html(b, "</tbody>\n</table>\n</div>\n");
	cJSON_Delete(o);
}

/*
 * What the access token says of itself (jwt.h): which InsureSign account
 * the user linked and what the token may do.  Not verified, and never the
 * token or its signature.
 */
static void
token_card(struct buf *b, const char *token)
{
	cJSON *o = jwt_describe(token);
	const cJSON *e, *part;
	const char *format =
		cJSON_GetStringValue(cJSON_GetObjectItem(o, "format"));
	const char *error =
		cJSON_GetStringValue(cJSON_GetObjectItem(o, "error"));

	html(b, "<div class=\"card\">\n<h2>Access token</h2>\n");
	if (token == NULL)
		html(b, "<p class=\"mute\">None stored (the link needs a "
			"reconnect).</p>\n");
	else if (format == NULL || strcmp(format, "opaque") == 0)
		html(b, "<p class=\"mute\">An opaque token: it says nothing "
			"about itself.</p>\n");
	else if (error != NULL)
		html(b,
		     "<p class=\"mute\">Shaped like a JWT, but malformed: "
		     "%s.</p>\n",
		     error);
	else {
		html(b, "<p class=\"mute\">A JWT, decoded here <strong>not "
			"verified</strong>: what it claims, for you to read, "
			"never trusted.</p>\n<dl>\n");
		part = cJSON_GetObjectItem(o, "header");
		cJSON_ArrayForEach(e, part)
		{
			html(b, "<dt>header %s</dt><dd>", e->string);
			claim_value(b, e->string, e);
			html(b, "</dd>\n");
		}
		part = cJSON_GetObjectItem(o, "claims");
		cJSON_ArrayForEach(e, part)
		{
			html(b, "<dt>%s</dt><dd>", e->string);
			claim_value(b, e->string, e);
			html(b, "</dd>\n");
		}
		html(b, "</dl>\n");
	}
	html(b, "</div>\n");
	cJSON_Delete(o);
}

/* GET /admin/record?id= */
void
handle_admin_record(struct app *app, const struct request *req,
		    struct response *res)
{
	const struct field *id = &req->query[PARAM_ID];
	char csrf[CSRF_LEN + 1], rel[32], t[TIME_LEN], fp[32], who[128];
	long long now = (long long)time(NULL);
	struct buf *b = &res->body;
	struct listing_entry e;
	struct buf trail;
	struct record r;

	if (!authorize(app, req, res, who, sizeof(who)))
		return;
	if (id->state != FIELD_OK || id->len != RECORD_NAME_LEN) {
		page_error(res, &app->cfg, 400, "Bad record id",
			   "Expected the record's 64 hex digits.", NULL, NULL);
		return;
	}
	switch (link_get_name(app, id->val, &r)) {
	case LINK_OK:
		break;
	case LINK_NONE:
		page_error(res, &app->cfg, 404, "No such record",
			   "It may have been deleted.", NULL, NULL);
		return;
	default:
		page_error(res, &app->cfg, 503, "Record unreadable",
			   "The record cannot be read or decrypted; the log "
			   "says why.",
			   NULL, NULL);
		return;
	}
	listing_entry_of(&e, id->val, &r.meta, now);
	buf_init(&trail, AUDIT_TAIL);
	audit_lines(app, e.name, &trail);
	if (wants_json(req)) {
		cJSON *o = listing_detail_json(&e, &r, now);

		cJSON_AddStringToObject(o, "audit", buf_str(&trail));
		res_json(res, 200, o);
		goto out;
	}
	session_token(&app->keys.keys[0], "admin", who, now, csrf);
	page_begin(res, &app->cfg, "InsureSign link");
	html(b, "<p><a href=\"%s/admin\">&larr; All links</a></p>\n",
	     app->cfg.base_path);
	notice(b, req);
	timefmt_iso(r.meta.created, t);
	html(b,
	     "<div class=\"card\">\n<h1>Link <code>%.12s</code></h1>\n"
	     "<dl>\n<dt>Record id</dt><dd><code>%s</code></dd>\n"
	     "<dt>Owner</dt><dd>%s</dd>\n"
	     "<dt>Status</dt><dd>%s</dd>\n"
	     "<dt>Connected since</dt><dd>%s</dd>\n",
	     e.name, e.name,
	     r.owner.kind == OWNER_USER ? r.owner.id : "a browser session",
	     health_table[e.health].label, t);
	if (r.meta.status == RECORD_CONNECTED) {
		timefmt_iso(r.meta.expires_at, t);
		timefmt_relative(r.meta.expires_at, now, rel, sizeof(rel));
		html(b, "<dt>Access token expires</dt><dd>%s (%s)</dd>\n", rel,
		     t);
	}
	if (r.meta.last_refresh > 0)
		timefmt_iso(r.meta.last_refresh, t);
	listing_fingerprint(&r.meta, fp, sizeof(fp));
	html(b,
	     "<dt>Last refresh</dt><dd>%s, %s</dd>\n"
	     "<dt>Access token</dt><dd><code>%s</code></dd>\n"
	     "<dt>Refresh token</dt><dd>%s</dd>\n"
	     "<dt>Token type</dt><dd>%s</dd>\n<dt>Scope</dt><dd>%s</dd>\n"
	     "</dl>\n<p>",
	     r.meta.last_refresh > 0 ? t : "never",
	     refresh_error_name(r.meta.last_error), fp,
	     r.meta.has_refresh ? "present" : "none",
	     r.token_type != NULL ? r.token_type : "-",
	     r.scope != NULL ? r.scope : "-");
	record_form(b, app, "refresh", e.name, csrf, "Refresh now", 0);
	record_form(b, app, "delete", e.name, csrf,
		    app->cfg.revocation_url != NULL ? "Revoke and delete"
						    : "Delete",
		    1);
	html(b, "</p>\n</div>\n");
	token_card(b, r.access_token);
	events_card(b, &r);
	html(b, "<div class=\"card\">\n<h2>Audit trail</h2>\n");
	if (app->cfg.audit_log == NULL)
		html(b, "<p class=\"mute\">The audit trail goes to the web "
			"server's error log: set [app] audit_log to see it "
			"here.</p>\n");
	else if (trail.len == 0)
		html(b, "<p class=\"mute\">No lines for this record in the "
			"audit log's last megabyte.</p>\n");
	else
		html(b, "<pre>%s</pre>\n", buf_str(&trail));
	html(b, "</div>\n");
	page_end(res);
out:
	buf_free(&trail);
	record_free(&r);
}

/*
 * A change asked for from the admin page: by an allowed user, with that
 * user's CSRF token, from our own origin, for a well-formed record id.
 * The id, or NULL with the refusal in res.
 */
static const char *
admin_change(struct app *app, const struct request *req, struct response *res,
	     char *who, size_t len, long long now)
{
	const struct field *id = &req->form[PARAM_ID];
	const struct field *csrf = &req->form[PARAM_CSRF];

	if (!authorize(app, req, res, who, len))
		return NULL;
	if (!policy_same_origin(&app->cfg, req) || csrf->state != FIELD_OK ||
	    !session_token_ok(&app->keys, "admin", who, now, csrf->val)) {
		page_error(res, &app->cfg, 403, "Not allowed",
			   "This action did not come from the admin page (a "
			   "missing, expired or wrong CSRF token, or a foreign "
			   "Origin): nothing was changed. Reload the page and "
			   "try again.",
			   NULL, NULL);
		return NULL;
	}
	if (id->state != FIELD_OK || id->len != RECORD_NAME_LEN) {
		page_error(res, &app->cfg, 400, "Bad record id",
			   "Expected the record's 64 hex digits.", NULL, NULL);
		return NULL;
	}
	return id->val;
}

/* The record is gone, or the store failed: nothing to go back to. */
static void
change_failed(struct app *app, struct response *res, enum link_rc rc)
{
	if (rc == LINK_NONE)
		page_error(res, &app->cfg, 404, "No such record",
			   "It may have been deleted already.", NULL, NULL);
	else
		page_error(res, &app->cfg, 503, "Store unavailable",
			   "The store cannot be read or written; the log says "
			   "why.",
			   NULL, NULL);
}

/* POST /admin/refresh: then back to the record, saying how it went. */
void
handle_admin_refresh(struct app *app, const struct request *req,
		     struct response *res)
{
	long long now = (long long)time(NULL);
	char who[128], url[512];
	enum refresh_error why;
	const char *id, *done;
	struct record r;
	enum link_rc rc;

	id = admin_change(app, req, res, who, sizeof(who), now);
	if (id == NULL)
		return;
	rc = link_refresh(app, id, now, &r, &why);
	if (rc == LINK_OK)
		record_free(&r);
	audit("admin_refresh", id, "by=%s result=%s", who,
	      rc == LINK_OK ? "ok" : refresh_error_name(why));
	done = rc == LINK_OK		? "refreshed"
	       : rc == LINK_RECONNECT	? "reconnect"
	       : rc == LINK_UNAVAILABLE ? "refresh-failed"
					: NULL;
	if (done == NULL) {
		change_failed(app, res, rc);
		return;
	}
	snprintf(url, sizeof(url), "%s/admin/record?id=%s&done=%s",
		 app->cfg.base_path, id, done);
	res_redirect(res, 303, url);
}

/* POST /admin/delete: then back to the list. */
void
handle_admin_delete(struct app *app, const struct request *req,
		    struct response *res)
{
	long long now = (long long)time(NULL);
	char who[128], url[512];
	enum link_rc rc;
	const char *id;

	id = admin_change(app, req, res, who, sizeof(who), now);
	if (id == NULL)
		return;
	rc = link_delete(app, id, who);
	audit("admin_delete", id, "by=%s result=%s", who,
	      rc == LINK_OK ? "ok" : "failed");
	if (rc != LINK_OK) {
		change_failed(app, res, rc);
		return;
	}
	snprintf(url, sizeof(url), "%s/admin?done=deleted", app->cfg.base_path);
	res_redirect(res, 303, url);
}
