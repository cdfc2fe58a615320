/*
 * shared.c and limit.c: the files every worker maps, and the callback
 * limits kept in one of them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "limit.h"
#include "shared.h"
#include "testkeys.h"
#include "unit.h"

#define NOW 1800000040LL /* 40 s into a minute */

static char top[] = "/tmp/isc-unit-XXXXXX";
static char sdir[64], missing[] = "/nonexistent/state";
static struct app app;

/* An app with an empty state dir, limits of 3 an address and 5 in all. */
static void
fresh(void)
{
	shared_close(&app.limits);
	unit_rmtree(sdir);
	if (mkdir(sdir, 0700) == -1)
		abort();
	memset(&app, 0, sizeof(app));
	shared_init(&app.limits);
	app.cfg.state_dir = sdir;
	app.cfg.callbacks_per_address = 3;
	app.cfg.callbacks_per_minute = 5;
	app.cfg.exchanges_at_once = 2;
	test_keyring(&app.keys, 1);
}

static enum limit_rc
from(const char *addr, long long now)
{
	struct request req;
	unsigned retry;

	memset(&req, 0, sizeof(req));
	snprintf(req.client_addr, sizeof(req.client_addr), "%s", addr);
	return limit_callback(&app, &req, now, &retry);
}

static void
an_address_gets_its_share_a_minute(void)
{
	struct request req;
	unsigned retry = 0;

	fresh();
	CHECK(from("192.0.2.1", NOW) == LIMIT_OK);
	CHECK(from("192.0.2.1", NOW) == LIMIT_OK);
	CHECK(from("192.0.2.1", NOW) == LIMIT_OK);
	CHECK(from("192.0.2.1", NOW) == LIMIT_ADDRESS);
	memset(&req, 0, sizeof(req));
	snprintf(req.client_addr, sizeof(req.client_addr), "192.0.2.1");
	CHECK(limit_callback(&app, &req, NOW, &retry) == LIMIT_ADDRESS);
	CHECK(retry == 20); /* the rest of the minute */
	CHECK(from("192.0.2.2", NOW) == LIMIT_OK);
	/* The next minute starts afresh. */
	CHECK(from("192.0.2.1", NOW + 20) == LIMIT_OK);
}

static void
everyone_together_gets_the_total(void)
{
	fresh();
	CHECK(from("192.0.2.1", NOW) == LIMIT_OK);
	CHECK(from("192.0.2.2", NOW) == LIMIT_OK);
	CHECK(from("192.0.2.3", NOW) == LIMIT_OK);
	CHECK(from("192.0.2.4", NOW) == LIMIT_OK);
	CHECK(from("192.0.2.5", NOW) == LIMIT_OK);
	CHECK(from("192.0.2.6", NOW) == LIMIT_TOTAL);
	/* A refused callback counts for nobody: the blocked address cannot
	 * spend everyone's minute. */
	CHECK(from("192.0.2.1", NOW) == LIMIT_TOTAL);
}

static void
ipv6_counts_by_its_64(void)
{
	fresh();
	CHECK(from("2001:db8:1:2::1", NOW) == LIMIT_OK);
	CHECK(from("2001:db8:1:2::2", NOW) == LIMIT_OK);
	CHECK(from("2001:db8:1:2:ffff::3", NOW) == LIMIT_OK);
	CHECK(from("2001:db8:1:2::4", NOW) == LIMIT_ADDRESS);
	CHECK(from("2001:db8:1:3::1", NOW) == LIMIT_OK);
}

static void
the_counts_are_shared_by_every_process(void)
{
	pid_t pid;
	int status;

	fresh();
	CHECK(from("192.0.2.1", NOW) == LIMIT_OK);
	pid = fork();
	if (pid == 0) {
		struct app child = app;

		/* Another worker: its own mapping of the same file. */
		shared_init(&child.limits);
		app = child;
		_exit(from("192.0.2.1", NOW) == LIMIT_OK &&
				      from("192.0.2.1", NOW) == LIMIT_OK
			      ? 0
			      : 1);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WEXITSTATUS(status) == 0);
	CHECK(from("192.0.2.1", NOW) == LIMIT_ADDRESS);
}

static void
a_truncated_file_is_mapped_again(void)
{
	char path[128];

	fresh();
	CHECK(from("192.0.2.1", NOW) == LIMIT_OK);
	snprintf(path, sizeof(path), "%s/limits", sdir);
	/* Touching the old mapping now would kill the worker (SIGBUS). */
	CHECK(truncate(path, 0) == 0);
	CHECK(from("192.0.2.1", NOW) == LIMIT_OK);
	CHECK(from("192.0.2.1", NOW) == LIMIT_OK);
	CHECK(from("192.0.2.1", NOW) == LIMIT_OK);
	CHECK(from("192.0.2.1", NOW) == LIMIT_ADDRESS);
}

/* A worker elsewhere that takes a slot and holds it until told. */
static pid_t
holder(int up, int down)
{
	pid_t pid = fork();
	char x;

	if (pid == 0) {
		struct app child = app;
		int slot;

		shared_init(&child.limits);
		if (limit_exchange_begin(&child, &slot) != LIMIT_OK ||
		    write(up, "x", 1) != 1)
			_exit(1);
		/* Exits without letting go: the kernel frees the slot, as
		 * it would for a worker killed with kill -9. */
		(void)!read(down, &x, 1);
		_exit(0);
	}
	return pid;
}

static void
exchange_slots_are_exclusive_across_processes(void)
{
	int up[2], down[2], a, b;
	pid_t p1, p2;
	char x;

	fresh();
	CHECK(pipe(up) == 0 && pipe(down) == 0);
	p1 = holder(up[1], down[0]);
	CHECK(read(up[0], &x, 1) == 1);
	p2 = holder(up[1], down[0]);
	CHECK(read(up[0], &x, 1) == 1);
	/* Both slots are taken: after waiting a moment, busy. */
	CHECK(limit_exchange_begin(&app, &a) == LIMIT_BUSY && a == -1);
	CHECK(write(down[1], "xx", 2) == 2);
	CHECK(waitpid(p1, NULL, 0) == p1 && waitpid(p2, NULL, 0) == p2);
	CHECK(limit_exchange_begin(&app, &a) == LIMIT_OK);
	limit_exchange_end(&app, a);
	CHECK(limit_exchange_begin(&app, &b) == LIMIT_OK && b == a);
	limit_exchange_end(&app, b);
	limit_exchange_end(&app, -1); /* none taken: nothing to do */
	close(up[0]);
	close(up[1]);
	close(down[0]);
	close(down[1]);
}

static int
refused(const char *why)
{
	char err[512] = "";

	if (limit_check(&app.cfg, err, sizeof(err)) == 0)
		return 0;
	if (strstr(err, why) == NULL) {
		printf("#   %s\n", err);
		return 0;
	}
	return 1;
}

static void
a_state_dir_not_ours_is_refused_with_the_fix(void)
{
	char path[128];

	fresh();
	CHECK(limit_check(&app.cfg, path, sizeof(path)) == 0);
	CHECK(chmod(sdir, 0755) == 0);
	CHECK(refused("expected 0700 (chmod 700"));
	CHECK(from("192.0.2.1", NOW) == LIMIT_ERROR);
	CHECK(chmod(sdir, 0700) == 0);
	if (geteuid() == 0) {
		CHECK(chown(sdir, 65534, 65534) == 0);
		CHECK(refused("owned by"));
		CHECK(chown(sdir, 0, 0) == 0);
	}
	app.cfg.state_dir = missing;
	CHECK(refused("create it: install -d -m 0700"));
	app.cfg.state_dir = sdir;
	/* The file itself: a planted link or a directory is never used. */
	snprintf(path, sizeof(path), "%s/limits", sdir);
	CHECK(unlink(path) == 0 && symlink("/etc/passwd", path) == 0);
	CHECK(refused("Too many levels of symbolic links"));
	CHECK(unlink(path) == 0 && mkdir(path, 0700) == 0);
	CHECK(refused("Is a directory"));
	CHECK(rmdir(path) == 0);
	CHECK(mkfifo(path, 0600) == 0);
	CHECK(refused("not a regular file of ours"));
	CHECK(unlink(path) == 0);
	if (geteuid() == 0) {
		CHECK(limit_check(&app.cfg, path, sizeof(path)) == 0);
		snprintf(path, sizeof(path), "%s/limits", sdir);
		CHECK(chown(path, 65534, 65534) == 0);
		CHECK(refused("not a regular file of ours"));
		CHECK(unlink(path) == 0);
	}
	CHECK(limit_check(&app.cfg, path, sizeof(path)) == 0);
}

static void
requests_with_no_address_share_one_bucket(void)
{
	/* A local tool or a server that passes no REMOTE_ADDR: one
	 * address between them, never a free pass. */
	fresh();
	CHECK(from("", NOW) == LIMIT_OK);
	CHECK(from("unknown", NOW) == LIMIT_OK);
	CHECK(from("", NOW) == LIMIT_OK);
	CHECK(from("", NOW) == LIMIT_ADDRESS);
	CHECK(from("192.0.2.9", NOW) == LIMIT_OK);
}

static void
without_the_state_dir_no_exchange_starts(void)
{
	int slot = 7;

	fresh();
	app.cfg.state_dir = missing;
	CHECK(limit_exchange_begin(&app, &slot) == LIMIT_ERROR && slot == -1);
	CHECK(from("192.0.2.1", NOW) == LIMIT_ERROR);
}

int
main(void)
{
	int rc;

	if (mkdtemp(top) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(sdir, sizeof(sdir), "%s/state", top);
	shared_init(&app.limits);
	RUN(an_address_gets_its_share_a_minute);
	RUN(everyone_together_gets_the_total);
	RUN(ipv6_counts_by_its_64);
	RUN(requests_with_no_address_share_one_bucket);
	RUN(without_the_state_dir_no_exchange_starts);
	RUN(the_counts_are_shared_by_every_process);
	RUN(a_truncated_file_is_mapped_again);
	RUN(exchange_slots_are_exclusive_across_processes);
	RUN(a_state_dir_not_ours_is_refused_with_the_fix);
	shared_close(&app.limits);
	rc = DONE();
	unit_rmtree(top);
	return rc;
}
