/*
 * ratelimit.h — per-endpoint request budgets shared by reads and writes:
 * the limits the API reference documents (e.g. create bid 500/hour, create
 * project 50/hour, users 200/minute), tightened by what RateLimit-* headers
 * say, and a pause with back-off after each 429 (Retry-After when given).
 * Time is the caller's monotonic milliseconds, so tests can drive it.
 */
#ifndef FL_RATELIMIT_H
#define FL_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"

struct ratelimit;

/* An endpoint's budget as reported for status displays. */
struct ratelimit_state {
	char endpoint[96];      /* "POST /api/projects/0.1/bids/" */
	long limit;             /* requests per window, -1 unknown */
	long window_s;          /* window length in seconds, -1 unknown */
	long remaining;         /* requests left in the current window, -1 unknown */
	int64_t paused_until_ms;/* 0, or the monotonic ms a 429 pause ends */
};

/*
 * Make a limiter.  scale multiplies every documented budget (1.0 as
 * documented; tests use other values to match flmock --rate-scale).
 */
int ratelimit_new(double scale, struct ratelimit **out, struct fl_error *err);
void ratelimit_free(struct ratelimit *rl);

/*
 * The endpoint family of a request: method and path with numeric ids
 * replaced by {id} and the query dropped, e.g.
 * "PUT /api/projects/0.1/bids/{id}/".  Writes at most outsz bytes.
 */
void ratelimit_endpoint(const char *method, const char *path_query, char *out, size_t outsz);

/* Milliseconds to wait before a request to endpoint may be sent; 0 = now. */
int64_t ratelimit_delay_ms(struct ratelimit *rl, const char *endpoint, int64_t now_ms);

/* A request to endpoint was sent at now_ms (counts against its budget). */
void ratelimit_sent(struct ratelimit *rl, const char *endpoint, int64_t now_ms);

/*
 * Both at once, for requests sent side by side: true (and the request
 * counted as sent) when endpoint's budget allows one now, else false with
 * the wait in *wait_ms.  Every request sent is answered by one
 * ratelimit_observe(), with or without a response: until then it is in
 * flight, and a RateLimit-Remaining figure is read as not counting it yet.
 * A limiter may be used from several threads.
 */
bool ratelimit_take(struct ratelimit *rl, const char *endpoint, int64_t now_ms, int64_t *wait_ms);

/*
 * Learn from a response to endpoint: RateLimit-Limit/Remaining headers; a
 * 429 pauses the endpoint (Retry-After if given, else exponential back-off
 * with jitter, capped); any other response ends the back-off.
 */
void ratelimit_observe(struct ratelimit *rl, const char *endpoint,
		       const struct http_response *resp, int64_t now_ms);

/*
 * Learn from a whole RateLimit-Limit header value, such as
 * "50, 50;window=60, 1000;window=3600" (every policy with its window; a bare
 * figure alone is taken as a 60 s window), and a RateLimit-Remaining value
 * (-1 if absent).  The learned windows replace earlier learned ones and add
 * to the documented limits, never loosen them.  ratelimit_observe() calls it
 * with a response's whole RateLimit-Limit value.
 */
void ratelimit_learn(struct ratelimit *rl, const char *endpoint, const char *limit_header,
		     long remaining, int64_t now_ms);

/* Up to max endpoints' states, for status displays; returns how many. */
size_t ratelimit_snapshot(struct ratelimit *rl, struct ratelimit_state *out, size_t max,
			  int64_t now_ms);

/* Monotonic milliseconds (CLOCK_MONOTONIC). */
int64_t ratelimit_now_ms(void);

#endif
