/*
 * Bounds on what visitors can make us spend.  Every code exchange is a POST
 * to InsureSign with the client's credentials, and InsureSign's rate limit
 * for the client is shared by all of the site's users; each also holds a
 * worker for up to [http] timeout.  So callbacks are counted per client
 * address and in all ([limits] callbacks_per_address and
 * callbacks_per_minute, per minute), and at most [limits]
 * exchanges_at_once run at one time on this machine.
 */
#ifndef LIMIT_H
#define LIMIT_H

#include "app.h"
#include "request.h"

enum limit_rc {
	LIMIT_OK,
	LIMIT_ADDRESS, /* this address, this minute */
	LIMIT_TOTAL,   /* everyone, this minute */
	LIMIT_BUSY,    /* every exchange slot taken */
	LIMIT_ERROR    /* [app] state_dir unusable (logged) */
};

/* Counts one callback about to exchange a code; retry_after in seconds. */
enum limit_rc limit_callback(struct app *app, const struct request *req,
			     long long now, unsigned *retry_after);

/* Takes one of the exchange slots (waiting up to a few seconds). */
enum limit_rc limit_exchange_begin(struct app *app, int *slot);
void limit_exchange_end(struct app *app, int slot);

/* Can the workers share their counts ([app] state_dir)?  For the
 * self-check; err says what to fix. */
int limit_check(const struct config *cfg, char *err, size_t len);

#endif
