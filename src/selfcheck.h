/* The start-up self-check, also printed by `check-config`. */
#ifndef SELFCHECK_H
#define SELFCHECK_H

#include "app.h"

enum check_level { CHECK_OK, CHECK_WARN, CHECK_ERROR };

typedef void (*check_report)(enum check_level level, const char *what);

/*
 * Checks what config_load cannot: the store (its dir, or that Redis
 * answers and takes a write: not at a CGI start) and the state dir,
 * where redirect_uri points, what [identity] owner needs, that libcurl
 * loads (not at a CGI start), and (resolve set, as check-config does)
 * that the token endpoint's host resolves.  Each problem is reported with
 * its fix.  Returns the number of errors.
 */
int selfcheck(const struct app *app, int resolve, check_report report);

#endif
