/* A response: status, headers, cookies and body, built before it is sent. */
#ifndef RESPONSE_H
#define RESPONSE_H

#include "buf.h"

#define RESPONSE_MAX (4u << 20)

struct cJSON;

struct response {
	int status;
	const char *type; /* Content-Type */
	int cacheable;	  /* static assets only; the rest is no-store */
	struct buf head;  /* extra header lines */
	struct buf body;
};

void res_init(struct response *res);
void res_reset(struct response *res);
void res_free(struct response *res);

void res_header(struct response *res, const char *name, const char *value);
/* max_age < 0: a session cookie; 0: delete it. */
void res_cookie(struct response *res, const char *name, const char *value,
		const char *path, long max_age, int secure);
void res_redirect(struct response *res, int status, const char *location);
/* Takes ownership of json (a cJSON object) and frees it. */
void res_json(struct response *res, int status, struct cJSON *json);
/* {"error": code, "message": text} with the status. */
void res_json_error(struct response *res, int status, const char *code,
		    const char *message);

/* The CGI header block (RFC 3875 section 6.3), ending in a blank line. */
int res_head(const struct response *res, struct buf *out);
const char *res_status_text(int status);

#endif
