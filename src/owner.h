/*
 * Who owns a link: a browser, by its session cookie ([identity] owner =
 * browser, the default), or one of the web app's users, by the id the web
 * app knows them by (web_server: the web server's REMOTE_USER; backend: a
 * connect ticket from the web app's backend).  A record is named by a keyed
 * hash of its owner; the id itself is only ever inside the sealed record.
 */
#ifndef OWNER_H
#define OWNER_H

#include "config.h"
#include "keyring.h"

#define USER_ID_MAX  255 /* bytes of UTF-8 */
#define OWNER_ID_MAX 256 /* a session id (SESSION_MAX) or a user id */

enum owner_kind { OWNER_BROWSER, OWNER_USER };

struct owner {
	enum owner_kind kind;
	char id[OWNER_ID_MAX + 1];
};

/*
 * A web app's user id: 1 to 255 bytes of UTF-8 without control characters
 * (RFC 3629; C0, DEL and C1 are refused).  Fills o, with ASCII letters in
 * lower case when [identity] ignore_case is set.  Returns 0, or -1 with
 * the rule that was broken in *why (for a 400 that names it).
 */
int owner_user(const struct config *cfg, const char *id, struct owner *o,
	       const char **why);

/* The browser whose session id this is (checked by session.c). */
void owner_browser(const char *sid, struct owner *o);

/*
 * The record's name: hex HMAC-SHA256 under the name key of the session id
 * (as before owners existed, so browser links keep their records), or of
 * "user:" + the user id (a session id never holds a ':').
 */
void owner_record_name(const struct key *k, const struct owner *o, char *out);

/* "browser" or "user": the kinds as the admin page and JSON say them. */
const char *owner_kind_name(enum owner_kind kind);

#endif
