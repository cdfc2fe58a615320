/*
 * Who a browser's request is about, as [identity] owner says: in browser
 * mode the browser itself (its session cookie); in web_server mode the
 * web app's user the web server signed in (REMOTE_USER).  In backend mode
 * no browser request says who it is: the web app's backend names the user
 * (X-InsureSign-User, /links/{user}, a connect ticket).
 */
#ifndef IDENTITY_H
#define IDENTITY_H

#include "app.h"
#include "owner.h"
#include "request.h"
#include "response.h"
#include "session.h"

enum identity_rc {
	IDENTITY_OK,
	IDENTITY_NONE,	  /* no session yet, or nobody signed in */
	IDENTITY_BAD,	  /* REMOTE_USER is not a user id we take */
	IDENTITY_BACKEND, /* backend mode: the browser cannot say who */
};

#define BINDING_MAX (5 + OWNER_ID_MAX)

struct identity {
	struct owner owner;
	struct session session; /* the browser's cookie, if any */
	/* What a pending state and a CSRF token are bound to: the session
	 * id, or "user:" + the signed-in user's id (so that a callback or a
	 * form under another user is refused). */
	char binding[BINDING_MAX + 1];
};

enum identity_rc identity_of(const struct app *app, const struct request *req,
			     struct identity *id);

/*
 * identity_of for a browser's route, with its one rule: the route goes on
 * (0) when it knows who, or in browser mode with no session yet (*rc
 * IDENTITY_NONE); otherwise it has been answered (identity_refuse), -1.
 */
int identity_require(const struct app *app, const struct request *req,
		     struct response *res, struct identity *id,
		     const char *return_to, enum identity_rc *rc);

/* A new browser session, and id bound to it; -1 with no randomness. */
int identity_new_session(struct identity *id);

/*
 * The answer for a request whose identity_of was not IDENTITY_OK: a page
 * (navigations) or JSON, saying to sign in (with [identity] login_url), or
 * which route a backend uses.
 */
void identity_refuse(const struct app *app, const struct request *req,
		     struct response *res, enum identity_rc rc,
		     const char *return_to);

#endif
