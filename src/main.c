/*
 * insuresign-connect: links a web app's users to their InsureSign accounts
 * with OAuth 2.0.  With no command it serves (FastCGI, CGI or --listen);
 * with one it is the operator's command line tool.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "cli.h"
#include "log.h"
#include "selfcheck.h"
#include "serve.h"
#include "text.h"

static void
usage(FILE *f)
{
	/* As it was run: insuresign-connect, or insuresign-connect.fcgi. */
	const char *me = program_invocation_short_name;

	fprintf(f,
		"usage: %s [--config FILE] [--listen ADDR [--workers N]]\n"
		"       %s COMMAND [--config FILE] [ARGS]\n"
		"commands: list [--json], show ID, token --session VALUE, "
		"refresh ID,\n          delete ID, gc, rekey, keygen FILE, "
		"check-config\n"
		"ADDR: 127.0.0.1:PORT, [::1]:PORT or unix:/path\n",
		me, me);
}

/* At start, problems go to the log; all is well goes unsaid. */
static void
log_check(enum check_level level, const char *what)
{
	if (level == CHECK_ERROR)
		log_error("self-check: %s", what);
	else if (level == CHECK_WARN)
		log_warn("self-check: %s", what);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "workers", required_argument, NULL, 'w' },
		{ "session", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts opts = { NULL, NULL, 0 };
	const char *listen_addr = NULL;
	unsigned long long workers = 2;
	char err[1024];
	struct app app;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			opts.config = optarg;
			break;
		case 'l':
			listen_addr = optarg;
			break;
		case 'w':
			if (parse_uint(optarg, 1, 256, &workers) == -1) {
				fprintf(stderr,
					"--workers %s: expected 1 to "
					"256\n",
					optarg);
				return 2;
			}
			break;
		case 's':
			opts.session = optarg;
			break;
		case 'j':
			opts.json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		rc = cli_run(argv[optind], argc - optind - 1, argv + optind + 1,
			     &opts);
		if (rc == 2 && !cli_known(argv[optind]))
			usage(stderr);
		return rc;
	}
	if (app_open(&app, config_path(opts.config), err, sizeof(err)) == -1) {
		log_error("%s: %s", config_path(opts.config), err);
		return 1;
	}
	selfcheck(&app, 0, log_check);
	rc = serve(&app, listen_addr, (unsigned)workers);
	app_close(&app);
	return rc;
}
