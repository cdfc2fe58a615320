/* The store keys: the current one and any old ones still being phased out. */
#include "keyring.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"

/* Reads exactly KEY_LEN bytes from a regular file only its owner can read. */
static int
read_key(const char *path, unsigned char *out, char *err, size_t len)
{
	unsigned char extra;
	struct stat st;
	ssize_t n;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1) {
		snprintf(err, len, "key file %s: cannot open: %s", path,
			 strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, len, "key file %s: not a regular file", path);
		goto err;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, len,
			 "key file %s: mode %03o, expected 0600 (chmod 600 %s)",
			 path, (unsigned)st.st_mode & 0777, path);
		goto err;
	}
	n = read(fd, out, KEY_LEN);
	if (n != KEY_LEN || read(fd, &extra, 1) != 0) {
		snprintf(
			err, len,
			"key file %s: expected exactly %d bytes (make one with "
			"`insuresign-connect keygen %s`)",
			path, KEY_LEN, path);
		goto err;
	}
	rc = 0;
err:
	close(fd);
	return rc;
}

static int
derive(struct key *k, const unsigned char *master)
{
	unsigned char id[SHA256_LEN];

	if (crypto_hkdf(master, KEY_LEN, "insuresign-connect key id", id,
			sizeof(id)) == -1 ||
	    crypto_hkdf(master, KEY_LEN, "insuresign-connect record name v1",
			k->name, KEY_LEN) == -1 ||
	    crypto_hkdf(master, KEY_LEN, "insuresign-connect record v1",
			k->record, KEY_LEN) == -1 ||
	    crypto_hkdf(master, KEY_LEN, "insuresign-connect cookie v1",
			k->cookie, KEY_LEN) == -1 ||
	    crypto_hkdf(master, KEY_LEN, "insuresign-connect csrf v1", k->csrf,
			KEY_LEN) == -1)
		return -1;
	memcpy(k->id, id, KEY_ID_LEN);
	return 0;
}

static int
add_key(struct keyring *kr, const char *path, char *err, size_t len)
{
	unsigned char master[KEY_LEN];
	int rc;

	if (kr->n == KEYRING_MAX) {
		snprintf(err, len, "[store] old_key_files: at most %d keys",
			 KEYRING_MAX - 1);
		return -1;
	}
	if (read_key(path, master, err, len) == -1)
		return -1;
	rc = derive(&kr->keys[kr->n], master);
	explicit_bzero(master, sizeof(master));
	if (rc == -1) {
		snprintf(err, len, "key file %s: key derivation failed", path);
		return -1;
	}
	kr->n++;
	return 0;
}

int
keyring_load(struct keyring *kr, const struct config *cfg, char *err,
	     size_t len)
{
	size_t i;

	memset(kr, 0, sizeof(*kr));
	if (add_key(kr, cfg->key_file, err, len) == -1)
		goto err;
	for (i = 0; i < cfg->old_key_files.n; i++)
		if (add_key(kr, cfg->old_key_files.v[i], err, len) == -1)
			goto err;
	return 0;
err:
	keyring_wipe(kr);
	return -1;
}

const struct key *
keyring_find(const struct keyring *kr, const unsigned char *id)
{
	size_t i;

	for (i = 0; i < kr->n; i++)
		if (memcmp(kr->keys[i].id, id, KEY_ID_LEN) == 0)
			return &kr->keys[i];
	return NULL;
}

void
keyring_wipe(struct keyring *kr)
{
	explicit_bzero(kr, sizeof(*kr));
	/* And the HMAC contexts keyed with its subkeys. */
	crypto_forget_keys();
}

int
keyring_generate(const char *path, char *err, size_t len)
{
	unsigned char key[KEY_LEN];
	int fd, rc = -1;

	if (crypto_random(key, sizeof(key)) == -1) {
		snprintf(err, len, "no randomness available");
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd == -1) {
		snprintf(err, len, "%s: %s%s", path, strerror(errno),
			 errno == EEXIST ? " (never overwritten: move the old "
					   "key to [store] old_key_files first)"
					 : "");
		goto err;
	}
	if (write(fd, key, sizeof(key)) != (ssize_t)sizeof(key) ||
	    fsync(fd) == -1) {
		snprintf(err, len, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		goto err;
	}
	close(fd);
	rc = 0;
err:
	explicit_bzero(key, sizeof(key));
	return rc;
}

int
keyring_check_file(const char *path, char *err, size_t len)
{
	unsigned char key[KEY_LEN];
	int rc = read_key(path, key, err, len);

	explicit_bzero(key, sizeof(key));
	return rc;
}
