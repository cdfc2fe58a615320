/*
 * What the workers on one machine share: small files in [app] state_dir,
 * mapped into every worker's memory, and byte-range locks on them.  Workers
 * are separate processes (lighttpd max-procs, mod_fcgid, our prefork
 * listener, one per CGI request); a lock is the kernel's, so a worker
 * killed with kill -9 leaves none behind.
 */
#ifndef SHARED_H
#define SHARED_H

#include <stddef.h>
#include <sys/types.h>

struct shared_file {
	int fd; /* -1: not open */
	void *mem;
	size_t len;
};

/* A closed shared_file (fd -1). */
void shared_init(struct shared_file *f);

/*
 * Maps dir/name, len bytes, made (mode 0600, zeros) if missing.  The
 * directory must be ours and private (mode 0700); nothing is followed
 * through a symbolic link.  On failure err says why and what to do.
 */
int shared_open(struct shared_file *f, const char *dir, const char *name,
		size_t len, char *err, size_t errlen);
void shared_close(struct shared_file *f);
/* Still whole?  A mapping past the end of a truncated file would kill
 * the worker (SIGBUS) at the first touch, so callers check first. */
int shared_check(struct shared_file *f);

/*
 * An exclusive lock on one byte of the file (any offset: locks are not
 * data).  With wait 0, returns -1 at once when another process holds it.
 */
int shared_lock(struct shared_file *f, off_t at, int wait);
void shared_unlock(struct shared_file *f, off_t at);

#endif
