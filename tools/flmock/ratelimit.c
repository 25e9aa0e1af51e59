/*
 * ratelimit.c — per-account, per-endpoint request windows: the API's limits
 * are per user, and each of flmock's accounts is one.  A window opens at its first request and
 * lasts the endpoint's period; the time comes from http.c: the wall clock
 * (monotonic) plus however far /_mock/advance has moved the simulator
 * clock, so a test can wait out a window instantly and deterministically.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "flmock.h"

enum { DEFAULT_LIMIT = 1000000, DEFAULT_WINDOW = 3600 };

struct window {
	int64_t start;
	long count;
	bool open;
};

struct ratelimit {
	double scale;
	size_t nroutes;
	struct window *w;          /* one per account and route: [(account - 1) * nroutes + route] */
};

struct ratelimit *ratelimit_new(double scale, size_t accounts)
{
	struct ratelimit *rl = calloc(1, sizeof *rl);

	if (!rl)
		abort();
	rl->scale = scale;
	rl->nroutes = router_count();
	rl->w = calloc(rl->nroutes * (accounts ? accounts : 1), sizeof *rl->w);
	if (!rl->w)
		abort();
	return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	free(rl->w);
	free(rl);
}

bool ratelimit_take(struct ratelimit *rl, const struct route *rt, size_t i, int account, int64_t t, bool count,
		    char *limit_hdr, size_t hdrlen, long *remaining)
{
	struct window *w = &rl->w[(size_t)(account - 1) * rl->nroutes + i];
	int period = rt->rl_limit ? rt->rl_window : DEFAULT_WINDOW;
	double scaled = (rt->rl_limit ? rt->rl_limit : DEFAULT_LIMIT) * rl->scale;
	long limit = scaled < 1 ? 1 : (long)floor(scaled);

	if (!w->open || t >= w->start + period) {
		w->open = true;
		w->start = t;
		w->count = 0;
	}
	/* Same shape as the API's: "50, 50;window=60" */
	snprintf(limit_hdr, hdrlen, "%ld, %ld;window=%d", limit, limit, period);
	if (w->count >= limit) {
		*remaining = 0;
		return false;
	}
	w->count += count;
	*remaining = limit - w->count;
	return true;
}
