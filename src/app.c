/* What every request shares: config, keys, store and HTTP client. */
#include "app.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "log.h"

/* A bearer key: one line of at least 32 printable characters, mode 0600. */
static int
read_bearer_key(const char *path, char **out, char *err, size_t len)
{
	char line[1024];
	struct stat st;
	ssize_t n;
	size_t k;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1) {
		snprintf(err, len, "%s: cannot open: %s", path,
			 strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & 077) != 0) {
		close(fd);
		snprintf(err, len,
			 "%s: expected a regular file with mode 0600 (chmod "
			 "600 %s)",
			 path, path);
		return -1;
	}
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	line[n > 0 ? n : 0] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	k = strlen(line);
	if (k < 32 || strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"
				   "rstuvwxyz0123456789-._~+/=") != k) {
		explicit_bzero(line, sizeof(line));
		snprintf(err, len,
			 "%s: expected one line of at least 32 characters "
			 "(A-Z a-z 0-9 - . _ ~ + / =), e.g. from `openssl rand "
			 "-base64 32`",
			 path);
		return -1;
	}
	*out = strdup(line);
	explicit_bzero(line, sizeof(line));
	return *out == NULL ? -1 : 0;
}

int
app_open(struct app *app, const char *config_path, char *err, size_t len)
{
	memset(app, 0, sizeof(*app));
	shared_init(&app->limits);
	if (config_load(&app->cfg, config_path, err, len) == -1)
		return -1;
	if (keyring_load(&app->keys, &app->cfg, err, len) == -1)
		goto err;
	if (app->cfg.backend_key_file != NULL &&
	    read_bearer_key(app->cfg.backend_key_file, &app->backend_key, err,
			    len) == -1)
		goto err;
	if (app->cfg.admin_key_file != NULL &&
	    read_bearer_key(app->cfg.admin_key_file, &app->admin_key, err,
			    len) == -1)
		goto err;
	if (audit_open(app->cfg.audit_log) == -1) {
		snprintf(err, len, "[app] audit_log = \"%s\": cannot open it",
			 app->cfg.audit_log);
		goto err;
	}
	app->store = store_open(&app->cfg);
	app->http = http_new(&app->cfg);
	if (app->store == NULL || app->http == NULL) {
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
	store_close(app->store);
	http_free(app->http);
	secret_free(app->backend_key);
	secret_free(app->admin_key);
	keyring_wipe(&app->keys);
	config_free(&app->cfg);
	memset(app, 0, sizeof(*app));
}
