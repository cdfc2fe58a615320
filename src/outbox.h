/*
 * Sending the events (event.h) to the web app's receiver ([events] url):
 * `insuresign-connect deliver` from a timer, and (with [events]
 * from_workers, the default) a FastCGI worker between requests, which
 * hands the work to a detached child of its own and goes back to serving
 * at once, so a receiver that hangs or fails never slows a request.
 *
 * Each event is a POST of its JSON with the header
 *   InsureSign-Connect-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256
 *   of "<t>.<body>" under [events] secret_file>
 * (and InsureSign-Connect-Event-Id), delivered at least once (a 2xx
 * removes it; a crash between the send and its removal sends it again:
 * the receiver de-duplicates by id), in order per link (a link's next
 * event waits for the one before it), and retried after [events]
 * retry_min, doubled at each try up to an hour, until [events] retry_for
 * has passed: then it is given up, kept in the record to be shown (the
 * admin page, /metrics), and the link's next event goes on.
 *
 * The link's lock is held only to read and to settle an event, never
 * while the receiver is asked, and one deliverer runs at a time on a
 * machine (a lock in [app] state_dir's "outbox" file, which also holds
 * when the next event is due, so that a worker looks at nothing else
 * between requests: one atomic read).
 */
#ifndef OUTBOX_H
#define OUTBOX_H

#include "app.h"

struct outbox_result {
	long sent;     /* taken by the receiver */
	long failed;   /* tried and failed: retried later */
	long given_up; /* past [events] retry_for */
	long waiting;  /* still waiting when the run ended */
	int stopped;   /* the receiver could not be reached: the run ended */
};

/*
 * Delivers what is due (everything waiting, given up on or not, with
 * all), waiting for another deliverer on this machine to finish first.
 * Returns -1 when events are off or the store cannot be read.
 */
int outbox_deliver(struct app *app, long long now, int all,
		   struct outbox_result *res);

/* An event was queued (event.c): the workers may send it from now. */
void outbox_wake(struct app *app, long long now);

/* After each FastCGI request (serve.c): when an event is due and nobody
 * delivers, a detached child delivers.  listen_fd: the child closes it. */
void outbox_after_request(struct app *app, int listen_fd);

#endif
