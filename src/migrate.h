/*
 * `insuresign-connect migrate FROM TO`: every link copied from one store
 * to the other (files to Redis, or back), so that a site moves without a
 * user reconnecting.  The records are the same sealed bytes under the
 * same names in either store, so a copy needs no key but to check them.
 */
#ifndef MIGRATE_H
#define MIGRATE_H

#include "app.h"

struct migrate_counts {
	long links;	 /* records in FROM, tombstones (event.h) too */
	long copied;	 /* written to TO */
	long same;	 /* TO had the same bytes already */
	long newer;	 /* TO had a newer version (written since): kept */
	long idle;	 /* past max_idle_days: left for gc, not copied */
	long unreadable; /* not a record our keys open: not copied */
	long gone;	 /* deleted in FROM while we ran */
	long failed;	 /* a store failed: see the log */
	long verified;	 /* read back from TO, and opened with our keys */
	long mismatched; /* changed in FROM after its copy: run it again */
};

/*
 * Copies, record by record under both stores' locks, every record of
 * from that to lacks or holds an older version of (by its head's
 * "updated", in seconds; in the same second, the store the site serves
 * from, to_live or not, has the one to keep); then reads each one back
 * from to.  Safe to run again, and while the site serves from either
 * store.  Returns 0, or -1 when a store could not be read at all.
 */
int migrate(struct app *app, struct store *from, struct store *to, int to_live,
	    long long now, struct migrate_counts *n);

#endif
