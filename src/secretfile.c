/*
 * Secrets kept in files that only their owner may read: the client
 * secret, the bearer keys and the store keys.  One reader, one set of
 * refusals, each with the line that fixes it.
 */
#include "secretfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileowner.h"

#define LINE_MAX_LEN 1024

/* Why open(2) failed, in the words that say what to do. */
static void
open_failed(const char *path, const char *hint, char *out, size_t len)
{
	int e = errno;
	struct stat st;

	if (e == EACCES && lstat(path, &st) == 0 && st.st_uid != geteuid())
		fileowner_mismatch(path, st.st_uid, out, len);
	else if (e == EACCES && lstat(path, &st) == 0)
		snprintf(out, len, "mode %04o, expected 0600 (chmod 600 %s)",
			 (unsigned)st.st_mode & 07777, path);
	else if (e == ELOOP)
		snprintf(out, len,
			 "a symbolic link: refused (name the file itself)");
	else if (e == ENOENT && hint != NULL)
		snprintf(out, len, "%s (%s)", strerror(e), hint);
	else
		snprintf(out, len, "%s", strerror(e));
}

ssize_t
secretfile_read(const char *what, const char *path, const char *hint, void *out,
		size_t max, char *err, size_t len)
{
	char why[512] = "";
	unsigned char extra;
	struct stat st;
	ssize_t n = -1;
	int fd;

	/* O_NONBLOCK: a FIFO planted there must not hang the open. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd == -1) {
		open_failed(path, hint, why, sizeof(why));
		goto err;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(why, sizeof(why), "not a regular file");
		goto err;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(why, sizeof(why),
			 "mode %04o, expected 0600 (chmod 600 %s)",
			 (unsigned)st.st_mode & 07777, path);
		goto err;
	}
	n = read(fd, out, max);
	if (n == -1) {
		snprintf(why, sizeof(why), "%s", strerror(errno));
	} else if (n == 0 || read(fd, &extra, 1) != 0) {
		explicit_bzero(out, (size_t)n);
		if (n == 0)
			snprintf(why, sizeof(why), "empty");
		else
			snprintf(why, sizeof(why), "longer than %zu bytes",
				 max);
		if (hint != NULL)
			snprintf(why + strlen(why), sizeof(why) - strlen(why),
				 " (%s)", hint);
		n = -1;
	}
err:
	if (fd != -1)
		close(fd);
	if (n == -1)
		snprintf(err, len, "%s = \"%s\": %s", what, path, why);
	return n;
}

int
secretfile_line(const char *what, const char *path, const char *hint,
		char **out, char *err, size_t len)
{
	char line[LINE_MAX_LEN + 1];
	ssize_t n;
	size_t k;

	*out = NULL;
	n = secretfile_read(what, path, hint, line, LINE_MAX_LEN, err, len);
	if (n == -1)
		return -1;
	line[n] = '\0';
	k = strcspn(line, "\r\n");
	line[k] = '\0';
	while (k > 0 && line[k - 1] >= 0x20 && line[k - 1] <= 0x7e)
		k--;
	if (line[0] == '\0' || k != 0) {
		snprintf(err, len,
			 "%s = \"%s\": expected the secret as printable text "
			 "on the first line",
			 what, path);
	} else {
		*out = strdup(line);
		if (*out == NULL)
			snprintf(err, len, "out of memory");
	}
	explicit_bzero(line, sizeof(line));
	return *out == NULL ? -1 : 0;
}
