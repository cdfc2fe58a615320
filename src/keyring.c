/* The store keys: the current one and any old ones still being phased out. */
#include "keyring.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "crypto.h"
#include "fileowner.h"
#include "nitems.h"
#include "secretfile.h"

/* Each subkey from the master key (RFC 5869), by its own info string. */
static int
derive(struct key *k, const unsigned char *master)
{
	unsigned char id[KEY_LEN];
	const struct {
		const char *info;
		unsigned char *out;
	} sub[] = {
		{ "insuresign-connect key id", id },
		{ "insuresign-connect record name v1", k->name },
		{ "insuresign-connect record v1", k->record },
		{ "insuresign-connect cookie v1", k->cookie },
		{ "insuresign-connect csrf v1", k->csrf },
	};
	size_t i;

	for (i = 0; i < nitems(sub); i++)
		if (crypto_hkdf(master, KEY_LEN, sub[i].info, sub[i].out,
				KEY_LEN) == -1)
			return -1;
	memcpy(k->id, id, KEY_ID_LEN);
	return 0;
}

static int
add_key(struct keyring *kr, const char *what, const char *path,
	const char *store_dir, char *err, size_t len)
{
	char user[FILEOWNER_NAME_LEN], hint[600];
	unsigned char master[KEY_LEN];
	ssize_t n;
	int rc;

	if (kr->n == KEYRING_MAX) {
		snprintf(err, len, "[store] old_key_files: at most %d keys",
			 KEYRING_MAX - 1);
		return -1;
	}
	fileowner_program_user(store_dir, user);
	snprintf(hint, sizeof(hint),
		 "make one: insuresign-connect keygen %s && chown %s %s", path,
		 user, path);
	n = secretfile_read(what, path, hint, master, sizeof(master), err, len);
	if (n == -1)
		return -1;
	rc = n == KEY_LEN ? derive(&kr->keys[kr->n], master) : -1;
	explicit_bzero(master, sizeof(master));
	if (n != KEY_LEN)
		snprintf(err, len,
			 "%s = \"%s\": expected exactly %d bytes (%s)", what,
			 path, KEY_LEN, hint);
	else if (rc == -1)
		snprintf(err, len, "%s = \"%s\": key derivation failed", what,
			 path);
	else
		kr->n++;
	return rc;
}

int
keyring_load(struct keyring *kr, const struct config *cfg, char *err,
	     size_t len)
{
	size_t i;

	memset(kr, 0, sizeof(*kr));
	if (add_key(kr, "[store] key_file", cfg->key_file, cfg->store_dir, err,
		    len) == -1)
		goto err;
	for (i = 0; i < cfg->old_key_files.n; i++)
		if (add_key(kr, "[store] old_key_files",
			    cfg->old_key_files.v[i], cfg->store_dir, err,
			    len) == -1)
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

int
keyring_seal(const struct key *k, const void *aad, size_t aadlen,
	     const unsigned char *plain, size_t n, struct buf *out)
{
	size_t len = KEY_ID_LEN + AEAD_IV_LEN + n + AEAD_TAG_LEN;
	unsigned char *sealed = malloc(len);
	int rc = -1;

	if (sealed == NULL)
		return -1;
	memcpy(sealed, k->id, KEY_ID_LEN);
	if (crypto_seal(k->cookie, aad, aadlen, plain, n,
			sealed + KEY_ID_LEN) == 0)
		rc = b64url_append(out, sealed, len);
	free(sealed);
	return rc;
}

ssize_t
keyring_unseal(const struct keyring *kr, const void *aad, size_t aadlen,
	       const char *text, unsigned char *plain, size_t max)
{
	size_t room = KEY_ID_LEN + AEAD_IV_LEN + max + AEAD_TAG_LEN, n = 0;
	unsigned char *sealed = malloc(room);
	const struct key *k = NULL;
	ssize_t rc = -1;

	if (sealed != NULL &&
	    b64url_decode(text, strlen(text), sealed, room, &n) == 0 &&
	    n >= KEY_ID_LEN + AEAD_IV_LEN + AEAD_TAG_LEN)
		k = keyring_find(kr, sealed);
	if (k != NULL &&
	    crypto_open(k->cookie, aad, aadlen, sealed + KEY_ID_LEN,
			n - KEY_ID_LEN, plain) == 0)
		rc = (ssize_t)(n - KEY_ID_LEN - AEAD_IV_LEN - AEAD_TAG_LEN);
	free(sealed);
	return rc;
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
keyring_value_name(const struct keyring *kr, const char *kind, const void *v,
		   size_t n, char out[2 * SHA256_LEN + 1])
{
	unsigned char msg[80], mac[SHA256_LEN];
	size_t k = strlen(kind);

	if (k + n > sizeof(msg))
		return -1;
	memcpy(msg, kind, k);
	memcpy(msg + k, v, n);
	crypto_hmac(kr->keys[0].name, KEY_LEN, msg, k + n, mac);
	hex_encode(mac, sizeof(mac), out);
	return 0;
}
