/*
 * Serving requests: FastCGI, plain CGI, or our own prefork listener.
 * The only user of libfcgi.  Workers are single-threaded; concurrency
 * comes from processes (pool.c), which share nothing but the store and
 * its locks.
 */
#include "serve.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "handler.h"
#include "listener.h"
#include "log.h"
#include "nitems.h"
#include "outbox.h"
#include "page.h"
#include "pool.h"
#include "request.h"
#include "response.h"

extern char **environ;

/* What a worker serves with, whatever started it. */
struct server {
	struct app *app;
	int sock;	       /* listening; -1 under CGI */
	unsigned timeout;      /* seconds */
	int trust_remote_user; /* see struct request_source */
};

static volatile sig_atomic_t stopping;
static volatile sig_atomic_t late; /* the deadline passed */

/*
 * Finish the request in flight, then leave.  The stop signals are blocked
 * except while a worker waits for a connection (epoll_pwait), so one that
 * comes during a request waits for its end, and none is lost between a
 * look at the flag and the wait.  No FCGX_ShutdownPending(): libfcgi would
 * then refuse the connection that woke us, which only we will take.
 */
static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

/*
 * The deadline: with no SA_RESTART, the read(2) or write(2) it interrupts
 * fails with EINTR, and libfcgi ends the stream there (its OS_Read and
 * OS_Write never retry; libfcgi os_unix.c).  fread(3) on CGI's stdin
 * stops the same way.
 */
static void
on_alarm(int sig)
{
	(void)sig;
	late = 1;
}

/* Returns, in waiting, the mask to wait for a connection with. */
static void
set_signals(sigset_t *waiting)
{
	static const int stops[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
	/* mod_fcgid and lighttpd send SIGUSR1 for a graceful stop. */
	struct sigaction sa = { .sa_handler = on_stop };
	sigset_t block;
	size_t i;

	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	for (i = 0; i < sizeof(stops) / sizeof(stops[0]); i++) {
		sigaction(stops[i], &sa, NULL);
		sigaddset(&block, stops[i]);
	}
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigprocmask(SIG_BLOCK, &block, waiting);
	for (i = 0; i < sizeof(stops) / sizeof(stops[0]); i++)
		sigdelset(waiting, stops[i]);
}

/*
 * The deadline runs while we wait on the web server: for the request, and
 * for it to take the answer; never while a handler works.  After it, the
 * timer fires every second, so that a loop in libfcgi that outlives the
 * one call it interrupted (OS_Close reads until the peer stops sending)
 * outlives it by a second at most.
 */
static void
deadline_start(unsigned seconds)
{
	struct itimerval t = { { 1, 0 }, { (time_t)seconds, 0 } };

	late = 0;
	setitimer(ITIMER_REAL, &t, NULL);
}

static void
deadline_stop(void)
{
	struct itimerval t = { { 0, 0 }, { 0, 0 } };

	setitimer(ITIMER_REAL, &t, NULL);
}

/* request.c's reader of the body; ctx is the FastCGI request, or NULL for
 * CGI's stdin. */
static long
conn_read(void *ctx, char *buf, size_t len)
{
	FCGX_Request *fr = ctx;
	size_t got = 0;

	while (got < len) {
		int k;

		if (fr != NULL)
			k = FCGX_GetStr(buf + got, (int)(len - got), fr->in);
		else
			k = (int)fread(buf + got, 1, len - got, stdin);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	return got < len && late ? -1 : (long)got;
}

static void
conn_write(FCGX_Request *fr, const char *p, size_t n)
{
	if (n == 0)
		return;
	if (fr != NULL)
		FCGX_PutStr(p, (int)n, fr->out);
	else
		fwrite(p, 1, n, stdout);
}

static void
limit_error(struct app *app, struct response *res, int status)
{
	static const struct {
		int status;
		const char *msg;
	} msgs[] = {
		{ 408, "The request took too long to arrive." },
		{ 413, "The request body is too large." },
		{ 414, "The address is too long." },
		{ 431, "The request's cookies or headers are too large." },
	};
	const char *msg = "The request is malformed.";
	size_t i;

	for (i = 0; i < nitems(msgs); i++)
		if (msgs[i].status == status)
			msg = msgs[i].msg;
	page_error(res, &app->cfg, status, res_status_text(status), msg, NULL,
		   NULL);
}

/*
 * One request, from its variables to the last byte of its answer: fr's, or
 * with fr NULL, CGI's on stdin and stdout.  With status set, the answer
 * alone (the request did not all arrive).  The request lives in this frame
 * and no longer.  Called with the deadline running; returns with it
 * running again, for the caller to stop once the answer is gone.  Returns
 * how much of an announced body is left unread (CGI drains it).
 */
static size_t
serve_one(const struct server *s, FCGX_Request *fr, int status,
	  struct response *res, struct buf *head)
{
	struct request_source src = { fr != NULL ? fr->envp : environ,
				      conn_read, fr, s->trust_remote_user };
	struct app *app = s->app;
	struct request req;
	int rc;

	res_reset(res);
	buf_reset(head);
	rc = status != 0 ? status : request_read(&req, &src, &app->cfg);
	deadline_stop();
	if (rc != 0)
		limit_error(app, res, rc);
	else
		route(app, &req, res);
	if (res_head(res, head) == -1) {
		log_error("%s: response too large", __func__);
		res_reset(res);
		buf_reset(head);
		page_error(res, &app->cfg, 500, "Internal error",
			   "The answer was too large.", NULL, NULL);
		res_head(res, head);
	}
	deadline_start(s->timeout);
	conn_write(fr, head->data, head->len);
	if (status != 0 || req.method != METHOD_HEAD)
		conn_write(fr, res->body.data, res->body.len);
	/* A client too slow to send it is not waited for again. */
	if (status != 0 || rc == 408)
		return 0;
	return req.content_length - req.body_len;
}

/*
 * A connection is waiting: take it, and serve its request.  Another
 * worker may have been quicker (accept(2) on the non-blocking socket then
 * says EAGAIN).  Returns 0, or -1 when accept fails otherwise.
 */
static int
take(const struct server *s, FCGX_Request *fr, struct response *res,
     struct buf *head)
{
	int rc;

	pool_busy();
	deadline_start(s->timeout);
	rc = FCGX_Accept_r(fr);
	if (rc == 0) {
		/* libfcgi's ReadParams takes a read that fails between two
		 * parameters for their end (fcgiapp.c), and the stream keeps
		 * the error: the request did not all arrive. */
		int cut = FCGX_GetError(fr->in) != 0;

		/* Else a late deadline was another connection's, one whose
		 * parameters stalled mid-way: libfcgi dropped it and took this
		 * one, which gets a deadline of its own. */
		if (!cut && late)
			deadline_start(s->timeout);
		serve_one(s, fr, cut ? (late ? 408 : 400) : 0, res, head);
		FCGX_Finish_r(fr);
	}
	deadline_stop();
	/* The answer is gone: events may be sent now, by another process. */
	if (rc == 0)
		outbox_after_request(s->app, s->sock);
	pool_idle();
	if (rc == 0 || rc == -EAGAIN || rc == -EINTR)
		return 0;
	log_error("%s: accept: %s", __func__,
		  rc > -4096 ? strerror(-rc) : "libfcgi error");
	return -1;
}

/*
 * A worker: waits for a connection, takes it, serves it, until told to
 * stop.  Each worker waits in its own epoll set with EPOLLEXCLUSIVE, so
 * that a connection wakes one worker rather than all of them (each would
 * count itself busy: pool.c would start workers for nothing).
 */
static int
fcgi_loop(void *arg)
{
	const struct server *s = arg;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE };
	struct response res;
	struct buf head;
	FCGX_Request fr;
	sigset_t waiting;
	int ep, rc = 0;

	set_signals(&waiting);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep == -1 || epoll_ctl(ep, EPOLL_CTL_ADD, s->sock, &ev) == -1 ||
	    fcntl(s->sock, F_SETFL, fcntl(s->sock, F_GETFL) | O_NONBLOCK) ==
		    -1) {
		log_error("%s: %s", __func__, strerror(errno));
		return 1;
	}
	if (FCGX_Init() != 0 ||
	    FCGX_InitRequest(&fr, s->sock, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_error("%s: libfcgi failed to start", __func__);
		close(ep);
		return 1;
	}
	res_init(&res);
	buf_init(&head, 64 * 1024);
	while (!stopping && rc == 0) {
		int n = epoll_pwait(ep, &ev, 1, -1, &waiting);

		if (n > 0)
			rc = take(s, &fr, &res, &head);
		else if (n == -1 && errno != EINTR)
			rc = -1;
	}
	/* A connection that woke this worker as it was told to stop would
	 * otherwise wait until the next one wakes another. */
	if (rc == 0 && epoll_wait(ep, &ev, 1, 0) > 0)
		take(s, &fr, &res, &head);
	FCGX_Free(&fr, 0);
	res_free(&res);
	buf_free(&head);
	close(ep);
	return rc == 0 ? 0 : 1;
}

/* The most of an unread CGI body we read only to drop it. */
#define DRAIN_MAX (1024 * 1024)

/*
 * Reads and drops what is left of the body (after a 413, or a GET that
 * came with one).  Apache's mod_cgid hands us one socket as stdin and
 * stdout, and closing a socket with unread data in it resets the
 * connection: Apache then loses our reply.  Never more than CONTENT_LENGTH
 * (RFC 3875 section 4.2): the server need not close stdin after the body.
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
	struct response res;
	struct buf head;
	sigset_t waiting;
	size_t left;

	set_signals(&waiting);
	res_init(&res);
	buf_init(&head, 64 * 1024);
	deadline_start(s->timeout);
	left = serve_one(s, NULL, 0, &res, &head);
	fflush(stdout);
	/* The reply is whole: say so (EOF) before waiting on the body. */
	shutdown(STDOUT_FILENO, SHUT_WR);
	close(STDOUT_FILENO);
	cgi_drain(left);
	deadline_stop();
	res_free(&res);
	buf_free(&head);
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
	struct server s = { app, STDIN_FILENO, SERVE_TIMEOUT, 1 };

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
	struct server s = { app, -1, o->timeout, 0 };
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
	rc = pool_run(o->workers, o->max_workers, fcgi_loop, &s);
	if (o->addr != NULL)
		listener_close(s.sock, o->addr);
	return rc;
}
