/* The pages and endpoints, one file each, and what they share. */
#ifndef HANDLER_H
#define HANDLER_H

#include "app.h"
#include "record.h"
#include "request.h"
#include "response.h"

typedef void (*handler)(struct app *app, const struct request *req,
			struct response *res);

/* route.c: path -> handler. */
void route(struct app *app, const struct request *req, struct response *res);
/* The name requests to route i are counted under (metrics.c), or NULL. */
const char *route_label(size_t i);

/* handler_connect.c */
void handle_connect(struct app *app, const struct request *req,
		    struct response *res);
void handle_connect_start(struct app *app, const struct request *req,
			  struct response *res);
void handle_connect_ticket(struct app *app, const struct request *req,
			   struct response *res);
/* handler_callback.c */
void handle_callback(struct app *app, const struct request *req,
		     struct response *res);
/* handler_account.c */
void handle_status(struct app *app, const struct request *req,
		   struct response *res);
/* A link's state as /status and /links/{user} say it: never a token. */
struct cJSON *link_state_json(const struct record *r);
void handle_disconnect(struct app *app, const struct request *req,
		       struct response *res);
/* handler_backend.c: the web app's backend, with the backend key */
void handle_token(struct app *app, const struct request *req,
		  struct response *res);
void handle_link(struct app *app, const struct request *req,
		 struct response *res);
void handle_connect_tickets(struct app *app, const struct request *req,
			    struct response *res);
/* handler_admin.c */
void handle_admin_list(struct app *app, const struct request *req,
		       struct response *res);
void handle_admin_record(struct app *app, const struct request *req,
			 struct response *res);
void handle_admin_refresh(struct app *app, const struct request *req,
			  struct response *res);
void handle_admin_delete(struct app *app, const struct request *req,
			 struct response *res);
/* handler_health.c */
void handle_healthz(struct app *app, const struct request *req,
		    struct response *res);
void handle_readyz(struct app *app, const struct request *req,
		   struct response *res);
/* handler_metrics.c */
void handle_metrics(struct app *app, const struct request *req,
		    struct response *res);

#endif
