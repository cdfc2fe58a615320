/* The HTML around every page, the stylesheet, and the error page. */
#ifndef PAGE_H
#define PAGE_H

#include "response.h"

struct config;

void page_begin(struct response *res, const struct config *cfg,
		const char *title);
void page_end(struct response *res);

/*
 * A whole page for a failure: a heading, one sentence saying what happened
 * and what to do, and a link onward (or none).
 */
void page_error(struct response *res, const struct config *cfg, int status,
		const char *title, const char *message, const char *link,
		const char *link_text);

/* GET {base_path}/style.css */
void page_stylesheet(struct response *res);

#endif
