/* Log lines to stderr (the web server's error log) and the audit trail. */
#ifndef LOG_H
#define LOG_H

#include <stddef.h>

#include "config.h"

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO };

/*
 * [log] format: text lines (the default), or one JSON object a line for
 * log shippers: {"time", "level", "event", "record", "reason", ...}; a
 * log line's text is its "message", an audit line's key=value pairs its
 * members.  Never a secret, in either: the same words go in both.
 */
void log_set_format(enum log_format f);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)

/* The audit trail: one line per event, to [app] audit_log or stderr. */
int audit_open(const char *path);
void audit(const char *event, const char *record, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
