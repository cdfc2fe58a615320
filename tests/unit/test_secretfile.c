/*
 * Unit tests for secretfile.c, and the refusals of the files it reads
 * for keyring.c (store keys) and app.c (bearer keys), each by its message.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "crypto.h"
#include "fileowner.h"
#include "secretfile.h"
#include "unit.h"

#define KEY32  "0123456789abcdef0123456789abcdef"
#define BEARER "bearer-key-0123456789abcdefghijklmnopqrstuvwxyz"

static char dir[] = "/tmp/isc-unit-XXXXXX";
static char err[1024];

static const char *
at(const char *name)
{
	static char paths[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(paths[i], sizeof(paths[i]), "%s/%s", dir, name);
	return paths[i];
}

static int
write_file(const char *name, const char *text, size_t n, mode_t mode)
{
	const char *path = at(name);
	int fd, rc;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd == -1)
		return -1;
	rc = write(fd, text, n) == (ssize_t)n ? 0 : -1;
	close(fd);
	return rc == 0 ? chmod(path, mode) : -1;
}

/* err holds want (and, if given, also). */
static int
says(const char *want, const char *also)
{
	if (strstr(err, want) != NULL &&
	    (also == NULL || strstr(err, also) != NULL))
		return 1;
	printf("#   err: %s\n#   want: %s%s%s\n", err, want,
	       also != NULL ? " ... " : "", also != NULL ? also : "");
	return 0;
}

static ssize_t
read_it(const char *name, void *out, size_t max)
{
	err[0] = '\0';
	return secretfile_read("[x] key", at(name), "make one: mk", out, max,
			       err, sizeof(err));
}

static void
reads_a_private_file(void)
{
	char out[64];

	CHECK(write_file("ok", KEY32, 32, 0600) == 0);
	CHECK(read_it("ok", out, 32) == 32);
	CHECK(memcmp(out, KEY32, 32) == 0);
	CHECK(read_it("ok", out, 40) == 32);
	CHECK(write_file("ro", KEY32, 32, 0400) == 0);
	CHECK(read_it("ro", out, 32) == 32);
}

static void
missing_file_says_how_to_make_one(void)
{
	char out[32], want[300];

	CHECK(read_it("none", out, sizeof(out)) == -1);
	snprintf(want, sizeof(want),
		 "[x] key = \"%s\": No such file or directory (make one: mk)",
		 at("none"));
	CHECK_STR(err, want);
}

static void
mode_open_to_others_is_refused_with_chmod(void)
{
	char out[32], want[300];

	CHECK(write_file("wide", KEY32, 32, 0644) == 0);
	CHECK(read_it("wide", out, sizeof(out)) == -1);
	snprintf(want, sizeof(want),
		 "[x] key = \"%s\": mode 0644, expected 0600 (chmod 600 %s)",
		 at("wide"), at("wide"));
	CHECK_STR(err, want);
	CHECK(write_file("group", KEY32, 32, 0640) == 0);
	CHECK(read_it("group", out, sizeof(out)) == -1);
	CHECK(says("mode 0640, expected 0600", NULL));
}

static void
symlink_directory_and_fifo_are_refused(void)
{
	char out[32];

	CHECK(write_file("target", KEY32, 32, 0600) == 0);
	unlink(at("link"));
	CHECK(symlink(at("target"), at("link")) == 0);
	CHECK(read_it("link", out, sizeof(out)) == -1);
	CHECK(says("a symbolic link: refused", NULL));
	CHECK(mkdir(at("adir"), 0700) == 0);
	CHECK(read_it("adir", out, sizeof(out)) == -1);
	CHECK(says("not a regular file", NULL));
	/* A FIFO must not hang the open (O_NONBLOCK). */
	CHECK(mkfifo(at("fifo"), 0600) == 0);
	CHECK(read_it("fifo", out, sizeof(out)) == -1);
	CHECK(says("not a regular file", NULL));
}

static void
empty_and_overlong_files_are_refused(void)
{
	char out[32];

	CHECK(write_file("empty", "", 0, 0600) == 0);
	CHECK(read_it("empty", out, sizeof(out)) == -1);
	CHECK(says("\": empty (make one: mk)", NULL));
	CHECK(write_file("long", KEY32 "x", 33, 0600) == 0);
	CHECK(read_it("long", out, 32) == -1);
	CHECK(says("\": longer than 32 bytes (make one: mk)", NULL));
}

static void
line_is_the_first_printable_line(void)
{
	char *s = NULL;

	CHECK(write_file("line", "s3cret value\r\nsecond\n", 21, 0600) == 0);
	CHECK(secretfile_line("[x] s", at("line"), NULL, &s, err,
			      sizeof(err)) == 0);
	CHECK_STR(s, "s3cret value");
	secret_free(s);
	CHECK(write_file("ctl", "a\tb\n", 4, 0600) == 0);
	CHECK(secretfile_line("[x] s", at("ctl"), NULL, &s, err, sizeof(err)) ==
	      -1);
	CHECK(s == NULL);
	CHECK(says("expected the secret as printable text on the first line",
		   NULL));
	CHECK(strstr(err, "a\tb") == NULL);
	CHECK(write_file("nl", "\nsecond\n", 8, 0600) == 0);
	CHECK(secretfile_line("[x] s", at("nl"), NULL, &s, err, sizeof(err)) ==
	      -1);
	/* Not ASCII: a header could not carry it as it is. */
	CHECK(write_file("utf8",
			 "s\xc3\xa9"
			 "cret\n",
			 8, 0600) == 0);
	CHECK(secretfile_line("[x] s", at("utf8"), NULL, &s, err,
			      sizeof(err)) == -1);
	CHECK(s == NULL);
	CHECK(says("expected the secret as printable text on the first line",
		   NULL));
}

static void
a_path_through_a_file_says_what_open_said(void)
{
	char path[300], want[400];
	unsigned char key[32];

	/* No hint for a missing file unless the caller has one. */
	CHECK(secretfile_read("[x] key", at("none"), NULL, key, sizeof(key),
			      err, sizeof(err)) == -1);
	snprintf(want, sizeof(want),
		 "[x] key = \"%s\": No such file or directory", at("none"));
	CHECK_STR(err, want);
	CHECK(write_file("plain", "x", 1, 0600) == 0);
	snprintf(path, sizeof(path), "%s/key", at("plain"));
	CHECK(secretfile_read("[x] key", path, "make one: mk", key, sizeof(key),
			      err, sizeof(err)) == -1);
	snprintf(want, sizeof(want), "[x] key = \"%s\": Not a directory", path);
	CHECK_STR(err, want);
}

static void
read_root_file(char *out, size_t len)
{
	unsigned char key[32];

	if (secretfile_read("[x] key", at("rootown"), NULL, key, sizeof(key),
			    out, len) != -1)
		snprintf(out, len, "read it");
}

static void
read_unreadable_own_file(char *out, size_t len)
{
	unsigned char key[32];

	if (secretfile_read("[x] key", at("wronly"), NULL, key, sizeof(key),
			    out, len) != -1)
		snprintf(out, len, "read it");
}

static void
wrong_owner_says_who_and_the_chown(void)
{
	struct passwd *pw = getpwnam("www-data");
	char want[400];

	/* Issue 12, item 2: not a bare "Permission denied". */
	if (geteuid() != 0 || pw == NULL) {
		printf("# skipped: needs root and a www-data user\n");
		return;
	}
	CHECK(write_file("rootown", KEY32, 32, 0600) == 0);
	CHECK(unit_as_user("www-data", read_root_file, err, sizeof(err)) == 0);
	snprintf(want, sizeof(want),
		 "[x] key = \"%s\": owned by root; the program runs as "
		 "www-data: chown www-data %s",
		 at("rootown"), at("rootown"));
	CHECK_STR(err, want);
	/* Its own, but without read permission. */
	CHECK(write_file("wronly", KEY32, 32, 0200) == 0);
	CHECK(chown(at("wronly"), pw->pw_uid, pw->pw_gid) == 0);
	CHECK(unit_as_user("www-data", read_unreadable_own_file, err,
			   sizeof(err)) == 0);
	snprintf(want, sizeof(want),
		 "[x] key = \"%s\": mode 0200, expected 0600 (chmod 600 %s)",
		 at("wronly"), at("wronly"));
	CHECK_STR(err, want);
}

/* app_open with the smallest config plus extra lines; err says why. */
static int
open_with(const char *extra)
{
	char text[2048];
	struct app app;
	int rc;

	snprintf(text, sizeof(text),
		 "[insuresign]\nclient_id = c\nclient_secret = s\n"
		 "redirect_uri = https://app.example/insuresign/callback\n"
		 "[store]\ndir = %s/store\nkey_file = %s\n%s",
		 dir, at("store.key"), extra);
	if (write_file("c.ini", text, strlen(text), 0600) == -1)
		return -2;
	err[0] = '\0';
	rc = app_open(&app, at("c.ini"), err, sizeof(err));
	if (rc == 0)
		app_close(&app);
	return rc;
}

static void
store_key_refusals_name_the_key_and_the_fix(void)
{
	char line[512], want[512];
	int i;

	CHECK(write_file("store.key", KEY32, 32, 0600) == 0);
	CHECK(open_with("") == 0);
	CHECK(write_file("store.key", KEY32, 31, 0600) == 0);
	CHECK(open_with("") == -1);
	snprintf(want, sizeof(want),
		 "[store] key_file = \"%s\": expected exactly 32 bytes (make "
		 "one: insuresign-connect keygen %s && chown ",
		 at("store.key"), at("store.key"));
	CHECK(says(want, NULL));
	CHECK(write_file("store.key", KEY32 "\n", 33, 0600) == 0);
	CHECK(open_with("") == -1);
	CHECK(says("[store] key_file", "longer than 32 bytes (make one: "));
	CHECK(write_file("store.key", KEY32, 32, 0644) == 0);
	CHECK(open_with("") == -1);
	snprintf(want, sizeof(want), "(chmod 600 %s)", at("store.key"));
	CHECK(says("[store] key_file", want));
	CHECK(write_file("store.key", KEY32, 32, 0600) == 0);
	snprintf(line, sizeof(line), "old_key_files = %s\n", at("gone.key"));
	CHECK(open_with(line) == -1);
	CHECK(says("[store] old_key_files = \"", "No such file or directory "
						 "(make one: "));
	/* The current key and at most seven old ones. */
	CHECK(write_file("old.key", "fedcba9876543210fedcba9876543210", 32,
			 0600) == 0);
	snprintf(line, sizeof(line), "old_key_files = ");
	for (i = 0; i < 8; i++)
		snprintf(line + strlen(line), sizeof(line) - strlen(line),
			 "%s%s", i > 0 ? ", " : "", at("old.key"));
	snprintf(line + strlen(line), sizeof(line) - strlen(line), "\n");
	CHECK(open_with(line) == -1);
	CHECK(says("[store] old_key_files: at most 7 keys", NULL));
}

static void
bearer_key_refusals_name_the_key_and_the_fix(void)
{
	char line[512], want[512];

	CHECK(write_file("store.key", KEY32, 32, 0600) == 0);
	CHECK(write_file("backend.key", BEARER "\n", strlen(BEARER) + 1,
			 0600) == 0);
	snprintf(line, sizeof(line), "[app]\nbackend_key_file = %s\n",
		 at("backend.key"));
	CHECK(open_with(line) == 0);
	CHECK(write_file("backend.key", "short\n", 6, 0600) == 0);
	CHECK(open_with(line) == -1);
	snprintf(want, sizeof(want),
		 "[app] backend_key_file = \"%s\": expected one line of at "
		 "least 32 characters (A-Z a-z 0-9 - . _ ~ + / =); make one: "
		 "install -m 0600 -o ",
		 at("backend.key"));
	CHECK(says(want, "head -c 32 /dev/urandom | base64 > "));
	CHECK(write_file("backend.key", KEY32 " and a space\n", 45, 0600) == 0);
	CHECK(open_with(line) == -1);
	CHECK(says(want, NULL));
	CHECK(strstr(err, KEY32) == NULL);
	CHECK(write_file("backend.key", BEARER "\n", strlen(BEARER) + 1,
			 0604) == 0);
	CHECK(open_with(line) == -1);
	CHECK(says("[app] backend_key_file", "mode 0604, expected 0600"));
	snprintf(line, sizeof(line), "[admin]\nkey_file = %s\n",
		 at("admin.key"));
	unlink(at("admin.key"));
	CHECK(open_with(line) == -1);
	CHECK(says("[admin] key_file = \"", "No such file or directory (make "
					    "one: install -m 0600 -o "));
	snprintf(line, sizeof(line), "[app]\naudit_log = %s/no/such/dir/a\n",
		 dir);
	CHECK(open_with(line) == -1);
	CHECK(says("[app] audit_log = \"", "\": cannot open it"));
}

static void
owners_are_named_and_the_store_owner_is_the_programs_user(void)
{
	char name[FILEOWNER_NAME_LEN];

	/* A name where there is one; the number only where there is none. */
	fileowner_user(0, name);
	CHECK_STR(name, "root");
	fileowner_user(54321, name);
	CHECK_STR(name, "uid 54321");
	fileowner_group(0, name);
	CHECK_STR(name, "root");
	fileowner_group(54321, name);
	CHECK_STR(name, "gid 54321");
	if (geteuid() != 0) {
		printf("# skipped: needs root\n");
		return;
	}
	/* As root, the program's user is who owns the store (not root),
	 * else the web server's. */
	CHECK(mkdir(at("owned"), 0700) == 0);
	CHECK(chown(at("owned"), 1, 1) == 0);
	fileowner_program_user(at("owned"), name);
	CHECK_STR(name, "daemon");
	CHECK(chown(at("owned"), 0, 0) == 0);
	fileowner_program_user(at("owned"), name);
	CHECK_STR(name, "www-data");
	fileowner_program_user(NULL, name);
	CHECK_STR(name, "www-data");
}

int
main(void)
{
	int rc;

	if (mkdtemp(dir) == NULL || chmod(dir, 0711) == -1) {
		perror("mkdtemp");
		return 1;
	}
	RUN(reads_a_private_file);
	RUN(missing_file_says_how_to_make_one);
	RUN(mode_open_to_others_is_refused_with_chmod);
	RUN(symlink_directory_and_fifo_are_refused);
	RUN(empty_and_overlong_files_are_refused);
	RUN(line_is_the_first_printable_line);
	RUN(a_path_through_a_file_says_what_open_said);
	RUN(wrong_owner_says_who_and_the_chown);
	RUN(owners_are_named_and_the_store_owner_is_the_programs_user);
	RUN(store_key_refusals_name_the_key_and_the_fix);
	RUN(bearer_key_refusals_name_the_key_and_the_fix);
	rc = DONE();
	unit_rmtree(dir);
	return rc;
}
