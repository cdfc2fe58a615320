/*
 * A very small test harness: each test is a function; CHECK records a
 * failure with its line and goes on.  Output is TAP ("ok N - name"), which
 * tests/run counts.
 */
#ifndef UNIT_H
#define UNIT_H

#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

static int
unit_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

/* rm -rf dir: what a test made under its temporary directory. */
__attribute__((unused)) static void
unit_rmtree(const char *dir)
{
	nftw(dir, unit_rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/*
 * Runs fn in a child process as user (as the web server runs the
 * program), with what it writes to out back in out.  Returns -1, out
 * unchanged, when that cannot be done here (not root, no such user).
 */
__attribute__((unused)) static int
unit_as_user(const char *user, void (*fn)(char *out, size_t len), char *out,
	     size_t len)
{
	struct passwd *pw = getpwnam(user);
	int fds[2], status;
	ssize_t n, got = 0;
	pid_t pid;

	if (geteuid() != 0 || pw == NULL || pipe(fds) == -1)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		if (setgroups(0, NULL) == -1 || setgid(pw->pw_gid) == -1 ||
		    setuid(pw->pw_uid) == -1)
			_exit(1);
		out[0] = '\0';
		fn(out, len);
		(void)!write(fds[1], out, strlen(out));
		_exit(0);
	}
	close(fds[1]);
	while (got < (ssize_t)len - 1 &&
	       (n = read(fds[0], out + got, len - 1 - (size_t)got)) > 0)
		got += n;
	out[got] = '\0';
	close(fds[0]);
	if (pid == -1 || waitpid(pid, &status, 0) != pid ||
	    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -1;
	return 0;
}

#endif
