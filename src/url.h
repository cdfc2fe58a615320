/* Percent-encoding (RFC 3986 section 2.1), both ways. */
#ifndef URL_H
#define URL_H

#include <stddef.h>

#include "buf.h"

/*
 * Decodes %XX (and '+' as a space when plus is set) in place.  Returns the
 * new length, or -1 for a bad escape or a decoded NUL byte.
 */
long url_decode(char *s, size_t len, int plus);

/* Appends s with all but RFC 3986 unreserved characters (section 2.3)
 * percent-encoded. */
int url_encode(struct buf *b, const char *s);
/* The same, but a space is '+' (application/x-www-form-urlencoded). */
int url_encode_form(struct buf *b, const char *s);

#endif
