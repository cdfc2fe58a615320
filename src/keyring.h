/* The store keys: the current one and any old ones still being phased out. */
#ifndef KEYRING_H
#define KEYRING_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

#include "config.h"
#include "crypto.h"

#define KEY_LEN	    32
#define KEY_ID_LEN  4
#define KEYRING_MAX 8

/* Subkeys, each derived from the key file with HKDF for one purpose only. */
struct key {
	unsigned char id[KEY_ID_LEN];
	unsigned char name[KEY_LEN];   /* HMAC: session id -> record name */
	unsigned char record[KEY_LEN]; /* AES-GCM: stored records */
	unsigned char cookie[KEY_LEN]; /* AES-GCM: pending-state cookie */
	unsigned char csrf[KEY_LEN];   /* HMAC: CSRF tokens */
};

/* keys[0] is the current key; the rest only read what they wrote. */
struct keyring {
	struct key keys[KEYRING_MAX];
	size_t n;
};

int keyring_load(struct keyring *kr, const struct config *cfg, char *err,
		 size_t len);
const struct key *keyring_find(const struct keyring *kr,
			       const unsigned char *id);
void keyring_wipe(struct keyring *kr);

/*
 * The name of a one-time value (a state, a ticket's nonce) for
 * store_spend: hex HMAC-SHA256 of kind ("state:", "ticket:") and the
 * value, under the key that names records, so that names of two kinds,
 * or a record's, never meet.  -1 if kind and value pass 80 bytes.
 */
int keyring_value_name(const struct keyring *kr, const char *kind,
		       const void *v, size_t n, char out[2 * SHA256_LEN + 1]);

/*
 * A value a browser carries for us (the pending cookie, a connect
 * ticket): the key's id, then plain sealed with its cookie subkey and
 * aad (crypto_seal), as base64url text added to out.  0 or -1.
 */
int keyring_seal(const struct key *k, const void *aad, size_t aadlen,
		 const unsigned char *plain, size_t n, struct buf *out);
/*
 * The reverse, under whichever key of kr the id names: at most max plain
 * bytes into plain.  Their count, or -1 for text that is not ours, was
 * tampered with, or holds more than max.
 */
ssize_t keyring_unseal(const struct keyring *kr, const void *aad, size_t aadlen,
		       const char *text, unsigned char *plain, size_t max);

/* Writes a new random key file (0600, never over an existing file). */
int keyring_generate(const char *path, char *err, size_t len);

#endif
