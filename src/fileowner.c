/*
 * Who owns a file and who this program runs as, in words an operator can
 * act on: user names (never bare uids) and the line that fixes a mismatch.
 */
#include "fileowner.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* Debian's Apache and lighttpd both run as this user. */
#define WEB_SERVER_USER "www-data"

void
fileowner_user(uid_t uid, char out[FILEOWNER_NAME_LEN])
{
	struct passwd pw, *found = NULL;
	char buf[1024];

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &found) == 0 &&
	    found != NULL &&
	    snprintf(out, FILEOWNER_NAME_LEN, "%s", pw.pw_name) <
		    FILEOWNER_NAME_LEN)
		return;
	snprintf(out, FILEOWNER_NAME_LEN, "uid %u", (unsigned)uid);
}

void
fileowner_group(gid_t gid, char out[FILEOWNER_NAME_LEN])
{
	struct group gr, *found = NULL;
	char buf[1024];

	if (getgrgid_r(gid, &gr, buf, sizeof(buf), &found) == 0 &&
	    found != NULL &&
	    snprintf(out, FILEOWNER_NAME_LEN, "%s", gr.gr_name) <
		    FILEOWNER_NAME_LEN)
		return;
	snprintf(out, FILEOWNER_NAME_LEN, "gid %u", (unsigned)gid);
}

void
fileowner_program_user(const char *dir, char out[FILEOWNER_NAME_LEN])
{
	struct stat st;

	if (geteuid() != 0)
		fileowner_user(geteuid(), out);
	else if (dir != NULL && stat(dir, &st) == 0 && st.st_uid != 0)
		fileowner_user(st.st_uid, out);
	else
		snprintf(out, FILEOWNER_NAME_LEN, "%s", WEB_SERVER_USER);
}

void
fileowner_mismatch(const char *path, uid_t owner, char *out, size_t len)
{
	char them[FILEOWNER_NAME_LEN], me[FILEOWNER_NAME_LEN];

	fileowner_user(owner, them);
	fileowner_user(geteuid(), me);
	if (geteuid() == 0)
		snprintf(out, len,
			 "owned by %s, and this runs as root: run it as %s "
			 "(runuser -u %s -- insuresign-connect ...)",
			 them, them, them);
	else
		snprintf(out, len,
			 "owned by %s; the program runs as %s: chown %s %s",
			 them, me, me, path);
}
