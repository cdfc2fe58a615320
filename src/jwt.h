/*
 * What an access token says about itself, for the operator.  InsureSign's
 * access tokens are JWTs (RFC 7519), but the program treats every token as
 * opaque: it is not their audience, never verifies them and never decides
 * anything by them.  This only lets the admin page, its JSON and `show`
 * tell which InsureSign account a user linked and what the token may do,
 * marked "not verified".  Never the token itself, never its signature.
 */
#ifndef JWT_H
#define JWT_H

struct cJSON;

/*
 * A new object: {"format": "opaque"} for a token that is not a JWT;
 * {"format": "jwt", "verified": false, "header": {alg, typ, kid},
 * "claims": {...}} for one that is; {"format": "jwt", "error": "..."} for
 * one shaped like a JWT that does not decode.  NULL only without memory.
 */
struct cJSON *jwt_describe(const char *token);

#endif
