/*
 * Fixed keys for the unit tests and the fuzz harnesses: key id "K0\0\0",
 * "K1\0\0", ... and each subkey one byte repeated.  The fuzz seed corpora
 * are sealed with these (tests/fuzz/mkseeds.c): change them, reseed.
 */
#ifndef TESTKEYS_H
#define TESTKEYS_H

#include <string.h>

#include "keyring.h"

static inline void
test_key(struct key *k, unsigned char seed)
{
	memset(k, 0, sizeof(*k));
	k->id[0] = 'K';
	k->id[1] = (unsigned char)('0' + seed);
	memset(k->name, seed, KEY_LEN);
	memset(k->record, seed + 0x10, KEY_LEN);
	memset(k->cookie, seed + 0x20, KEY_LEN);
	memset(k->csrf, seed + 0x30, KEY_LEN);
}

/* A keyring of the given seeds, the current key first. */
static inline void
test_keyring_of(struct keyring *kr, const unsigned char *seeds, size_t n)
{
	size_t i;

	memset(kr, 0, sizeof(*kr));
	for (i = 0; i < n; i++)
		test_key(&kr->keys[i], seeds[i]);
	kr->n = n;
}

/* Keys 0, 1, ... n - 1. */
static inline void
test_keyring(struct keyring *kr, size_t n)
{
	static const unsigned char seeds[KEYRING_MAX] = {
		0, 1, 2, 3, 4, 5, 6, 7
	};

	test_keyring_of(kr, seeds, n);
}

#endif
