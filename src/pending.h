/*
 * Pending authorizations: the state, PKCE verifier and return_to of each
 * "Connect" a browser started and has not finished.
 *
 * They live in the browser, in one cookie sealed with AES-256-GCM and bound
 * to the session id, not on the server: a visitor who starts a million
 * connects and finishes none costs us no disk and no admin-page rows.
 * Single use: finishing (or failing) a flow rewrites the cookie without its
 * state; and since a replay could bring back an older copy of the cookie,
 * a state about to be redeemed is also remembered in the store (its keyed
 * hash only) until it would have expired anyway.
 */
#ifndef PENDING_H
#define PENDING_H

#include "keyring.h"
#include "owner.h"
#include "request.h"
#include "response.h"
#include "store.h"

#define PENDING_MAX   5	  /* tabs in flight at once; the oldest goes */
#define PENDING_TTL   600 /* seconds a state stays good (10 minutes) */
#define STATE_LEN     43  /* base64url of 256 random bits */
#define RETURN_TO_MAX 255

struct pending {
	unsigned char state[32];
	unsigned char verifier[32];
	long long created;
	char return_to[RETURN_TO_MAX + 1];
	/* Whose link it will be, when a connect ticket said (backend mode);
	 * "" otherwise: the browser's or the signed-in user's. */
	char user[USER_ID_MAX + 1];
};

struct pending_set {
	struct pending v[PENDING_MAX];
	size_t n;
};

enum pending_match { PENDING_FOUND, PENDING_EXPIRED, PENDING_UNKNOWN };

/* An unreadable, foreign or tampered cookie reads as an empty set. */
void pending_read(const struct keyring *kr, const struct config *cfg,
		  const struct request *req, const char *sid,
		  struct pending_set *set);
int pending_write(const struct keyring *kr, const struct config *cfg,
		  const struct request *req, struct response *res,
		  const char *sid, const struct pending_set *set);

int pending_new(struct pending *p, const char *return_to, const char *user,
		long long now);
void pending_add(struct pending_set *set, const struct pending *p,
		 long long now);
/* Finds the state (in constant time), removes it, and says how it was. */
enum pending_match pending_take(struct pending_set *set, const char *state,
				long long now, struct pending *out);

/*
 * Marks p's state as used, server-side: STORE_OK the first time,
 * STORE_EXISTS for a replay, STORE_ERROR when the store cannot say.
 */
int pending_spend(struct store *s, const struct keyring *kr,
		  const struct pending *p);

/* The values sent on the wire, base64url (RFC 7636 section 4). */
void pending_state(const struct pending *p, char *out);
void pending_verifier(const struct pending *p, char *out);
void pending_challenge(const struct pending *p, char *out);

/* For tests and the fuzzer: the cookie's codec without the request. */
int pending_seal(const struct key *k, const char *sid,
		 const struct pending_set *set, struct buf *out);
int pending_unseal(const struct keyring *kr, const char *sid, const char *value,
		   struct pending_set *set);

#endif
