/*
 * Who owns a file and who this program runs as, in words an operator can
 * act on: user names (never bare uids) and the line that fixes a mismatch.
 */
#include "owner.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* Debian's Apache and lighttpd both run as this user. */
#define WEB_SERVER_USER "www-data"

void
owner_user(uid_t uid, char out[OWNER_NAME_LEN])
{
	struct passwd pw, *found = NULL;
	char buf[1024];

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &found) == 0 &&
	    found != NULL &&
	    snprintf(out, OWNER_NAME_LEN, "%s", pw.pw_name) < OWNER_NAME_LEN)
		return;
	snprintf(out, OWNER_NAME_LEN, "uid %u", (unsigned)uid);
}

void
owner_group(gid_t gid, char out[OWNER_NAME_LEN])
{
	struct group gr, *found = NULL;
	char buf[1024];

	if (getgrgid_r(gid, &gr, buf, sizeof(buf), &found) == 0 &&
	    found != NULL &&
	    snprintf(out, OWNER_NAME_LEN, "%s", gr.gr_name) < OWNER_NAME_LEN)
		return;
	snprintf(out, OWNER_NAME_LEN, "gid %u", (unsigned)gid);
}

void
owner_program_user(const char *dir, char out[OWNER_NAME_LEN])
{
	struct stat st;

	if (geteuid() != 0)
		owner_user(geteuid(), out);
	else if (dir != NULL && stat(dir, &st) == 0 && st.st_uid != 0)
		owner_user(st.st_uid, out);
	else
		snprintf(out, OWNER_NAME_LEN, "%s", WEB_SERVER_USER);
}

void
owner_mismatch(const char *path, uid_t owner, char *out, size_t len)
{
	char them[OWNER_NAME_LEN], me[OWNER_NAME_LEN];

	owner_user(owner, them);
	owner_user(geteuid(), me);
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
