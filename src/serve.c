/*
 * Serving requests: FastCGI, plain CGI, or our own prefork listener.
 * The only user of libfcgi.  Workers are single-threaded; concurrency
 * comes from processes, which share nothing but the store and its locks.
 */
#include "serve.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "handler.h"
#include "listener.h"
#include "log.h"
#include "page.h"
#include "request.h"
#include "response.h"

extern char **environ;

/* What a worker serves with, whatever started it. */
struct server {
	struct app *app;
	int sock;	       /* listening; -1 under CGI */
	int trust_remote_user; /* see struct request_source */
};

static volatile sig_atomic_t stopping;
static volatile sig_atomic_t listen_fd = -1;

/*
 * Finish the request in flight, then leave.  The flag alone would lose a
 * signal that lands just before accept(2) blocks (and the web server,
 * stopping, never connects again), so the listening socket is shut down
 * too: accept then fails at once, now or when it is next called.  Both
 * calls are async-signal-safe; the request in flight is on another socket.
 */
static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
	FCGX_ShutdownPending();
	if (listen_fd >= 0)
		shutdown(listen_fd, SHUT_RDWR);
}

static void
set_signals(void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocked accept(2) must return to see the flag. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/* mod_fcgid and lighttpd send SIGUSR1 for a graceful stop. */
	sa.sa_handler = fn;
	sigaction(SIGUSR1, &sa, NULL);
}

/* Where a request comes from and its answer goes: FastCGI or stdio. */
struct conn {
	FCGX_Request *fcgi; /* NULL: CGI on stdin and stdout */
};

/* request.c's reader of the body. */
static long
conn_read(void *ctx, char *buf, size_t len)
{
	struct conn *c = ctx;
	size_t got = 0;

	while (got < len) {
		int k;

		if (c->fcgi != NULL)
			k = FCGX_GetStr(buf + got, (int)(len - got),
					c->fcgi->in);
		else
			k = (int)fread(buf + got, 1, len - got, stdin);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	return (long)got;
}

static void
conn_write(struct conn *c, const char *p, size_t n)
{
	if (n == 0)
		return;
	if (c->fcgi != NULL)
		FCGX_PutStr(p, (int)n, c->fcgi->out);
	else
		fwrite(p, 1, n, stdout);
}

static void
limit_error(struct app *app, struct response *res, int status)
{
	const char *msg;

	switch (status) {
	case 413:
		msg = "The request body is too large.";
		break;
	case 414:
		msg = "The address is too long.";
		break;
	case 431:
		msg = "The request's cookies or headers are too large.";
		break;
	default:
		msg = "The request is malformed.";
		break;
	}
	page_error(res, &app->cfg, status, status_text(status), msg, NULL,
		   NULL);
}

/*
 * One request, from its variables to the last byte of its answer.  The
 * request lives in this frame and no longer.  Returns how much of an
 * announced body is left unread (CGI drains it).
 */
static size_t
serve_one(const struct server *s, struct conn *c, char *const *env,
	  struct response *res, struct buf *head)
{
	struct request_source src = { env, conn_read, c, s->trust_remote_user };
	struct app *app = s->app;
	struct request req;
	int rc;

	response_reset(res);
	buf_reset(head);
	rc = request_read(&req, &src, &app->cfg);
	if (rc != 0)
		limit_error(app, res, rc);
	else
		route(app, &req, res);
	if (res_head(res, head) == -1) {
		log_error("%s: response too large", __func__);
		response_reset(res);
		buf_reset(head);
		page_error(res, &app->cfg, 500, "Internal error",
			   "The answer was too large.", NULL, NULL);
		res_head(res, head);
	}
	conn_write(c, head->data, head->len);
	if (req.method != METHOD_HEAD)
		conn_write(c, res->body.data, res->body.len);
	return req.content_length - req.body_len;
}

static int
fcgi_loop(const struct server *s)
{
	struct response res;
	struct buf head;
	FCGX_Request fr;
	struct conn c = { &fr };

	if (FCGX_Init() != 0 ||
	    FCGX_InitRequest(&fr, s->sock, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_error("%s: libfcgi failed to start", __func__);
		return 1;
	}
	response_init(&res);
	buf_init(&head, 64 * 1024);
	listen_fd = s->sock;
	while (!stopping && FCGX_Accept_r(&fr) >= 0) {
		serve_one(s, &c, fr.envp, &res, &head);
		FCGX_Finish_r(&fr);
	}
	FCGX_Free(&fr, 0);
	response_free(&res);
	buf_free(&head);
	return 0;
}

/* The most of an unread CGI body we read only to drop it. */
#define DRAIN_MAX (1024 * 1024)

/*
 * Reads and drops what is left of the body (after a 413, say).  Apache's
 * mod_cgid hands us one socket as stdin and stdout, and closing a socket
 * with unread data in it resets the connection: Apache then loses our
 * reply.  Never more than CONTENT_LENGTH (RFC 3875 section 4.2): the
 * server need not close stdin after the body.
 */
static void
cgi_drain(size_t left)
{
	char drop[4096];

	if (left > DRAIN_MAX)
		left = DRAIN_MAX;
	while (left > 0) {
		size_t k =
			fread(drop, 1,
			      left < sizeof(drop) ? left : sizeof(drop), stdin);

		if (k == 0)
			break;
		left -= k;
	}
}

static int
cgi_once(const struct server *s)
{
	struct conn c = { NULL };
	struct response res;
	struct buf head;
	size_t left;

	response_init(&res);
	buf_init(&head, 64 * 1024);
	left = serve_one(s, &c, environ, &res, &head);
	fflush(stdout);
	/* The reply is whole: say so (EOF) before waiting on the body. */
	shutdown(STDOUT_FILENO, SHUT_WR);
	close(STDOUT_FILENO);
	cgi_drain(left);
	response_free(&res);
	buf_free(&head);
	return 0;
}

static pid_t
spawn(const struct server *s)
{
	pid_t pid = fork();

	if (pid == 0) {
		sigset_t none;
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigaction(SIGCHLD, &sa, NULL);
		set_signals(on_stop);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		_exit(fcgi_loop(s));
	}
	if (pid == -1)
		log_error("fork: %s", strerror(errno));
	return pid;
}

/* Only there so that SIGCHLD interrupts sigsuspend(2). */
static void
on_child(int sig)
{
	(void)sig;
}

/* The prefork parent: keeps N workers alive until told to stop. */
static int
supervise(const struct server *s, unsigned workers)
{
	pid_t *pids = calloc(workers, sizeof(pid_t));
	time_t *born = calloc(workers, sizeof(time_t));
	struct sigaction sa;
	sigset_t block, old;
	unsigned i;

	if (pids == NULL || born == NULL) {
		free(pids);
		free(born);
		return 1;
	}
	set_signals(on_stop);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_child;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	for (i = 0; i < workers; i++) {
		pids[i] = spawn(s);
		born[i] = time(NULL);
	}
	log_info("listening with %u workers", workers);
	while (!stopping) {
		pid_t pid;
		int status;

		sigsuspend(&old);
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (i = 0; i < workers; i++)
				if (pids[i] == pid)
					pids[i] = 0;
			if (!stopping && WIFSIGNALED(status))
				log_warn("worker %d died of signal %d: "
					 "replacing it",
					 (int)pid, WTERMSIG(status));
		}
		for (i = 0; i < workers && !stopping; i++) {
			if (pids[i] > 0)
				continue;
			/* A worker that dies at once must not spin the CPU. */
			if (time(NULL) - born[i] < 1)
				sleep(1);
			pids[i] = spawn(s);
			born[i] = time(NULL);
		}
	}
	for (i = 0; i < workers; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	sigprocmask(SIG_SETMASK, &old, NULL);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	free(pids);
	free(born);
	return 0;
}

int
serve_by_web_server(void)
{
	return listener_is_listening(STDIN_FILENO) ||
	       getenv("GATEWAY_INTERFACE") != NULL ||
	       getenv("REQUEST_METHOD") != NULL;
}

int
serve_web_server(struct app *app)
{
	/* The web server's own socket: a unix one is its alone (lighttpd's
	 * bin-path, mod_fcgid); on TCP anyone may connect.  Under CGI, it
	 * set REMOTE_USER itself. */
	struct server s = { app, STDIN_FILENO, 1 };

	set_signals(on_stop);
	if (!listener_is_listening(STDIN_FILENO)) {
		s.sock = -1;
		return cgi_once(&s);
	}
	s.trust_remote_user = listener_is_unix(STDIN_FILENO);
	return fcgi_loop(&s);
}

int
serve_listener(struct app *app, const struct listen_opts *o)
{
	struct server s = { app, -1, 0 };
	int rc;

	s.sock = o->addr != NULL ? listener_open(o->addr, o->socket_mode,
						 o->socket_group)
				 : listener_systemd();
	if (s.sock == -1)
		return 1;
	s.trust_remote_user = o->trust_remote_user || listener_is_unix(s.sock);
	if (!s.trust_remote_user && app->cfg.admin_users.n > 0)
		log_warn("[admin] users: REMOTE_USER is not believed on a TCP "
			 "socket, which any local user can connect to: use a "
			 "unix socket (or --trust-remote-user)");
	rc = supervise(&s, o->workers);
	if (o->addr != NULL)
		listener_close(s.sock, o->addr);
	return rc;
}
