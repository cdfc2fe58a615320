/*
 * The access-token inspector (jwt_describe): any token a token endpoint
 * could hand us, JWT-shaped or not.  It must never crash, and what it
 * shows must never hold the signature part.
 */
#include <cjson/cJSON.h>

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "jwt.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *format, *sig;
	char *token, *text;
	cJSON *o;

	/* As a token comes out of a record: NUL-terminated, <= 8 KiB. */
	if (size > 8192)
		return 0;
	token = malloc(size + 1);
	if (token == NULL)
		return 0;
	memcpy(token, data, size);
	token[size] = '\0';
	o = jwt_describe(token);
	FUZZ_CHECK(o != NULL);
	format = cJSON_GetStringValue(cJSON_GetObjectItem(o, "format"));
	FUZZ_CHECK(format != NULL && (strcmp(format, "jwt") == 0 ||
				      strcmp(format, "opaque") == 0));
	text = cJSON_PrintUnformatted(o);
	FUZZ_CHECK(text != NULL);
	/* The signature (after the second dot) never shows, when there is
	 * one long enough to recognise. */
	sig = strchr(token, '.');
	sig = sig != NULL ? strchr(sig + 1, '.') : NULL;
	if (sig != NULL && strlen(sig + 1) >= 16 && strcmp(format, "jwt") == 0)
		FUZZ_CHECK(strstr(text, sig + 1) == NULL);
	cJSON_free(text);
	cJSON_Delete(o);
	free(token);
	return 0;
}
