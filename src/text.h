/* Small text codecs: numbers, percent-encoding, base64, hex, time. */
#ifndef TEXT_H
#define TEXT_H

#include <stddef.h>

#include "buf.h"

/* The one number parser: decimal digits only, within [min, max]. */
int parse_uint(const char *s, unsigned long long min, unsigned long long max,
	       unsigned long long *out);

/*
 * Decodes %XX (and '+' as a space when plus is set) in place.  Returns the
 * new length, or -1 for a bad escape or a decoded NUL byte.
 */
long pct_decode(char *s, size_t len, int plus);

/* Percent-encodes all but RFC 3986 unreserved characters (section 2.3). */
int buf_add_pct(struct buf *b, const char *s);
/* The same, but a space is '+' (application/x-www-form-urlencoded). */
int buf_add_form(struct buf *b, const char *s);

/* base64url without padding (RFC 4648 section 5). */
size_t b64url_len(size_t n);
void b64url_encode(const unsigned char *in, size_t n, char *out);
int b64url_decode(const char *in, size_t n, unsigned char *out, size_t max,
		  size_t *outlen);
int buf_add_b64url(struct buf *b, const unsigned char *in, size_t n);

/* Standard base64 with padding (RFC 4648 section 4), for HTTP Basic. */
int buf_add_b64(struct buf *b, const unsigned char *in, size_t n);

void hex_encode(const unsigned char *in, size_t n, char *out);
int is_hex(const char *s, size_t n);

/* "2026-11-29T04:00:00Z"; out holds at least 21 bytes. */
#define TIME_LEN 21
void fmt_time(long long t, char *out);
/* The same as a JSON member of o, or null for 0 (never). */
struct cJSON;
void json_add_time(struct cJSON *o, const char *name, long long t);
/* "in 59 min", "2 h ago": short and human, for the admin page and CLI. */
void fmt_relative(long long t, long long now, char *out, size_t len);

/* Case-insensitive ASCII comparison, independent of the locale. */
int ascii_casecmp(const char *a, const char *b);

#endif
