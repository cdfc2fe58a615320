/*
 * The file store: one file per record at dir/XX/<64 hex>, XX its first two
 * characters.  Writes are atomic (temp file, fsync, rename, fsync dir), so a
 * crash leaves the old record or the new one, never a torn one.  Nothing
 * here follows a symbolic link.
 */
#include "store_ops.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "log.h"
#include "fileowner.h"
#include "record.h"
#include "codec.h"

#define TMP_PREFIX ".tmp-"
#define LOCK_FILE  ".lock"
#define SPENT_DIR  "spent" /* one empty file per spent value */

struct file_store {
	struct store base;
	char *dir;
	int dirfd; /* -1 until the directory passes the checks */
	struct {
		char name[RECORD_NAME_LEN + 1];
		int fd; /* -1: a free slot */
	} held[STORE_HELD_MAX];
};

static struct file_store *
file_store(struct store *s)
{
	return (struct file_store *)s;
}

/*
 * Opens the store directory and checks what was opened (not the path,
 * which could change in between): a directory, not reached through a
 * symbolic link, ours, and private.  Returns the fd, or -1 with err set.
 */
static int
open_root(const char *dir, char *err, size_t len)
{
	char fix[512], user[FILEOWNER_NAME_LEN];
	struct stat st;
	int fd;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		int e = errno;

		if (e == ENOENT) {
			fileowner_program_user(NULL, user);
			snprintf(fix, sizeof(fix),
				 " (create it: install -d -m 0700 -o %s %s)",
				 user, dir);
		} else if ((e == EACCES || e == EPERM) &&
			   lstat(dir, &st) == 0 && st.st_uid != geteuid()) {
			fileowner_mismatch(dir, st.st_uid, fix, sizeof(fix));
			snprintf(err, len, "store dir %s: %s", dir, fix);
			return -1;
		} else if (e == EACCES && lstat(dir, &st) == 0) {
			snprintf(fix, sizeof(fix),
				 " (mode %04o, expected 0700: chmod 700 %s)",
				 (unsigned)st.st_mode & 07777, dir);
		} else if ((e == ELOOP || e == ENOTDIR) &&
			   lstat(dir, &st) == 0) {
			snprintf(err, len, "store dir %s: %s: refused", dir,
				 S_ISLNK(st.st_mode) ? "a symbolic link"
						     : "not a directory");
			return -1;
		} else {
			fix[0] = '\0';
		}
		snprintf(err, len, "store dir %s: %s%s", dir, strerror(e), fix);
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, len, "store dir %s: %s", dir, strerror(errno));
	} else if (st.st_uid != geteuid()) {
		fileowner_mismatch(dir, st.st_uid, fix, sizeof(fix));
		snprintf(err, len, "store dir %s: %s", dir, fix);
	} else if ((st.st_mode & 077) != 0) {
		snprintf(
			err, len,
			"store dir %s: mode %04o, expected 0700 (chmod 700 %s)",
			dir, (unsigned)st.st_mode & 07777, dir);
	} else {
		return fd;
	}
	close(fd);
	return -1;
}

static int
file_check(struct store *s, char *msg, size_t len)
{
	const char *dir = file_store(s)->dir;
	int fd = open_root(dir, msg, len);

	if (fd == -1)
		return -1;
	close(fd);
	snprintf(msg, len, "store dir %s: ours, mode 0700", dir);
	return 0;
}

static struct store *
file_open(const struct config *cfg, char *err, size_t len)
{
	struct file_store *f = calloc(1, sizeof(*f));
	size_t i;

	if (f == NULL || (f->dir = strdup(cfg->store_dir)) == NULL) {
		free(f);
		snprintf(err, len, "out of memory");
		return NULL;
	}
	f->base.ops = &store_file_ops;
	f->dirfd = -1;
	for (i = 0; i < STORE_HELD_MAX; i++)
		f->held[i].fd = -1;
	return &f->base;
}

static void
file_close(struct store *s)
{
	struct file_store *f = file_store(s);
	size_t i;

	for (i = 0; i < STORE_HELD_MAX; i++)
		if (f->held[i].fd != -1)
			close(f->held[i].fd);
	if (f->dirfd != -1)
		close(f->dirfd);
	free(f->dir);
	free(f);
}

/*
 * The directory, checked on every use: an operator who fixes its mode or
 * creates it need not restart us, and one who breaks it gets an error.
 */
static int
root(struct file_store *s)
{
	char err[512];
	struct stat st;

	if (s->dirfd != -1 && fstat(s->dirfd, &st) == 0 &&
	    st.st_uid == geteuid() && (st.st_mode & 077) == 0 &&
	    st.st_nlink > 0)
		return s->dirfd;
	if (s->dirfd != -1)
		close(s->dirfd);
	s->dirfd = open_root(s->dir, err, sizeof(err));
	if (s->dirfd == -1) {
		log_error("store: %s", err);
		errno = EACCES; /* not ENOENT: callers read that as "no record"
				 */
	}
	return s->dirfd;
}

/* The shard directory of a name; created (0700) when create is set. */
static int
shard(struct file_store *s, const char *name, int create)
{
	char sub[3] = { name[0], name[1], '\0' };
	int dfd = root(s), fd;

	if (dfd == -1)
		return -1;
	fd = openat(dfd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT && create) {
		if (mkdirat(dfd, sub, 0700) == -1 && errno != EEXIST) {
			log_error("store: mkdir %s/%s: %s", s->dir, sub,
				  strerror(errno));
			return -1;
		}
		fd = openat(dfd, sub,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd == -1 && errno != ENOENT)
		log_error("store: %s/%s: %s%s", s->dir, sub, strerror(errno),
			  errno == ELOOP || errno == ENOTDIR
				  ? " (not a directory: refused)"
				  : "");
	return fd;
}

static int
read_all(int fd, struct buf *out, size_t max)
{
	char chunk[4096];
	ssize_t n;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if ((size_t)n > max - out->len ||
		    buf_add(out, chunk, (size_t)n))
			return -1;
	}
	return n == 0 ? 0 : -1;
}

static int
file_load(struct store *base, const char *name, struct buf *out)
{
	struct file_store *s = file_store(base);
	struct stat st;
	int sfd, fd, rc = STORE_ERROR;

	sfd = shard(s, name, 0);
	if (sfd == -1)
		return errno == ENOENT ? STORE_NOTFOUND : STORE_ERROR;
	fd = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT)
			rc = STORE_NOTFOUND;
		else
			log_error("store: %.12s: %s%s", name, strerror(errno),
				  errno == ELOOP ? " (a symbolic link: refused)"
						 : "");
		goto err;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() || st.st_size > RECORD_MAX) {
		log_error("store: %.12s: not a regular file of ours, or too "
			  "big: refused",
			  name);
		goto err;
	}
	if (read_all(fd, out, RECORD_MAX) == -1) {
		log_error("store: %.12s: read: %s", name, strerror(errno));
		goto err;
	}
	rc = STORE_OK;
err:
	if (fd != -1)
		close(fd);
	close(sfd);
	return rc;
}

static int
write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
file_save(struct store *base, const char *name, const void *data, size_t len)
{
	struct file_store *s = file_store(base);
	unsigned char rnd[8];
	char tmp[128] = "", hex[17];
	int sfd, fd = -1, rc = STORE_ERROR;

	sfd = shard(s, name, 1);
	if (sfd == -1)
		return STORE_ERROR;
	if (crypto_random(rnd, sizeof(rnd)) == -1)
		goto err;
	hex_encode(rnd, sizeof(rnd), hex);
	snprintf(tmp, sizeof(tmp), TMP_PREFIX "%s-%s", name, hex);
	fd = openat(sfd, tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		goto err;
	if (write_all(fd, data, len) == -1 || fsync(fd) == -1)
		goto err;
	if (close(fd) == -1) {
		fd = -1;
		goto err;
	}
	fd = -1;
	/* rename(2) is atomic; the fsync of the directory makes it durable. */
	if (renameat(sfd, tmp, sfd, name) == -1 || fsync(sfd) == -1)
		goto err;
	rc = STORE_OK;
err:
	if (rc != STORE_OK) {
		log_error("store: write %.12s: %s%s", name, strerror(errno),
			  errno == ENOSPC || errno == EDQUOT
				  ? " (the disk is full)"
				  : "");
		if (fd != -1)
			close(fd);
		if (tmp[0] != '\0')
			unlinkat(sfd, tmp, 0);
	}
	close(sfd);
	return rc;
}

static int
file_remove(struct store *base, const char *name)
{
	struct file_store *s = file_store(base);
	int sfd, rc = STORE_ERROR;

	sfd = shard(s, name, 0);
	if (sfd == -1)
		return errno == ENOENT ? STORE_NOTFOUND : STORE_ERROR;
	if (unlinkat(sfd, name, 0) == 0)
		rc = fsync(sfd) == 0 ? STORE_OK : STORE_ERROR;
	else if (errno == ENOENT)
		rc = STORE_NOTFOUND;
	else
		log_error("store: delete %.12s: %s", name, strerror(errno));
	close(sfd);
	return rc;
}

/*
 * One lock file for the whole store, and a one-byte range in it per
 * record (open file description locks, so each open is its own owner).
 * The kernel drops the lock when its holder dies, kill -9 included, and
 * there are no per-record lock files to leave behind.  Returns the open
 * file description that holds it, or -1.
 */
static int
lock_fd(struct file_store *s, const char *name, int wait)
{
	struct flock fl = { .l_type = F_WRLCK,
			    .l_whence = SEEK_SET,
			    .l_len = 1 };
	char prefix[9];
	int dfd = root(s), fd;

	if (dfd == -1)
		return -1;
	memcpy(prefix, name, 8);
	prefix[8] = '\0';
	fd = openat(dfd, LOCK_FILE, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd == -1) {
		log_error("store: %s/%s: %s", s->dir, LOCK_FILE,
			  strerror(errno));
		return -1;
	}
	fl.l_start = (off_t)strtoull(prefix, NULL, 16);
	while (fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) == -1) {
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EACCES)
			log_error("store: lock %.12s: %s", name,
				  strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int
file_lock(struct store *base, const char *name)
{
	struct file_store *s = file_store(base);
	size_t i;

	for (i = 0; i < STORE_HELD_MAX && s->held[i].fd != -1; i++)
		;
	if (i == STORE_HELD_MAX) {
		log_error("store: lock %.12s: %d locks held already", name,
			  STORE_HELD_MAX);
		return STORE_ERROR;
	}
	s->held[i].fd = lock_fd(s, name, 1);
	if (s->held[i].fd == -1)
		return STORE_ERROR;
	memcpy(s->held[i].name, name, RECORD_NAME_LEN + 1);
	return STORE_OK;
}

static void
file_unlock(struct store *base, const char *name)
{
	struct file_store *s = file_store(base);
	size_t i;

	for (i = 0; i < STORE_HELD_MAX; i++)
		if (s->held[i].fd != -1 && strcmp(s->held[i].name, name) == 0) {
			close(s->held[i].fd);
			s->held[i].fd = -1;
			return;
		}
}

/*
 * A directory under dfd, to read: NULL if it is missing, not a directory
 * or a symbolic link (or, with fd to spare, no memory for the DIR).
 */
static DIR *
subdir(int dfd, const char *sub)
{
	int fd = openat(dfd, sub,
			O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd == -1 ? NULL : fdopendir(fd);

	if (d == NULL && fd != -1)
		close(fd);
	return d;
}

static int
list_shard(DIR *d, size_t head_len, store_visit visit, void *ctx)
{
	unsigned char head[512];
	struct dirent *e;
	int rc = 0;

	while (rc == 0 && (e = readdir(d)) != NULL) {
		ssize_t n;
		int fd;

		if (!store_valid_name(e->d_name))
			continue;
		fd = openat(dirfd(d), e->d_name,
			    O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd == -1)
			continue; /* deleted meanwhile, or not a file */
		n = read(fd, head, head_len);
		close(fd);
		rc = visit(ctx, e->d_name, head, n > 0 ? (size_t)n : 0);
	}
	closedir(d);
	return rc;
}

static int
file_list(struct store *base, size_t head_len, store_visit visit, void *ctx)
{
	int dfd = root(file_store(base)), i, rc = 0;

	if (dfd == -1)
		return STORE_ERROR;
	if (head_len > 512)
		head_len = 512;
	for (i = 0; i < 256 && rc == 0; i++) {
		char sub[3];
		DIR *d;

		snprintf(sub, sizeof(sub), "%02x", i);
		d = subdir(dfd, sub);
		if (d != NULL)
			rc = list_shard(d, head_len, visit, ctx);
	}
	return rc;
}

/*
 * Every write happens under its record's lock, so a temp file whose
 * record is not locked now has no writer: its writer crashed.  A record
 * locked now is being written (or refreshed): its temp file is left.
 */
static long
sweep_shard(struct file_store *s, DIR *d)
{
	char name[RECORD_NAME_LEN + 1];
	struct dirent *e;
	long removed = 0;
	int lfd;

	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(TMP_PREFIX);

		/* ".tmp-" NAME "-" RANDOM: the length first, then the copy. */
		if (strncmp(e->d_name, TMP_PREFIX, n) != 0 ||
		    strlen(e->d_name) < n + RECORD_NAME_LEN)
			continue;
		memcpy(name, e->d_name + n, RECORD_NAME_LEN);
		name[RECORD_NAME_LEN] = '\0';
		if (!store_valid_name(name))
			continue;
		lfd = lock_fd(s, name, 0);
		if (lfd == -1)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == 0)
			removed++;
		close(lfd);
	}
	closedir(d);
	return removed;
}

/* Room for a few records' temp files at once, and then some. */
#define FREE_MIN (1024 * 1024)

static int
file_writable(struct store *base)
{
	struct file_store *s = file_store(base);
	struct statvfs sv;
	int dfd = root(s);

	if (dfd == -1)
		return STORE_ERROR;
	if (fstatvfs(dfd, &sv) == -1) {
		log_error("store: %s: statvfs: %s", s->dir, strerror(errno));
		return STORE_ERROR;
	}
	if (sv.f_flag & ST_RDONLY) {
		log_error("store: %s: Read-only file system", s->dir);
		return STORE_ERROR;
	}
	/* f_bavail and f_favail: what an unprivileged writer may use. */
	if ((unsigned long long)sv.f_bavail * sv.f_frsize < FREE_MIN ||
	    (sv.f_files > 0 && sv.f_favail < 16)) {
		log_error("store: %s: the disk is full (less than 1 MiB or 16 "
			  "inodes free): nothing that cannot be had twice is "
			  "spent until there is room",
			  s->dir);
		return STORE_ERROR;
	}
	return STORE_OK;
}

/*
 * A spent value is an empty file whose mtime is its expiry: creating it
 * with O_EXCL is the atomic "first use" test, and gc needs no index.
 */
static int
file_spend(struct store *base, const char *name, long long expires_at)
{
	struct file_store *s = file_store(base);
	struct timespec t[2] = { { (time_t)expires_at, 0 },
				 { (time_t)expires_at, 0 } };
	int dfd = root(s), sfd, fd, rc = STORE_ERROR;

	if (dfd == -1)
		return STORE_ERROR;
	if (mkdirat(dfd, SPENT_DIR, 0700) == -1 && errno != EEXIST)
		goto fail;
	sfd = openat(dfd, SPENT_DIR,
		     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd == -1)
		goto fail;
	fd = openat(sfd, name,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1 && errno == EEXIST) {
		rc = STORE_EXISTS;
	} else if (fd != -1 && futimens(fd, t) == 0 && fsync(sfd) == 0) {
		rc = STORE_OK;
	}
	if (fd != -1)
		close(fd);
	close(sfd);
	if (rc != STORE_ERROR)
		return rc;
fail:
	log_error("store: %s/%s: %s", s->dir, SPENT_DIR, strerror(errno));
	return STORE_ERROR;
}

static long
sweep_spent(int dfd, long long now)
{
	struct dirent *e;
	struct stat st;
	long removed = 0;
	DIR *d = subdir(dfd, SPENT_DIR);

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (store_valid_name(e->d_name) &&
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
			    0 &&
		    st.st_mtime < now && unlinkat(dirfd(d), e->d_name, 0) == 0)
			removed++;
	closedir(d);
	return removed;
}

static long
file_sweep(struct store *base)
{
	struct file_store *s = file_store(base);
	int dfd = root(s), i;
	long removed;

	if (dfd == -1)
		return -1;
	removed = sweep_spent(dfd, (long long)time(NULL));
	for (i = 0; i < 256; i++) {
		char sub[3];
		DIR *d;

		snprintf(sub, sizeof(sub), "%02x", i);
		d = subdir(dfd, sub);
		if (d != NULL)
			removed += sweep_shard(s, d);
	}
	return removed;
}

/* Every head read and answered in memory: O(records). */
static int
file_query(struct store *s, const struct listing_query *q, struct listing *out)
{
	if (listing_load(s, q->now, out) == -1)
		return STORE_ERROR;
	listing_select(out, q, NULL, NULL);
	return STORE_OK;
}

const struct store_ops store_file_ops = {
	.kind = "file",
	.open = file_open,
	.close = file_close,
	.load = file_load,
	.save = file_save,
	.remove = file_remove,
	.lock = file_lock,
	.unlock = file_unlock,
	.writable = file_writable,
	.spend = file_spend,
	.list = file_list,
	.query = file_query,
	.sweep = file_sweep,
	.check = file_check,
};
