/* Pages built so that no value can become markup. */
#ifndef HTML_H
#define HTML_H

#include "buf.h"

/*
 * html(b, "<td class=\"status-%s\">%s</td>", css, label) appends the
 * template as it is and every value escaped (& < > " ' become entities).
 * The markup comes only from the template, and the template only from a
 * string literal: the "" before it makes anything else a compile error.
 *
 * Conversions: %s, %.Ns, %d, %lld, %llu, %zu and %%.  A value
 * may stand in text or in a double-quoted attribute value, nowhere else (a
 * tag or attribute name, an unquoted or single-quoted value); a value that
 * starts a URL attribute (href, action, src) is empty or a path on this
 * site, never a scheme or "//host"; and a template leaves no tag open.  A
 * template that breaks one of these is a bug: it is logged, and the
 * buffer fails (the page becomes a 500), so no such page is ever sent.
 */
#define html(b, ...) html_fmt((b), "" __VA_ARGS__)

/* Only through html(), which sees that the template is a literal. */
int html_fmt(struct buf *b, const char *template, ...)
	__attribute__((format(printf, 2, 3)));

#endif
