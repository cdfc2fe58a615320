/* The prefork pool behind our own listener: workers started on demand. */
#ifndef POOL_H
#define POOL_H

/* Workers beyond the kept ones leave after this long without a request. */
#define POOL_IDLE_EXIT 10

/*
 * Runs work(arg) in worker processes until a stop signal: `workers` of
 * them always, and one more whenever none is left waiting for a request,
 * up to max_workers.  Workers start with the stop signals blocked.
 * Returns the exit status.
 */
int pool_run(unsigned workers, unsigned max_workers, int (*work)(void *arg),
	     void *arg);

/* In a worker: it takes a connection, and it is done with it.  Outside
 * a pool (a web server spawned us) they do nothing. */
void pool_busy(void);
void pool_idle(void);

#endif
