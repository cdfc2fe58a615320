/* Connect tickets.  See ticket.h for why. */
#include "ticket.h"

#include <string.h>

#include "codec.h"
#include "crypto.h"

#define PLAIN_MAX (16 + 8 + 1 + USER_ID_MAX + 1 + RETURN_TO_MAX)

static const char aad[] = "insuresign-connect ticket v1";

static size_t
encode(const struct ticket *t, unsigned char *p)
{
	size_t o = 16 + 8, n;

	memcpy(p, t->nonce, 16);
	be_put(p + 16, 8, (unsigned long long)t->expires);
	n = strlen(t->user);
	p[o++] = (unsigned char)n;
	memcpy(p + o, t->user, n);
	o += n;
	n = strlen(t->return_to);
	p[o++] = (unsigned char)n;
	memcpy(p + o, t->return_to, n);
	return o + n;
}

static int
decode(const unsigned char *p, size_t n, struct ticket *t)
{
	size_t o = 16 + 8, k;

	if (n < 16 + 8 + 1)
		return -1;
	memcpy(t->nonce, p, 16);
	t->expires = be_get(p + 16, 8);
	k = p[o++];
	if (k == 0 || n - o < k + 1)
		return -1;
	memcpy(t->user, p + o, k);
	t->user[k] = '\0';
	o += k;
	k = p[o++];
	if (n - o != k)
		return -1;
	memcpy(t->return_to, p + o, k);
	t->return_to[k] = '\0';
	return 0;
}

int
ticket_issue(const struct key *k, const char *user, const char *return_to,
	     long long now, struct ticket *t, struct buf *out)
{
	unsigned char plain[PLAIN_MAX];
	int rc;

	memset(t, 0, sizeof(*t));
	if (strlen(user) > USER_ID_MAX || strlen(return_to) > RETURN_TO_MAX ||
	    crypto_random(t->nonce, sizeof(t->nonce)) == -1)
		return -1;
	t->expires = now + TICKET_TTL;
	memcpy(t->user, user, strlen(user) + 1);
	memcpy(t->return_to, return_to, strlen(return_to) + 1);
	rc = keyring_seal(k, aad, sizeof(aad) - 1, plain, encode(t, plain),
			  out);
	explicit_bzero(plain, sizeof(plain));
	return rc;
}

int
ticket_open(const struct keyring *kr, const char *text, long long now,
	    struct ticket *t)
{
	unsigned char plain[PLAIN_MAX];
	ssize_t n;
	int rc = -1;

	memset(t, 0, sizeof(*t));
	n = keyring_unseal(kr, aad, sizeof(aad) - 1, text, plain,
			   sizeof(plain));
	if (n != -1 && decode(plain, (size_t)n, t) == 0 && now <= t->expires &&
	    t->expires <= now + TICKET_TTL + 60)
		rc = 0;
	explicit_bzero(plain, sizeof(plain));
	if (rc == -1)
		explicit_bzero(t, sizeof(*t));
	return rc;
}

int
ticket_spend(struct store *s, const struct keyring *kr, const struct ticket *t)
{
	char name[2 * SHA256_LEN + 1];

	if (keyring_value_name(kr, "ticket:", t->nonce, sizeof(t->nonce),
			       name) == -1)
		return STORE_ERROR;
	return store_spend(s, name, t->expires + 60);
}
