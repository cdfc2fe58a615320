/* What every request shares: config, keys, store and HTTP client. */
#ifndef APP_H
#define APP_H

#include "config.h"
#include "http.h"
#include "keyring.h"
#include "shared.h"
#include "store.h"

struct app {
	struct config cfg;
	struct keyring keys;
	struct store *store;
	struct http *http;
	char *backend_key;   /* [app] backend_key_file; NULL: /token is off */
	char *admin_key;     /* [admin] key_file */
	char *metrics_key;   /* [metrics] key_file */
	char *events_secret; /* [events] secret_file */
	struct shared_file outbox; /* outbox.c's hint, mapped on first use */
	struct shared_file limits; /* limit.c's table, mapped on first use */
};

/* Loads everything once at start; err says what to fix. */
int app_open(struct app *app, const char *config_path, char *err, size_t len);
void app_close(struct app *app);

#endif
