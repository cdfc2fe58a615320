/*
 * Unit tests for log.c: text lines by default; with [log] format = json,
 * one JSON object a line, which cJSON can read back, with the audit
 * line's words as members.
 */
#include <cjson/cJSON.h>

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "unit.h"

static char path[] = "/tmp/isc-unit-log-XXXXXX";
static int fd;

/* What was logged since the last call. */
static char *
logged(void)
{
	static char out[8192];
	ssize_t n;

	n = pread(fd, out, sizeof(out) - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	if (ftruncate(fd, 0) == -1)
		abort();
	lseek(fd, 0, SEEK_SET);
	return out;
}

static void
text_is_the_default(void)
{
	const char *out;

	log_set_format(LOG_FORMAT_TEXT);
	log_error("store: %s", "gone");
	out = logged();
	CHECK(strstr(out, "insuresign-connect[") != NULL);
	CHECK(strstr(out, "]: error: store: gone\n") != NULL);
	audit("linked", "0123456789abcdef0123", "expires_in=%d", 3600);
	out = logged();
	CHECK(strstr(out, "audit: ") != NULL);
	CHECK(strstr(out, " linked record=0123456789ab expires_in=3600\n") !=
	      NULL);
}

static void
json_lines_read_back(void)
{
	cJSON *o;
	char *out, *nl;

	log_set_format(LOG_FORMAT_JSON);
	log_warn("a \"quoted\" word,\nand\ta new line \\ too");
	out = logged();
	nl = strchr(out, '\n');
	CHECK(nl != NULL && nl[1] == '\0'); /* one line */
	o = cJSON_Parse(out);
	CHECK(o != NULL);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "level")),
		  "warning");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "event")), "log");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "message")),
		  "a \"quoted\" word,\nand\ta new line \\ too");
	CHECK(cJSON_IsString(cJSON_GetObjectItem(o, "time")));
	CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "pid")) ==
	      (double)getpid());
	cJSON_Delete(o);

	audit("needs_reconnect", "0123456789abcdef0123", "reason=%s by=%s",
	      "invalid_grant", "admin");
	out = logged();
	o = cJSON_Parse(out);
	CHECK(o != NULL);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "level")),
		  "audit");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "event")),
		  "needs_reconnect");
	/* The record's fingerprint: its name's first 12 digits. */
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "record")),
		  "0123456789ab");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "reason")),
		  "invalid_grant");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "by")), "admin");
	cJSON_Delete(o);
	log_set_format(LOG_FORMAT_TEXT);
}

static void
a_long_line_is_cut_and_still_json(void)
{
	char big[3000];
	cJSON *o;

	memset(big, '"', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_set_format(LOG_FORMAT_JSON);
	log_info("%s", big);
	o = cJSON_Parse(logged());
	CHECK(o != NULL);
	CHECK(strlen(cJSON_GetStringValue(cJSON_GetObjectItem(o, "message"))) >
	      100);
	cJSON_Delete(o);
	audit("x", NULL, "k=%s", big);
	o = cJSON_Parse(logged());
	CHECK(o != NULL);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "record")), "-");
	cJSON_Delete(o);
	log_set_format(LOG_FORMAT_TEXT);
}

/* A value with CR or LF in it cannot forge a second log line, and a line
 * longer than the buffer is cut, still ending in one newline. */
static void
a_text_line_stays_one_line(void)
{
	char big[1500];
	const char *out, *at;

	log_set_format(LOG_FORMAT_TEXT);
	log_error("user=%s", "bob\n2026-01-01 error: forged\rline");
	out = logged();
	CHECK(strchr(out, '\n') == out + strlen(out) - 1);
	CHECK(strchr(out, '\r') == NULL);
	CHECK(strstr(out, "error: user=bob 2026-01-01 error: forged line\n") !=
	      NULL);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_warn("%s", big);
	out = logged();
	CHECK(strlen(out) == 1023);
	CHECK(strchr(out, '\n') == out + 1022);
	at = strstr(out, "warning: ");
	CHECK(at != NULL && at[9] == 'x');
}

int
main(void)
{
	int rc;

	fd = mkstemp(path);
	if (fd == -1 || dup2(fd, STDERR_FILENO) == -1)
		return 1;
	RUN(text_is_the_default);
	RUN(json_lines_read_back);
	RUN(a_long_line_is_cut_and_still_json);
	RUN(a_text_line_stays_one_line);
	rc = DONE();
	unlink(path);
	return rc;
}
