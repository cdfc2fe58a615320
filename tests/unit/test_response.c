/* Unit tests for response.c: the CGI header block and what it refuses. */
#include <stdlib.h>
#include <string.h>

#include "response.h"
#include "unit.h"

/* NULL, out of the compiler's sight (it warns at a literal NULL). */
static struct cJSON *volatile no_json;

/* A value with a line break would start a header of the attacker's
 * (RFC 9112 section 4: response splitting): it is left out whole. */
static void
a_header_value_with_a_line_break_is_left_out(void)
{
	struct response res;

	res_init(&res);
	res_header(&res, "Location", "/ok\r\nSet-Cookie: sid=evil");
	res_header(&res, "Location", "/ok\nSet-Cookie: sid=evil");
	res_header(&res, "X-Other", "fine");
	CHECK(res.head.len == strlen("X-Other: fine\r\n"));
	CHECK_STR(res.head.data, "X-Other: fine\r\n");
	res_free(&res);
}

/* serve.c answers 500 when res_head says the answer did not fit. */
static void
a_body_past_its_maximum_fails_the_head(void)
{
	struct response res;
	struct buf head;
	char *big = malloc(RESPONSE_MAX + 2);

	CHECK(big != NULL);
	if (big == NULL)
		return;
	memset(big, 'x', RESPONSE_MAX + 1);
	big[RESPONSE_MAX + 1] = '\0';
	res_init(&res);
	buf_init(&head, 64 * 1024);
	res.status = 200;
	buf_adds(&res.body, big);
	CHECK(res_head(&res, &head) == -1);
	buf_reset(&head);
	res_reset(&res);
	res.status = 200;
	buf_adds(&res.body, "small");
	CHECK(res_head(&res, &head) == 0);
	CHECK(strncmp(head.data, "Status: 200 OK\r\n", 16) == 0);
	CHECK(strstr(head.data, "Content-Length: 5\r\n") != NULL);
	free(big);
	buf_free(&head);
	res_free(&res);
}

/* JSON that could not be built is a 500 with a body a client can read. */
static void
no_json_is_an_internal_error(void)
{
	struct response res;
	struct buf head;

	res_init(&res);
	buf_init(&head, 64 * 1024);
	res_json(&res, 200, no_json);
	CHECK(res.status == 500);
	CHECK_STR(res.body.data, "{\"error\":\"internal\"}\n");
	CHECK(res_head(&res, &head) == 0);
	CHECK(strncmp(head.data, "Status: 500 Internal Server Error\r\n", 35) ==
	      0);
	CHECK_STR(res_status_text(299), "Unknown");
	/* The read deadline's answer (serve.c), its page titled by this. */
	CHECK_STR(res_status_text(408), "Request Timeout");
	buf_free(&head);
	res_free(&res);
}

int
main(void)
{
	RUN(a_header_value_with_a_line_break_is_left_out);
	RUN(a_body_past_its_maximum_fails_the_head);
	RUN(no_json_is_an_internal_error);
	return DONE();
}
