/* A response: status, headers, cookies and body, built before it is sent. */
#include "response.h"

#include <cjson/cJSON.h>

#include <stdio.h>
#include <string.h>

#include "nitems.h"

void
res_init(struct response *res)
{
	buf_init(&res->head, 16384);
	buf_init(&res->body, RESPONSE_MAX);
	res_reset(res);
}

void
res_reset(struct response *res)
{
	res->status = 200;
	res->type = "text/html; charset=utf-8";
	res->cacheable = 0;
	buf_reset(&res->head);
	buf_reset(&res->body);
}

void
res_free(struct response *res)
{
	buf_free(&res->head);
	buf_free(&res->body);
}

void
res_header(struct response *res, const char *name, const char *value)
{
	/* No header value of ours may carry a line break (no splitting). */
	if (strpbrk(value, "\r\n") != NULL)
		return;
	buf_printf(&res->head, "%s: %s\r\n", name, value);
}

/*
 * RFC 6265 section 4.1.  HttpOnly: scripts never see the id.  SameSite=Lax,
 * not Strict: the callback is a cross-site top-level GET that must carry it.
 */
void
res_cookie(struct response *res, const char *name, const char *value,
	   const char *path, long max_age, int secure)
{
	buf_printf(&res->head,
		   "Set-Cookie: %s=%s; Path=%s; HttpOnly; "
		   "SameSite=Lax%s",
		   name, value, path, secure ? "; Secure" : "");
	if (max_age >= 0)
		buf_printf(&res->head, "; Max-Age=%ld", max_age);
	buf_adds(&res->head, "\r\n");
}

void
res_redirect(struct response *res, int status, const char *location)
{
	res->status = status;
	res_header(res, "Location", location);
	res->type = NULL;
	buf_reset(&res->body);
}

void
res_json(struct response *res, int status, struct cJSON *json)
{
	char *s = json != NULL ? cJSON_PrintUnformatted(json) : NULL;

	buf_reset(&res->body);
	if (s == NULL) {
		res->status = 500;
		buf_adds(&res->body, "{\"error\":\"internal\"}");
	} else {
		res->status = status;
		buf_adds(&res->body, s);
		explicit_bzero(s, strlen(s));
		cJSON_free(s);
	}
	buf_addc(&res->body, '\n');
	res->type = "application/json";
	cJSON_Delete(json);
}

void
res_json_error(struct response *res, int status, const char *code,
	       const char *message)
{
	cJSON *o = cJSON_CreateObject();

	if (o != NULL) {
		cJSON_AddStringToObject(o, "error", code);
		cJSON_AddStringToObject(o, "message", message);
	}
	res_json(res, status, o);
}

const char *
res_status_text(int status)
{
	static const struct {
		int status;
		const char *text;
	} texts[] = {
		{ 200, "OK" },
		{ 204, "No Content" },
		{ 302, "Found" },
		{ 303, "See Other" },
		{ 400, "Bad Request" },
		{ 401, "Unauthorized" },
		{ 403, "Forbidden" },
		{ 404, "Not Found" },
		{ 405, "Method Not Allowed" },
		{ 408, "Request Timeout" },
		{ 409, "Conflict" },
		{ 413, "Content Too Large" },
		{ 414, "URI Too Long" },
		{ 429, "Too Many Requests" },
		{ 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" },
		{ 502, "Bad Gateway" },
		{ 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" },
	};
	size_t i;

	for (i = 0; i < nitems(texts); i++)
		if (texts[i].status == status)
			return texts[i].text;
	return "Unknown";
}

int
res_head(const struct response *res, struct buf *out)
{
	buf_printf(out, "Status: %d %s\r\n", res->status,
		   res_status_text(res->status));
	if (res->type != NULL)
		buf_printf(out, "Content-Type: %s\r\n", res->type);
	buf_printf(out, "Content-Length: %zu\r\n", res->body.len);
	/* Tokens, states and session ids pass through here: never cached. */
	buf_adds(out, res->cacheable
			      ? "Cache-Control: public, max-age=86400\r\n"
			      : "Cache-Control: no-store\r\n");
	buf_adds(out, "Referrer-Policy: no-referrer\r\n"
		      "X-Frame-Options: DENY\r\n"
		      "X-Content-Type-Options: nosniff\r\n"
		      "Content-Security-Policy: default-src 'none'; "
		      "style-src 'self'; img-src 'self'; form-action 'self'; "
		      "frame-ancestors 'none'; base-uri 'none'\r\n");
	buf_add(out, res->head.data != NULL ? res->head.data : "",
		res->head.len);
	buf_adds(out, "\r\n");
	return out->failed || res->head.failed || res->body.failed ? -1 : 0;
}
