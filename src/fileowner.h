/*
 * Who owns a file and who this program runs as, in words an operator can
 * act on: user names (never bare uids) and the line that fixes a mismatch.
 */
#ifndef FILEOWNER_H
#define FILEOWNER_H

#include <stddef.h>
#include <sys/types.h>

#define FILEOWNER_NAME_LEN 64

/* The user's name, or "uid N" when it has none. */
void fileowner_user(uid_t uid, char out[FILEOWNER_NAME_LEN]);

/* The group's name, or "gid N". */
void fileowner_group(gid_t gid, char out[FILEOWNER_NAME_LEN]);

/*
 * Who the program runs as, for a line of advice: this process's user; or,
 * for root at a shell, the owner of dir (the store, which belongs to the
 * web server's user once installed), else Debian's web server user.
 */
void fileowner_program_user(const char *dir, char out[FILEOWNER_NAME_LEN]);

/*
 * The end of a message about path, which belongs to owner, not to this
 * process: "owned by root; the program runs as www-data: chown www-data
 * PATH".  Run as root, the fix is never to chown (files root makes in the
 * store lock the web server out) but to run as the owner.
 */
void fileowner_mismatch(const char *path, uid_t owner, char *out, size_t len);

#endif
