/* base64 (RFC 4648) and hex: bytes as text, both ways; big-endian numbers. */
#include "codec.h"

#include <string.h>

static const char b64url_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char b64_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Encodes n bytes; pad selects '=' padding.  Returns the length written. */
static size_t
b64_encode(const char *alpha, int pad, const unsigned char *in, size_t n,
	   char *out)
{
	size_t i, j, o = 0;

	for (i = 0; i < n; i += 3) {
		/* A group of k bytes is k + 1 characters of 6 bits each. */
		size_t k = n - i < 3 ? n - i : 3;
		unsigned v = 0;

		for (j = 0; j < k; j++)
			v |= (unsigned)in[i + j] << (16 - 8 * j);
		for (j = 0; j <= k; j++)
			out[o++] = alpha[(v >> (18 - 6 * j)) & 63];
		for (; pad && j < 4; j++)
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
		/* strchr() would find a NUL: the alphabet's terminator. */
		const char *d =
			in[i] != '\0' ? strchr(b64url_chars, in[i]) : NULL;

		if (d == NULL)
			return -1;
		v = (v << 6) | (unsigned)(d - b64url_chars);
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

/* Group by group, so that a group's text is all the room needed. */
static int
append(struct buf *b, const char *alpha, int pad, const unsigned char *in,
       size_t n)
{
	char tmp[4 + 1];
	size_t i;

	for (i = 0; i < n; i += 3) {
		b64_encode(alpha, pad, in + i, n - i < 3 ? n - i : 3, tmp);
		buf_adds(b, tmp);
	}
	return b->failed ? -1 : 0;
}

int
b64url_append(struct buf *b, const unsigned char *in, size_t n)
{
	return append(b, b64url_chars, 0, in, n);
}

int
b64_append(struct buf *b, const unsigned char *in, size_t n)
{
	return append(b, b64_chars, 1, in, n);
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
hex_valid(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

void
be_put(unsigned char *p, size_t n, unsigned long long v)
{
	while (n-- > 0) {
		p[n] = (unsigned char)v;
		v >>= 8;
	}
}

long long
be_get(const unsigned char *p, size_t n)
{
	unsigned long long v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	return (long long)v;
}
