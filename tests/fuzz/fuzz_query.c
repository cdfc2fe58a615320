/*
 * The query string: request_parse_fields on the raw bytes (it decodes in
 * place), then request_read with the bytes as QUERY_STRING in a minimal
 * CGI environment, as a callback from InsureSign arrives.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "request.h"

static struct request req; /* big (inline buffers): one, as serve.c has */

/* Every field that came is decoded, NUL-terminated and inside s. */
static void
check_fields(const struct field *f, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < PARAM__MAX; i++) {
		if (f[i].state == FIELD_ABSENT) {
			FUZZ_CHECK(f[i].val == NULL && !f[i].dup);
			continue;
		}
		FUZZ_CHECK(f[i].val >= s && f[i].val + f[i].len <= s + n);
		FUZZ_CHECK(strlen(f[i].val) == f[i].len);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char method[] = "REQUEST_METHOD=GET";
	static char uri[] = "REQUEST_URI=/insuresign/callback";
	struct field fields[PARAM__MAX];
	struct config cfg;
	char *s, *var;
	char *env[4];
	struct request_source src = { env, NULL, NULL, 1 };
	int rc;

	fuzz_config(&cfg, 1);

	/* The bytes as they are, embedded NULs and all. */
	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	memset(fields, 0, sizeof(fields));
	if (request_parse_fields(s, size, fields) == 0)
		check_fields(fields, s, size);
	free(s);

	/* A CGI variable ends at the first NUL, as the server passes it. */
	var = malloc(size + sizeof("QUERY_STRING="));
	if (var == NULL)
		return 0;
	memcpy(var, "QUERY_STRING=", 13);
	memcpy(var + 13, data, size);
	var[13 + size] = '\0';
	env[0] = method;
	env[1] = uri;
	env[2] = var;
	env[3] = NULL;
	rc = request_read(&req, &src, &cfg);
	FUZZ_CHECK(rc == 0 || rc == 400 || rc == 414);
	if (rc == 0) {
		FUZZ_CHECK(req.path != NULL &&
			   strcmp(req.path, "/callback") == 0);
		check_fields(req.query, req.querybuf, QUERY_MAX + 1);
	}
	free(var);
	return 0;
}
