/* Serving requests: FastCGI, plain CGI, or our own prefork listener. */
#ifndef SERVE_H
#define SERVE_H

#include "app.h"

/* How long the web server may take to hand over a request's parameters
 * and body, and again to take the answer (--request-timeout). */
#define SERVE_TIMEOUT 10

/*
 * Did a web server start us: CGI variables in the environment, or a
 * listening socket on stdin (lighttpd's bin-path, mod_fcgid)?  Then we
 * serve, and argv is not the operator's: under CGI it holds the words of
 * a query string without '=' (RFC 3875 section 4.4), which anyone sends.
 */
int serve_by_web_server(void);

/* As the web server started us: FastCGI on stdin, or one CGI request.
 * Returns the exit status. */
int serve_web_server(struct app *app);

/* Our own listener (--listen, or systemd's socket): the command line's. */
struct listen_opts {
	const char *addr;	  /* NULL: the socket systemd passed */
	unsigned workers;	  /* kept, waiting for requests */
	unsigned max_workers;	  /* the most there may be */
	unsigned timeout;	  /* seconds; see SERVE_TIMEOUT */
	unsigned socket_mode;	  /* of a unix socket's file */
	const char *socket_group; /* of a unix socket's file; NULL: ours */
	int trust_remote_user;	  /* believe REMOTE_USER on TCP too */
};

/* Serves on it with a pool of workers until a stop signal.  Returns the
 * exit status. */
int serve_listener(struct app *app, const struct listen_opts *opts);

#endif
