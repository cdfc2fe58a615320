/*
 * Connect tickets ([identity] owner = backend).  The web app's backend,
 * which knows who its user is, asks POST /connect-tickets (with the
 * backend key) for a one-time URL; the browser follows it, and the link
 * made is that user's.  Nothing in the browser can choose the user: a
 * ticket is sealed (AES-256-GCM under the cookie key), lives TICKET_TTL
 * seconds, and is spent server-side at its first use, when the browser is
 * given the session cookie that the rest of the flow is bound to.
 */
#ifndef TICKET_H
#define TICKET_H

#include "buf.h"
#include "keyring.h"
#include "owner.h"
#include "pending.h"
#include "store.h"

#define TICKET_TTL 300 /* seconds: long enough to follow a redirect */
#define TICKET_MAX 1024

struct ticket {
	unsigned char nonce[16];
	long long expires;
	char user[USER_ID_MAX + 1];
	char return_to[RETURN_TO_MAX + 1];
};

/* A new ticket for user (already checked by owner_user), sealed into out
 * as base64url. */
int ticket_issue(const struct key *k, const char *user, const char *return_to,
		 long long now, struct ticket *t, struct buf *out);

/* 0, or -1 for a ticket that is not ours, was tampered with, or expired. */
int ticket_open(const struct keyring *kr, const char *text, long long now,
		struct ticket *t);

/* Spends it: STORE_OK the first time, STORE_EXISTS when it was used. */
int ticket_spend(struct store *s, const struct keyring *kr,
		 const struct ticket *t);

#endif
