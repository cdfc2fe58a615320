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
		"usage: %s [--config FILE] --listen ADDR [--workers N]\n"
		"           [--max-workers N] [--request-timeout SECONDS]\n"
		"           [--socket-mode MODE] [--socket-group GROUP] "
		"[--trust-remote-user]\n"
		"       %s COMMAND [--config FILE] [ARGS]\n"
		"commands: list [--json], show ID, token --session VALUE, "
		"refresh ID,\n          delete ID, gc, refresh-due, deliver "
		"[--all], rekey,\n          keygen FILE, check-config, "
		"migrate file redis | redis file\n"
		"          (show, token, refresh, delete: --user ID in place "
		"of ID or --session)\n"
		"Started by a web server (CGI, FastCGI), it serves and reads "
		"no option.\n"
		"ADDR: unix:/path (the one to use), 127.0.0.1:PORT or "
		"[::1]:PORT\n",
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

/* With listen NULL, as the web server started us. */
static int
run(const char *config, const struct listen_opts *listen)
{
	char err[1024];
	struct app app;
	int rc;

	if (app_open(&app, config_path(config), err, sizeof(err)) == -1) {
		log_error("%s: %s", config_path(config), err);
		return 1;
	}
	selfcheck(&app, 0, log_check);
	rc = listen != NULL ? serve_listener(&app, listen)
			    : serve_web_server(&app);
	app_close(&app);
	return rc;
}

/* A file mode for a socket: octal, and nothing for others (they would be
 * anyone on the host: the group is how to let the web server in). */
static int
parse_mode(const char *s, unsigned *mode)
{
	size_t n = strspn(s, "01234567");
	unsigned m = 0;
	size_t i;

	if (n < 3 || n > 4 || s[n] != '\0')
		return -1;
	for (i = 0; i < n; i++)
		m = m * 8 + (unsigned)(s[i] - '0');
	if (m > 0770 || (m & 07) != 0)
		return -1;
	*mode = m;
	return 0;
}

static int
bad_value(const char *opt, const char *value, const char *want)
{
	fprintf(stderr, "--%s %s: expected %s\n", opt, value, want);
	return 2;
}

int
main(int argc, char **argv)
{
	struct listen_opts lo = { NULL, 2, 0, SERVE_TIMEOUT, 0660, NULL, 0 };
	struct cli_opts opts = { NULL, NULL, NULL, 0, 0, NULL, 0 };
	const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "workers", required_argument, NULL, 'w' },
		{ "max-workers", required_argument, NULL, 'W' },
		{ "request-timeout", required_argument, NULL, 't' },
		{ "socket-mode", required_argument, NULL, 'm' },
		{ "socket-group", required_argument, NULL, 'g' },
		{ "trust-remote-user", no_argument, &lo.trust_remote_user, 1 },
		{ "session", required_argument, NULL, 's' },
		{ "user", required_argument, NULL, 'u' },
		{ "json", no_argument, &opts.json, 1 },
		{ "all", no_argument, &opts.all, 1 },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long n;
	int c, rc;

	/*
	 * Under a web server, argv is anyone's (serve.h): serve, with the
	 * config from INSURESIGN_CONNECT_CONF or the default path, and look
	 * at nothing else in it.
	 */
	if (serve_by_web_server())
		return run(NULL, NULL);

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 0: /* a flag, which getopt_long set (longopts) */
			break;
		case 'c':
			opts.config = optarg;
			break;
		case 'l':
			lo.addr = optarg;
			break;
		case 'w':
			if (parse_uint(optarg, 1, 256, &n) == -1)
				return bad_value("workers", optarg, "1 to 256");
			lo.workers = (unsigned)n;
			break;
		case 'W':
			if (parse_uint(optarg, 1, 256, &n) == -1)
				return bad_value("max-workers", optarg,
						 "1 to 256");
			lo.max_workers = (unsigned)n;
			break;
		case 't':
			if (parse_uint(optarg, 1, 3600, &n) == -1)
				return bad_value("request-timeout", optarg,
						 "1 to 3600 (seconds)");
			lo.timeout = (unsigned)n;
			break;
		case 'm':
			if (parse_mode(optarg, &lo.socket_mode) == -1)
				return bad_value("socket-mode", optarg,
						 "an octal mode with nothing "
						 "for others, e.g. 0660");
			break;
		case 'g':
			lo.socket_group = optarg;
			break;
		case 's':
			opts.session = optarg;
			break;
		case 'u':
			opts.user = optarg;
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
		opts.args = argv + optind + 1;
		opts.nargs = argc - optind - 1;
		rc = cli_run(argv[optind], &opts);
		if (rc == 2 && !cli_known(argv[optind]))
			usage(stderr);
		return rc;
	}
	/* No command and nothing to listen on: nothing to do. */
	if (lo.addr == NULL && getenv("LISTEN_FDS") == NULL) {
		usage(stderr);
		return 2;
	}
	/* By default a pool may grow to 32: room for slow clients, little
	 * memory (pool.c, and the man page say why).  Never fewer than the
	 * workers kept. */
	if (lo.max_workers == 0)
		lo.max_workers = lo.workers > 32 ? lo.workers : 32;
	if (lo.max_workers < lo.workers) {
		fprintf(stderr,
			"--max-workers %u: expected at least "
			"--workers (%u)\n",
			lo.max_workers, lo.workers);
		return 2;
	}
	return run(opts.config, &lo);
}
