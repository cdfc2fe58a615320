/*
 * The configuration file: the bytes written to one file in a private
 * directory (the same path every run), then config_load and config_free.
 * "@DIR@" in the input stands for that directory, which holds a good
 * client_secret file (0600) and a bad one (0644, and empty).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "config.h"
#include "fuzz.h"

static char dir[256], path[512];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char file[512];

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s", fuzz_dir());
	snprintf(path, sizeof(path), "%s/insuresign-connect.ini", dir);
	snprintf(file, sizeof(file), "%s/client_secret", dir);
	fuzz_write_file(file, "s3cr3t-from-a-file\n", 19);
	snprintf(file, sizeof(file), "%s/readable", dir);
	fuzz_write_file(file, "s3cr3t\n", 7);
	FUZZ_CHECK(chmod(file, 0644) == 0);
	snprintf(file, sizeof(file), "%s/empty", dir);
	fuzz_write_file(file, "", 0);
	return 0;
}

/* What the rest of the program takes for granted once loading worked. */
static void
check(const struct config *cfg)
{
	size_t n = strlen(cfg->base_path);
	char host[256];

	FUZZ_CHECK(cfg->client_id != NULL && cfg->client_secret != NULL);
	FUZZ_CHECK(cfg->redirect_uri != NULL &&
		   strchr(cfg->redirect_uri, '?') == NULL);
	FUZZ_CHECK(cfg->authorize_url != NULL && cfg->token_url != NULL);
	FUZZ_CHECK(config_url_host(cfg->token_url, host, sizeof(host)) == 0);
	FUZZ_CHECK(n == 0 ||
		   (cfg->base_path[0] == '/' && cfg->base_path[n - 1] != '/'));
	FUZZ_CHECK(cfg->return_to != NULL && cfg->return_to[0] == '/');
	FUZZ_CHECK(cfg->return_to_allowed.n >= 1);
	FUZZ_CHECK(cfg->cookie_name != NULL && cfg->cookie_name[0] != '\0');
	FUZZ_CHECK(cfg->store_dir != NULL && cfg->key_file != NULL);
	FUZZ_CHECK(cfg->connect_timeout >= 1 &&
		   cfg->timeout >= cfg->connect_timeout);
	FUZZ_CHECK(cfg->secure == SECURE_AUTO || cfg->secure == SECURE_ALWAYS ||
		   cfg->secure == SECURE_NEVER);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	struct buf text;
	char err[512];
	size_t i = 0;

	/* The input, with @DIR@ replaced. */
	buf_init(&text, 8 * size + 64);
	while (i < size) {
		if (size - i >= 5 && memcmp(data + i, "@DIR@", 5) == 0) {
			buf_adds(&text, dir);
			i += 5;
		} else {
			buf_addc(&text, (char)data[i++]);
		}
	}
	fuzz_write_file(path, text.data != NULL ? text.data : "", text.len);
	buf_free(&text);
	err[0] = '\0';
	if (config_load(&cfg, path, err, sizeof(err)) == 0) {
		check(&cfg);
		config_free(&cfg);
	} else {
		/* A failure says why, in one line. */
		FUZZ_CHECK(err[0] != '\0' && strchr(err, '\n') == NULL);
	}
	return 0;
}
