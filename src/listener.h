/* The socket we serve on: --listen's, systemd's, or the web server's. */
#ifndef LISTENER_H
#define LISTENER_H

/*
 * "unix:/path", "127.0.0.1:PORT" or "[::1]:PORT", bound and listening.  A
 * unix socket gets mode and group (NULL: the process's) before anyone can
 * connect to it.  Returns the socket, or -1 (logged).
 */
int listener_open(const char *addr, unsigned mode, const char *group);
/* Closes it, and removes a unix socket's file. */
void listener_close(int fd, const char *addr);

/* systemd's socket (sd_listen_fds(3)), fd 3; -1 (logged) when none. */
int listener_systemd(void);

/* A listening socket (a web server spawned us with it on stdin)? */
int listener_is_listening(int fd);
/* A unix socket: only who its file's mode lets in can connect. */
int listener_is_unix(int fd);

#endif
