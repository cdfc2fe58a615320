/*
 * Secrets kept in files that only their owner may read: the client
 * secret, the bearer keys and the store keys.  One reader, one set of
 * refusals, each with the line that fixes it.
 */
#ifndef SECRETFILE_H
#define SECRETFILE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Reads up to max bytes of path into out: a regular file, not reached
 * through a symbolic link, with no permission for group or others.
 * Returns the number of bytes read, or -1 with one line in err that
 * starts with what and path ("[store] key_file = \"/x\": mode 0644,
 * expected 0600 (chmod 600 /x)").  hint, if not NULL, says how to make
 * the file, for when it is missing, empty or longer than max.
 */
ssize_t secretfile_read(const char *what, const char *path, const char *hint,
			void *out, size_t max, char *err, size_t len);

/* The file's first line, printable ASCII and not empty; *out is the
 * caller's to secret_free. */
int secretfile_line(const char *what, const char *path, const char *hint,
		    char **out, char *err, size_t len);

#endif
