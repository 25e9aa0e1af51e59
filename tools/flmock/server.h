/*
 * server.h — what http.c (the libmicrohttpd glue, the API and OAuth
 * requests) and control.c (the /_mock/ endpoints) share: the server's state
 * and the few helpers both answer with.
 */
#ifndef FLMOCK_SERVER_H
#define FLMOCK_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <microhttpd.h>

#include "flmock.h"

struct server {
	struct MHD_Daemon *d;
	int listen_fd;
	const struct fm_config *cfg;
	struct world *w;
	pthread_mutex_t mu;        /* guards everything below */
	struct ratelimit *rl;
	struct mocklog *log;
	struct fault_spec faults;  /* --faults, replaceable through /_mock/faults */
	struct oauth *oauth;       /* the simulated OAuth service and the tokens it issued */
	struct webhooks *hooks;    /* registered webhooks and their deliveries (own lock) */
	uint64_t seq;              /* API requests so far: the fault and request-id stream */
	int64_t mono_start;
	atomic_long in_flight;     /* API requests being served now (no lock) */
	atomic_long max_in_flight; /* the most at once, since start or POST /_mock/stats?reset= */
};

/* Rate-limit time: wall seconds since start plus the simulator's advances. */
int64_t server_ratelimit_now(const struct server *s);

/* The Date (the simulator clock) and Content-Type headers every answer has. */
void server_add_headers(struct MHD_Response *resp, const struct server *s, const char *ctype);

/* Queue body (taken over) with status; the RateLimit headers when rl_limit is not NULL. */
enum MHD_Result server_send_buffer(struct MHD_Connection *c, struct server *s, int status, struct fm_buf *body,
				   const char *ctype, const char *rl_limit, long rl_remaining);

/*
 * The account a configured token is for (--token T: T is account 1, T-k
 * account k), in either auth header's form (`developer`: "<id>;<key>");
 * 0 for none.
 */
int server_token_ok(const char *got, const char *token, bool developer, size_t naccounts);

/* control.c: answer a /_mock/ request. */
enum MHD_Result control_request(struct server *s, struct MHD_Connection *c, const char *url, const char *method);

#endif
