/* Log lines to stderr (the web server's error log) and the audit trail. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "timefmt.h"

static int audit_fd = STDERR_FILENO;

/*
 * One write(2) per line, so lines from concurrent workers never interleave
 * (O_APPEND writes of this size are atomic on local file systems).  The
 * line starts with the time when it goes where nothing adds one: Apache's
 * error log as mod_fcgid workers' stderr, lighttpd's server.breakagelog.
 */
static void
emit(int fd, int stamp, const char *prefix, const char *fmt, va_list ap)
{
	char line[1024], when[TIME_LEN] = "";
	int n, m;

	if (stamp)
		timefmt_iso((long long)time(NULL), when);
	n = snprintf(line, sizeof(line), "%s%sinsuresign-connect[%d]: %s", when,
		     stamp ? " " : "", (int)getpid(), prefix);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (m < 0)
		return;
	n = (size_t)(n + m) >= sizeof(line) - 1 ? (int)sizeof(line) - 2 : n + m;
	/* A value could carry a newline; a log line must stay one line. */
	for (m = 0; m < n; m++)
		if (line[m] == '\n' || line[m] == '\r')
			line[m] = ' ';
	line[n++] = '\n';
	(void)!write(fd, line, (size_t)n);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "error: ", "warning: ", "" };
	va_list ap;

	va_start(ap, fmt);
	emit(STDERR_FILENO, 1, names[level], fmt, ap);
	va_end(ap);
}

int
audit_open(const char *path)
{
	int fd;

	if (path == NULL)
		return 0;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd == -1) {
		log_error("%s: %s: %s", __func__, path, strerror(errno));
		return -1;
	}
	if (audit_fd != STDERR_FILENO)
		close(audit_fd);
	audit_fd = fd;
	return 0;
}

void
audit(const char *event, const char *record, const char *fmt, ...)
{
	char prefix[160], when[TIME_LEN];
	va_list ap;

	timefmt_iso((long long)time(NULL), when);
	snprintf(prefix, sizeof(prefix), "audit: %s %s record=%.12s ", when,
		 event, record != NULL ? record : "-");
	/* Its own time, after "audit:", for the admin page's trail. */
	va_start(ap, fmt);
	emit(audit_fd, 0, prefix, fmt, ap);
	va_end(ap);
}
