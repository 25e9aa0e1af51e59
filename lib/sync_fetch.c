/*
 * sync_fetch.c — the request loop of the sync engine: one GET with rate
 * limits, retries and jittered back-off, each item of its page handed to a
 * stream's store function; and the clock, naps, -v log and progress reports
 * the streams share.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sync_internal.h"

/* ---- time --------------------------------------------------------------- */

int64_t sync_now_ms(void)
{
	return ratelimit_now_ms();
}

bool sync_stopping(const struct sync_run *run)
{
	return run->opt->stop && *run->opt->stop;
}

/* Sleep ms, waking early when asked to stop. */
void sync_nap(const struct sync_run *run, int64_t ms)
{
	while (ms > 0 && !sync_stopping(run)) {
		int64_t step = ms < 50 ? ms : 50;
		struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)step * 1000000L };

		nanosleep(&ts, NULL);
		ms -= step;
	}
}

/* ---- logging and progress ----------------------------------------------- */

void sync_log(struct sync_run *run, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!run->opt->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	run->opt->log(run->opt->ctx, line);
}

void sync_progress(struct sync_run *run, bool done, const char *error)
{
	struct sync_progress p;

	if (!run->opt->progress || !run->cur)
		return;
	p.stream = run->cur->name;
	p.rows = run->cur->rows;
	p.total = run->cur->total;
	p.requests = run->cur->requests;
	p.done = done;
	p.error = error;
	run->opt->progress(run->opt->ctx, &p);
}

/* ---- requests ----------------------------------------------------------- */

struct page_ctx {
	struct sync_run *run;
	sync_store_fn fn;
	const struct api_result *res;
	int rc;
};

static int store_item(void *ctx, const struct json_item *it)
{
	struct page_ctx *pc = ctx;

	/* The headers came first: rows of the pass's first response know the server's clock too. */
	if (!pc->run->server_now && pc->res->http.date > 0)
		pc->run->server_now = pc->run->pass_started = pc->res->http.date;
	pc->rc = pc->fn(pc->run, it);
	return pc->rc;
}

/* Back-off before try `attempt` (2, 3, ...): base * 2^(attempt-2), +-50% jitter. */
static int64_t backoff_ms(const struct sync_run *run, int attempt)
{
	int64_t ms = run->opt->retry_base_ms;

	for (int i = 2; i < attempt && ms < 60000; i++)
		ms *= 2;
	return ms / 2 + (int64_t)(rand() % (int)(ms + 1));
}

int sync_get(struct sync_run *run, const char *path_query, const char *collection,
	     sync_store_fn fn, struct api_result *res)
{
	struct page_ctx pc = { .run = run, .fn = fn, .res = res };
	struct fl_error call_err = { 0 };
	char endpoint[128];
	int rc, attempt;

	ratelimit_endpoint("GET", path_query, endpoint, sizeof endpoint);
	for (attempt = 1;; attempt++) {
		int64_t wait = ratelimit_delay_ms(run->rl, endpoint, sync_now_ms());

		if (wait > 2000)
			return error_set(&run->err, FL_ERR_RATE_LIMITED,
					 "GET %s: rate limit of %s: next request in %lld ms",
					 path_query, endpoint, (long long)wait);
		sync_nap(run, wait);
		if (sync_stopping(run))
			return error_set(&run->err, FL_ERR_ABORTED, "stopped");
		rc = sync_tx_begin(run);
		if (rc)
			return rc;

		ratelimit_sent(run->rl, endpoint, sync_now_ms());
		if (run->opt->log)
			sync_log(run, "GET %s", path_query);
		pc.rc = FL_OK;
		rc = api_call(run->http, "GET", path_query, NULL, NULL, 0, collection, NULL,
			      fn ? store_item : NULL, &pc, res, &call_err);
		if (pc.rc == FL_OK)
			error_copy(&run->err, &call_err); /* else the store's own message stays */
		run->requests_total++;
		if (run->cur)
			run->cur->requests++;
		ratelimit_observe(run->rl, endpoint, &res->http, sync_now_ms());
		run->last_status = res->http.status;
		if (!run->server_now && res->http.date > 0)
			run->server_now = run->pass_started = res->http.date;

		if (rc == FL_OK)
			return FL_OK;
		if (pc.rc != FL_OK)
			return pc.rc; /* the store failed: its message is in run->err */
		if (rc == FL_ERR_RATE_LIMITED || !api_transient(rc, res) ||
		    attempt >= run->opt->max_attempts)
			return rc;
		sync_log(run, "retrying after: %s", run->err.msg);
		sync_nap(run, backoff_ms(run, attempt + 1));
	}
}

