/*
 * A redis-server (Debian's) of a unit test's own, on a unix socket in the
 * test's temp dir, without persistence but for an explicit SAVE; and its
 * operator's commands, for a test to set it up or look inside.
 */
#ifndef REDIS_SERVER_H
#define REDIS_SERVER_H

#include <fcntl.h>
#include <hiredis.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static char redis_sock[160];
static pid_t redis_pid = -1;

/* Starts it in dir (its socket, log and dump there); 0 once it answers. */
__attribute__((unused)) static int
redis_start(const char *dir)
{
	char log[200];
	redisContext *c;
	int i;

	snprintf(redis_sock, sizeof(redis_sock), "%s/redis.sock", dir);
	snprintf(log, sizeof(log), "%s/redis.log", dir);
	fflush(stdout);
	redis_pid = fork();
	if (redis_pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		dup2(fd, 0);
		dup2(fd, 1);
		execlp("redis-server", "redis-server", "--port", "0",
		       "--unixsocket", redis_sock, "--dir", dir, "--save", "",
		       "--appendonly", "no", "--logfile", log, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 500; i++) {
		c = redisConnectUnix(redis_sock);
		if (c != NULL && c->err == 0) {
			redisFree(c);
			return 0;
		}
		if (c != NULL)
			redisFree(c);
		usleep(10000);
	}
	return -1;
}

__attribute__((unused)) static void
redis_stop(void)
{
	if (redis_pid > 0) {
		kill(redis_pid, SIGCONT);
		kill(redis_pid, SIGTERM);
		waitpid(redis_pid, NULL, 0);
	}
	redis_pid = -1;
}

/* One command (redisCommand's format): its integer, 0 for any other
 * answer but an error, -1 for an error or no answer. */
__attribute__((unused)) static long long
redis_admin(const char *fmt, ...)
{
	redisContext *c = redisConnectUnix(redis_sock);
	redisReply *r = NULL;
	long long v = -1;
	va_list ap;

	if (c == NULL || c->err != 0)
		goto out;
	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	if (r != NULL && r->type == REDIS_REPLY_INTEGER)
		v = r->integer;
	else if (r != NULL && r->type != REDIS_REPLY_ERROR)
		v = 0;
out:
	if (r != NULL)
		freeReplyObject(r);
	if (c != NULL)
		redisFree(c);
	return v;
}

/* The string value of key, into out ("" if none). */
__attribute__((unused)) static void
redis_get(const char *key, char *out, size_t len)
{
	redisContext *c = redisConnectUnix(redis_sock);
	redisReply *r = c != NULL ? redisCommand(c, "GET %s", key) : NULL;

	out[0] = '\0';
	if (r != NULL && r->type == REDIS_REPLY_STRING)
		snprintf(out, len, "%.*s", (int)r->len, r->str);
	if (r != NULL)
		freeReplyObject(r);
	if (c != NULL)
		redisFree(c);
}

#endif
