/* base64 (RFC 4648) and hex: bytes as text, both ways; big-endian numbers. */
#ifndef CODEC_H
#define CODEC_H

#include <stddef.h>

#include "buf.h"

/* base64url without padding (RFC 4648 section 5). */
void b64url_encode(const unsigned char *in, size_t n, char *out);
int b64url_decode(const char *in, size_t n, unsigned char *out, size_t max,
		  size_t *outlen);
int b64url_append(struct buf *b, const unsigned char *in, size_t n);

/* Standard base64 with padding (RFC 4648 section 4), for HTTP Basic. */
int b64_append(struct buf *b, const unsigned char *in, size_t n);

/* Lower-case hex: 2n characters and a NUL. */
void hex_encode(const unsigned char *in, size_t n, char *out);
int hex_valid(const char *s, size_t n);

/* v in n bytes (at most 8), the most significant first, and back. */
void be_put(unsigned char *p, size_t n, unsigned long long v);
long long be_get(const unsigned char *p, size_t n);

#endif
