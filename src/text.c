/* Small text codecs: numbers, percent-encoding, base64, hex, time. */
#include "text.h"

#include <cjson/cJSON.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

int
parse_uint(const char *s, unsigned long long min, unsigned long long max,
	   unsigned long long *out)
{
	unsigned long long v = 0;
	size_t i;

	if (s == NULL || s[0] == '\0')
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (d > max || v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (v < min)
		return -1;
	*out = v;
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long
pct_decode(char *s, size_t len, int plus)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '%') {
			int hi, lo;

			if (len - i < 3)
				return -1;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (char)(hi * 16 + lo);
			i += 2;
		} else if (c == '+' && plus) {
			c = ' ';
		}
		if (c == '\0')
			return -1;
		s[o++] = c;
	}
	s[o] = '\0';
	return (long)o;
}

static int
add_escaped(struct buf *b, const char *s, int form)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == ' ' && form) {
			buf_addc(b, '+');
		} else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			   (c >= '0' && c <= '9') || c == '-' || c == '.' ||
			   c == '_' || c == '~') {
			buf_addc(b, (char)c);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };

			buf_add(b, e, 3);
		}
	}
	return b->failed ? -1 : 0;
}

int
buf_add_pct(struct buf *b, const char *s)
{
	return add_escaped(b, s, 0);
}

int
buf_add_form(struct buf *b, const char *s)
{
	return add_escaped(b, s, 1);
}

static const char b64url_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char b64_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
b64url_len(size_t n)
{
	return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

/* Encodes n bytes; pad selects '=' padding.  Returns the length written. */
static size_t
b64_encode(const char *alpha, int pad, const unsigned char *in, size_t n,
	   char *out)
{
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 |
			     in[i + 2];

		out[o++] = alpha[v >> 18];
		out[o++] = alpha[(v >> 12) & 63];
		out[o++] = alpha[(v >> 6) & 63];
		out[o++] = alpha[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)in[i] << 16;

		out[o++] = alpha[v >> 18];
		out[o++] = alpha[(v >> 12) & 63];
		if (pad) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (n - i == 2) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;

		out[o++] = alpha[v >> 18];
		out[o++] = alpha[(v >> 12) & 63];
		out[o++] = alpha[(v >> 6) & 63];
		if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

void
b64url_encode(const unsigned char *in, size_t n, char *out)
{
	b64_encode(b64url_chars, 0, in, n, out);
}

static int
b64url_val(char c)
{
	const char *p;

	if (c == '\0')
		return -1;
	p = strchr(b64url_chars, c);
	return p != NULL ? (int)(p - b64url_chars) : -1;
}

int
b64url_decode(const char *in, size_t n, unsigned char *out, size_t max,
	      size_t *outlen)
{
	size_t i, o = 0;
	unsigned v = 0;
	int bits = 0;

	/* A length of 1 mod 4 cannot come from any input (RFC 4648 s. 5). */
	if (n % 4 == 1)
		return -1;
	for (i = 0; i < n; i++) {
		int d = b64url_val(in[i]);

		if (d < 0)
			return -1;
		v = (v << 6) | (unsigned)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= max)
				return -1;
			out[o++] = (unsigned char)(v >> bits);
		}
	}
	/* Leftover bits must be zero, so each value has one encoding. */
	if (bits > 0 && (v & ((1u << bits) - 1)) != 0)
		return -1;
	*outlen = o;
	return 0;
}

int
buf_add_b64url(struct buf *b, const unsigned char *in, size_t n)
{
	char tmp[3 * 4 + 1];
	size_t i;

	for (i = 0; i < n; i += 3) {
		size_t k = n - i < 3 ? n - i : 3;

		b64url_encode(in + i, k, tmp);
		buf_adds(b, tmp);
	}
	return b->failed ? -1 : 0;
}

int
buf_add_b64(struct buf *b, const unsigned char *in, size_t n)
{
	char tmp[3 * 4 + 1];
	size_t i;

	for (i = 0; i < n; i += 3) {
		size_t k = n - i < 3 ? n - i : 3;

		b64_encode(b64_chars, 1, in + i, k, tmp);
		buf_adds(b, tmp);
	}
	return b->failed ? -1 : 0;
}

void
hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int
is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

void
fmt_time(long long t, char *out)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, TIME_LEN, "-");
}

void
json_add_time(cJSON *o, const char *name, long long t)
{
	char s[TIME_LEN];

	if (t <= 0) {
		cJSON_AddNullToObject(o, name);
		return;
	}
	fmt_time(t, s);
	cJSON_AddStringToObject(o, name, s);
}

void
fmt_relative(long long t, long long now, char *out, size_t len)
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

int
ascii_casecmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		int ca = (unsigned char)*a, cb = (unsigned char)*b;

		if (ca >= 'A' && ca <= 'Z')
			ca += 32;
		if (cb >= 'A' && cb <= 'Z')
			cb += 32;
		if (ca != cb || ca == 0)
			return ca - cb;
	}
}
