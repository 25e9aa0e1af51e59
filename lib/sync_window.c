/*
 * sync_window.c — the paging shapes of streams without ids to ask for:
 * half-open time windows (keyset paging while results come in time order,
 * plain offsets when they do not) and plain offset paging to a short page.
 */
#include <stdio.h>
#include <string.h>

#include "sync_internal.h"

/* ---- time windows --------------------------------------------------------- */

struct window_ctx {
	const struct sync_window_spec *spec;
	sync_store_fn store;
	int64_t t_last;     /* time of the newest item seen */
	int64_t k;          /* items seen with time == t_last */
	bool ordered;       /* every item so far came in non-decreasing time order */
	int64_t from, to;
};

static int window_item(struct sync_run *run, const struct json_item *it)
{
	struct window_ctx *w = run->window;
	int64_t t;
	int rc = w->spec->store(run, it);

	if (rc)
		return rc;
	if (!w->spec->time(it, &t)) {
		w->ordered = false;
		return FL_OK;
	}
	if (t < w->from || t >= w->to) {
		sync_log(run, "%s: item time %lld outside the window [%lld, %lld)", w->spec->stream,
			 (long long)t, (long long)w->from, (long long)w->to);
		w->ordered = false;
	} else if (t == w->t_last) {
		w->k++;
	} else if (t > w->t_last) {
		w->t_last = t;
		w->k = 1;
	} else {
		w->ordered = false;
	}
	return FL_OK;
}

/*
 * Page [from, to) of a stream.  While items come in time order, each page
 * asks from_time = t_last with offset = items already seen at t_last
 * (keyset paging): no offset grows deep, and an item moving out of an
 * updated-time window cannot shift an unseen one past us.  The reference
 * does not promise an order, so every page is checked; if it is broken the
 * window is read again with plain offsets, and the cursor waits for its end.
 */
int sync_window(struct sync_run *run, const struct sync_window_spec *spec)
{
	struct sync_cursor cur;
	struct window_ctx w = { .spec = spec, .ordered = true };
	struct api_result res;
	struct buf q;
	int64_t offset = 0, pages = 0, first_total = -1;
	int rc;
	bool keyset = true, done = false;

	rc = sync_state_load(run, spec->stream, &cur);
	if (rc)
		return rc;
	w.to = run->server_now - run->opt->safety_lag_s;
	w.from = cur.has_cursor ? cur.cursor - run->opt->lookback_s : 0;
	if (w.from < 0)
		w.from = 0;
	if (w.from >= w.to)
		return FL_OK;
	w.t_last = w.from;
	w.k = 0;
	buf_init(&q, 8192);
	run->window = &w;

	while (!done) {
		struct window_ctx before = w;

		buf_reset(&q);
		if (!buf_puts(&q, spec->base_query) ||
		    !buf_printf(&q, "%s%s=%lld&%s=%lld&limit=%d&offset=%lld",
				strchr(spec->base_query, '?') ? "&" : "?",
				spec->from_param, (long long)(keyset ? w.t_last : w.from),
				spec->to_param, (long long)w.to, run->opt->page_limit,
				(long long)(keyset ? w.k : offset))) {
			rc = error_set(&run->err, FL_ERR_NOMEM, "%s: query too long", spec->stream);
			break;
		}
		rc = sync_get(run, q.data, spec->collection, window_item, &res);
		if (rc) {
			w = before; /* the page was undone */
			break;
		}
		pages++;
		if (first_total < 0 && res.env.total_count >= 0 && run->cur)
			run->cur->total = first_total = res.env.total_count;
		if (keyset && !w.ordered) {
			/* Out of order: read the whole window again by offset. */
			sync_log(run, "%s: results not in time order; paging [%lld, %lld) by offset",
				 spec->stream, (long long)w.from, (long long)w.to);
			keyset = false;
			offset = 0;
			continue;
		}
		offset += (int64_t)res.env.items;
		done = res.env.items < (size_t)run->opt->page_limit;
		sync_progress(run, false, NULL);
		if (!done && sync_batch_full(run)) {
			/* In order, everything before t_last is stored: the cursor moves there. */
			rc = keyset && w.t_last > w.from ? sync_state_cursor(run, spec->stream, w.t_last, NULL)
							  : FL_OK;
			if (!rc)
				rc = sync_tx_maybe_commit(run, true);
			if (rc)
				break;
		}
		if (sync_stopping(run) && !done) {
			rc = error_set(&run->err, FL_ERR_ABORTED, "stopped");
			break;
		}
	}
	run->window = NULL;
	buf_free(&q);
	if (done)
		return sync_state_cursor(run, spec->stream, w.to, NULL);
	/* Interrupted: keep what the stored pages cover, when order tells. */
	if (keyset && w.ordered && w.t_last > w.from && rc != FL_ERR_DB && rc != FL_ERR_IO)
		sync_state_cursor(run, spec->stream, w.t_last, NULL);
	return rc;
}

/* ---- plain paging --------------------------------------------------------- */

int sync_paged(struct sync_run *run, const char *base_query, const char *collection,
	       sync_store_fn fn)
{
	struct api_result res;
	struct buf q;
	int64_t offset = 0;
	int rc = FL_OK;

	buf_init(&q, 8192);
	for (;;) {
		buf_reset(&q);
		if (!buf_printf(&q, "%s%slimit=%d&offset=%lld", base_query,
				strchr(base_query, '?') ? "&" : "?", run->opt->page_limit, (long long)offset)) {
			rc = error_set(&run->err, FL_ERR_NOMEM, "query too long");
			break;
		}
		rc = sync_get(run, q.data, collection, fn, &res);
		if (rc)
			break;
		if (offset == 0 && res.env.total_count >= 0 && run->cur)
			run->cur->total = res.env.total_count;
		sync_progress(run, false, NULL);
		if (res.env.items < (size_t)run->opt->page_limit)
			break;
		offset += (int64_t)res.env.items;
		rc = sync_tx_maybe_commit(run, false);
		if (rc)
			break;
		if (sync_stopping(run)) {
			rc = error_set(&run->err, FL_ERR_ABORTED, "stopped");
			break;
		}
	}
	buf_free(&q);
	return rc;
}

