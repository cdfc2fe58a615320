/* Times as text: ISO 8601 for machines, "in 5 min" for people; the
 * monotonic clock. */
#include "timefmt.h"

#include <cjson/cJSON.h>

#include <stdio.h>
#include <time.h>

void
timefmt_iso(long long t, char *out)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, TIME_LEN, "-");
}

void
timefmt_json(cJSON *o, const char *name, long long t)
{
	char s[TIME_LEN];

	timefmt_iso(t, s);
	cJSON_AddItemToObject(
		o, name, t > 0 ? cJSON_CreateString(s) : cJSON_CreateNull());
}

void
timefmt_relative(long long t, long long now, char *out, size_t len)
{
	/* The distance in unsigned arithmetic: t - now may not fit (a
	 * record's head is read before, and without, its key). */
	int past = t < now;
	unsigned long long a =
		past ? (unsigned long long)now - (unsigned long long)t
		     : (unsigned long long)t - (unsigned long long)now;
	const char *unit = " s";
	unsigned long long v = a;

	if (a >= 2 * 86400) {
		v = a / 86400;
		unit = " d";
	} else if (a >= 2 * 3600) {
		v = a / 3600;
		unit = " h";
	} else if (a >= 120) {
		v = a / 60;
		unit = " min";
	}
	snprintf(out, len, past ? "%llu%s ago" : "in %llu%s", v, unit);
}

double
timefmt_monotonic(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}
