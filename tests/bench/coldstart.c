/*
 * Process start to response, for `make bench`: runs PROGRAM N times with
 * this harness's own environment (the bench sets a CGI request there),
 * stdin /dev/null, stdout /dev/null, and times each run from spawn to
 * exit with CLOCK_MONOTONIC.  A C harness, because Python's subprocess
 * adds some 4 ms of its own to every run.
 *
 *	coldstart N PROGRAM [ARG...]
 *
 * Prints "runs N median_us M p10_us A p90_us B min_us C"; exit status 1
 * if any run failed.
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	struct timespec t0, t1;
	double *us;
	char *end;
	long n, i;
	int failed = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: coldstart N PROGRAM [ARG...]\n");
		return 2;
	}
	n = strtol(argv[1], &end, 10);
	if (*end != '\0' || n < 1 || n > 100000) {
		fprintf(stderr, "coldstart: N: 1 to 100000\n");
		return 2;
	}
	us = calloc((size_t)n, sizeof(*us));
	if (us == NULL)
		return 1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	for (i = 0; i < n; i++) {
		pid_t pid;
		int status;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (posix_spawn(&pid, argv[2], &fa, NULL, argv + 2, environ) !=
			    0 ||
		    waitpid(pid, &status, 0) != pid) {
			perror(argv[2]);
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed = 1;
		us[i] = (double)(t1.tv_sec - t0.tv_sec) * 1e6 +
			(double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
	}
	qsort(us, (size_t)n, sizeof(*us), cmp);
	printf("runs %ld median_us %.1f p10_us %.1f p90_us %.1f min_us %.1f\n",
	       n, us[n / 2], us[n / 10], us[n * 9 / 10], us[0]);
	posix_spawn_file_actions_destroy(&fa);
	free(us);
	return failed;
}
