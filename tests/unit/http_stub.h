/*
 * http.h's link-time substitute for the unit tests and the fuzzers
 * (tests/unit/http_stub.c, linked instead of src/http.c): no network, the
 * token endpoint answers from a table of canned replies, the mock's
 * (tests/mock/insuresign_mock.py), the test picking one per call.
 */
#ifndef HTTP_STUB_H
#define HTTP_STUB_H

#include "http.h"

/* The canned replies, by index (the fuzz corpora's flag bits use them). */
enum http_stub_reply {
	HTTP_STUB_EXCHANGE,	  /* 200, a rotating refresh_token */
	HTTP_STUB_REFRESH,	  /* 200 without refresh_token, a scope */
	HTTP_STUB_INVALID_GRANT,  /* 400 invalid_grant */
	HTTP_STUB_INVALID_CLIENT, /* 401 invalid_client */
	HTTP_STUB_SERVER_ERROR,	  /* 500 server_error */
	HTTP_STUB_TIMEOUT,	  /* no reply in time */
	HTTP_STUB_TRUNCATED,	  /* 200, JSON cut short */
	HTTP_STUB_NETWORK,	  /* refused */
	HTTP_STUB_REPLIES
};

/* The tokens in its good replies, which must never show where not due. */
#define HTTP_STUB_AT  "at_Jq0dVb2bX6yYk3Lm9sTqW1pZc4RtUv7e"
#define HTTP_STUB_RT  "rt_N5hGk2LpQ8wErT6yUi0oPa3sDf9gHj1k"
#define HTTP_STUB_AT2 "at_Zx8cVb6nM2aSd4fGh0jKl7qWe3rTy5uI"

/* Which reply the next call gets (modulo HTTP_STUB_REPLIES). */
extern unsigned http_stub_reply;
/* How many times the endpoint was called, all told. */
extern unsigned long http_stub_calls;
/* The last call's URL and form body (truncated to fit). */
extern char http_stub_url[512];
extern char http_stub_body[4096];
/* The event receiver (http_post): its answer, and what it got. */
extern long http_stub_event_status;
extern enum http_rc http_stub_event_rc;
extern unsigned long http_stub_events;
extern char http_stub_event_headers[3][512];
/* Called during each call, before it answers (NULL: nothing). */
extern void (*http_stub_during)(void);

#endif
