/*
 * What the libFuzzer harnesses share: the entry points, a fixed keyring,
 * a minimal config, and a private temp directory.  Header-only, so each
 * harness stays one file plus this.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "keyring.h"
#include "../unit/testkeys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A finding the sanitizers cannot see: a broken invariant. */
#define FUZZ_CHECK(cond)                                                  \
	do {                                                              \
		if (!(cond)) {                                            \
			fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed\n", \
				__FILE__, __LINE__, #cond);               \
			abort();                                          \
		}                                                         \
	} while (0)

/* The time the deterministic harnesses run at (2027-01-15). */
#define FUZZ_NOW 1800000000LL

/* A session id of the right shape (43 base64url characters). */
#define FUZZ_SID "fuzz-session-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
/* A record name: 64 hex digits (any will do; the AEAD binds it). */
#define FUZZ_NAME \
	"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

/* keys[0] current, keys[1] an old key still being phased out. */
static inline void
fuzz_keyring(struct keyring *kr)
{
	test_keyring(kr, 2);
}

/*
 * The config fields that request, session and pending read, as the
 * defaults of config.c set them.  The strings live in static arrays
 * because struct config's members are not const.
 */
static inline void
fuzz_config(struct config *cfg, int issue_cookie)
{
	static char base_path[] = "/insuresign";
	static char return_to[] = "/account";
	static char session[] = "insuresign_session";
	static char app_session[] = "PHPSESSID";
	static char redirect[] = "https://app.example.com/insuresign/callback";

	memset(cfg, 0, sizeof(*cfg));
	cfg->base_path = base_path;
	cfg->return_to = return_to;
	cfg->redirect_uri = redirect;
	cfg->cookie_name = issue_cookie ? session : app_session;
	cfg->issue_cookie = issue_cookie;
	cfg->secure = SECURE_AUTO;
}

static int
fuzz_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

/* Removes a tree the harness made (never follows a symbolic link). */
static inline void
fuzz_rm_tree(const char *dir)
{
	nftw(dir, fuzz_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * A private directory, made once per process: on tmpfs when there is one
 * (the store fsyncs every write), else under $TMPDIR.  Removed at exit.
 */
static char fuzz_dir_path[256];

static void
fuzz_dir_remove(void)
{
	if (fuzz_dir_path[0] != '\0')
		fuzz_rm_tree(fuzz_dir_path);
}

static inline const char *
fuzz_dir(void)
{
	const char *tmp = getenv("TMPDIR");
	struct stat st;

	if (fuzz_dir_path[0] != '\0')
		return fuzz_dir_path;
	if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
	    access("/dev/shm", W_OK) == 0)
		tmp = "/dev/shm";
	else if (tmp == NULL || tmp[0] != '/')
		tmp = "/tmp";
	snprintf(fuzz_dir_path, sizeof(fuzz_dir_path),
		 "%s/insuresign-fuzz-XXXXXX", tmp);
	if (mkdtemp(fuzz_dir_path) == NULL) {
		perror("mkdtemp");
		abort();
	}
	atexit(fuzz_dir_remove);
	return fuzz_dir_path;
}

/* Writes a file in the private directory, mode 0600. */
static inline void
fuzz_write_file(const char *path, const void *data, size_t n)
{
	FILE *f;

	umask(077);
	f = fopen(path, "w");
	if (f == NULL || (n > 0 && fwrite(data, 1, n, f) != n) ||
	    fclose(f) != 0) {
		perror(path);
		abort();
	}
}

#endif
