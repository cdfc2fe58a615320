/* OAuth 2.0 as InsureSign speaks it: authorize URL, code exchange, refresh. */
#include "oauth.h"

#include <cjson/cJSON.h>

#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "log.h"
#include "metrics.h"
#include "text.h"
#include "timefmt.h"
#include "url.h"
#include "codec.h"

int
oauth_authorize_url(const struct config *cfg, const char *state,
		    const char *challenge, struct buf *out)
{
	buf_adds(out, cfg->authorize_url);
	buf_addc(out, strchr(cfg->authorize_url, '?') != NULL ? '&' : '?');
	/* RFC 6749 section 4.1.1, plus state (10.12) and PKCE (RFC 7636). */
	buf_adds(out, "response_type=code&client_id=");
	url_encode(out, cfg->client_id);
	buf_adds(out, "&redirect_uri=");
	url_encode(out, cfg->redirect_uri);
	buf_adds(out, "&state=");
	url_encode(out, state);
	if (cfg->scope != NULL) {
		buf_adds(out, "&scope=");
		url_encode(out, cfg->scope);
	}
	if (challenge != NULL) {
		buf_adds(out, "&code_challenge=");
		url_encode(out, challenge);
		buf_adds(out, "&code_challenge_method=S256");
	}
	return out->failed ? -1 : 0;
}

/* RFC 6749 section 2.3.1: Basic of the form-encoded id and secret. */
static int
basic_auth(const struct config *cfg, struct buf *out)
{
	struct buf cred;
	int rc;

	buf_init(&cred, 4096);
	url_encode_form(&cred, cfg->client_id);
	buf_addc(&cred, ':');
	url_encode_form(&cred, cfg->client_secret);
	buf_adds(out, "Authorization: Basic ");
	rc = cred.failed
		     ? -1
		     : b64_append(out, (unsigned char *)cred.data, cred.len);
	buf_free(&cred);
	return rc;
}

/* A string member made of VSCHAR (RFC 6749 Appendix A), or -1. */
static int
get_string(const cJSON *o, const char *name, int required, size_t max,
	   char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	size_t n, i;

	*out = NULL;
	if (v == NULL || cJSON_IsNull(v))
		return required ? -1 : 0;
	if (!cJSON_IsString(v))
		return -1;
	n = strlen(v->valuestring);
	if (n == 0 || n > max)
		return -1;
	for (i = 0; i < n; i++)
		if (v->valuestring[i] < 0x20 || v->valuestring[i] > 0x7e)
			return -1;
	*out = strdup(v->valuestring);
	return *out == NULL ? -1 : 0;
}

static void
parse_error(const cJSON *o, struct oauth_result *r)
{
	const char *e = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(o, "error"));
	size_t n = e != NULL ? strlen(e) : 0;

	snprintf(r->error, sizeof(r->error), "unknown");
	/* RFC 6749 Appendix A.7: error is NQSCHAR; we keep it shorter. */
	if (n == 0 || n >= sizeof(r->error) ||
	    strspn(e, "abcdefghijklmnopqrstuvwxyz"
		      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != n)
		return;
	memcpy(r->error, e, n + 1);
}

enum oauth_rc
oauth_parse_reply(long status, const char *body, size_t len,
		  struct oauth_tokens *t, struct oauth_result *r)
{
	const cJSON *ei;
	cJSON *o;

	memset(t, 0, sizeof(*t));
	r->status = status;
	r->error[0] = '\0';
	if (status == 429 || status >= 500) {
		r->rc = status == 429 ? OAUTH_RATE_LIMITED : OAUTH_SERVER_ERROR;
		return r->rc;
	}
	o = cJSON_ParseWithLength(body, len);
	r->rc = OAUTH_BAD_REPLY;
	/* RFC 6749 section 5.2: 401 is failed client authentication, with
	 * or without a body we can read. */
	if (status == 401) {
		if (cJSON_IsObject(o))
			parse_error(o, r);
		else
			snprintf(r->error, sizeof(r->error), "invalid_client");
		r->rc = OAUTH_INVALID_CLIENT;
		goto err;
	}
	/* RFC 6749 section 5.2: 400 with a JSON error. */
	if (status == 400 && cJSON_IsObject(o)) {
		parse_error(o, r);
		r->rc = strcmp(r->error, "invalid_grant") == 0
				? OAUTH_INVALID_GRANT
			: strcmp(r->error, "invalid_client") == 0
				? OAUTH_INVALID_CLIENT
				: OAUTH_REJECTED;
	}
	if (status != 200 || !cJSON_IsObject(o))
		goto err;
	/* RFC 6749 section 5.1: access_token, token_type, expires_in. */
	if (get_string(o, "access_token", 1, TOKEN_MAX, &t->access_token) ==
		    -1 ||
	    get_string(o, "token_type", 1, 64, &t->token_type) == -1 ||
	    get_string(o, "refresh_token", 0, TOKEN_MAX, &t->refresh_token) ==
		    -1 ||
	    get_string(o, "scope", 0, 1024, &t->scope) == -1)
		goto err;
	/* RFC 6750: we only know how to use Bearer tokens. */
	if (ascii_casecmp(t->token_type, "Bearer") != 0)
		goto err;
	ei = cJSON_GetObjectItemCaseSensitive(o, "expires_in");
	if (!cJSON_IsNumber(ei) || ei->valuedouble < 1 ||
	    ei->valuedouble > EXPIRES_IN_MAX ||
	    ei->valuedouble != (double)(long long)ei->valuedouble)
		goto err;
	t->expires_in = (long long)ei->valuedouble;
	r->rc = OAUTH_OK;
err:
	if (r->rc != OAUTH_OK)
		oauth_tokens_free(t);
	cJSON_Delete(o);
	return r->rc;
}

static enum oauth_rc
post(struct http *h, const struct config *cfg, enum metric_call call,
     const char *url, const struct buf *body, struct oauth_tokens *t,
     struct oauth_result *r)
{
	struct http_reply reply;
	double t0;
	struct buf auth;
	enum http_rc hrc;

	memset(r, 0, sizeof(*r));
	if (t != NULL)
		memset(t, 0, sizeof(*t));
	buf_init(&auth, 8192);
	if (body->failed || basic_auth(cfg, &auth) == -1) {
		buf_free(&auth);
		r->rc = OAUTH_NETWORK;
		return r->rc;
	}
	t0 = timefmt_monotonic();
	hrc = http_post_form(h, url, auth.data, body->data, &reply);
	metrics_observe(call, timefmt_monotonic() - t0);
	buf_free(&auth);
	if (hrc != HTTP_OK) {
		r->rc = hrc == HTTP_TIMEOUT   ? OAUTH_TIMEOUT
			: hrc == HTTP_TLS     ? OAUTH_TLS
			: hrc == HTTP_TOO_BIG ? OAUTH_BAD_REPLY
					      : OAUTH_NETWORK;
		return r->rc;
	}
	if (t != NULL) {
		oauth_parse_reply(reply.status, buf_str(&reply.body),
				  reply.body.len, t, r);
	} else {
		r->status = reply.status;
		/* RFC 7009 section 2.2: 200 whether or not it was known. */
		r->rc = reply.status == 200 ? OAUTH_OK : OAUTH_BAD_REPLY;
	}
	if (r->rc != OAUTH_OK)
		log_warn("token endpoint %s answered %ld: %s%s%s", url,
			 reply.status, oauth_rc_name(r->rc),
			 *oauth_error_detail(r) != '\0' ? ", error=" : "",
			 oauth_error_detail(r));
	http_reply_free(&reply);
	return r->rc;
}

const char *
oauth_error_detail(const struct oauth_result *r)
{
	return strcmp(r->error, oauth_rc_name(r->rc)) == 0 ? "" : r->error;
}

enum oauth_rc
oauth_exchange(struct http *h, const struct config *cfg, const char *code,
	       const char *verifier, struct oauth_tokens *t,
	       struct oauth_result *r)
{
	struct buf body;
	enum oauth_rc rc;

	/* RFC 6749 section 4.1.3; redirect_uri byte-identical to 4.1.1. */
	buf_init(&body, 16384);
	buf_adds(&body, "grant_type=authorization_code&code=");
	url_encode_form(&body, code);
	buf_adds(&body, "&redirect_uri=");
	url_encode_form(&body, cfg->redirect_uri);
	buf_adds(&body, "&client_id=");
	url_encode_form(&body, cfg->client_id);
	if (verifier != NULL) {
		buf_adds(&body, "&code_verifier=");
		url_encode_form(&body, verifier);
	}
	rc = post(h, cfg, CALL_EXCHANGE, cfg->token_url, &body, t, r);
	buf_free(&body);
	metrics_count(METRIC_EXCHANGES + (int)rc);
	return rc;
}

enum oauth_rc
oauth_refresh(struct http *h, const struct config *cfg,
	      const char *refresh_token, struct oauth_tokens *t,
	      struct oauth_result *r)
{
	struct buf body;
	enum oauth_rc rc;

	/* RFC 6749 section 6, with client_id as InsureSign documents. */
	buf_init(&body, 16384);
	buf_adds(&body, "grant_type=refresh_token&client_id=");
	url_encode_form(&body, cfg->client_id);
	buf_adds(&body, "&refresh_token=");
	url_encode_form(&body, refresh_token);
	rc = post(h, cfg, CALL_REFRESH, cfg->token_url, &body, t, r);
	buf_free(&body);
	metrics_count(METRIC_REFRESHES + (int)rc);
	return rc;
}

enum oauth_rc
oauth_revoke(struct http *h, const struct config *cfg,
	     const char *refresh_token, struct oauth_result *r)
{
	struct buf body;
	enum oauth_rc rc;

	buf_init(&body, 16384);
	buf_adds(&body, "token=");
	url_encode_form(&body, refresh_token);
	buf_adds(&body, "&token_type_hint=refresh_token");
	rc = post(h, cfg, CALL_REVOKE, cfg->revocation_url, &body, NULL, r);
	buf_free(&body);
	return rc;
}

void
oauth_tokens_free(struct oauth_tokens *t)
{
	secret_free(t->access_token);
	secret_free(t->refresh_token);
	secret_free(t->token_type);
	secret_free(t->scope);
	memset(t, 0, sizeof(*t));
}

const char *
oauth_rc_name(enum oauth_rc rc)
{
	static const char *const names[OAUTH__MAX] = {
		[OAUTH_OK] = "ok",
		[OAUTH_INVALID_GRANT] = "invalid_grant",
		[OAUTH_INVALID_CLIENT] = "invalid_client",
		[OAUTH_REJECTED] = "rejected",
		[OAUTH_SERVER_ERROR] = "server_error",
		[OAUTH_RATE_LIMITED] = "rate_limited",
		[OAUTH_TIMEOUT] = "timeout",
		[OAUTH_NETWORK] = "network_error",
		[OAUTH_TLS] = "tls_error",
		[OAUTH_BAD_REPLY] = "bad_reply",
	};

	return (unsigned)rc < OAUTH__MAX ? names[rc] : "unknown";
}
