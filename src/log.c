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
static enum log_format format = LOG_FORMAT_TEXT;

void
log_set_format(enum log_format f)
{
	format = f;
}

/* A JSON string's contents (RFC 8259 section 7), cut to fit; returns the
 * new end.  Bytes >= 0x80 pass as they are: our words are ASCII. */
static size_t
json_escape(char *out, size_t at, size_t cap, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n && at + 7 < cap; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			out[at++] = '\\';
			out[at++] = (char)c;
		} else if (c < 0x20) {
			memcpy(out + at, "\\u00", 4);
			out[at + 4] = hex[c >> 4];
			out[at + 5] = hex[c & 15];
			at += 6;
		} else {
			out[at++] = (char)c;
		}
	}
	return at;
}

static size_t
json_member(char *out, size_t at, size_t cap, const char *name, const char *v,
	    size_t n)
{
	int k;

	if (at + 64 > cap)
		return at; /* no room for another member: cut here */
	k = snprintf(out + at, cap - at, ",\"%s\":\"", name);
	if (k < 0 || (size_t)k >= cap - at - 8)
		return at;
	at = json_escape(out, at + (size_t)k, cap - 2, v, n);
	out[at++] = '"';
	return at;
}

/*
 * One JSON object a line: time, level, event; then an audit line's
 * "record" and its "key=value" words as members (reason=, by=, ...), or a
 * log line's text as "message".
 */
static void
emit_json(int fd, const char *level, const char *event, const char *record,
	  char *text)
{
	char line[2048], when[TIME_LEN], *word, *eq;
	size_t at, cap = sizeof(line) - 2;
	int k;

	timefmt_iso((long long)time(NULL), when);
	k = snprintf(line, cap, "{\"time\":\"%s\",\"level\":\"%s\",\"pid\":%d",
		     when, level, (int)getpid());
	if (k < 0 || (size_t)k >= cap)
		return;
	at = json_member(line, (size_t)k, cap, "event", event, strlen(event));
	if (record == NULL) {
		at = json_member(line, at, cap, "message", text, strlen(text));
	} else {
		at = json_member(line, at, cap, "record", record,
				 strnlen(record, 12));
		/* Cut into words; a name is at most 31 characters. */
		while ((word = strsep(&text, " ")) != NULL) {
			eq = strchr(word, '=');
			if (eq != NULL && eq > word && eq - word < 32) {
				*eq = '\0';
				at = json_member(line, at, cap, word, eq + 1,
						 strlen(eq + 1));
			}
		}
	}
	line[at++] = '}';
	line[at++] = '\n';
	(void)!write(fd, line, at);
}

/*
 * One write(2) per line, so lines from concurrent workers never interleave
 * (O_APPEND writes of this size are atomic on local file systems).  The
 * line starts with the time when it goes where nothing adds one: Apache's
 * error log as mod_fcgid workers' stderr, lighttpd's server.breakagelog.
 */
static void
emit(int fd, int stamp, const char *prefix, const char *text)
{
	char line[1024], when[TIME_LEN] = "";
	int n, m;

	if (stamp)
		timefmt_iso((long long)time(NULL), when);
	n = snprintf(line, sizeof(line), "%s%sinsuresign-connect[%d]: %s%s",
		     when, stamp ? " " : "", (int)getpid(), prefix, text);
	if (n < 0)
		return;
	n = (size_t)n >= sizeof(line) - 1 ? (int)sizeof(line) - 2 : n;
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
	static const char *const levels[] = { "error", "warning", "info" };
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (format == LOG_FORMAT_JSON)
		emit_json(STDERR_FILENO, levels[level], "log", NULL, text);
	else
		emit(STDERR_FILENO, 1, names[level], text);
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
	char prefix[160], when[TIME_LEN], text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (record == NULL)
		record = "-";
	if (format == LOG_FORMAT_JSON) {
		emit_json(audit_fd, "audit", event, record, text);
		return;
	}
	timefmt_iso((long long)time(NULL), when);
	snprintf(prefix, sizeof(prefix), "audit: %s %s record=%.12s ", when,
		 event, record);
	/* Its own time, after "audit:", for the admin page's trail. */
	emit(audit_fd, 0, prefix, text);
}
