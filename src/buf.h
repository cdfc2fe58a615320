/* A growable byte string with a hard maximum size. */
#ifndef BUF_H
#define BUF_H

#include <stddef.h>

/*
 * Every buffer has a maximum; an append that would pass it, or that fails
 * to allocate, frees the contents and marks the buffer failed.  Later
 * appends are no-ops, so a caller may build a whole reply and check once.
 * The contents are always NUL-terminated and are wiped when freed, since
 * buffers carry tokens.
 */
struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
	int failed;
};

void buf_init(struct buf *b, size_t max);
int buf_add(struct buf *b, const void *p, size_t n);
int buf_adds(struct buf *b, const char *s);
int buf_addc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *buf_str(const struct buf *b);
/* Fails it as an overflow would (the contents are freed), for a caller
 * whose own check failed. */
void buf_fail(struct buf *b);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);

#endif
