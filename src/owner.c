/* Who owns a link.  See owner.h. */
#include "owner.h"

#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "nitems.h"
#include "codec.h"

/* The length of the UTF-8 sequence at s (RFC 3629 section 4), or 0. */
static size_t
utf8_char(const unsigned char *s, size_t left)
{
	static const struct {
		unsigned char lo, hi; /* the lead byte's range */
		size_t n;
		unsigned mask, min; /* its value bits; the least it encodes */
	} leads[] = {
		{ 0xc2, 0xdf, 2, 0x1f, 0x80 },
		{ 0xe0, 0xef, 3, 0x0f, 0x800 },
		{ 0xf0, 0xf4, 4, 0x07, 0x10000 },
	};
	unsigned c;
	size_t i, k;

	if (s[0] < 0x80)
		return 1;
	for (k = 0; k < nitems(leads); k++)
		if (s[0] >= leads[k].lo && s[0] <= leads[k].hi)
			break;
	if (k == nitems(leads) || left < leads[k].n)
		return 0;
	c = s[0] & leads[k].mask;
	for (i = 1; i < leads[k].n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	/* No overlong form, surrogate, C1 control or code point past
	 * U+10FFFF. */
	if (c < leads[k].min || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff ||
	    c <= 0x9f)
		return 0;
	return leads[k].n;
}

int
owner_user(const struct config *cfg, const char *id, struct owner *o,
	   const char **why)
{
	const unsigned char *s = (const unsigned char *)id;
	size_t len = strlen(id), i, k;

	*why = "a user id is 1 to 255 bytes of UTF-8 without control "
	       "characters";
	if (len == 0 || len > USER_ID_MAX)
		return -1;
	for (i = 0; i < len; i += k) {
		if (s[i] < 0x20 || s[i] == 0x7f)
			return -1;
		k = utf8_char(s + i, len - i);
		if (k == 0)
			return -1;
	}
	o->kind = OWNER_USER;
	memcpy(o->id, id, len + 1);
	/* Only when the operator says so: "Alice" and "alice" are then one
	 * user.  Other letters are compared as bytes (no Unicode folding). */
	if (cfg->ignore_case)
		for (i = 0; i < len; i++)
			if (o->id[i] >= 'A' && o->id[i] <= 'Z')
				o->id[i] = (char)(o->id[i] - 'A' + 'a');
	*why = NULL;
	return 0;
}

void
owner_browser(const char *sid, struct owner *o)
{
	o->kind = OWNER_BROWSER;
	snprintf(o->id, sizeof(o->id), "%s", sid);
}

void
owner_record_name(const struct key *k, const struct owner *o, char *out)
{
	unsigned char mac[SHA256_LEN], msg[5 + OWNER_ID_MAX];
	size_t n = strlen(o->id), pre = o->kind == OWNER_USER ? 5 : 0;

	memcpy(msg, "user:", pre);
	memcpy(msg + pre, o->id, n);
	crypto_hmac(k->name, KEY_LEN, msg, pre + n, mac);
	explicit_bzero(msg, sizeof(msg));
	hex_encode(mac, sizeof(mac), out);
}

const char *
owner_kind_name(enum owner_kind kind)
{
	return kind == OWNER_USER ? "user" : "browser";
}
