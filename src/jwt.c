/* What an access token says about itself, for the operator.  See jwt.h. */
#include "jwt.h"

#include <cjson/cJSON.h>

#include <string.h>

#include "codec.h"

#define PART_MAX     8192 /* decoded header or claims; tokens are <= 8 KiB */
#define STRING_MAX   256  /* a claim's text, shown; longer is cut */
#define ITEMS_MAX    32	  /* claims, or items of an array claim, shown */
#define NAME_MAX_LEN 64	  /* a claim's name, or it is not shown */

/* A JWS compact serialization (RFC 7515 section 7.1): three base64url
 * parts, the first two non-empty. */
static int
split(const char *t, const char **dot1, const char **dot2)
{
	size_t n = strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
			     "wxyz0123456789-_.");

	*dot1 = strchr(t, '.');
	*dot2 = *dot1 != NULL ? strchr(*dot1 + 1, '.') : NULL;
	return t[n] == '\0' && *dot1 != NULL && *dot2 != NULL &&
	       strchr(*dot2 + 1, '.') == NULL && *dot1 > t && *dot2 > *dot1 + 1;
}

/* One base64url part, decoded and parsed; NULL unless a JSON object. */
static cJSON *
part(const char *p, size_t n)
{
	unsigned char raw[PART_MAX];
	cJSON *o = NULL;
	size_t len;

	if (b64url_decode(p, n, raw, sizeof(raw), &len) == 0) {
		o = cJSON_ParseWithLength((const char *)raw, len);
		if (o != NULL && !cJSON_IsObject(o)) {
			cJSON_Delete(o);
			o = NULL;
		}
	}
	return o;
}

/* A value as the operator sees it: text cut short, nothing nested. */
static cJSON *
shown(const cJSON *v, int depth)
{
	cJSON *out, *item;
	const cJSON *e;
	char cut[STRING_MAX + 4];
	int n = 0;

	if (cJSON_IsString(v)) {
		if (strlen(v->valuestring) <= STRING_MAX)
			return cJSON_CreateString(v->valuestring);
		memcpy(cut, v->valuestring, STRING_MAX);
		memcpy(cut + STRING_MAX, "...", 4);
		return cJSON_CreateString(cut);
	}
	if (cJSON_IsNumber(v))
		return cJSON_CreateNumber(v->valuedouble);
	if (cJSON_IsBool(v))
		return cJSON_CreateBool(cJSON_IsTrue(v));
	if (cJSON_IsArray(v) && depth == 0) {
		out = cJSON_CreateArray();
		cJSON_ArrayForEach(e, v)
		{
			if (n++ == ITEMS_MAX)
				break;
			item = shown(e, depth + 1);
			if (item != NULL)
				cJSON_AddItemToArray(out, item);
		}
		return out;
	}
	if (cJSON_IsNull(v))
		return cJSON_CreateNull();
	/* An object (or an array in an array): its shape, not its insides. */
	return cJSON_CreateString(cJSON_IsArray(v) ? "[...]" : "{...}");
}

static cJSON *
fail(cJSON *o, const char *why)
{
	cJSON_AddStringToObject(o, "error", why);
	return o;
}

cJSON *
jwt_describe(const char *token)
{
	static const char *const header_names[] = { "alg", "typ", "kid",
						    "cty" };
	const char *dot1, *dot2;
	cJSON *o = cJSON_CreateObject(), *h = NULL, *c = NULL, *view;
	const cJSON *e;
	size_t i;
	int n = 0;

	if (o == NULL)
		return NULL;
	if (token == NULL || !split(token, &dot1, &dot2)) {
		cJSON_AddStringToObject(o, "format", "opaque");
		return o;
	}
	cJSON_AddStringToObject(o, "format", "jwt");
	h = part(token, (size_t)(dot1 - token));
	if (h == NULL || !cJSON_IsString(cJSON_GetObjectItem(h, "alg"))) {
		cJSON_Delete(h);
		return fail(o, "the header is not a JSON object with an alg");
	}
	c = part(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	if (c == NULL) {
		cJSON_Delete(h);
		return fail(o, "the claims are not a JSON object");
	}
	cJSON_AddBoolToObject(o, "verified", 0);
	view = cJSON_AddObjectToObject(o, "header");
	for (i = 0; i < sizeof(header_names) / sizeof(header_names[0]); i++) {
		e = cJSON_GetObjectItemCaseSensitive(h, header_names[i]);
		if (cJSON_IsString(e))
			cJSON_AddItemToObject(view, header_names[i],
					      shown(e, 0));
	}
	view = cJSON_AddObjectToObject(o, "claims");
	cJSON_ArrayForEach(e, c)
	{
		if (n++ == ITEMS_MAX)
			break;
		/* A name twice: the first one stands (RFC 7519 section 4
		 * lets a parser refuse it; we only show it). */
		if (e->string != NULL && strlen(e->string) <= NAME_MAX_LEN &&
		    cJSON_GetObjectItemCaseSensitive(view, e->string) == NULL)
			cJSON_AddItemToObject(view, e->string, shown(e, 0));
	}
	cJSON_Delete(h);
	cJSON_Delete(c);
	return o;
}
