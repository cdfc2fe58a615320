/* The stubbed token endpoint's controls (tests/fuzz/http_stub.c). */
#ifndef HTTP_STUB_H
#define HTTP_STUB_H

/*
 * Which canned reply http_post_form gives: 0 a good code exchange, 1 a
 * good refresh without refresh_token, 2 400 invalid_grant, 3 401
 * invalid_client, 4 500, 5 a timeout, 6 200 with truncated JSON, 7 a
 * network error.
 */
#define FUZZ_HTTP_REPLIES 8
/* The tokens in its good replies, which must never show where not due. */
#define FUZZ_STUB_AT  "at_Jq0dVb2bX6yYk3Lm9sTqW1pZc4RtUv7e"
#define FUZZ_STUB_RT  "rt_N5hGk2LpQ8wErT6yUi0oPa3sDf9gHj1k"
#define FUZZ_STUB_AT2 "at_Zx8cVb6nM2aSd4fGh0jKl7qWe3rTy5uI"
extern unsigned fuzz_http_reply;
/* How many times the endpoint was called, all told. */
extern unsigned long fuzz_http_calls;

#endif
