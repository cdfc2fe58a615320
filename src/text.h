/* Numbers and letters: the one number parser, and ASCII case. */
#ifndef TEXT_H
#define TEXT_H

/* The one number parser: decimal digits only, within [min, max]. */
int parse_uint(const char *s, unsigned long long min, unsigned long long max,
	       unsigned long long *out);

/* Case-insensitive ASCII comparison, independent of the locale. */
int ascii_casecmp(const char *a, const char *b);

#endif
