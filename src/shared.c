/* What the workers on one machine share: mapped files and their locks. */
#include "shared.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileowner.h"

void
shared_init(struct shared_file *f)
{
	f->fd = -1;
	f->mem = NULL;
	f->len = 0;
}

/* The state dir: a directory of ours that nobody else may enter. */
static int
open_dir(const char *dir, char *err, size_t errlen)
{
	char user[FILEOWNER_NAME_LEN], why[512];
	struct stat st;
	int fd;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		fileowner_program_user(dir, user);
		snprintf(err, errlen,
			 "[app] state_dir %s: %s (create it: install -d -m "
			 "0700 -o %s %s)",
			 dir, strerror(errno), user, dir);
		return -1;
	}
	if (fstat(fd, &st) == -1)
		snprintf(why, sizeof(why), "%s", strerror(errno));
	else if (st.st_uid != geteuid())
		fileowner_mismatch(dir, st.st_uid, why, sizeof(why));
	else if ((st.st_mode & 077) != 0)
		snprintf(why, sizeof(why),
			 "mode %04o, expected 0700 (chmod 700 %s)",
			 (unsigned)st.st_mode & 07777, dir);
	else
		return fd;
	snprintf(err, errlen, "[app] state_dir %s: %s", dir, why);
	close(fd);
	return -1;
}

int
shared_open(struct shared_file *f, const char *dir, const char *name,
	    size_t len, char *err, size_t errlen)
{
	struct stat st;
	int dfd, fd;

	shared_init(f);
	dfd = open_dir(dir, err, errlen);
	if (dfd == -1)
		return -1;
	fd = openat(dfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	close(dfd);
	if (fd == -1) {
		snprintf(err, errlen, "%s/%s: %s", dir, name, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s/%s: not a regular file of ours", dir,
			 name);
		goto err;
	}
	/* Grown, never shrunk: a shorter file is an older layout's. */
	if ((size_t)st.st_size < len && ftruncate(fd, (off_t)len) == -1) {
		snprintf(err, errlen, "%s/%s: %s", dir, name, strerror(errno));
		goto err;
	}
	f->mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (f->mem == MAP_FAILED) {
		f->mem = NULL;
		snprintf(err, errlen, "%s/%s: mmap: %s", dir, name,
			 strerror(errno));
		goto err;
	}
	f->fd = fd;
	f->len = len;
	return 0;
err:
	close(fd);
	return -1;
}

void
shared_close(struct shared_file *f)
{
	if (f->mem != NULL)
		munmap(f->mem, f->len);
	if (f->fd != -1)
		close(f->fd);
	shared_init(f);
}

int
shared_check(struct shared_file *f)
{
	struct stat st;

	return fstat(f->fd, &st) == 0 && (size_t)st.st_size >= f->len &&
			       st.st_nlink > 0
		       ? 0
		       : -1;
}

static int
lock_op(struct shared_file *f, off_t at, int type, int cmd)
{
	struct flock fl = { .l_type = (short)type,
			    .l_whence = SEEK_SET,
			    .l_start = at,
			    .l_len = 1 };

	/* Open file description locks: each open is its own owner, so two
	 * CGI processes (or a worker and the CLI) exclude each other. */
	while (fcntl(f->fd, cmd, &fl) == -1) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

int
shared_lock(struct shared_file *f, off_t at, int wait)
{
	return lock_op(f, at, F_WRLCK, wait ? F_OFD_SETLKW : F_OFD_SETLK);
}

void
shared_unlock(struct shared_file *f, off_t at)
{
	lock_op(f, at, F_UNLCK, F_OFD_SETLK);
}
