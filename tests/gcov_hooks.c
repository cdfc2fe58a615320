/*
 * Linked only into the coverage build (Makefile, build/cov/).  The web
 * servers start the program with a clean environment, as www-data or
 * root, maybe from a checkout that user cannot write, so each process
 * sets its own GCOV_PREFIX here: its counts go to <dir>-gcda/uid-<euid>/
 * beside <dir>, the directory of the program it runs as (libgcov reads
 * the variables when it writes, at exit).  tests/coverage.py merges the
 * trees.  _exit is wrapped (-Wl,--wrap=_exit) so that processes leaving
 * that way, prefork workers and forked unit tests, are counted too.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void __gcov_dump(void);
void __real__exit(int status) __attribute__((noreturn));
void __wrap__exit(int status) __attribute__((noreturn));

void
__wrap__exit(int status)
{
	__gcov_dump();
	__real__exit(status);
}

#ifdef COV_STRIP
#define STR(x)	str_(x)
#define str_(x) #x

__attribute__((constructor)) static void
gcov_prefix(void)
{
	char exe[PATH_MAX], prefix[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash == NULL)
		return;
	*slash = '\0';
	if ((size_t)snprintf(prefix, sizeof(prefix), "%s-gcda/uid-%u", exe,
			     (unsigned)geteuid()) >= sizeof(prefix))
		return;
	setenv("GCOV_PREFIX", prefix, 1);
	setenv("GCOV_PREFIX_STRIP", STR(COV_STRIP), 1);
}
#endif
