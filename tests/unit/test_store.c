/* Unit tests for store_file.c: layout, modes, symlinks, sweep, list, lock. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "record.h"
#include "store.h"
#include "store_ops.h"
#include "unit.h"

static char top[] = "/tmp/isc-unit-XXXXXX";
static char sdir[64]; /* top/store: the store itself */
static char odir[64]; /* top/outside: where planted links point */
static struct config cfg;
static struct store *st;
static char err_[512];	 /* store_open's, which never fails here */
static char logpath[96]; /* top/stderr: what the store logs, quiet() */

/* store_check of a file store at dir. */
static int
check_dir(char *dir, char *err, size_t len)
{
	struct config c = cfg;
	struct store *s;
	int rc;

	c.store_dir = dir;
	s = store_open(&c, STORE_BACKEND_FILE, err, len);
	if (s == NULL)
		return -2;
	rc = store_check(s, err, len);
	store_close(s);
	return rc;
}

/*
 * lstat as store_file.c sees it: the real one, then, once, the directory
 * at swap_from replaced by swap_to (moved aside first), as someone who
 * can write to the store's parent could race a check of the path.
 */
static const char *swap_from, *swap_to;

int
lstat(const char *path, struct stat *sb)
{
	static int (*real)(const char *, struct stat *);
	char aside[256];
	int rc;

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "lstat");
	rc = real(path, sb);
	if (swap_from != NULL && strcmp(path, swap_from) == 0) {
		snprintf(aside, sizeof(aside), "%s.aside", swap_from);
		if (rename(swap_from, aside) == -1 ||
		    rename(swap_to, swap_from) == -1)
			abort();
		swap_from = NULL;
	}
	return rc;
}

/* A valid record name: two hex characters of shard, then fill. */
static void
name_of(char *out, const char *shard, char fill)
{
	memset(out, fill, 64);
	memcpy(out, shard, 2);
	out[64] = '\0';
}

static void
path_of(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%.2s/%s", sdir, name, name);
}

/* A fresh, empty store for each test: no test sees another's files. */
static void
fresh(void)
{
	store_close(st);
	unit_rmtree(sdir);
	unit_rmtree(odir);
	if (mkdir(sdir, 0700) == -1 || mkdir(odir, 0700) == -1)
		abort();
	cfg.store_dir = sdir;
	st = store_open(&cfg, STORE_BACKEND_FILE, err_, sizeof(err_));
	if (st == NULL)
		abort();
}

static int
write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	size_t n = strlen(text);
	int rc;

	if (fd == -1)
		return -1;
	rc = write(fd, text, n) == (ssize_t)n ? 0 : -1;
	close(fd);
	return rc;
}

static int
file_is(const char *path, const char *text)
{
	char got[256];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd == -1)
		return 0;
	n = read(fd, got, sizeof(got) - 1);
	close(fd);
	if (n < 0)
		return 0;
	got[n] = '\0';
	return strcmp(got, text) == 0;
}

static void
save_then_load_gives_the_same_bytes(void)
{
	char name[65];
	unsigned char data[5000];
	struct buf b;
	size_t i;

	fresh();
	/* More than one read(2) chunk, and NUL bytes: records are binary. */
	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7);
	name_of(name, "01", 'a');
	CHECK(store_save(st, name, data, sizeof(data)) == STORE_OK);
	buf_init(&b, 65536);
	CHECK(store_load(st, name, &b) == STORE_OK);
	CHECK(b.len == sizeof(data) && memcmp(b.data, data, b.len) == 0);
	buf_free(&b);
}

static void
save_replaces_the_old_record(void)
{
	char name[65];
	struct buf b;

	fresh();
	name_of(name, "01", 'a');
	CHECK(store_save(st, name, "first, longer", 13) == STORE_OK);
	CHECK(store_save(st, name, "second", 6) == STORE_OK);
	buf_init(&b, 1024);
	CHECK(store_load(st, name, &b) == STORE_OK);
	CHECK_STR(buf_str(&b), "second");
	buf_free(&b);
}

static void
record_is_mode_0600_in_a_0700_shard(void)
{
	char name[65], path[256], shard[128];
	struct stat sb;

	fresh();
	name_of(name, "7f", 'c');
	CHECK(store_save(st, name, "x", 1) == STORE_OK);
	path_of(path, sizeof(path), name);
	CHECK(lstat(path, &sb) == 0 && S_ISREG(sb.st_mode));
	CHECK((sb.st_mode & 07777) == 0600);
	snprintf(shard, sizeof(shard), "%s/7f", sdir);
	CHECK(lstat(shard, &sb) == 0 && S_ISDIR(sb.st_mode));
	CHECK((sb.st_mode & 07777) == 0700);
}

/* How many entries a directory has, "." and ".." aside; -1 if none. */
static int
entries(const char *dir)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
save_leaves_no_temp_file(void)
{
	char name[65], shard[128];

	fresh();
	name_of(name, "20", 'd');
	CHECK(store_save(st, name, "x", 1) == STORE_OK);
	snprintf(shard, sizeof(shard), "%s/20", sdir);
	CHECK(entries(shard) == 1);
}

static void
load_of_a_missing_name_is_notfound(void)
{
	char name[65], other[65];
	struct buf b;

	fresh();
	buf_init(&b, 1024);
	name_of(name, "02", 'a');
	CHECK(store_load(st, name, &b) == STORE_NOTFOUND);
	/* The shard exists, the file does not. */
	name_of(other, "02", 'b');
	CHECK(store_save(st, other, "x", 1) == STORE_OK);
	CHECK(store_load(st, name, &b) == STORE_NOTFOUND);
	buf_free(&b);
}

static void
delete_removes_the_record(void)
{
	char name[65];
	struct buf b;

	fresh();
	name_of(name, "03", 'a');
	CHECK(store_save(st, name, "x", 1) == STORE_OK);
	CHECK(store_delete(st, name) == STORE_OK);
	buf_init(&b, 1024);
	CHECK(store_load(st, name, &b) == STORE_NOTFOUND);
	CHECK(store_delete(st, name) == STORE_NOTFOUND);
	buf_free(&b);
}

static void
invalid_names_are_refused(void)
{
	static const char *const bad[] = {
		"../../../../tmp/x",
		"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcd"
		"ef",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
		"e",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
		"ef0",
		"../"
		"456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"",
	};
	struct store_lock l;
	struct buf b;
	size_t i;

	fresh();
	buf_init(&b, 1024);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(store_save(st, bad[i], "x", 1) == STORE_ERROR);
		CHECK(store_load(st, bad[i], &b) == STORE_ERROR);
		CHECK(store_delete(st, bad[i]) == STORE_ERROR);
		/* A lock wrongly taken is let go, or the next would wait. */
		if (store_lock(st, bad[i], &l) == STORE_OK) {
			CHECK(!"store_lock took a bad name");
			store_unlock(&l);
		}
	}
	/* Nothing was made anywhere: no shard, no lock file. */
	CHECK(entries(sdir) == 0);
	buf_free(&b);
}

static void
symlink_in_place_of_a_record_is_refused(void)
{
	char name[65], path[256], target[128];
	struct buf b;

	fresh();
	name_of(name, "04", 'a');
	CHECK(store_save(st, name, "x", 1) == STORE_OK);
	path_of(path, sizeof(path), name);
	snprintf(target, sizeof(target), "%s/target", odir);
	CHECK(write_file(target, "target") == 0);
	CHECK(unlink(path) == 0 && symlink(target, path) == 0);
	buf_init(&b, 1024);
	CHECK(store_load(st, name, &b) == STORE_ERROR);
	CHECK(b.len == 0);
	CHECK(file_is(target, "target"));
	buf_free(&b);
}

static void
save_over_a_planted_symlink_never_writes_through_it(void)
{
	char name[65], path[256], target[128];

	fresh();
	name_of(name, "04", 'b');
	CHECK(store_save(st, name, "x", 1) == STORE_OK);
	path_of(path, sizeof(path), name);
	snprintf(target, sizeof(target), "%s/target", odir);
	CHECK(write_file(target, "target") == 0);
	CHECK(unlink(path) == 0 && symlink(target, path) == 0);
	store_save(st, name, "new", 3);
	CHECK(file_is(target, "target"));
}

static void
symlink_in_place_of_a_shard_is_refused(void)
{
	char name[65], shard[128];
	struct buf b;

	fresh();
	name_of(name, "05", 'a');
	snprintf(shard, sizeof(shard), "%s/05", sdir);
	CHECK(symlink(odir, shard) == 0);
	buf_init(&b, 1024);
	CHECK(store_save(st, name, "x", 1) == STORE_ERROR);
	CHECK(store_load(st, name, &b) == STORE_ERROR);
	CHECK(rmdir(odir) == 0); /* still empty: nothing was written there */
	CHECK(mkdir(odir, 0700) == 0);
	buf_free(&b);
}

static void
store_dir_open_to_others_fails_every_operation(void)
{
	char name[65], err[512] = "";
	struct buf b;

	fresh();
	name_of(name, "06", 'a');
	CHECK(store_save(st, name, "x", 1) == STORE_OK);
	CHECK(chmod(sdir, 0755) == 0);
	buf_init(&b, 1024);
	CHECK(store_load(st, name, &b) == STORE_ERROR);
	CHECK(store_save(st, name, "y", 1) == STORE_ERROR);
	CHECK(store_delete(st, name) == STORE_ERROR);
	CHECK(store_sweep(st) == -1);
	CHECK(check_dir(sdir, err, sizeof(err)) == -1);
	CHECK(strstr(err, "0700") != NULL);
	CHECK(chmod(sdir, 0700) == 0);
	buf_free(&b);
}

static void
store_dir_fixed_while_running_works_again(void)
{
	char name[65];
	struct buf b;

	/* The mode is checked on every use, so chmod needs no restart. */
	fresh();
	name_of(name, "06", 'b');
	CHECK(store_save(st, name, "x", 1) == STORE_OK);
	CHECK(chmod(sdir, 0750) == 0);
	buf_init(&b, 1024);
	CHECK(store_load(st, name, &b) == STORE_ERROR);
	CHECK(chmod(sdir, 0700) == 0);
	CHECK(store_load(st, name, &b) == STORE_OK);
	buf_free(&b);
}

static void
missing_store_dir_is_an_error_not_notfound(void)
{
	char name[65];
	struct buf b;

	/* "No record" would tell the user they are not connected. */
	fresh();
	name_of(name, "07", 'a');
	CHECK(rmdir(sdir) == 0);
	buf_init(&b, 1024);
	CHECK(store_load(st, name, &b) == STORE_ERROR);
	CHECK(store_delete(st, name) == STORE_ERROR);
	CHECK(mkdir(sdir, 0700) == 0);
	buf_free(&b);
}

static void
store_check_refuses_a_symlinked_dir(void)
{
	char link[128], err[512] = "";

	fresh();
	snprintf(link, sizeof(link), "%s/link", top);
	CHECK(symlink(sdir, link) == 0);
	CHECK(check_dir(link, err, sizeof(err)) == -1);
	CHECK(strstr(err, "symbolic link") != NULL);
	CHECK(check_dir(sdir, err, sizeof(err)) == 0);
	unlink(link);
}

static void
sweep_removes_temp_files_nobody_is_writing(void)
{
	char a[65], b[65], ta[256], tb[256], rec[256];
	struct store_lock l;
	int up[2], down[2];
	pid_t pid;
	char c;

	/* Writes hold the record's lock, so an unlocked record's temp file
	 * has no writer left: a crash left it.  A locked one is kept. */
	fresh();
	name_of(a, "08", 'a');
	name_of(b, "08", 'b');
	CHECK(store_save(st, a, "x", 1) == STORE_OK);
	path_of(rec, sizeof(rec), a);
	snprintf(ta, sizeof(ta), "%s/08/.tmp-%s-0123456789abcdef", sdir, a);
	snprintf(tb, sizeof(tb), "%s/08/.tmp-%s-0123456789abcdef", sdir, b);
	CHECK(write_file(ta, "a") == 0 && write_file(tb, "b") == 0);
	CHECK(pipe(up) == 0 && pipe(down) == 0);
	pid = fork();
	if (pid == 0) {
		/* The writer of a: holds its lock until told to go. */
		if (store_lock(st, a, &l) != STORE_OK)
			_exit(1);
		(void)!write(up[1], "L", 1);
		(void)!read(down[0], &c, 1);
		_exit(0);
	}
	CHECK(read(up[0], &c, 1) == 1);
	CHECK(store_sweep(st) == 1);
	CHECK(access(ta, F_OK) == 0);
	CHECK(access(tb, F_OK) == -1 && errno == ENOENT);
	CHECK(write(down[1], "G", 1) == 1);
	CHECK(waitpid(pid, NULL, 0) == pid);
	CHECK(store_sweep(st) == 1);
	CHECK(access(ta, F_OK) == -1 && errno == ENOENT);
	CHECK(access(rec, F_OK) == 0);
	close(up[0]);
	close(up[1]);
	close(down[0]);
	close(down[1]);
}

struct seen {
	char names[8][65];
	char heads[8][9];
	int n;
};

static int
visit(void *ctx, const char *name, const unsigned char *head, size_t len)
{
	struct seen *s = ctx;

	if (s->n < 8) {
		snprintf(s->names[s->n], 65, "%s", name);
		snprintf(s->heads[s->n], 9, "%.*s", (int)len,
			 (const char *)head);
	}
	s->n++;
	return 0;
}

static int
seen_once(const struct seen *s, const char *name, const char *head)
{
	int i, n = 0;

	for (i = 0; i < s->n && i < 8; i++)
		if (strcmp(s->names[i], name) == 0 &&
		    strcmp(s->heads[i], head) == 0)
			n++;
	return n == 1;
}

static void
list_visits_every_record_once_with_its_head(void)
{
	char a[65], b[65], c[65], tmp[256];
	struct seen s;

	fresh();
	name_of(a, "09", 'a');
	name_of(b, "09", 'b');
	name_of(c, "ff", 'c');
	CHECK(store_save(st, a, "HEAD-AAA and more", 17) == STORE_OK);
	CHECK(store_save(st, b, "HEAD-BBB and more", 17) == STORE_OK);
	CHECK(store_save(st, c, "HEAD", 4) == STORE_OK);
	snprintf(tmp, sizeof(tmp), "%s/09/.tmp-x", sdir);
	CHECK(write_file(tmp, "HEAD-TMP") == 0);
	memset(&s, 0, sizeof(s));
	CHECK(store_list(st, 8, visit, &s) == 0);
	CHECK(s.n == 3);
	CHECK(seen_once(&s, a, "HEAD-AAA"));
	CHECK(seen_once(&s, b, "HEAD-BBB"));
	CHECK(seen_once(&s, c, "HEAD"));
}

static void
msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/*
 * The child takes the lock on name, says so on ready, and waits ~100 ms
 * (go == -1) or for the parent's go, 5 s at most, so a parent wrongly
 * blocked gets a failure, not a hang.  It makes the marker file and only
 * then exits, which drops the lock.
 */
static pid_t
lock_holder(const char *name, const char *marker, int ready, int go)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct store *s = store_open(&cfg, STORE_BACKEND_FILE, err_,
					     sizeof(err_));
		struct pollfd pfd = { go, POLLIN, 0 };
		struct store_lock l;
		char c = 'L';

		alarm(10);
		if (s == NULL || store_lock(s, name, &l) != STORE_OK)
			_exit(1);
		if (write(ready, &c, 1) != 1)
			_exit(1);
		if (go == -1)
			msleep(100);
		else if (poll(&pfd, 1, 5000) == -1)
			_exit(1);
		if (write_file(marker, "m") == -1)
			_exit(1);
		store_close(s); /* the lock goes with the process, at exit */
		_exit(0);
	}
	return pid;
}

static int
exited_ok(pid_t pid)
{
	int status;

	return waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
}

static void
lock_is_exclusive_across_processes(void)
{
	char name[65], marker[128], c;
	struct store_lock l;
	int p[2];
	pid_t pid;

	fresh();
	name_of(name, "0a", 'a');
	snprintf(marker, sizeof(marker), "%s/marker", odir);
	CHECK(pipe(p) == 0);
	pid = lock_holder(name, marker, p[1], -1);
	CHECK(pid > 0);
	CHECK(read(p[0], &c, 1) == 1);
	/* The child holds the lock until after it wrote the marker. */
	CHECK(store_lock(st, name, &l) == STORE_OK);
	CHECK(access(marker, F_OK) == 0);
	store_unlock(&l);
	CHECK(exited_ok(pid));
	close(p[0]);
	close(p[1]);
}

static void
lock_on_another_name_does_not_wait(void)
{
	char a[65], b[65], marker[128], c = 'g';
	struct store_lock l;
	int ready[2], go[2];
	pid_t pid;

	fresh();
	name_of(a, "0b", 'a');
	name_of(b, "0c", 'b');
	snprintf(marker, sizeof(marker), "%s/marker", odir);
	CHECK(pipe(ready) == 0 && pipe(go) == 0);
	pid = lock_holder(a, marker, ready[1], go[0]);
	CHECK(pid > 0);
	CHECK(read(ready[0], &c, 1) == 1);
	/* Until go is written, only the child's 5 s limit lets a go. */
	CHECK(store_lock(st, b, &l) == STORE_OK);
	CHECK(access(marker, F_OK) == -1);
	store_unlock(&l);
	CHECK(write(go[1], &c, 1) == 1);
	CHECK(exited_ok(pid));
	CHECK(access(marker, F_OK) == 0);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
}

/*
 * The store logs every refusal to stderr, as it should; here those lines
 * are expected, and the TAP output on stdout stays readable without them.
 */
static void
quiet(void)
{
	int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);

	if (fd != -1) {
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
}

static void
spend_is_true_once_then_a_replay(void)
{
	char a[65], b[65];

	fresh();
	name_of(a, "aa", '1');
	name_of(b, "aa", '2');
	CHECK(store_spend(st, a, time(NULL) + 600) == STORE_OK);
	CHECK(store_spend(st, a, time(NULL) + 600) == STORE_EXISTS);
	CHECK(store_spend(st, b, time(NULL) + 600) == STORE_OK);
	CHECK(store_spend(st, "../x", time(NULL) + 600) == STORE_ERROR);
}

static void
sweep_forgets_expired_spent_values_only(void)
{
	char a[65], b[65];

	fresh();
	name_of(a, "bb", '1');
	name_of(b, "bb", '2');
	CHECK(store_spend(st, a, time(NULL) - 1) == STORE_OK);
	CHECK(store_spend(st, b, time(NULL) + 600) == STORE_OK);
	{
		/* Not a spent value's name: not ours to remove. */
		char junk[128];

		snprintf(junk, sizeof(junk), "%s/spent/junk", sdir);
		CHECK(write_file(junk, "") == 0);
		CHECK(store_sweep(st) == 1);
		CHECK(access(junk, F_OK) == 0);
	}
	/* The expired one may be spent again; the live one is remembered. */
	CHECK(store_spend(st, a, time(NULL) + 600) == STORE_OK);
	CHECK(store_spend(st, b, time(NULL) + 600) == STORE_EXISTS);
}

static void
writable_needs_a_usable_dir(void)
{
	fresh();
	CHECK(store_writable(st) == STORE_OK);
	CHECK(chmod(sdir, 0755) == 0);
	CHECK(store_writable(st) == STORE_ERROR);
	CHECK(chmod(sdir, 0700) == 0);
	CHECK(store_writable(st) == STORE_OK);
}

static void
store_dir_swapped_after_its_check_is_never_used(void)
{
	char name[65], wide[128], rec[256];
	struct stat sb;

	/* Issue 10, section 8: the checks apply to the directory opened
	 * (open O_DIRECTORY|O_NOFOLLOW, then fstat), not to a path that can
	 * name another directory by the time it is opened. */
	fresh();
	snprintf(wide, sizeof(wide), "%s/wide", top);
	CHECK(mkdir(wide, 0755) == 0 && chmod(wide, 0755) == 0);
	name_of(name, "0a", 'a');
	swap_from = sdir;
	swap_to = wide;
	(void)store_save(st, name, "secret", 6);
	swap_from = NULL;
	/* Wherever the record went, it is not in a directory others read. */
	path_of(rec, sizeof(rec), name);
	if (access(rec, F_OK) == 0) {
		CHECK(stat(sdir, &sb) == 0);
		CHECK((sb.st_mode & 077) == 0);
	}
	snprintf(rec, sizeof(rec), "%s/0a/%s", wide, name);
	CHECK(access(rec, F_OK) == -1);
}

static void
sweep_leaves_short_temp_names_alone(void)
{
	char name[65], path[256];

	/* Too short to hold a record's name: not ours, never locked by a
	 * name made of bytes past its end. */
	fresh();
	name_of(name, "0b", 'a');
	CHECK(store_save(st, name, "x", 1) == STORE_OK);
	snprintf(path, sizeof(path), "%s/0b/.tmp-0b", sdir);
	CHECK(write_file(path, "x") == 0);
	CHECK(store_sweep(st) == 0);
	CHECK(access(path, F_OK) == 0);
}

static void
check_store(char *out, size_t len)
{
	if (check_dir(sdir, out, len) == 0)
		snprintf(out, len, "ok");
}

static void
store_of_another_user_names_both_and_the_fix(void)
{
	struct passwd *pw = getpwnam("www-data");
	char err[512] = "", want[512];

	/* Issue 12, item 6: names, never uids; root is told to run as the
	 * owner (a chown would hand the store to root). */
	if (geteuid() != 0 || pw == NULL) {
		printf("# skipped: needs root and a www-data user\n");
		return;
	}
	fresh();
	CHECK(chown(sdir, pw->pw_uid, pw->pw_gid) == 0);
	CHECK(check_dir(sdir, err, sizeof(err)) == -1);
	CHECK(strstr(err, "owned by www-data, and this runs as root: run it "
			  "as www-data (runuser -u www-data -- ") != NULL);
	CHECK(strstr(err, "chown") == NULL);
	snprintf(want, sizeof(want), "uid %u", (unsigned)pw->pw_uid);
	CHECK(strstr(err, want) == NULL);
	/* The web server's user, with a store root made. */
	CHECK(chown(sdir, 0, 0) == 0);
	CHECK(chmod(top, 0711) == 0);
	CHECK(unit_as_user("www-data", check_store, err, sizeof(err)) == 0);
	snprintf(want, sizeof(want),
		 "store dir %s: owned by root; the program runs as www-data: "
		 "chown www-data %s",
		 sdir, sdir);
	CHECK_STR(err, want);
	CHECK(chmod(top, 0700) == 0);
}

/* At most STORE_HELD_MAX locks at once, each let go by its unlock. */
static void
locks_held_at_once_are_bounded(void)
{
	struct store_lock l[STORE_HELD_MAX + 1];
	char names[STORE_HELD_MAX + 1][65];
	int i;

	fresh();
	for (i = 0; i <= STORE_HELD_MAX; i++) {
		char shard[3] = { '1', (char)('0' + i), '\0' };

		name_of(names[i], shard, 'e');
	}
	for (i = 0; i < STORE_HELD_MAX; i++)
		CHECK(store_lock(st, names[i], &l[i]) == STORE_OK);
	CHECK(store_lock(st, names[i], &l[i]) == STORE_ERROR);
	store_unlock(&l[i]); /* a lock not taken: nothing to let go */
	store_unlock(&l[0]);
	store_unlock(&l[0]); /* twice: the second does nothing */
	CHECK(store_lock(st, names[i], &l[i]) == STORE_OK);
	for (i = 1; i <= STORE_HELD_MAX; i++)
		store_unlock(&l[i]);
}

static void
log_reset(void)
{
	if (truncate(logpath, 0) == -1)
		abort();
}

static int
logged(const char *what)
{
	char got[4096];
	ssize_t n;
	int fd = open(logpath, O_RDONLY);

	if (fd == -1)
		return 0;
	n = read(fd, got, sizeof(got) - 1);
	close(fd);
	if (n < 0)
		return 0;
	got[n] = '\0';
	return strstr(got, what) != NULL;
}

static void
store_dir_under_a_file_names_the_error(void)
{
	char file[128], dir[160], err[512] = "";

	/* A typo'd store_dir through a file: what open said, nothing else. */
	fresh();
	snprintf(file, sizeof(file), "%s/afile", odir);
	CHECK(write_file(file, "x") == 0);
	snprintf(dir, sizeof(dir), "%s/store", file);
	CHECK(check_dir(dir, err, sizeof(err)) == -1);
	CHECK(strstr(err, "Not a directory") != NULL);
	CHECK(strstr(err, "refused") == NULL);
	/* The store_dir itself a file: refused as not a directory. */
	CHECK(check_dir(file, err, sizeof(err)) == -1);
	CHECK(strstr(err, "not a directory: refused") != NULL);
}

static void
file_in_place_of_a_shard_is_refused(void)
{
	char name[65], shard[128];
	struct buf b;

	fresh();
	name_of(name, "0d", 'a');
	snprintf(shard, sizeof(shard), "%s/0d", sdir);
	CHECK(write_file(shard, "x") == 0);
	log_reset();
	CHECK(store_save(st, name, "x", 1) == STORE_ERROR);
	CHECK(logged("not a directory: refused"));
	buf_init(&b, 1024);
	CHECK(store_load(st, name, &b) == STORE_ERROR);
	CHECK(file_is(shard, "x"));
	buf_free(&b);
}

static void
record_of_another_owner_or_too_big_is_refused(void)
{
	char name[65], path[256];
	static char big[RECORD_MAX + 2];
	struct buf b;

	/* Someone who can write the store planted it: never read as ours. */
	if (geteuid() != 0) {
		printf("# skipped: needs root to chown\n");
		return;
	}
	fresh();
	name_of(name, "0e", 'a');
	CHECK(store_save(st, name, "x", 1) == STORE_OK);
	path_of(path, sizeof(path), name);
	CHECK(chown(path, 1, 1) == 0);
	buf_init(&b, 2 * RECORD_MAX);
	log_reset();
	CHECK(store_load(st, name, &b) == STORE_ERROR);
	CHECK(b.len == 0);
	CHECK(logged("not a regular file of ours, or too big: refused"));
	CHECK(chown(path, geteuid(), getegid()) == 0);
	CHECK(store_load(st, name, &b) == STORE_OK);
	/* Bigger than any record the store writes. */
	memset(big, 'x', sizeof(big) - 1);
	CHECK(write_file(path, big) == 0);
	b.len = 0;
	CHECK(store_load(st, name, &b) == STORE_ERROR);
	CHECK(b.len == 0);
	buf_free(&b);
}

static void
directory_in_place_of_a_record_fails_cleanly(void)
{
	char name[65], path[256], shard[128];
	struct buf b;

	/* Load, save and delete each fail, say so, and leave nothing. */
	fresh();
	name_of(name, "0f", 'a');
	path_of(path, sizeof(path), name);
	snprintf(shard, sizeof(shard), "%s/0f", sdir);
	CHECK(mkdir(shard, 0700) == 0 && mkdir(path, 0700) == 0);
	buf_init(&b, 1024);
	log_reset();
	CHECK(store_load(st, name, &b) == STORE_ERROR);
	CHECK(logged("refused"));
	log_reset();
	CHECK(store_save(st, name, "x", 1) == STORE_ERROR);
	CHECK(logged("store: write 0faaaaaaaaaa: Is a directory"));
	CHECK(entries(shard) == 1); /* the temp file went */
	log_reset();
	CHECK(store_delete(st, name) == STORE_ERROR);
	CHECK(logged("store: delete 0faaaaaaaaaa: Is a directory"));
	CHECK(rmdir(path) == 0);
	buf_free(&b);
}

static void
lock_fails_when_the_store_dir_or_lock_file_is_wrong(void)
{
	char name[65], lock[128], target[128];
	struct store_lock l;

	fresh();
	name_of(name, "10", 'a');
	CHECK(chmod(sdir, 0755) == 0);
	CHECK(store_lock(st, name, &l) == STORE_ERROR);
	CHECK(chmod(sdir, 0700) == 0);
	/* A planted link is never followed, nor its target created. */
	snprintf(lock, sizeof(lock), "%s/.lock", sdir);
	snprintf(target, sizeof(target), "%s/lock", odir);
	CHECK(symlink(target, lock) == 0);
	log_reset();
	CHECK(store_lock(st, name, &l) == STORE_ERROR);
	CHECK(logged("/.lock: Too many levels of symbolic links"));
	CHECK(access(target, F_OK) == -1);
	CHECK(unlink(lock) == 0);
	CHECK(store_lock(st, name, &l) == STORE_OK);
	store_unlock(&l);
}

static int
visit_stop(void *ctx, const char *name, const unsigned char *head, size_t len)
{
	(void)name;
	(void)head;
	(void)len;
	return ++*(int *)ctx == 1 ? 7 : 0;
}

static void
list_skips_links_and_stops_when_told(void)
{
	char a[65], b[65], c[65], path[256], target[128];
	static unsigned char head[600];
	struct seen s;
	int n = 0;

	fresh();
	name_of(a, "11", 'a');
	name_of(b, "12", 'b');
	name_of(c, "11", 'c');
	memset(head, 'h', sizeof(head));
	CHECK(store_save(st, a, head, sizeof(head)) == STORE_OK);
	CHECK(store_save(st, b, "B", 1) == STORE_OK);
	snprintf(target, sizeof(target), "%s/target", odir);
	CHECK(write_file(target, "LINKED") == 0);
	path_of(path, sizeof(path), c);
	CHECK(symlink(target, path) == 0);
	memset(&s, 0, sizeof(s));
	/* More than 512 asked: 512 read, and the link never followed. */
	CHECK(store_list(st, 4096, visit, &s) == 0);
	CHECK(s.n == 2);
	CHECK(seen_once(&s, a, "hhhhhhhh"));
	CHECK(seen_once(&s, b, "B"));
	/* A visitor's nonzero answer ends the walk and is returned. */
	CHECK(store_list(st, 8, visit_stop, &n) == 7);
	CHECK(n == 1);
}

static void
spend_fails_when_its_dir_is_not_one(void)
{
	char name[65], spent[128];

	/* A replay must never pass as a first use: an error, logged. */
	fresh();
	name_of(name, "cc", '1');
	snprintf(spent, sizeof(spent), "%s/spent", sdir);
	CHECK(write_file(spent, "x") == 0);
	log_reset();
	CHECK(store_spend(st, name, time(NULL) + 600) == STORE_ERROR);
	CHECK(logged("/spent: Not a directory"));
	CHECK(store_sweep(st) == 0);
	CHECK(unlink(spent) == 0);
	CHECK(chmod(sdir, 0755) == 0);
	CHECK(store_spend(st, name, time(NULL) + 600) == STORE_ERROR);
	CHECK(chmod(sdir, 0700) == 0);
	CHECK(store_spend(st, name, time(NULL) + 600) == STORE_OK);
}

/*
 * The store on a small tmpfs of its own (as root, in this process's own
 * mount namespace, so nothing outlives the test): a disk really full.
 * Returns 0 when mounted; the test is skipped otherwise.
 */
static int
small_disk(const char *opts)
{
	static int own_ns;

	store_close(st);
	st = NULL;
	unit_rmtree(sdir);
	if (!own_ns &&
	    (unshare(CLONE_NEWNS) == -1 ||
	     mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)) {
		printf("# skipped: no mount namespace here (%s)\n",
		       strerror(errno));
		return -1;
	}
	own_ns = 1;
	if (mkdir(sdir, 0700) == -1 ||
	    mount("tmpfs", sdir, "tmpfs", 0, opts) == -1 ||
	    chmod(sdir, 0700) == -1) {
		printf("# skipped: cannot mount a tmpfs here (%s)\n",
		       strerror(errno));
		return -1;
	}
	cfg.store_dir = sdir;
	st = store_open(&cfg, STORE_BACKEND_FILE, err_, sizeof(err_));
	if (st == NULL)
		abort();
	return 0;
}

static void
full_disk_fails_the_save_and_keeps_the_old_record(void)
{
	static unsigned char data[RECORD_MAX];
	char name[65], shard[128];
	struct buf b;
	int i;

	if (small_disk("size=64k,mode=0700") == -1)
		return;
	name_of(name, "13", 'a');
	CHECK(store_save(st, name, "old", 3) == STORE_OK);
	/* Less than 1 MiB free: nothing that cannot be had twice is spent. */
	log_reset();
	CHECK(store_writable(st) == STORE_ERROR);
	CHECK(logged("the disk is full"));
	/* Fill what is left, then a write that cannot fit. */
	memset(data, 'x', sizeof(data));
	for (i = 0; i < 16; i++) {
		char other[65];
		char fill[3] = { '2', (char)('0' + i % 10), '\0' };

		name_of(other, fill, (char)('a' + i));
		if (store_save(st, other, data, sizeof(data)) != STORE_OK)
			break;
	}
	CHECK(i < 16);
	log_reset();
	CHECK(store_save(st, name, data, sizeof(data)) == STORE_ERROR);
	CHECK(logged("store: write 13aaaaaaaaaa: No space left on device "
		     "(the disk is full)"));
	snprintf(shard, sizeof(shard), "%s/13", sdir);
	CHECK(entries(shard) == 1); /* no temp file left to fill it more */
	buf_init(&b, 1024);
	CHECK(store_load(st, name, &b) == STORE_OK);
	CHECK_STR(buf_str(&b), "old");
	buf_free(&b);
	store_close(st);
	st = NULL;
	CHECK(umount(sdir) == 0);
}

static void
no_free_inodes_is_a_full_disk(void)
{
	if (small_disk("size=8m,nr_inodes=12,mode=0700") == -1)
		return;
	log_reset();
	CHECK(store_writable(st) == STORE_ERROR);
	CHECK(logged("16 inodes free"));
	store_close(st);
	st = NULL;
	CHECK(umount(sdir) == 0);
}

int
main(void)
{
	int rc;

	if (mkdtemp(top) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(sdir, sizeof(sdir), "%s/store", top);
	snprintf(odir, sizeof(odir), "%s/outside", top);
	snprintf(logpath, sizeof(logpath), "%s/stderr", top);
	/* Lock tests could hang if broken: keep each line as it is made. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	quiet();
	RUN(save_then_load_gives_the_same_bytes);
	RUN(save_replaces_the_old_record);
	RUN(record_is_mode_0600_in_a_0700_shard);
	RUN(save_leaves_no_temp_file);
	RUN(load_of_a_missing_name_is_notfound);
	RUN(delete_removes_the_record);
	RUN(invalid_names_are_refused);
	RUN(symlink_in_place_of_a_record_is_refused);
	RUN(save_over_a_planted_symlink_never_writes_through_it);
	RUN(symlink_in_place_of_a_shard_is_refused);
	RUN(store_dir_open_to_others_fails_every_operation);
	RUN(store_dir_fixed_while_running_works_again);
	RUN(missing_store_dir_is_an_error_not_notfound);
	RUN(store_check_refuses_a_symlinked_dir);
	RUN(locks_held_at_once_are_bounded);
	RUN(sweep_removes_temp_files_nobody_is_writing);
	RUN(store_dir_swapped_after_its_check_is_never_used);
	RUN(sweep_leaves_short_temp_names_alone);
	RUN(store_of_another_user_names_both_and_the_fix);
	RUN(list_visits_every_record_once_with_its_head);
	RUN(lock_is_exclusive_across_processes);
	RUN(lock_on_another_name_does_not_wait);
	RUN(spend_is_true_once_then_a_replay);
	RUN(sweep_forgets_expired_spent_values_only);
	RUN(writable_needs_a_usable_dir);
	RUN(store_dir_under_a_file_names_the_error);
	RUN(file_in_place_of_a_shard_is_refused);
	RUN(record_of_another_owner_or_too_big_is_refused);
	RUN(directory_in_place_of_a_record_fails_cleanly);
	RUN(lock_fails_when_the_store_dir_or_lock_file_is_wrong);
	RUN(list_skips_links_and_stops_when_told);
	RUN(spend_fails_when_its_dir_is_not_one);
	RUN(full_disk_fails_the_save_and_keeps_the_old_record);
	RUN(no_free_inodes_is_a_full_disk);
	store_close(st);
	rc = DONE();
	unit_rmtree(top);
	return rc;
}
