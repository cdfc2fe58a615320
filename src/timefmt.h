/* Times as text: ISO 8601 for machines, "in 5 min" for people; the
 * monotonic clock. */
#ifndef TIMEFMT_H
#define TIMEFMT_H

#include <stddef.h>

/* "2026-11-29T04:00:00Z"; out holds at least TIME_LEN bytes. */
#define TIME_LEN 21
void timefmt_iso(long long t, char *out);
/* The same as a JSON member of o, or null for 0 (never). */
struct cJSON;
void timefmt_json(struct cJSON *o, const char *name, long long t);
/* "in 59 min", "2 h ago": short and human, for the admin page and CLI. */
void timefmt_relative(long long t, long long now, char *out, size_t len);
/* Seconds on CLOCK_MONOTONIC, for spans of time: never set back. */
double timefmt_monotonic(void);

#endif
