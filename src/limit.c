/* Bounds on what visitors can make us spend.  See limit.h for why. */
#include "limit.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "log.h"

#define WINDOW	   60	/* seconds a count lasts */
#define BUCKETS	   4096 /* addresses remembered per window */
#define PROBE	   8	/* places an address may sit in */
#define LOCK_TABLE 0	/* the byte locked while the table changes */
#define LOCK_SLOTS 4096 /* the first exchange slot's byte */
#define SLOT_WAIT  3000 /* ms to wait for an exchange slot */

static const char magic[8] = "ISCLIM1";

/* How many callbacks came in one minute, from one address or from all. */
struct window {
	uint64_t tag; /* keyed hash of the address; 0: free */
	int64_t minute;
	uint32_t count;
	uint32_t unused;
};

struct table {
	char magic[8];
	struct window total;
	struct window addr[BUCKETS];
};

static struct table *
table(struct app *app)
{
	char err[512];

	if (app->limits.fd != -1 && shared_check(&app->limits) == 0)
		return app->limits.mem;
	shared_close(&app->limits);
	if (shared_open(&app->limits, app->cfg.state_dir, "limits",
			sizeof(struct table), err, sizeof(err)) == -1) {
		log_error("limits: %s", err);
		return NULL;
	}
	return app->limits.mem;
}

/*
 * The address as a key: IPv4 whole, IPv6 by its /64 (one host's share of
 * a network; anything finer costs an attacker nothing), then hashed under
 * a server key so nobody can aim two addresses at one place.
 */
static uint64_t
address_tag(const struct app *app, const char *addr)
{
	unsigned char a[1 + 16] = { 0 }, mac[SHA256_LEN];
	uint64_t tag = 0;
	size_t n, i;

	if (inet_pton(AF_INET6, addr, a + 1) == 1) {
		a[0] = 6;
		n = 1 + 8;
	} else if (inet_pton(AF_INET, addr, a + 1) == 1) {
		a[0] = 4;
		n = 1 + 4;
	} else {
		n = 1; /* no address (a test, a local tool): one bucket */
	}
	crypto_hmac(app->keys.keys[0].name, KEY_LEN, a, n, mac);
	for (i = 0; i < 8; i++)
		tag = tag << 8 | mac[i];
	return tag != 0 ? tag : 1;
}

/* This address's window, or the place it takes over. */
static struct window *
find(struct table *t, uint64_t tag, int64_t minute)
{
	struct window *w, *spare = NULL;
	uint64_t cost, least = UINT64_MAX;
	size_t i;

	for (i = 0; i < PROBE; i++) {
		w = &t->addr[(tag + i) % BUCKETS];
		if (w->tag == tag)
			return w;
		/* A free or stale place costs nothing; else the quietest
		 * address this minute gives way. */
		cost = w->tag == 0 || w->minute != minute ? 0 : w->count + 1ULL;
		if (cost < least) {
			least = cost;
			spare = w;
		}
	}
	spare->tag = tag;
	spare->minute = minute;
	spare->count = 0;
	return spare;
}

static uint32_t
current(const struct window *w, int64_t minute)
{
	return w->minute == minute ? w->count : 0;
}

static void
add(struct window *w, int64_t minute)
{
	if (w->minute != minute) {
		w->minute = minute;
		w->count = 0;
	}
	w->count++;
}

enum limit_rc
limit_callback(struct app *app, const struct request *req, long long now,
	       unsigned *retry_after)
{
	struct table *t = table(app);
	int64_t minute = now / WINDOW;
	enum limit_rc rc = LIMIT_OK;
	struct window *w;

	*retry_after = (unsigned)((minute + 1) * WINDOW - now);
	if (t == NULL || shared_lock(&app->limits, LOCK_TABLE, 1) == -1)
		return LIMIT_ERROR;
	if (memcmp(t->magic, magic, sizeof(magic)) != 0) {
		memset(t, 0, sizeof(*t));
		memcpy(t->magic, magic, sizeof(magic));
	}
	w = find(t, address_tag(app, req->client_addr), minute);
	/* Nothing is counted for a refused callback: a blocked address
	 * cannot use up everyone's minute. */
	if (current(w, minute) >= app->cfg.callbacks_per_address)
		rc = LIMIT_ADDRESS;
	else if (current(&t->total, minute) >= app->cfg.callbacks_per_minute)
		rc = LIMIT_TOTAL;
	else {
		add(w, minute);
		add(&t->total, minute);
	}
	shared_unlock(&app->limits, LOCK_TABLE);
	return rc;
}

enum limit_rc
limit_exchange_begin(struct app *app, int *slot)
{
	struct timespec pause = { 0, 50 * 1000 * 1000 };
	unsigned i, waited;

	*slot = -1;
	if (table(app) == NULL)
		return LIMIT_ERROR;
	/* A burst of real users is short: wait a moment before refusing. */
	for (waited = 0; waited <= SLOT_WAIT; waited += 50) {
		for (i = 0; i < app->cfg.exchanges_at_once; i++)
			if (shared_lock(&app->limits, LOCK_SLOTS + (off_t)i,
					0) == 0) {
				*slot = (int)i;
				return LIMIT_OK;
			}
		nanosleep(&pause, NULL);
	}
	return LIMIT_BUSY;
}

void
limit_exchange_end(struct app *app, int slot)
{
	if (slot >= 0)
		shared_unlock(&app->limits, LOCK_SLOTS + (off_t)slot);
}

int
limit_check(const struct config *cfg, char *err, size_t len)
{
	struct shared_file f;

	if (shared_open(&f, cfg->state_dir, "limits", sizeof(struct table), err,
			len) == -1)
		return -1;
	shared_close(&f);
	return 0;
}
