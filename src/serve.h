/* Serving requests: FastCGI, plain CGI, or our own prefork listener. */
#ifndef SERVE_H
#define SERVE_H

#include "app.h"

/*
 * Did a web server start us: CGI variables in the environment, or a
 * listening socket on stdin (lighttpd's bin-path, mod_fcgid)?  Then we
 * serve, and argv is not the operator's: under CGI it holds the words of
 * a query string without '=' (RFC 3875 section 4.4), which anyone sends.
 */
int serve_by_web_server(void);

/*
 * With listen NULL: FastCGI on the socket the web server handed us on
 * stdin (lighttpd bin-path, mod_fcgid), systemd's socket (LISTEN_FDS), or
 * one CGI request when stdin is not a socket.  With listen set
 * ("127.0.0.1:9000" or "unix:/path"): bind it and prefork workers.
 * Returns the exit status.
 */
int serve(struct app *app, const char *listen, unsigned workers);

#endif
