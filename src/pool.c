/*
 * The prefork pool behind our own listener: workers started on demand.
 *
 * A worker is single-threaded and holds one connection from the moment it
 * takes it until the answer is gone, so a fixed pool of N is full with N
 * slow clients (a body trickled at a byte a second, an InsureSign that is
 * slow to answer).  So the pool grows: it keeps `workers` processes, and
 * whenever none is left waiting for a connection it starts one more, up
 * to max_workers; those extra ones leave after POOL_IDLE_EXIT seconds
 * without a request.  This is php-fpm's "pm = dynamic", with one spare.
 * A deadline on each request (serve.c) bounds how long a slow client holds
 * its worker, so filling the pool takes max_workers connections held
 * open all the time.
 *
 * Reading whole requests in the parent, and handing only complete ones to
 * workers, would need a FastCGI implementation of our own in place of
 * libfcgi, and would still leave the pool to a slow token endpoint.
 *
 * The workers say whether they are busy on a scoreboard in an anonymous
 * shared mapping made before the first fork; a worker that takes the last
 * idle place wakes the parent through a pipe.
 */
#include "pool.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "timefmt.h"

enum slot_state { SLOT_FREE, SLOT_IDLE, SLOT_BUSY };

/* One worker's place.  The worker writes state and idle_since; the parent
 * claims and frees the place, and alone reads or writes the rest. */
struct slot {
	atomic_int state;
	atomic_llong idle_since; /* CLOCK_MONOTONIC seconds */
	pid_t pid;
	long long born;
	atomic_int leaving; /* told to stop for being idle */
};

static struct slot *board;
static unsigned nslots;
static struct slot *self; /* in a worker: its own place */
static int wake_fd = -1;  /* in a worker: the pipe to the parent */

static volatile sig_atomic_t stopping;

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

/* Only there so that SIGCHLD interrupts ppoll(2). */
static void
on_child(int sig)
{
	(void)sig;
}

static unsigned
count(enum slot_state state)
{
	unsigned i, n = 0;

	for (i = 0; i < nslots; i++)
		if (atomic_load(&board[i].state) == (int)state &&
		    !atomic_load(&board[i].leaving))
			n++;
	return n;
}

void
pool_busy(void)
{
	if (self == NULL)
		return;
	atomic_store(&self->state, SLOT_BUSY);
	/* The last one waiting: the parent starts another.  A full pipe
	 * already says so. */
	if (count(SLOT_IDLE) == 0 && write(wake_fd, "", 1) == -1 &&
	    errno != EAGAIN)
		log_error("%s: %s", __func__, strerror(errno));
}

void
pool_idle(void)
{
	if (self == NULL)
		return;
	atomic_store(&self->idle_since, (long long)timefmt_monotonic());
	atomic_store(&self->state, SLOT_IDLE);
}

static int
spawn(int (*work)(void *), void *arg, int wake_read)
{
	struct slot *s = NULL;
	unsigned i;
	pid_t pid;

	for (i = 0; i < nslots && s == NULL; i++)
		if (atomic_load(&board[i].state) == SLOT_FREE)
			s = &board[i];
	if (s == NULL)
		return -1;
	/* Idle from now: the parent counts it before it runs. */
	s->born = (long long)timefmt_monotonic();
	atomic_store(&s->idle_since, s->born);
	atomic_store(&s->state, SLOT_IDLE);
	atomic_store(&s->leaving, 0);
	pid = fork();
	if (pid == 0) {
		signal(SIGCHLD, SIG_DFL);
		close(wake_read);
		self = s;
		_exit(work(arg));
	}
	if (pid == -1) {
		log_error("fork: %s", strerror(errno));
		atomic_store(&s->state, SLOT_FREE);
		return -1;
	}
	s->pid = pid;
	return 0;
}

/* Frees the places of the workers that ended.  Returns 1 when one died
 * within a second of its start (then the next start waits a second, so
 * that a worker that cannot run does not spin the CPU). */
static int
reap(void)
{
	int status, quick = 0;
	pid_t pid;
	unsigned i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < nslots; i++) {
			struct slot *s = &board[i];

			if (s->pid != pid)
				continue;
			if (!stopping && !atomic_load(&s->leaving) &&
			    (WIFSIGNALED(status) || WEXITSTATUS(status) != 0) &&
			    timefmt_monotonic() - s->born < 1)
				quick = 1;
			s->pid = 0;
			atomic_store(&s->state, SLOT_FREE);
		}
		if (!stopping && WIFSIGNALED(status))
			log_warn("worker %d died of signal %d: replacing it",
				 (int)pid, WTERMSIG(status));
	}
	return quick;
}

/* The kept workers, and one waiting whenever the pool may grow. */
static void
grow(unsigned workers, int (*work)(void *), void *arg, int wake_read)
{
	unsigned idle = count(SLOT_IDLE);
	unsigned total = idle + count(SLOT_BUSY);

	/* spawn finds no free place when the pool is at max_workers. */
	while (!stopping && (total < workers || idle == 0)) {
		if (spawn(work, arg, wake_read) == -1)
			return;
		total++;
		idle++;
	}
}

/* One worker a second, of those beyond the kept ones, leaves when it has
 * waited POOL_IDLE_EXIT seconds; one idle worker always stays. */
static void
retire(unsigned workers)
{
	struct slot *oldest = NULL;
	unsigned i, idle = count(SLOT_IDLE);

	if (idle + count(SLOT_BUSY) <= workers || idle <= 1)
		return;
	for (i = 0; i < nslots; i++) {
		struct slot *s = &board[i];

		if (atomic_load(&s->state) == SLOT_IDLE &&
		    !atomic_load(&s->leaving) && s->pid > 0 &&
		    (oldest == NULL ||
		     atomic_load(&s->idle_since) <
			     atomic_load(&oldest->idle_since)))
			oldest = s;
	}
	if (oldest != NULL &&
	    timefmt_monotonic() - atomic_load(&oldest->idle_since) >=
		    POOL_IDLE_EXIT) {
		/* It finishes a request it may just have taken, then goes. */
		atomic_store(&oldest->leaving, 1);
		kill(oldest->pid, SIGTERM);
	}
}

static void
drain(int fd)
{
	char b[64];

	while (read(fd, b, sizeof(b)) > 0)
		;
}

int
pool_run(unsigned workers, unsigned max_workers, int (*work)(void *arg),
	 void *arg)
{
	static const int stops[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
	struct sigaction sa = { .sa_handler = on_stop };
	sigset_t block, old;
	int wake[2];
	unsigned i;

	nslots = max_workers;
	board = mmap(NULL, nslots * sizeof(*board), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (board == MAP_FAILED) {
		log_error("%s: mmap: %s", __func__, strerror(errno));
		return 1;
	}
	if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) == -1) {
		log_error("%s: pipe: %s", __func__, strerror(errno));
		munmap(board, nslots * sizeof(*board));
		return 1;
	}
	wake_fd = wake[1];
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	for (i = 0; i < sizeof(stops) / sizeof(stops[0]); i++) {
		sigaction(stops[i], &sa, NULL);
		sigaddset(&block, stops[i]);
	}
	sa.sa_handler = on_child;
	sigaction(SIGCHLD, &sa, NULL);
	sigaddset(&block, SIGCHLD);
	/* Signals come only inside ppoll(2): none is lost between a look at
	 * the flags and the wait.  Workers inherit the block. */
	sigprocmask(SIG_BLOCK, &block, &old);
	grow(workers, work, arg, wake[0]);
	log_info("listening with %u workers, up to %u", workers, max_workers);
	while (!stopping) {
		struct timespec tick = { 1, 0 };
		struct pollfd p = { wake[0], POLLIN, 0 };
		int more = count(SLOT_IDLE) + count(SLOT_BUSY) > workers;

		if (ppoll(&p, 1, more ? &tick : NULL, &old) > 0)
			drain(wake[0]);
		if (reap() && !stopping)
			sleep(1);
		grow(workers, work, arg, wake[0]);
		retire(workers);
	}
	for (i = 0; i < nslots; i++)
		if (board[i].pid > 0)
			kill(board[i].pid, SIGTERM);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(wake[0]);
	close(wake[1]);
	munmap(board, nslots * sizeof(*board));
	return 0;
}
