/* jwt.c: what an access token says about itself, shown, never trusted. */
#include "jwt.h"

#include <cjson/cJSON.h>

#include <stdlib.h>

#include "unit.h"
#include "codec.h"

/* header.claims.signature, each part base64url of the given text. */
static char *
make(const char *header, const char *claims, const char *sig)
{
	static char out[16384];
	size_t n;

	b64url_encode((const unsigned char *)header, strlen(header), out);
	n = strlen(out);
	out[n++] = '.';
	b64url_encode((const unsigned char *)claims, strlen(claims), out + n);
	n = strlen(out);
	out[n++] = '.';
	snprintf(out + n, sizeof(out) - n, "%s", sig);
	return out;
}

static const char *
str(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

	if (b != NULL)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void
a_jwt_shows_its_header_and_claims_unverified(void)
{
	const char *t = make(
		"{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"k1\",\"x\":1}",
		"{\"iss\":\"https://sign-auth.insuresign.io\",\"sub\":\"u-42\","
		"\"aud\":[\"api\",\"sign\"],\"scope\":\"documents\",\"iat\":"
		"1800000000,\"exp\":1800003600,\"account_id\":1234,"
		"\"nested\":{\"a\":1},\"ok\":true}",
		"c2lnbmF0dXJl");
	cJSON *o = jwt_describe(t), *aud;
	char *text = cJSON_PrintUnformatted(o);

	CHECK_STR(str(o, "format", NULL), "jwt");
	CHECK(cJSON_IsFalse(cJSON_GetObjectItem(o, "verified")));
	CHECK_STR(str(o, "header", "alg"), "RS256");
	CHECK_STR(str(o, "header", "kid"), "k1");
	CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "header"), "x") ==
	      NULL);
	CHECK_STR(str(o, "claims", "sub"), "u-42");
	CHECK_STR(str(o, "claims", "iss"), "https://sign-auth.insuresign.io");
	CHECK_STR(str(o, "claims", "nested"), "{...}");
	aud = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "claims"), "aud");
	CHECK(cJSON_GetArraySize(aud) == 2);
	CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "claims"), "exp")
		      ->valuedouble == 1800003600);
	/* Never the token, never its signature. */
	CHECK(strstr(text, "c2lnbmF0dXJl") == NULL);
	CHECK(strstr(text, t) == NULL);
	free(text);
	cJSON_Delete(o);
}

static void
an_opaque_token_says_so(void)
{
	const char *opaque[] = { "2YotnFZFEjr1zCsicMWpAA",
				 "a.b",
				 "a.b.c.d",
				 ".b.c",
				 "a..c",
				 "a b.c.d",
				 "",
				 NULL };
	size_t i;

	for (i = 0; i < sizeof(opaque) / sizeof(opaque[0]); i++) {
		cJSON *o = jwt_describe(opaque[i]);

		CHECK_STR(str(o, "format", NULL), "opaque");
		CHECK(cJSON_GetObjectItem(o, "claims") == NULL);
		cJSON_Delete(o);
	}
}

static void
a_malformed_jwt_is_shown_as_such(void)
{
	cJSON *o;

	o = jwt_describe(make("not json", "{}", "s"));
	CHECK(str(o, "error", NULL) != NULL);
	cJSON_Delete(o);
	o = jwt_describe(make("{\"typ\":\"JWT\"}", "{}", "s"));
	CHECK(str(o, "error", NULL) != NULL);
	cJSON_Delete(o);
	o = jwt_describe(make("{\"alg\":\"none\"}", "[1,2]", "s"));
	CHECK(str(o, "error", NULL) != NULL);
	cJSON_Delete(o);
	/* {"alg":"none"}, then a part no base64url text can be. */
	o = jwt_describe("eyJhbGciOiJub25lIn0.A.s");
	CHECK_STR(str(o, "format", NULL), "jwt");
	CHECK(str(o, "error", NULL) != NULL);
	CHECK(cJSON_GetObjectItem(o, "claims") == NULL);
	cJSON_Delete(o);
}

static void
long_values_are_cut_and_claims_capped(void)
{
	static char claims[12000];
	const char *sub;
	size_t n = 0;
	int i;
	cJSON *o;

	n += (size_t)snprintf(claims + n, sizeof(claims) - n, "{\"sub\":\"");
	memset(claims + n, 'x', 1000);
	n += 1000;
	n += (size_t)snprintf(claims + n, sizeof(claims) - n, "\"");
	for (i = 0; i < 100; i++)
		n += (size_t)snprintf(claims + n, sizeof(claims) - n,
				      ",\"c%d\":%d", i, i);
	snprintf(claims + n, sizeof(claims) - n, "}");
	o = jwt_describe(make("{\"alg\":\"HS256\"}", claims, "s"));
	sub = str(o, "claims", "sub");
	CHECK(sub != NULL && strlen(sub) == 256 + 3);
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(o, "claims")) == 32);
	cJSON_Delete(o);
}

static void
arrays_nulls_repeats_and_long_names_are_shown_safely(void)
{
	static char claims[4000];
	const cJSON *c, *a;
	size_t n = 0;
	int i;
	cJSON *o;

	/* An array claim: its first 32 items, nothing nested inside; null
	 * as null; a name given twice, the first; a name too long, none. */
	n += (size_t)snprintf(claims + n, sizeof(claims) - n, "{\"a\":[");
	for (i = 0; i < 40; i++)
		n += (size_t)snprintf(claims + n, sizeof(claims) - n, "%s%d",
				      i > 0 ? "," : "", i);
	snprintf(claims + n, sizeof(claims) - n,
		 "],\"b\":[[1],{\"x\":1},null],\"n\":null,\"d\":\"first\","
		 "\"d\":\"second\",\"%s\":1}",
		 "a-name-longer-than-sixty-four-characters-is-not-shown-to-"
		 "anyone-at-all");
	o = jwt_describe(make("{\"alg\":\"HS256\"}", claims, "s"));
	c = cJSON_GetObjectItem(o, "claims");
	a = cJSON_GetObjectItem(c, "a");
	CHECK(cJSON_GetArraySize(a) == 32);
	CHECK(cJSON_GetArrayItem(a, 31)->valuedouble == 31);
	a = cJSON_GetObjectItem(c, "b");
	CHECK(cJSON_GetArraySize(a) == 3);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(a, 0)), "[...]");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(a, 1)), "{...}");
	CHECK(cJSON_IsNull(cJSON_GetArrayItem(a, 2)));
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(c, "n")));
	CHECK_STR(str(o, "claims", "d"), "first");
	CHECK(cJSON_GetArraySize(c) == 4);
	cJSON_Delete(o);
}

int
main(void)
{
	RUN(a_jwt_shows_its_header_and_claims_unverified);
	RUN(an_opaque_token_says_so);
	RUN(a_malformed_jwt_is_shown_as_such);
	RUN(long_values_are_cut_and_claims_capped);
	RUN(arrays_nulls_repeats_and_long_names_are_shown_safely);
	return DONE();
}
