/*
 * A whole request, as serve.c handles one: request_read (its body from
 * the input), route() and res_head, with a real struct app (config
 * from a fixed ini, a key file, a store in a private temp dir) and the
 * token endpoint stubbed (tests/unit/http_stub.c).  Most inputs are
 * callbacks, but any path under base_path is reachable.
 *
 * Input: one flag byte, then CGI variables, one "NAME=value" a line, up to
 * an empty line; the rest is the body.  REQUEST_METHOD and REQUEST_URI
 * default to a GET of the callback, CONTENT_LENGTH to the body's length.
 *
 * Flag bits:
 *   0-2  the token endpoint's reply (enum http_stub_reply)
 *   3    a real pending cookie: sealed for the request's session (its
 *        cookie's, or @SID@ added as one), its state put in the query
 *        where the input says @STATE@, else in front of it
 *   4    that pending authorization is 11 minutes old (expired)
 *   5    a stored link for that session, expiring in an hour
 *   6    a stored link that is due for a refresh
 *   7    the second config (the web app's session cookie, issuer, no
 *        PKCE, base_path "/", secure cookies always)
 *
 * Placeholders in the input stand for what a fuzzer cannot compute:
 *   @SID@ a valid session id, @NAME@ its record name, @CSRF@ its CSRF
 *   token, @ACSRF@ the admin CSRF token of REMOTE_USER alice, @KCSRF@ the
 *   admin CSRF token of the bearer key, @BACKEND@ and @ADMINKEY@ the
 *   bearer keys, @STATE@ the pending state (flag 3).
 * The store is emptied after each input, so runs stay independent.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "app.h"
#include "buf.h"
#include "fuzz.h"
#include "handler.h"
#include "../unit/http_stub.h"
#include "link.h"
#include "page.h"
#include "pending.h"
#include "request.h"
#include "response.h"
#include "session.h"

#define ENV_MAX 64

#define F_REPLY	  0x07
#define F_PENDING 0x08
#define F_EXPIRED 0x10
#define F_LINKED  0x20
#define F_DUE	  0x40
#define F_APP_B	  0x80

#define BACKEND_KEY "fuzz-backend-key-0123456789abcdefABCDEF"
#define ADMIN_KEY   "fuzz-admin-key-0123456789abcdefABCDEFGHI"
/* The tokens of a stored link the harness makes (flags 5 and 6). */
#define SEED_AT "at_Seed0dVb2bX6yYk3Lm9sTqW1pZc4RtUv7e"
#define SEED_RT "rt_Seed0Gk2LpQ8wErT6yUi0oPa3sDf9gHj1k"
/* Well-formed (43 base64url characters), and no state of ours. */
#define NO_STATE "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

static struct app apps[2];
static struct request req;
static struct response res;
static struct buf head;
static char store_dir[512];

static char sid_name[RECORD_NAME_LEN + 1];
static struct owner sid_owner;
static char sid_csrf[CSRF_LEN + 1];
static char alice_csrf[CSRF_LEN + 1];
static char bearer_csrf[CSRF_LEN + 1];

static const char ini_a[] =
	"[insuresign]\n"
	"client_id = fuzz-client\n"
	"client_secret = fuzz-secret\n"
	"redirect_uri = https://app.example.com/insuresign/callback\n"
	"revocation_url = https://sign-auth.insuresign.io/oauth2/revoke\n"
	"[app]\n"
	"return_to = /account\n"
	"return_to_allowed = /account, /settings\n"
	"backend_key_file = %s/backend.key\n"
	"state_dir = %s/state\n"
	"[store]\n"
	"dir = %s/store\n"
	"key_file = %s/store.key\n"
	"[admin]\n"
	"users = alice\n"
	"key_file = %s/admin.key\n"
	"[limits]\n"
	"callbacks_per_address = 1000000\n"
	"callbacks_per_minute = 1000000\n";

static const char ini_b[] = "[insuresign]\n"
			    "environment = lab\n"
			    "client_id = fuzz-client\n"
			    "client_secret_file = %s/client_secret\n"
			    "redirect_uri = https://app.example.com/callback\n"
			    "issuer = https://lab-auth.insuresign.io\n"
			    "pkce = false\n"
			    "scope = documents\n"
			    "[app]\n"
			    "base_path = /\n"
			    "return_to = /account\n"
			    "trusted_proxies = 127.0.0.1, ::1\n"
			    "state_dir = %s/state\n"
			    "[session]\n"
			    "cookie_name = PHPSESSID\n"
			    "issue_cookie = false\n"
			    "secure = always\n"
			    "[store]\n"
			    "dir = %s/store\n"
			    "key_file = %s/store.key\n"
			    "max_idle_days = 1\n"
			    "[limits]\n"
			    "callbacks_per_address = 1000000\n"
			    "callbacks_per_minute = 1000000\n";

static void
open_app(struct app *app, const char *dir, const char *name, const char *ini)
{
	char path[512], text[2048], err[512];
	int n;

	n = snprintf(text, sizeof(text), ini, dir, dir, dir, dir, dir);
	FUZZ_CHECK(n > 0 && (size_t)n < sizeof(text));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fuzz_write_file(path, text, (size_t)n);
	if (app_open(app, path, err, sizeof(err)) == -1) {
		fprintf(stderr, "fuzz_callback: %s\n", err);
		abort();
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	unsigned char key[KEY_LEN];
	const char *dir = fuzz_dir();
	char path[512];
	size_t i;

	(void)argc;
	(void)argv;
	snprintf(store_dir, sizeof(store_dir), "%s/store", dir);
	FUZZ_CHECK(mkdir(store_dir, 0700) == 0);
	snprintf(path, sizeof(path), "%s/state", dir);
	FUZZ_CHECK(mkdir(path, 0700) == 0);
	for (i = 0; i < KEY_LEN; i++)
		key[i] = (unsigned char)(0x40 + i);
	snprintf(path, sizeof(path), "%s/store.key", dir);
	fuzz_write_file(path, key, sizeof(key));
	snprintf(path, sizeof(path), "%s/backend.key", dir);
	fuzz_write_file(path, BACKEND_KEY "\n", sizeof(BACKEND_KEY));
	snprintf(path, sizeof(path), "%s/admin.key", dir);
	fuzz_write_file(path, ADMIN_KEY "\n", sizeof(ADMIN_KEY));
	snprintf(path, sizeof(path), "%s/client_secret", dir);
	fuzz_write_file(path, "fuzz-secret\n", 12);
	open_app(&apps[0], dir, "a.ini", ini_a);
	open_app(&apps[1], dir, "b.ini", ini_b);

	owner_browser(FUZZ_SID, &sid_owner);
	owner_record_name(&apps[0].keys.keys[0], &sid_owner, sid_name);
	session_token(&apps[0].keys.keys[0], "disconnect", FUZZ_SID, time(NULL),
		      sid_csrf);
	/* The admin's tokens of this hour (session_token). */
	session_token(&apps[0].keys.keys[0], "admin", "alice", time(NULL),
		      alice_csrf);
	session_token(&apps[0].keys.keys[0], "admin", "bearer-key", time(NULL),
		      bearer_csrf);
	res_init(&res);
	buf_init(&head, 64 * 1024);
	return 0;
}

/* The input with its placeholders replaced. */
static void
expand(const uint8_t *data, size_t size, const char *state, struct buf *out)
{
	static const struct {
		const char *name;
		const char *value;
	} ph[] = {
		{ "@SID@", FUZZ_SID },	     { "@NAME@", sid_name },
		{ "@CSRF@", sid_csrf },	     { "@ACSRF@", alice_csrf },
		{ "@KCSRF@", bearer_csrf },  { "@BACKEND@", BACKEND_KEY },
		{ "@ADMINKEY@", ADMIN_KEY }, { "@STATE@", NULL },
	};
	size_t i = 0, k;

	while (i < size) {
		for (k = 0; k < sizeof(ph) / sizeof(ph[0]); k++) {
			size_t n = strlen(ph[k].name);

			if (size - i >= n &&
			    memcmp(data + i, ph[k].name, n) == 0)
				break;
		}
		if (k < sizeof(ph) / sizeof(ph[0])) {
			buf_adds(out,
				 ph[k].value != NULL ? ph[k].value : state);
			i += strlen(ph[k].name);
		} else {
			buf_addc(out, (char)data[i++]);
		}
	}
}

struct input {
	char *env[ENV_MAX + 8];
	size_t n;
	char *body;
	size_t body_len;
	int has_method, has_uri, has_length;
	char **cookie, **query; /* where in env, or NULL */
};

static int
is_var(const char *line, const char *name)
{
	size_t n = strlen(name);

	return strncmp(line, name, n) == 0 && line[n] == '=';
}

/* Splits text (modified in place) into CGI variables and a body. */
static void
split(char *text, size_t len, struct input *in)
{
	char *p = text, *end = text + len;

	memset(in, 0, sizeof(*in));
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL)
			nl = end;
		*nl = '\0';
		if (*p == '\0' && nl < end) {
			in->body = nl + 1;
			in->body_len = (size_t)(end - in->body);
			return;
		}
		if (in->n < ENV_MAX) {
			in->env[in->n] = p;
			in->has_method |= is_var(p, "REQUEST_METHOD");
			in->has_uri |= is_var(p, "REQUEST_URI") ||
				       is_var(p, "SCRIPT_NAME") ||
				       is_var(p, "PATH_INFO");
			in->has_length |= is_var(p, "CONTENT_LENGTH");
			if (is_var(p, "HTTP_COOKIE"))
				in->cookie = &in->env[in->n];
			if (is_var(p, "QUERY_STRING"))
				in->query = &in->env[in->n];
			in->n++;
		}
		p = nl + 1;
	}
}

/* request.c's reader of the body: the input's, as much as there is. */
static long
read_body(void *ctx, char *buf, size_t len)
{
	struct input *in = ctx;
	size_t n = in->body_len < len ? in->body_len : len;

	if (n > 0)
		memcpy(buf, in->body, n);
	return (long)n;
}

static void
add_var(struct input *in, char *var)
{
	in->env[in->n++] = var;
	in->env[in->n] = NULL;
}

/* Removes every record, so the next input starts from an empty store. */
static void
empty_store(void)
{
	char path[600];
	struct dirent *e;
	DIR *d = opendir(store_dir);

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", store_dir, e->d_name);
		fuzz_rm_tree(path);
	}
	closedir(d);
}

/* A response must be one well-formed CGI header block. */
static void
check_response(void)
{
	size_t i;

	FUZZ_CHECK(res.status >= 200 && res.status <= 599);
	FUZZ_CHECK(head.len >= 4 && !head.failed);
	FUZZ_CHECK(memcmp(head.data + head.len - 4, "\r\n\r\n", 4) == 0);
	/* No header splitting: CR and LF only ever as a pair. */
	for (i = 0; i < head.len; i++) {
		if (head.data[i] == '\r')
			FUZZ_CHECK(i + 1 < head.len &&
				   head.data[i + 1] == '\n');
		if (head.data[i] == '\n')
			FUZZ_CHECK(i > 0 && head.data[i - 1] == '\r');
	}
	if (res.status == 302 || res.status == 303)
		FUZZ_CHECK(strstr(head.data, "\r\nLocation: ") != NULL);
}

/* Does the response carry s, which the request did not? */
static int
leaks(const struct buf *text, const char *s)
{
	size_t n = strlen(s);

	if (memmem(text->data, text->len, s, n) != NULL)
		return 0; /* an echo, e.g. of an error_description */
	return memmem(head.data, head.len, s, n) != NULL ||
	       (res.body.data != NULL &&
		memmem(res.body.data, res.body.len, s, n) != NULL);
}

/*
 * DESIGN.md's security model, where a response shows it: a stale or
 * replayed callback gets a page, never a 500 and never a token request;
 * a refresh token never leaves; an access token only to /token.
 */
static void
check_policy(const struct buf *text, unsigned flags, unsigned long calls)
{
	int callback = req.path != NULL && strcmp(req.path, "/callback") == 0;

	if (callback) {
		FUZZ_CHECK(res.status != 500);
		if (!(flags & F_PENDING) || (flags & F_EXPIRED))
			FUZZ_CHECK(http_stub_calls == calls);
	}
	FUZZ_CHECK(!leaks(text, HTTP_STUB_RT) && !leaks(text, SEED_RT));
	if (req.path == NULL || strcmp(req.path, "/token") != 0)
		FUZZ_CHECK(!leaks(text, HTTP_STUB_AT) &&
			   !leaks(text, HTTP_STUB_AT2) &&
			   !leaks(text, SEED_AT));
}

/* A stored link for sid, as a code exchange makes one. */
static void
link_session(struct app *app, const char *sid, int due, long long now)
{
	struct oauth_tokens t;
	struct owner o;
	static char at[] = SEED_AT;
	static char rt[] = SEED_RT;
	static char bearer[] = "Bearer";

	memset(&t, 0, sizeof(t));
	t.access_token = at;
	t.refresh_token = rt;
	t.token_type = bearer;
	t.expires_in = due ? 30 : 3600;
	owner_browser(sid, &o);
	FUZZ_CHECK(link_create(app, &o, NULL, &t, now) == LINK_OK);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char get[] = "REQUEST_METHOD=GET";
	char state[STATE_LEN + 1], name[128], uri[300], length[64];
	struct buf text, cookie, query, sealed;
	struct pending_set set;
	struct pending p;
	struct session s;
	struct input in;
	struct request_source src = { in.env, read_body, &in, 1 };
	struct app *app;
	const char *sid = FUZZ_SID;
	long long now = (long long)time(NULL);
	unsigned long calls = http_stub_calls;
	unsigned flags;
	int rc;

	if (size < 1)
		return 0;
	flags = data[0];
	app = &apps[(flags & F_APP_B) != 0];
	http_stub_reply = flags & F_REPLY;

	memset(&p, 0, sizeof(p));
	snprintf(state, sizeof(state), "%s", NO_STATE);
	if (flags & F_PENDING) {
		FUZZ_CHECK(pending_new(&p, app->cfg.return_to, NULL,
				       flags & F_EXPIRED ? now - 660 : now) ==
			   0);
		pending_state(&p, state);
	}
	buf_init(&text, 256 * 1024);
	buf_init(&cookie, COOKIE_MAX * 2);
	buf_init(&query, QUERY_MAX * 2);
	buf_init(&sealed, 4096);
	expand(data + 1, size - 1, state, &text);
	buf_addc(&text, '\0'); /* data stays non-NULL when the input is empty */
	if (text.failed)
		goto out;
	split(text.data, text.len - 1, &in);

	if (!in.has_method)
		add_var(&in, get);
	if (!in.has_uri) {
		snprintf(uri, sizeof(uri), "REQUEST_URI=%s/callback",
			 app->cfg.base_path);
		add_var(&in, uri);
	}
	if (!in.has_length && in.body_len > 0) {
		snprintf(length, sizeof(length), "CONTENT_LENGTH=%zu",
			 in.body_len);
		add_var(&in, length);
	}
	in.env[in.n] = NULL;

	if (flags & (F_PENDING | F_LINKED | F_DUE)) {
		/* The session the request's cookie names, else @SID@. */
		struct request_source env_only = { in.env, NULL, NULL, 1 };

		request_read(&req, &env_only, &app->cfg);
		session_read(&app->cfg, &req, &s);
		buf_adds(&cookie, "HTTP_COOKIE=");
		if (s.id[0] != '\0') {
			sid = s.id;
		} else {
			session_cookie_name(&app->cfg, req.https, name,
					    sizeof(name));
			buf_printf(&cookie, "%s=%s; ", name, FUZZ_SID);
		}
		if (flags & F_PENDING) {
			set.n = 0;
			pending_add(&set, &p, now);
			FUZZ_CHECK(pending_seal(&app->keys.keys[0], sid, &set,
						&sealed) == 0);
			buf_printf(&cookie, "%sinsuresign_pending=%s; ",
				   session_secure(&app->cfg, req.https)
					   ? "__Secure-"
					   : "",
				   sealed.data);
			/* The state goes in front unless placed already. */
			if (memmem(data, size, "@STATE@", 7) == NULL) {
				buf_printf(&query, "QUERY_STRING=state=%s&",
					   state);
				buf_adds(&query, in.query != NULL
							 ? *in.query + 13
							 : "");
				if (in.query != NULL)
					*in.query = query.data;
				else
					add_var(&in, query.data);
			}
		}
		buf_adds(&cookie, in.cookie != NULL ? *in.cookie + 12 : "");
		if (in.cookie != NULL)
			*in.cookie = cookie.data;
		else
			add_var(&in, cookie.data);
		if (cookie.failed || query.failed)
			goto out;
		if (flags & (F_LINKED | F_DUE))
			link_session(app, sid, (flags & F_DUE) != 0, now);
	}

	/* From here on, as serve.c's serve_one. */
	res_reset(&res);
	buf_reset(&head);
	rc = request_read(&req, &src, &app->cfg);
	if (rc != 0) {
		FUZZ_CHECK(rc == 400 || rc == 413 || rc == 414 || rc == 431);
		page_error(&res, &app->cfg, rc, res_status_text(rc),
			   "The request is malformed.", NULL, NULL);
	} else {
		route(app, &req, &res);
	}
	if (res_head(&res, &head) == 0) {
		check_response();
		check_policy(&text, flags, calls);
	}
out:
	empty_store();
	/* Every input starts from no callbacks counted. */
	if (app->limits.mem != NULL)
		memset(app->limits.mem, 0, app->limits.len);
	buf_free(&sealed);
	buf_free(&query);
	buf_free(&cookie);
	buf_free(&text);
	return 0;
}
