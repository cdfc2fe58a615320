/*
 * The socket we serve on: --listen's, systemd's, or the web server's.
 *
 * Whoever can connect can send any FastCGI parameter, REMOTE_USER
 * included.  A unix socket's file mode and group decide who that is, so it
 * is the one to use: it is made with the mode and group the operator gives
 * before it listens.  On TCP any local user can connect (serve.c then
 * drops REMOTE_USER).
 */
#include "listener.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "log.h"
#include "text.h"

static int
group_id(const char *name, gid_t *gid)
{
	unsigned long long n;
	struct group g, *found = NULL;
	char buf[4096];

	if (getgrnam_r(name, &g, buf, sizeof(buf), &found) == 0 &&
	    found != NULL) {
		*gid = g.gr_gid;
		return 0;
	}
	if (parse_uint(name, 0, 0x7fffffff, &n) == 0) {
		*gid = (gid_t)n;
		return 0;
	}
	log_error("--socket-group %s: no such group", name);
	return -1;
}

/*
 * Binds, then sets group and mode, then listens: until listen(2) a
 * connect(2) is refused, so the socket is never open to more users than
 * asked, even for an instant.  The bind itself gives at most the owner's
 * bits of mode: the file never has group bits for a group not asked for.
 */
static int
bind_unix(int fd, const char *addr, const struct sockaddr_un *un, unsigned mode,
	  const char *group)
{
	const char *path = un->sun_path;
	mode_t old;
	gid_t gid;
	int rc;

	if (group != NULL && group_id(group, &gid) == -1)
		return -1;
	old = umask(0777 & ~(mode & 0700));
	rc = bind(fd, (const struct sockaddr *)un, sizeof(*un));
	umask(old);
	if (rc == -1) {
		log_error("--listen %s: %s", addr, strerror(errno));
		return -1;
	}
	/* NOFOLLOW: the path is ours, but its directory may not be. */
	if ((group != NULL && fchownat(AT_FDCWD, path, (uid_t)-1, gid,
				       AT_SYMLINK_NOFOLLOW) == -1) ||
	    fchmodat(AT_FDCWD, path, mode, AT_SYMLINK_NOFOLLOW) == -1) {
		log_error("--listen %s: %s: %s", addr,
			  group != NULL ? "cannot set its group or mode"
					: "cannot set its mode",
			  strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

/* "127.0.0.1:9000" or "[::1]:9000": an address, never a host name. */
static int
parse_ip(const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon = strrchr(addr, ':');
	unsigned long long port;
	size_t hl;

	if (colon == NULL || parse_uint(colon + 1, 1, 65535, &port) ||
	    (size_t)(colon - addr) >= sizeof(host)) {
		log_error("--listen %s: expected unix:/path, 127.0.0.1:PORT "
			  "or [::1]:PORT",
			  addr);
		return -1;
	}
	hl = (size_t)(colon - addr);
	memcpy(host, addr, hl);
	host[hl] = '\0';
	if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		host[hl - 1] = '\0';
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)port);
		*len = sizeof(*s6);
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) == 1)
			return 0;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((unsigned short)port);
		*len = sizeof(*s4);
		if (inet_pton(AF_INET, host, &s4->sin_addr) == 1)
			return 0;
	}
	log_error("--listen %s: not an IP address (use 127.0.0.1 or [::1])",
		  addr);
	return -1;
}

int
listener_open(const char *addr, unsigned mode, const char *group)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	int fd = -1, one = 1, is_unix = strncmp(addr, "unix:", 5) == 0;

	memset(&ss, 0, sizeof(ss));
	if (is_unix) {
		struct sockaddr_un *un = (struct sockaddr_un *)&ss;
		const char *path = addr + 5;
		struct stat st;

		if (strlen(path) >= sizeof(un->sun_path) || path[0] != '/') {
			log_error("--listen %s: expected unix:/absolute/path",
				  addr);
			return -1;
		}
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, path, strlen(path) + 1);
		/* A socket left by an earlier run; never any other file. */
		if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(path);
	} else if (parse_ip(addr, &ss, &len) == -1) {
		return -1;
	}
	/* Non-blocking: a worker woken for a connection another took gets
	 * EAGAIN from accept(2) rather than wait (serve.c). */
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    0);
	if (fd == -1)
		goto fail;
	if (is_unix) {
		if (bind_unix(fd, addr, (struct sockaddr_un *)&ss, mode,
			      group) == -1) {
			close(fd);
			return -1;
		}
	} else {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&ss, len) == -1)
			goto fail;
	}
	if (listen(fd, 511) == -1)
		goto fail;
	return fd;
fail:
	log_error("--listen %s: %s", addr, strerror(errno));
	if (fd != -1)
		listener_close(fd, addr);
	return -1;
}

void
listener_close(int fd, const char *addr)
{
	close(fd);
	if (strncmp(addr, "unix:", 5) == 0)
		unlink(addr + 5);
}

int
listener_systemd(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	unsigned long long p, n;

	if (pid == NULL || fds == NULL || parse_uint(pid, 1, 1ULL << 31, &p) ||
	    parse_uint(fds, 1, 1, &n) || (pid_t)p != getpid() ||
	    !listener_is_listening(3)) {
		log_error("no --listen ADDR, and no socket from systemd "
			  "(LISTEN_PID, LISTEN_FDS=1)");
		return -1;
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	return 3;
}

int
listener_is_listening(int fd)
{
	int on = 0;
	socklen_t len = sizeof(on);

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on;
}

int
listener_is_unix(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	return getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
	       ss.ss_family == AF_UNIX;
}
