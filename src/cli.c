/* The command line: the same program, run by an operator or from cron. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include "app.h"
#include "keyring.h"
#include "store.h"

#define EXIT_USAGE 2

static int
cmd_keygen(int argc, char **argv, const struct cli_opts *o)
{
	char err[512];

	(void)o;
	if (argc != 1) {
		fprintf(stderr, "usage: insuresign-connect keygen FILE\n");
		return EXIT_USAGE;
	}
	if (keyring_generate(argv[0], err, sizeof(err)) == -1) {
		fprintf(stderr, "insuresign-connect: keygen: %s\n", err);
		return 1;
	}
	printf("wrote a new key to %s (mode 0600)\n", argv[0]);
	return 0;
}

static int
cmd_check_config(int argc, char **argv, const struct cli_opts *o)
{
	const char *path = config_path(o->config);
	char err[1024];
	struct app app;
	int rc = 0;

	(void)argv;
	if (argc != 0)
		return EXIT_USAGE;
	if (app_open(&app, path, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", path, err);
		return 1;
	}
	if (store_check(app.cfg.store_dir, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", path, err);
		rc = 1;
	}
	if (rc == 0)
		printf("%s: ok\n", path);
	app_close(&app);
	return rc;
}

struct command {
	const char *name;
	int (*fn)(int argc, char **argv, const struct cli_opts *o);
};

static const struct command commands[] = {
	{"check-config", cmd_check_config},
	{"keygen", cmd_keygen},
};

int
cli_known(const char *cmd)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, cmd) == 0)
			return 1;
	return 0;
}

int
cli_run(const char *cmd, int argc, char **argv, const struct cli_opts *opts)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, cmd) == 0)
			return commands[i].fn(argc, argv, opts);
	fprintf(stderr, "insuresign-connect: unknown command \"%s\"\n", cmd);
	return EXIT_USAGE;
}
