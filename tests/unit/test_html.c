/* Unit tests for html.c: the builder that escapes every value. */
#include <string.h>

#include "buf.h"
#include "html.h"
#include "nitems.h"
#include "unit.h"

/* Values a page might be handed by an attacker, and what they become. */
#define HOSTILE "\"><script>alert('x')</script>&"
#define HOSTILE_OUT \
	"&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;"

/* NULL, out of the compiler's sight (it warns at a literal NULL). */
static const char *volatile nothing;

static size_t
count(const char *s, char c)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == c;
	return n;
}

static void
template_markup_is_kept_as_written(void)
{
	struct buf b;

	buf_init(&b, 1024);
	CHECK(html(&b, "<!doctype html>\n<p><a href=\"/x\">&larr; y</a></p>") ==
	      0);
	CHECK_STR(buf_str(&b),
		  "<!doctype html>\n<p><a href=\"/x\">&larr; y</a></p>");
	buf_free(&b);
}

static void
text_values_escape_all_five_characters(void)
{
	struct buf b;

	buf_init(&b, 1024);
	CHECK(html(&b, "<p>%s</p>", "a&b<c>d\"e'f") == 0);
	CHECK_STR(buf_str(&b), "<p>a&amp;b&lt;c&gt;d&quot;e&#39;f</p>");
	buf_reset(&b);
	CHECK(html(&b, "<pre>%s</pre>", HOSTILE) == 0);
	CHECK_STR(buf_str(&b), "<pre>" HOSTILE_OUT "</pre>");
	CHECK(strstr(buf_str(&b), "<script") == NULL);
	buf_reset(&b);
	/* UTF-8 and every other byte pass through as they are. */
	CHECK(html(&b, "<title>%s</title>", "caf\xc3\xa9 \t%s") == 0);
	CHECK_STR(buf_str(&b), "<title>caf\xc3\xa9 \t%s</title>");
	buf_free(&b);
}

static void
attribute_values_cannot_leave_their_quotes(void)
{
	struct buf b;

	buf_init(&b, 1024);
	CHECK(html(&b, "<input name=\"q\" value=\"%s\" title=\"%s\">", HOSTILE,
		   "\" onfocus=\"alert(1)\" autofocus x=\"") == 0);
	CHECK_STR(buf_str(&b), "<input name=\"q\" value=\"" HOSTILE_OUT
			       "\" title=\"&quot; onfocus=&quot;alert(1)&quot; "
			       "autofocus x=&quot;\">");
	/* Only the template's own six quotes are left. */
	CHECK(count(buf_str(&b), '"') == 6);
	CHECK(count(buf_str(&b), '<') == 1 && count(buf_str(&b), '>') == 1);
	buf_free(&b);
}

static void
a_value_inside_a_tag_is_refused(void)
{
	struct buf b;

	/* An attribute name, an unquoted value, a single-quoted value: places
	 * where escaping & < > " ' would not be enough. */
	buf_init(&b, 1024);
	html(&b, "<p>kept</p>");
	CHECK(html(&b, "<input %s>", "autofocus onfocus=alert(1)") == -1);
	CHECK(b.failed && b.data == NULL);
	buf_reset(&b);
	CHECK(html(&b, "<input value=%s>", "x") == -1 && b.failed);
	buf_reset(&b);
	CHECK(html(&b, "<input value='%s'>", "x") == -1 && b.failed);
	buf_reset(&b);
	CHECK(html(&b, "<%s>", "script") == -1 && b.failed);
	buf_reset(&b);
	/* A failed page stays failed: nothing half-built is ever sent. */
	CHECK(html(&b, "<p %s>", "x") == -1);
	CHECK(html(&b, "<p>fine</p>") == -1 && b.len == 0);
	buf_free(&b);
}

static void
url_attributes_take_only_paths_on_this_site(void)
{
	static const char *const bad[] = {
		"javascript:alert(1)",
		"https://evil.example/",
		"//evil.example",
		"/\\evil.example",
		"/\t/evil.example",
		"data:text/html,x",
		" /x",
	};
	struct buf b;
	size_t i;

	buf_init(&b, 1024);
	for (i = 0; i < nitems(bad); i++) {
		buf_reset(&b);
		CHECK(html(&b, "<a href=\"%s\">x</a>", bad[i]) == -1);
		buf_reset(&b);
		CHECK(html(&b, "<form action=\"%s/admin\"></form>", bad[i]) ==
		      -1);
		buf_reset(&b);
		CHECK(html(&b, "<img SRC=\"%s\">", bad[i]) == -1);
	}
	buf_reset(&b);
	/* An empty base path, then the template's own path. */
	CHECK(html(&b, "<a href=\"%s/admin?id=%s&amp;x=1\">%s</a>", "", "ab&c",
		   "/") == 0);
	CHECK_STR(buf_str(&b), "<a href=\"/admin?id=ab&amp;c&amp;x=1\">/</a>");
	buf_reset(&b);
	/* After an empty value the next one still opens the URL. */
	CHECK(html(&b, "<a href=\"%s%s\">x</a>", "", "//evil.example") == -1);
	buf_reset(&b);
	CHECK(html(&b, "<a href=\"%s?next=%s\">x</a>", "/p", "javascript:x") ==
	      0);
	CHECK_STR(buf_str(&b), "<a href=\"/p?next=javascript:x\">x</a>");
	buf_reset(&b);
	/* Not a URL attribute: any text, escaped. */
	CHECK(html(&b, "<a title=\"%s\" href=\"/\">x</a>", "javascript:x") ==
	      0);
	buf_free(&b);
}

static void
a_template_that_leaves_a_tag_open_fails(void)
{
	struct buf b;

	buf_init(&b, 1024);
	CHECK(html(&b, "<a href=\"") == -1 && b.failed);
	buf_reset(&b);
	CHECK(html(&b, "<p class=\"x\"") == -1 && b.failed);
	buf_reset(&b);
	CHECK(html(&b, "<p title=\"a>b\">%s</p>", "x") == 0);
	buf_free(&b);
}

static void
numbers_precision_and_percent(void)
{
	struct buf b;

	buf_init(&b, 1024);
	CHECK(html(&b, "<p>%d %lld %llu %zu %.3s %.12s 100%%</p>", -1, -5LL,
		   6ULL, (size_t)7, "abcdef", "<>") == 0);
	CHECK_STR(buf_str(&b), "<p>-1 -5 6 7 abc &lt;&gt; 100%</p>");
	buf_reset(&b);
	/* One that printf has and html() does not: the page fails. */
	CHECK(html(&b, "<p>%u</p>", 2u) == -1 && b.failed);
	buf_reset(&b);
	/* Cut before escaping: "&" at the cut is never half an entity. */
	CHECK(html(&b, "<p>%.2s</p>", "a&b") == 0);
	CHECK_STR(buf_str(&b), "<p>a&amp;</p>");
	buf_reset(&b);
	CHECK(html(&b, "<p>%s</p>", nothing) == -1 && b.failed);
	buf_free(&b);
}

static void
the_buffer_maximum_still_holds(void)
{
	struct buf b;

	/* "&" is 1 byte in and 5 out: the maximum counts what is written. */
	buf_init(&b, 12);
	CHECK(html(&b, "<p>%s</p>", "&&") == -1 && b.failed);
	buf_free(&b);
}

int
main(void)
{
	RUN(template_markup_is_kept_as_written);
	RUN(text_values_escape_all_five_characters);
	RUN(attribute_values_cannot_leave_their_quotes);
	RUN(a_value_inside_a_tag_is_refused);
	RUN(url_attributes_take_only_paths_on_this_site);
	RUN(a_template_that_leaves_a_tag_open_fails);
	RUN(numbers_precision_and_percent);
	RUN(the_buffer_maximum_still_holds);
	return DONE();
}
