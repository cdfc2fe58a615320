/*
 * insuresign-connect: links a web app's users to their InsureSign accounts
 * with OAuth 2.0.  Started by a web server it serves (FastCGI or CGI); from
 * a command line it serves on its own listener (--listen, or systemd's
 * socket), or runs an operator's command.
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
		"Started by a web server (CGI, FastCGI), it serves and reads "
		"no option.\n"
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

/* With listen_addr NULL and no systemd socket, as the web server started
 * us. */
static int
run(const char *config, const char *listen_addr, unsigned workers)
{
	char err[1024];
	struct app app;
	int rc;

	if (app_open(&app, config_path(config), err, sizeof(err)) == -1) {
		log_error("%s: %s", config_path(config), err);
		return 1;
	}
	selfcheck(&app, 0, log_check);
	rc = serve(&app, listen_addr, workers);
	app_close(&app);
	return rc;
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
	int c, rc;

	/*
	 * Under a web server, argv is anyone's (serve.h): serve, with the
	 * config from INSURESIGN_CONNECT_CONF or the default path, and look
	 * at nothing else in it.
	 */
	if (serve_by_web_server())
		return run(NULL, NULL, 2);

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
	/* No command and nothing to listen on: nothing to do. */
	if (listen_addr == NULL && getenv("LISTEN_FDS") == NULL) {
		usage(stderr);
		return 2;
	}
	return run(opts.config, listen_addr, (unsigned)workers);
}
