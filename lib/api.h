/*
 * api.h — one Freelancer API call: an HTTP request whose body streams
 * through the envelope parser, and the verdict on what came back.  Every
 * failure — transport, HTTP status, error envelope, non-JSON body — becomes
 * one FL_* code with a message naming the request, and the API's own
 * error_code and message kept for the caller.
 */
#ifndef FL_API_H
#define FL_API_H

#include "http.h"
#include "json.h"

struct api_result {
	struct http_response http;  /* status, Date, rate-limit headers */
	struct json_envelope env;   /* status, error_code, message, counts */
};

/*
 * Perform method path_query (body may be NULL) and hand each item of
 * collection (see json_parser_new()) to fn.  Items are handed over only from
 * 2xx responses; a caller storing them must still discard them unless the
 * call returns FL_OK, since a body can fail after its first items.
 *
 * Returns FL_OK for a 2xx success envelope, and otherwise:
 *   FL_ERR_RATE_LIMITED  HTTP 429
 *   FL_ERR_NOT_FOUND     HTTP 404
 *   FL_ERR_API           another error envelope (out->env.error_code, message)
 *   FL_ERR_HTTP          an HTTP error status whose body is no API envelope
 *   FL_ERR_PARSE         a 2xx body that is not a whole API envelope
 *   FL_ERR_TOO_BIG       a cap was hit
 *   FL_ERR_NETWORK, FL_ERR_TIMEOUT, FL_ERR_NOMEM, or fn's own code.
 * err gets the message; out is always filled as far as the response went.
 */
int api_call(struct http_client *c, const char *method, const char *path_query,
	     const char *content_type, const char *body, size_t body_len,
	     const char *collection, const struct json_limits *limits,
	     json_item_fn fn, void *ctx, struct api_result *out, struct fl_error *err);

/*
 * A call within its endpoint's rate budget (ratelimit.h).  Every request
 * asks its endpoint's budget first: api_limit_delay names the request's
 * endpoint into endpoint (n bytes) and says how long its budget asks to
 * wait (0: it may go now); api_limit_take does the same and, when it may
 * go now, counts it as sent at once (for requests side by side: the pass's
 * fetcher, sync_fetch.c, which answers each with ratelimit_observe as its
 * transfer ends).  Callers that make one request at a time (the queue's
 * actions, the check) then make it with api_call_limited: counted as sent,
 * made (api_call, no collection limits), and the limiter learns from the
 * answer.
 */
struct ratelimit;
int64_t api_limit_delay(struct ratelimit *rl, const char *method, const char *path_query, char *endpoint,
			size_t n);
bool api_limit_take(struct ratelimit *rl, const char *method, const char *path_query, char *endpoint,
		    size_t n, int64_t *wait_ms);
int api_call_limited(struct ratelimit *rl, const char *endpoint, struct http_client *c, const char *method,
		     const char *path_query, const char *content_type, const char *body, size_t body_len,
		     const char *collection, json_item_fn fn, void *ctx, struct api_result *out,
		     struct fl_error *err);

/*
 * The same call as a transfer that the caller's curl multi handle runs
 * beside others (http_xfer): begin sets up easy for it (the items go to fn
 * as the body arrives, on the thread running the multi handle); end, with
 * curl's CURLcode once the transfer is done, gives api_call()'s verdict,
 * without its second try after a 401: api_needs_reauth() tells when one is
 * due, and api_reauth() renews the token for it (FL_OK) or says why not
 * (rc stands, or the token service's failure).  drop forgets a transfer
 * begun and never ended.  x stays where it is while the transfer runs.
 */
struct api_sink {
	struct json_parser *parser;
	struct http_response *resp;
	bool started;
};

struct api_xfer {
	struct http_xfer http;
	struct api_sink sink;
	struct json_parser *parser;
	struct api_result *out;
};

int api_xfer_begin(struct http_client *c, struct api_xfer *x, void *easy, const char *method,
		   const char *path_query, const char *content_type, const char *body, size_t body_len,
		   const char *collection, const struct json_limits *limits, json_item_fn fn, void *ctx,
		   struct api_result *out, struct fl_error *err);
int api_xfer_end(struct api_xfer *x, int curl_code, struct fl_error *err);
void api_xfer_drop(struct api_xfer *x);
bool api_needs_reauth(struct http_client *c, const struct api_result *r);
int api_reauth(struct http_client *c, const char *method, const char *path_query, int rc,
	       struct fl_error *err);

/* True for failures worth retrying later: network, timeout, 5xx, 429. */
bool api_transient(int rc, const struct api_result *r);

#endif
