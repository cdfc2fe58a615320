/*
 * A very small test harness: each test is a function; CHECK records a
 * failure with its line and goes on.  Output is TAP ("ok N - name"), which
 * tests/run counts.
 */
#ifndef UNIT_H
#define UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_failed;
static int unit_n;
static int unit_bad;

#define CHECK(cond)                                                       \
	do {                                                              \
		if (!(cond)) {                                            \
			printf("#   %s:%d: CHECK(%s) failed\n", __FILE__, \
			       __LINE__, #cond);                          \
			unit_failed = 1;                                  \
		}                                                         \
	} while (0)

#define CHECK_STR(a, b)                                                   \
	do {                                                              \
		const char *a_ = (a), *b_ = (b);                          \
		if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {    \
			printf("#   %s:%d: \"%s\" != \"%s\"\n", __FILE__, \
			       __LINE__, a_ ? a_ : "(null)",              \
			       b_ ? b_ : "(null)");                       \
			unit_failed = 1;                                  \
		}                                                         \
	} while (0)

#define RUN(fn)                                                             \
	do {                                                                \
		unit_failed = 0;                                            \
		fn();                                                       \
		unit_n++;                                                   \
		unit_bad += unit_failed;                                    \
		printf("%sok %d - %s\n", unit_failed ? "not " : "", unit_n, \
		       #fn);                                                \
	} while (0)

#define DONE() (printf("1..%d\n", unit_n), unit_bad != 0)

#endif
