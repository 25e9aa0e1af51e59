/*
 * sync_window.c — the paging shapes of streams without ids to ask for:
 * half-open time windows (keyset paging while results come in time order,
 * plain offsets when they do not) and plain offset paging to a short page.
 */
#include <stdio.h>
#include <string.h>

#include "sync_internal.h"

/* ---- time windows --------------------------------------------------------- */

/*
 * Paging [from, to) of a stream.  While items come in time order, each
 * page asks from_time = t_last with offset = items already seen at t_last
 * (keyset paging): no offset grows deep, and an item moving out of an
 * updated-time window cannot shift an unseen one past us.  The reference
 * does not promise an order, so every page is checked; if it is broken the
 * window is read again with plain offsets, and the cursor waits for its end.
 * The plan decides all that from the pages alone, on the reading side.
 *
 * Side by side: once a page has shown how densely the window is filled,
 * what is left of it, [t_last, to), may be split in time into sub-windows
 * read as chains of their own (sync_pipe.c).  The API's windows are half
 * open (from inclusive, to exclusive, every windowed endpoint of the
 * reference), so an item whose time is an edge is in exactly one of them.
 */
struct window_plan {
	const struct sync_window_spec *spec;
	const struct sync_run *run;  /* its options and log, read only */
	int64_t from, to;
	int64_t t_last;     /* time of the newest item seen */
	int64_t k;          /* items seen with time == t_last */
	int64_t span;       /* the time the last full page covered */
	bool ordered;       /* every item so far came in non-decreasing time order */
	bool keyset;        /* paging by t_last and k, not by offset */
	int64_t offset;     /* items of the window read, for offset paging */
	int pages;          /* pages read */
	bool done;          /* the page was the window's last */
};

static void window_see(struct window_plan *w, struct sync_page *pg, const struct json_item *it)
{
	int64_t t;

	if (!w->spec->time(it, &t)) {
		w->ordered = false;
	} else if (t < w->from || t >= w->to) {
		sync_page_note(pg, w->run, "%s: item time %lld outside the window [%lld, %lld)",
			       w->spec->stream, (long long)t, (long long)w->from, (long long)w->to);
		w->ordered = false;
	} else if (t == w->t_last) {
		w->k++;
	} else if (t > w->t_last) {
		w->t_last = t;
		w->k = 1;
	} else {
		w->ordered = false;
	}
}

static bool window_next(void *state, struct sync_page *prev, struct fl_error *err)
{
	struct window_plan *w = state;
	int64_t first = w->t_last;

	(void)err;
	if (!prev)
		return w->from < w->to;
	for (size_t i = 0; i < prev->nitems; i++)
		window_see(w, prev, &prev->items[i]);
	w->pages++;
	if (w->keyset && !w->ordered) {
		/* Out of order: read the whole window again by offset. */
		sync_page_note(prev, w->run, "%s: results not in time order; paging [%lld, %lld) by offset",
			       w->spec->stream, (long long)w->from, (long long)w->to);
		w->keyset = false;
		w->offset = 0;
		return true;
	}
	w->offset += (int64_t)prev->res.env.items;
	w->done = prev->res.env.items < (size_t)w->run->opt->page_limit;
	if (prev->nitems > 0 && w->spec->time(&prev->items[0], &first))
		w->span = w->t_last - first;
	return !w->done;
}

static bool window_query(const void *state, struct buf *q, struct fl_error *err)
{
	const struct window_plan *w = state;
	const struct sync_window_spec *spec = w->spec;

	if (!buf_puts(q, spec->base_query) ||
	    !buf_printf(q, "%s%s=%lld&%s=%lld&limit=%d&offset=%lld",
			strchr(spec->base_query, '?') ? "&" : "?",
			spec->from_param, (long long)(w->keyset ? w->t_last : w->from),
			spec->to_param, (long long)w->to, w->run->opt->page_limit,
			(long long)(w->keyset ? w->k : w->offset))) {
		error_set(err, FL_ERR_NOMEM, "%s: query too long", spec->stream);
		return false;
	}
	return true;
}

/*
 * The last 1/parts of [t_last, to) to a sub-window of its own, when a full
 * page has shown that many pages are left: about (to - t_last) / span.
 */
static bool window_split(void *state, void *right, int parts)
{
	struct window_plan *w = state, *r = right;
	int64_t left = w->to - w->t_last, pages, cut;

	if (!w->keyset || !w->ordered || w->pages == 0 || w->done)
		return false;
	/* Each part some pages long: a part's last page is short, one request more. */
	pages = w->span > 0 ? left / w->span : left > 1 ? 4 * parts : 0;
	if (pages / 4 < parts)
		parts = (int)(pages / 4);
	if (parts < 2)
		return false;
	cut = w->to - left / parts;
	if (cut <= w->t_last || cut >= w->to)
		return false;
	*r = *w;
	r->from = r->t_last = cut;
	r->k = r->offset = 0;
	r->pages = 0;
	w->to = cut;
	return true;
}

/* Where the cursor may go: all below it is stored (the pipe's frontier). */
static int64_t window_covered(const struct window_plan *front, int64_t from)
{
	int64_t at = front->keyset && front->ordered && front->t_last > front->from ? front->t_last
										      : front->from;

	return at > from ? at : from;
}

/*
 * Read [from, to) of spec, storing each page with the batches' cursors.
 * The cursor is cursor_stream's in sync_state, written with extra; it moves
 * only as far as the sub-windows are stored without a gap, in the
 * transaction of the rows it covers.
 */
static int window_read(struct sync_run *run, const struct sync_window_spec *spec, int64_t from, int64_t to,
		       const char *cursor_stream, const char *extra)
{
	struct window_plan plan = { .spec = spec, .run = run, .from = from, .to = to,
				    .t_last = from, .ordered = true, .keyset = true };
	struct sync_plan sp = { window_next, window_query, window_split, &plan, sizeof plan };
	struct window_plan after, front;
	struct sync_pipe *pipe;
	struct api_result res;
	int64_t first_total = -1, covered = from;
	bool more, gap;
	int rc;

	rc = sync_pipe_start(run, spec->collection, &sp, &pipe);
	while (!rc && !(rc = sync_pipe_take(pipe, spec->store, &after, &res, &more)) && more) {
		if (first_total < 0 && res.env.total_count >= 0 && run->cur && run->cur->total < 0)
			run->cur->total = first_total = res.env.total_count;
		sync_progress(run, false, NULL);
		if (sync_batch_full(run)) {
			int64_t at = sync_pipe_frontier(pipe, &front) ? window_covered(&front, from) : to;

			rc = at > covered ? sync_state_cursor(run, cursor_stream, at, extra) : FL_OK;
			if (!rc)
				covered = at;
			if (!rc)
				rc = sync_tx_maybe_commit(run, true);
		}
		if (!rc && sync_stopping(run))
			rc = error_set(&run->err, FL_ERR_ABORTED, "stopped");
	}
	gap = sync_pipe_frontier(pipe, &front);
	sync_pipe_end(pipe);
	if (!rc && !gap)
		return sync_state_cursor(run, cursor_stream, to, extra);
	/* Interrupted: keep what the stored pages cover without a gap. */
	if (gap && !run->sh->fatal && rc != FL_ERR_DB && rc != FL_ERR_IO && rc != FL_ERR_READONLY) {
		int64_t at = window_covered(&front, from);

		if (at > covered)
			sync_state_cursor(run, cursor_stream, at, extra);
	}
	return rc;
}

/* ---- deep reconciliation -------------------------------------------------- */

/*
 * The windows only ever look back opt->lookback_s before their cursor, so a
 * record the API starts returning later than that behind its own time would
 * never be seen.  Every opt->reconcile_every_s on the server's clock each
 * windowed stream re-reads the last opt->reconcile_lookback_s below its
 * cursor, one slice of opt->reconcile_slices per pass so that no pass
 * spikes.  Its state is the sync_state row "reconcile:STREAM": cursor is
 * where the next slice starts, cursor_extra {"end":E,"due":D} the end of
 * the round and when the next round is due; rows_synced counts the rows the
 * rounds inserted or changed, the repaired ones that polling had missed.
 */
#define RECONCILE_PREFIX "reconcile:"

static bool reconcile_extra(const char *extra, int64_t *end, int64_t *due)
{
	long long e, d;

	if (sscanf(extra, "{\"end\":%lld,\"due\":%lld}", &e, &d) != 2)
		return false;
	*end = e;
	*due = d;
	return true;
}

static int reconcile_count(struct sync_run *run, const char *stream, int64_t repaired)
{
	sqlite3_stmt *st;
	int rc = FL_OK;

	if (sqlite3_prepare_v2(run->db->sql,
			       "UPDATE sync_state SET rows_synced = rows_synced + ?2, last_success = ?3 "
			       "WHERE stream = ?1", -1, &st, NULL) != SQLITE_OK) {
		store_error(run->db, "count repaired rows of %s", stream);
		return error_copy(&run->err, &run->db->err);
	}
	sqlite3_bind_text(st, 1, stream, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, repaired);
	sqlite3_bind_int64(st, 3, run->server_now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		store_error(run->db, "count repaired rows of %s", stream);
		rc = error_copy(&run->err, &run->db->err);
	}
	sqlite3_finalize(st);
	return rc;
}

/* One slice of spec's reconciliation, when a round is running or due. */
static int window_reconcile(struct sync_run *run, const struct sync_window_spec *spec, int64_t covered)
{
	const struct sync_options *o = run->opt;
	struct sync_cursor cur;
	char name[256], extra[96];
	int64_t end = 0, due = 0, pos, slice, rows_before, from, to;
	int rc;

	if (o->reconcile_every_s <= 0 || o->reconcile_lookback_s <= 0)
		return FL_OK;
	snprintf(name, sizeof name, RECONCILE_PREFIX "%s", spec->stream);
	rc = sync_state_load(run, name, &cur);
	if (rc)
		return rc;
	if (!reconcile_extra(cur.extra, &end, &due)) {
		/* Never reconciled: the first round is due one cadence after the first sync. */
		snprintf(extra, sizeof extra, "{\"end\":0,\"due\":%lld}",
			 (long long)(run->server_now + o->reconcile_every_s));
		return sync_state_cursor(run, name, 0, extra);
	}
	pos = cur.cursor;
	if (pos >= end) {
		if (run->server_now < due)
			return FL_OK;
		/* A new round: what the windows' own lookback does not cover again. */
		end = covered - o->lookback_s;
		pos = end - o->reconcile_lookback_s;
		if (pos < 0)
			pos = 0;
		due = run->server_now + o->reconcile_every_s;
		if (pos >= end)
			return FL_OK;
		sync_log(run, "%s: reconciling [%lld, %lld) in %d slices", spec->stream,
			 (long long)pos, (long long)end, o->reconcile_slices);
	}
	slice = (o->reconcile_lookback_s + o->reconcile_slices - 1) / o->reconcile_slices;
	from = pos;
	to = pos + slice < end ? pos + slice : end;
	snprintf(extra, sizeof extra, "{\"end\":%lld,\"due\":%lld}", (long long)end, (long long)due);
	rows_before = run->cur ? run->cur->rows : 0;
	rc = window_read(run, spec, from, to, name, extra);
	if (run->cur && run->cur->rows > rows_before) {
		int64_t repaired = run->cur->rows - rows_before;
		int crc;

		sync_log(run, "%s: reconciliation repaired %lld rows in [%lld, %lld)", spec->stream,
			 (long long)repaired, (long long)from, (long long)to);
		/* With the rows, in their transaction: a rollback forgets both. */
		crc = sync_tx_begin(run);
		if (!crc)
			crc = reconcile_count(run, name, repaired);
		if (!rc)
			rc = crc;
	}
	return rc;
}

int sync_window(struct sync_run *run, const struct sync_window_spec *spec)
{
	struct sync_cursor cur;
	int64_t from, to;
	int rc;

	rc = sync_state_load(run, spec->stream, &cur);
	if (rc)
		return rc;
	to = run->server_now - run->opt->safety_lag_s;
	from = cur.has_cursor ? cur.cursor - run->opt->lookback_s : 0;
	if (from < 0)
		from = 0;
	if (from < to) {
		rc = window_read(run, spec, from, to, spec->stream, NULL);
		if (rc)
			return rc;
	}
	/* Only a stream that has caught up reconciles, and only below where it is. */
	return cur.has_cursor ? window_reconcile(run, spec, to > cur.cursor ? to : cur.cursor) : FL_OK;
}

/* ---- plain paging --------------------------------------------------------- */

struct paged_plan {
	const char *base_query;
	int limit;
	int64_t offset;
	bool done;          /* the page was the last, a short one */
};

static bool paged_next(void *state, struct sync_page *prev, struct fl_error *err)
{
	struct paged_plan *p = state;

	(void)err;
	if (prev) {
		p->done = prev->res.env.items < (size_t)p->limit;
		if (p->done)
			return false;
		p->offset += (int64_t)prev->res.env.items;
	}
	return true;
}

static bool paged_query(const void *state, struct buf *q, struct fl_error *err)
{
	const struct paged_plan *p = state;

	if (!buf_printf(q, "%s%slimit=%d&offset=%lld", p->base_query,
			strchr(p->base_query, '?') ? "&" : "?", p->limit, (long long)p->offset)) {
		error_set(err, FL_ERR_NOMEM, "query too long");
		return false;
	}
	return true;
}

int sync_paged(struct sync_run *run, const char *base_query, const char *collection,
	       sync_store_fn fn)
{
	struct paged_plan plan = { .base_query = base_query, .limit = run->opt->page_limit };
	struct sync_plan sp = { paged_next, paged_query, NULL, &plan, sizeof plan };
	struct paged_plan after;
	struct sync_pipe *pipe;
	struct api_result res;
	bool first = true, more;
	int rc;

	rc = sync_pipe_start(run, collection, &sp, &pipe);
	while (!rc && !(rc = sync_pipe_take(pipe, fn, &after, &res, &more)) && more) {
		if (first && res.env.total_count >= 0 && run->cur)
			run->cur->total = res.env.total_count;
		first = false;
		sync_progress(run, false, NULL);
		if (after.done)
			break;
		rc = sync_tx_maybe_commit(run, false);
		if (!rc && sync_stopping(run))
			rc = error_set(&run->err, FL_ERR_ABORTED, "stopped");
	}
	sync_pipe_end(pipe);
	return rc;
}
