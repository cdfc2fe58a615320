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
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fcgiapp.h>

#include "handler.h"
#include "log.h"
#include "page.h"
#include "request.h"
#include "response.h"
#include "text.h"

extern char **environ;

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
serve_one(struct app *app, struct conn *c, char *const *env,
	  struct response *res, struct buf *head)
{
	struct request_source src = { env, conn_read, c };
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
fcgi_loop(struct app *app, int sock)
{
	struct response res;
	struct buf head;
	FCGX_Request fr;
	struct conn c = { &fr };

	if (FCGX_Init() != 0 ||
	    FCGX_InitRequest(&fr, sock, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_error("%s: libfcgi failed to start", __func__);
		return 1;
	}
	response_init(&res);
	buf_init(&head, 64 * 1024);
	listen_fd = sock;
	while (!stopping && FCGX_Accept_r(&fr) >= 0) {
		serve_one(app, &c, fr.envp, &res, &head);
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
cgi_once(struct app *app)
{
	struct conn c = { NULL };
	struct response res;
	struct buf head;
	size_t left;

	response_init(&res);
	buf_init(&head, 64 * 1024);
	left = serve_one(app, &c, environ, &res, &head);
	fflush(stdout);
	/* The reply is whole: say so (EOF) before waiting on the body. */
	shutdown(STDOUT_FILENO, SHUT_WR);
	close(STDOUT_FILENO);
	cgi_drain(left);
	response_free(&res);
	buf_free(&head);
	return 0;
}

/* "127.0.0.1:9000", "[::1]:9000" or "unix:/run/x.sock". */
static int
open_listener(const char *addr)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (strncmp(addr, "unix:", 5) == 0) {
		struct sockaddr_un *un = (struct sockaddr_un *)&ss;
		struct stat st;
		const char *path = addr + 5;

		if (strlen(path) >= sizeof(un->sun_path) || path[0] != '/') {
			log_error("--listen %s: expected unix:/absolute/path",
				  addr);
			return -1;
		}
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, path, strlen(path) + 1);
		len = sizeof(*un);
		/* A socket left by an earlier run; never any other file. */
		if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(path);
	} else {
		char host[64];
		const char *colon = strrchr(addr, ':');
		unsigned long long port;
		size_t hl;

		if (colon == NULL || parse_uint(colon + 1, 1, 65535, &port) ||
		    (size_t)(colon - addr) >= sizeof(host)) {
			log_error("--listen %s: expected HOST:PORT or "
				  "unix:/path",
				  addr);
			return -1;
		}
		hl = (size_t)(colon - addr);
		memcpy(host, addr, hl);
		host[hl] = '\0';
		if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			host[hl - 1] = '\0';
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((unsigned short)port);
			if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
				goto bad;
			len = sizeof(*s6);
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			s4->sin_family = AF_INET;
			s4->sin_port = htons((unsigned short)port);
			if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
				goto bad;
			len = sizeof(*s4);
		}
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	if (ss.ss_family != AF_UNIX)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    listen(fd, 511) == -1) {
		close(fd);
		goto fail;
	}
	return fd;
bad:
	log_error("--listen %s: not an IP address (use 127.0.0.1 or [::1])",
		  addr);
	return -1;
fail:
	log_error("--listen %s: %s", addr, strerror(errno));
	return -1;
}

/* systemd socket activation (sd_listen_fds(3)): our fd is 3. */
static int
systemd_socket(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	unsigned long long p, n;

	if (pid == NULL || fds == NULL || parse_uint(pid, 1, 1ULL << 31, &p) ||
	    parse_uint(fds, 1, 1, &n) || (pid_t)p != getpid())
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	return 3;
}

static pid_t
spawn(struct app *app, int sock)
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
		_exit(fcgi_loop(app, sock));
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
supervise(struct app *app, int sock, unsigned workers)
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
		pids[i] = spawn(app, sock);
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
			pids[i] = spawn(app, sock);
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
	int on = 0;
	socklen_t len = sizeof(on);

	return (getsockopt(STDIN_FILENO, SOL_SOCKET, SO_ACCEPTCONN, &on,
			   &len) == 0 &&
		on) ||
	       getenv("GATEWAY_INTERFACE") != NULL ||
	       getenv("REQUEST_METHOD") != NULL;
}

int
serve(struct app *app, const char *listen_addr, unsigned workers)
{
	int sock, rc;

	if (listen_addr == NULL) {
		sock = systemd_socket();
		if (sock != -1)
			return supervise(app, sock, workers);
		set_signals(on_stop);
		/* fd 0 a listening socket: spawned by the web server. */
		if (FCGX_IsCGI())
			return cgi_once(app);
		return fcgi_loop(app, 0);
	}
	sock = open_listener(listen_addr);
	if (sock == -1)
		return 1;
	rc = supervise(app, sock, workers);
	close(sock);
	if (strncmp(listen_addr, "unix:", 5) == 0)
		unlink(listen_addr + 5);
	return rc;
}
