/* Pages built so that no value can become markup.  See html.h. */
#include "html.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "nitems.h"
#include "text.h"

/*
 * Where the template has got to, as HTML's tokenizer (WHATWG HTML 13.2.5)
 * would see it, reduced to what a template of ours may contain: text, a
 * tag, and a quoted attribute value.
 */
enum where { IN_TEXT, IN_TAG, IN_VALUE, IN_SQUOTED };

struct cursor {
	enum where at;
	char name[16]; /* the tag's last name: the attribute being set */
	size_t len;
	int in_name;
	int url;   /* the value is a URL attribute's */
	int empty; /* and nothing is in it yet */
};

static int
name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-';
}

static int
url_attribute(const char *name)
{
	static const char *const urls[] = { "href", "action", "src",
					    "formaction" };
	size_t i;

	for (i = 0; i < nitems(urls); i++)
		if (ascii_casecmp(name, urls[i]) == 0)
			return 1;
	return 0;
}

static void
step(struct cursor *c, char ch)
{
	int in_name = c->in_name;

	c->in_name = 0;
	switch (c->at) {
	case IN_TEXT:
		if (ch == '<')
			c->at = IN_TAG;
		break;
	case IN_TAG:
		if (name_char(ch)) {
			if (!in_name)
				c->len = 0;
			if (c->len < sizeof(c->name) - 1)
				c->name[c->len++] = ch;
			c->name[c->len] = '\0';
			c->in_name = 1;
		} else if (ch == '"') {
			c->at = IN_VALUE;
			c->url = url_attribute(c->name);
			c->empty = 1;
		} else if (ch == '\'') {
			c->at = IN_SQUOTED;
		} else if (ch == '>') {
			c->at = IN_TEXT;
		}
		break;
	case IN_VALUE:
		if (ch == '"')
			c->at = IN_TAG;
		else
			c->empty = 0;
		break;
	case IN_SQUOTED:
		if (ch == '\'')
			c->at = IN_TAG;
		break;
	}
}

/* Why this value may not stand where the template puts it, or NULL. */
static const char *
refused(const struct cursor *c, const char *v, size_t n)
{
	size_t i;

	/* Escaping protects text and quoted values only; in a tag a value
	 * could name an attribute, and "'" is not the quote we escape for. */
	if (c->at != IN_TEXT && c->at != IN_VALUE)
		return "a value outside text and double-quoted attributes";
	if (c->at == IN_TEXT || !c->url)
		return NULL;
	/* Browsers drop tabs and line breaks from a URL (WHATWG URL, basic
	 * URL parser): "/\t/host" would become "//host". */
	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return "a control character in a URL";
	/* RFC 3986 section 4.2: how a reference starts decides whether it
	 * names a scheme, another host ("//", and "/\" to browsers) or a
	 * path on this site.  Ours are all paths on this site. */
	if (c->empty && n > 0 &&
	    (v[0] != '/' || (n > 1 && (v[1] == '/' || v[1] == '\\'))))
		return "a URL that is not a path on this site";
	return NULL;
}

/* The one HTML escaper: & < > " ' become entities. */
static void
escape(struct buf *b, const char *s, size_t n)
{
	static const char *const entities[256] = {
		['&'] = "&amp;",  ['<'] = "&lt;",   ['>'] = "&gt;",
		['"'] = "&quot;", ['\''] = "&#39;",
	};
	size_t i, run = 0;

	for (i = 0; i < n; i++) {
		const char *e = entities[(unsigned char)s[i]];

		if (e == NULL)
			continue;
		buf_add(b, s + run, i - run);
		buf_adds(b, e);
		run = i + 1;
	}
	buf_add(b, s + run, n - run);
}

/*
 * The conversion at *p (just past its '%'), its argument formatted; *p is
 * left on the conversion's last character.  NULL for one html() does not
 * take (gcc has already checked the argument types against printf's).
 */
static const char *
next_value(const char **p, va_list *ap, char *num, size_t numlen, size_t *n)
{
	const char *s = *p, *v;
	size_t prec = (size_t)-1;

	if (*s == '.') {
		for (prec = 0, s++; *s >= '0' && *s <= '9' && prec < 1000; s++)
			prec = prec * 10 + (size_t)(*s - '0');
		if (*s != 's')
			return NULL;
	}
	if (*s == 's') {
		v = va_arg(*ap, const char *);
		if (v == NULL)
			return NULL;
		*n = strnlen(v, prec);
		*p = s;
		return v;
	}
	if (*s == 'd')
		snprintf(num, numlen, "%d", va_arg(*ap, int));
	else if (strncmp(s, "zu", 2) == 0)
		snprintf(num, numlen, "%zu", va_arg(*ap, size_t));
	else if (strncmp(s, "lld", 3) == 0)
		snprintf(num, numlen, "%lld", va_arg(*ap, long long));
	else if (strncmp(s, "llu", 3) == 0)
		snprintf(num, numlen, "%llu", va_arg(*ap, unsigned long long));
	else
		return NULL;
	*p = s + strspn(s, "lz");
	*n = strlen(num);
	return num;
}

int
html_fmt(struct buf *b, const char *tmpl, ...)
{
	const char *p, *run = tmpl, *why = NULL;
	struct cursor c;
	char num[24];
	va_list ap;

	memset(&c, 0, sizeof(c));
	va_start(ap, tmpl);
	for (p = tmpl; *p != '\0' && why == NULL; p++) {
		const char *v;
		size_t n;

		if (*p != '%') {
			step(&c, *p);
			continue;
		}
		buf_add(b, run, (size_t)(p - run));
		run = ++p;
		if (*p == '%') { /* "%%": the '%' is the next run's first */
			step(&c, '%');
			continue;
		}
		v = next_value(&p, &ap, num, sizeof(num), &n);
		why = v == NULL ? "a conversion html() does not take"
				: refused(&c, v, n);
		if (why != NULL)
			break;
		escape(b, v, n);
		if (n > 0)
			c.empty = 0;
		run = p + 1;
	}
	va_end(ap);
	if (why == NULL && c.at != IN_TEXT)
		why = "a tag left open at the end";
	if (why != NULL) {
		log_error("%s: template \"%.60s\": %s", __func__, tmpl, why);
		buf_fail(b);
		return -1;
	}
	buf_adds(b, run);
	return b->failed ? -1 : 0;
}
