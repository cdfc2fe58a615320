/* The HTML around every page, the stylesheet, and the error page. */
#include "page.h"

#include "config.h"
#include "html.h"

static const char stylesheet[] =
	":root{color-scheme:light dark;--fg:#1d2330;--bg:#f6f7f9;--card:#fff;"
	"--mute:#5b6475;--line:#d9dde4;--accent:#1f5fd6;--bad:#b3261e;"
	"--ok:#1b7f3b;--warn:#8a5a00}\n"
	"@media (prefers-color-scheme:dark){:root{--fg:#e6e9ef;--bg:#14171c;"
	"--card:#1d2128;--mute:#9aa3b2;--line:#343a45;--accent:#7aa7ff;"
	"--bad:#ff8a80;--ok:#6fd08c;--warn:#f0c060}}\n"
	"body{margin:0;font:16px/1.5 system-ui,sans-serif;color:var(--fg);"
	"background:var(--bg)}\n"
	"main{max-width:64rem;margin:2rem auto;padding:0 1rem}\n"
	".card{background:var(--card);border:1px solid var(--line);"
	"border-radius:8px;padding:1.25rem 1.5rem;margin-bottom:1rem}\n"
	"h1{font-size:1.5rem;margin:0 0 1rem}h2{font-size:1.15rem}\n"
	"a{color:var(--accent)}.mute{color:var(--mute)}\n"
	/* Else .button's display would show a hidden Connect link. */
	"[hidden]{display:none!important}\n"
	".button,button{display:inline-block;font:inherit;padding:.5rem 1rem;"
	"border-radius:6px;border:1px solid var(--accent);background:"
	"var(--accent);color:#fff;text-decoration:none;cursor:pointer}\n"
	"button.secondary,.button.secondary{background:transparent;"
	"color:var(--accent)}\n"
	"button.danger{background:var(--bad);border-color:var(--bad)}\n"
	"form.inline{display:inline}\n"
	".status-connected{color:var(--ok)}.status-needs-reconnect,"
	".status-refresh-failing{color:var(--bad)}"
	".status-expiring-soon{color:var(--warn)}\n"
	"table{border-collapse:collapse;width:100%;font-size:.9rem}\n"
	"th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid "
	"var(--line);vertical-align:top}\n"
	"code{font:.85rem ui-monospace,monospace}\n"
	".totals{display:flex;gap:1rem;flex-wrap:wrap;list-style:none;"
	"padding:0}.totals li{background:var(--card);border:1px solid "
	"var(--line);border-radius:8px;padding:.5rem 1rem}\n"
	".notice{border-left:4px solid var(--accent);padding:.5rem 1rem}\n"
	".error{border-left:4px solid var(--bad)}\n"
	"label{margin-right:.5rem}input,select{font:inherit}\n";

void
page_begin(struct response *res, const struct config *cfg, const char *title)
{
	res->type = "text/html; charset=utf-8";
	html(&res->body,
	     "<!doctype html>\n<html lang=\"en\">\n<head>\n"
	     "<meta charset=\"utf-8\">\n"
	     "<meta name=\"viewport\" content=\"width=device-width, "
	     "initial-scale=1\">\n<title>%s</title>\n"
	     "<link rel=\"stylesheet\" href=\"%s/style.css\">\n</head>\n"
	     "<body>\n<main>\n",
	     title, cfg->base_path);
}

void
page_end(struct response *res)
{
	html(&res->body, "</main>\n</body>\n</html>\n");
}

void
page_error(struct response *res, const struct config *cfg, int status,
	   const char *title, const char *message, const char *link,
	   const char *link_text)
{
	struct buf *b = &res->body;

	buf_reset(b);
	res->status = status;
	page_begin(res, cfg, title);
	html(b, "<div class=\"card error\">\n<h1>%s</h1>\n<p>%s</p>\n", title,
	     message);
	if (link != NULL)
		html(b, "<p><a href=\"%s\">%s</a></p>\n", link, link_text);
	html(b, "</div>\n");
	page_end(res);
}

void
page_stylesheet(struct response *res)
{
	res->type = "text/css; charset=utf-8";
	res->cacheable = 1;
	buf_add(&res->body, stylesheet, sizeof(stylesheet) - 1);
}
