/* What every request shares: config, keys, store and HTTP client. */
#include "app.h"

#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "log.h"
#include "fileowner.h"
#include "metrics.h"
#include "nitems.h"
#include "secretfile.h"

/* A bearer key: one line of at least 32 characters that may follow
 * "Bearer " (RFC 6750 section 2.1, b64token), from an owner-only file. */
static int
read_bearer_key(const char *what, const char *path, const char *store_dir,
		char **out, char *err, size_t len)
{
	static const char b64token[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "abcdefghijklmnopqrstuvwxyz"
				       "0123456789-._~+/=";
	char user[FILEOWNER_NAME_LEN], hint[600];
	size_t k;

	fileowner_program_user(store_dir, user);
	snprintf(hint, sizeof(hint),
		 "make one: install -m 0600 -o %s /dev/null %s && head -c 32 "
		 "/dev/urandom | base64 > %s",
		 user, path, path);
	if (secretfile_line(what, path, hint, out, err, len) == -1)
		return -1;
	k = strlen(*out);
	if (k >= 32 && strspn(*out, b64token) == k)
		return 0;
	secret_free(*out);
	*out = NULL;
	snprintf(err, len,
		 "%s = \"%s\": expected one line of at least 32 characters "
		 "(A-Z a-z 0-9 - . _ ~ + / =); %s",
		 what, path, hint);
	return -1;
}

int
app_open(struct app *app, const char *config_path, char *err, size_t len)
{
	/* The bearer keys and secrets, each from its own file, if set. */
	const struct {
		const char *what;
		char *const *path;
		char **out;
	} keys[] = {
		{ "[app] backend_key_file", &app->cfg.backend_key_file,
		  &app->backend_key },
		{ "[admin] key_file", &app->cfg.admin_key_file,
		  &app->admin_key },
		{ "[metrics] key_file", &app->cfg.metrics_key_file,
		  &app->metrics_key },
		{ "[events] secret_file", &app->cfg.events_secret_file,
		  &app->events_secret },
	};
	size_t i;

	memset(app, 0, sizeof(*app));
	shared_init(&app->limits);
	shared_init(&app->outbox);
	if (config_load(&app->cfg, config_path, err, len) == -1)
		return -1;
	if (keyring_load(&app->keys, &app->cfg, err, len) == -1)
		goto err;
	for (i = 0; i < nitems(keys); i++)
		if (*keys[i].path != NULL &&
		    read_bearer_key(keys[i].what, *keys[i].path,
				    app->cfg.store_dir, keys[i].out, err,
				    len) == -1)
			goto err;
	log_set_format(app->cfg.log_format);
	if (audit_open(app->cfg.audit_log) == -1) {
		snprintf(err, len, "[app] audit_log = \"%s\": cannot open it",
			 app->cfg.audit_log);
		goto err;
	}
	/* Counts then go to this process alone: the self-check and
	 * /metrics say why. */
	(void)metrics_open(app->cfg.state_dir, err, len);
	err[0] = '\0';
	app->store = store_open(&app->cfg, app->cfg.store_backend, err, len);
	if (app->store == NULL)
		goto err;
	app->http = http_new(&app->cfg);
	if (app->http == NULL) {
		snprintf(err, len, "out of memory");
		goto err;
	}
	return 0;
err:
	app_close(app);
	return -1;
}

void
app_close(struct app *app)
{
	shared_close(&app->limits);
	shared_close(&app->outbox);
	metrics_close();
	store_close(app->store);
	http_free(app->http);
	secret_free(app->backend_key);
	secret_free(app->admin_key);
	secret_free(app->metrics_key);
	secret_free(app->events_secret);
	keyring_wipe(&app->keys);
	config_free(&app->cfg);
	memset(app, 0, sizeof(*app));
}
