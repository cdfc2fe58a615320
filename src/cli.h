/* The command line: the same program, run by an operator or from cron. */
#ifndef CLI_H
#define CLI_H

struct cli_opts {
	const char *config;  /* --config FILE */
	const char *session; /* --session VALUE */
	const char *user;    /* --user ID: a web app's user's link */
	int json;	     /* --json */
	int all;	     /* --all */
	char **args;	     /* the command's operands */
	int nargs;	     /* how many */
};

/* Exit status: 0 ok, 1 error, 2 usage. */
int cli_run(const char *cmd, const struct cli_opts *opts);
int cli_known(const char *cmd);

#endif
