/*
 * Linked only into the coverage build (Makefile, build/cov/).  The web
 * servers start the program with a clean environment, as www-data or
 * root, maybe from a checkout that user cannot write, so each process
 * sets its own GCOV_PREFIX here: its counts go to <dir>-gcda/uid-<euid>/
 * beside <dir>, the directory of the program it runs as (libgcov reads
 * the variables when it writes, at exit).  tests/coverage.py merges the
 * trees.  _exit is wrapped (-Wl,--wrap=_exit) so that processes leaving
 * that way, prefork workers and forked unit tests, are counted too.  The
 * unit tests' copy (COV_UNIT_DIR) writes to build/cov/ as root, and sends a
 * child that became another user (unit_as_user) to build/cov-gcda/uid-N/.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STR(x)	str_(x)
#define str_(x) #x

void __gcov_dump(void);
void __real__exit(int status) __attribute__((noreturn));
void __wrap__exit(int status) __attribute__((noreturn));

/* GCOV_PREFIX: <dir>-gcda/uid-<euid>, the tree this process may write. */
static void
gcov_prefix(const char *dir)
{
	char prefix[PATH_MAX + 64];

	if ((size_t)snprintf(prefix, sizeof(prefix), "%s-gcda/uid-%u", dir,
			     (unsigned)geteuid()) >= sizeof(prefix))
		return;
	setenv("GCOV_PREFIX", prefix, 1);
	setenv("GCOV_PREFIX_STRIP", STR(COV_STRIP), 1);
}

#ifdef COV_UNIT_DIR
static uid_t started_as;

__attribute__((constructor)) static void
remember_user(void)
{
	started_as = geteuid();
}
#endif

void
__wrap__exit(int status)
{
#ifdef COV_UNIT_DIR
	if (geteuid() != started_as)
		gcov_prefix(COV_UNIT_DIR);
#endif
	__gcov_dump();
	__real__exit(status);
}

#ifndef COV_UNIT_DIR
__attribute__((constructor)) static void
program_prefix(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash == NULL)
		return;
	*slash = '\0';
	gcov_prefix(exe);
}
#endif
