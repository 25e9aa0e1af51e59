/*
 * sync_window.c — the paging shapes of streams without ids to ask for:
 * half-open time windows (keyset paging while results come in time order,
 * plain offsets when they do not) and plain offset paging to a short page.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

_Static_assert(sizeof(struct window_plan) <= SYNC_PLAN_STATE_MAX, "a window plan fits a page's state");

void sync_window_plan(const struct sync_run *run, const struct sync_window_spec *spec, int64_t from, int64_t to,
		      struct sync_plan *sp, void *state)
{
	struct window_plan *w = state;

	*w = (struct window_plan){ .spec = spec, .run = run, .from = from, .to = to,
				   .t_last = from, .ordered = true, .keyset = true };
	*sp = (struct sync_plan){ window_next, window_query, window_split, state, sizeof *w };
}

/* Where the cursor may go: all below it is stored (the pipe's frontier). */
static int64_t window_covered(const struct window_plan *front, int64_t from)
{
	int64_t at = front->keyset && front->ordered && front->t_last > front->from ? front->t_last
										      : front->from;

	return at > from ? at : from;
}

int64_t sync_window_covered(const void *state, int64_t from)
{
	return window_covered(state, from);
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
	struct window_plan plan, after, front;
	struct sync_plan sp;
	struct sync_pipe *pipe;
	struct api_result res;
	int64_t first_total = -1, covered = from;
	bool more, gap;
	int rc;

	sync_window_plan(run, spec, from, to, &sp, &plan);
	rc = sync_pipe_start(run, spec->collection, &sp, &pipe);
	while (!rc && !(rc = sync_pipe_take(pipe, spec->store, &after, &res, &more)) && more) {
		/* The window's total is what its first page says, not a sub-window's. */
		if (first_total < 0 && after.from == from && after.pages == 1 && res.env.total_count >= 0 &&
		    run->cur && run->cur->total < 0)
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
	if (gap && !sync_fatal(run->sh) && rc != FL_ERR_DB && rc != FL_ERR_IO && rc != FL_ERR_READONLY) {
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
 * cursor: a round.  Its state is the sync_state row "reconcile:STREAM":
 * cursor is where the next slice starts, cursor_extra the round (end, start,
 * began, due: the round covers [start, end), began on the server's clock at
 * began, and the next is due at due = began + cadence, the round's
 * deadline), the next slice's span, and what it has cost (requests, passes,
 * and this pass's requests); rows_synced counts the rows the rounds inserted
 * or changed, the repaired ones that polling had missed.
 *
 * A round is paced by requests, not by passes.  A pass reads slices of the
 * round until both (a) it has spent opt->reconcile_budget requests on it and
 * (b) the round has reached the share of its span that the cadence will
 * have used up by the next pass, (now + gap - began) / (due - began), where
 * gap is the time since the previous pass (the stream's last success).
 * When the next pass, as far off as the previous one plus a quarter, would
 * come at or after the deadline, the pass finishes the round.  A round
 * starts at the pass nearest its due time (now + gap / 2 >= due), and the
 * next is due a cadence after this one was, so passes a little early or
 * late neither skip a round nor let the schedule drift.  So a small
 * round (a whole week in fewer requests than the budget) completes in the
 * pass that finds it due, and a large one spreads over the passes that the
 * cadence leaves, whatever their spacing: once a day, the round completes
 * in that day's pass; hourly, about 1/24 of it a pass.  The first round's
 * slices start at reconcile_lookback / reconcile_slices, the next round's
 * at the span the last one ended with; a slice doubles after each one that
 * fit in a single page (a quiet stretch costs one request however long it
 * is) and halves (not below the first) after one that took more than 4.
 */
#define RECONCILE_PREFIX "reconcile:"
#define RECONCILE_BUDGET_DEFAULT 16

struct reconcile_round {
	int64_t end, start;   /* the round reads [start, end) */
	int64_t began, due;   /* when it began, and its deadline (the next round's due time) */
	int64_t span;         /* the next slice's length */
	int64_t requests;     /* spent on the round so far */
	int64_t passes;       /* passes that read part of it */
	int64_t pass, spent;  /* the last pass that read (its server_now), and what it spent */
};

/* The value of "key": in extra, or false when it is not there. */
static bool extra_int(const char *extra, const char *key, int64_t *out)
{
	char pat[32];
	const char *p;
	char *e;
	long long v;

	snprintf(pat, sizeof pat, "\"%s\":", key);
	p = strstr(extra, pat);
	if (!p)
		return false;
	v = strtoll(p + strlen(pat), &e, 10);
	if (e == p + strlen(pat))
		return false;
	*out = v;
	return true;
}

/* A round's state; older rows ({"end":E,"due":D} alone) get the rest from the options. */
static bool reconcile_extra(const struct sync_run *run, const char *extra, struct reconcile_round *r)
{
	const struct sync_options *o = run->opt;

	memset(r, 0, sizeof *r);
	if (!extra_int(extra, "end", &r->end) || !extra_int(extra, "due", &r->due))
		return false;
	if (!extra_int(extra, "start", &r->start))
		r->start = r->end - o->reconcile_lookback_s > 0 ? r->end - o->reconcile_lookback_s : 0;
	if (!extra_int(extra, "began", &r->began))
		r->began = r->due - o->reconcile_every_s;
	if (!extra_int(extra, "span", &r->span) || r->span <= 0)
		r->span = (o->reconcile_lookback_s + o->reconcile_slices - 1) / o->reconcile_slices;
	extra_int(extra, "requests", &r->requests);
	extra_int(extra, "passes", &r->passes);
	extra_int(extra, "pass", &r->pass);
	extra_int(extra, "spent", &r->spent);
	return true;
}

static void reconcile_format(const struct reconcile_round *r, char *buf, size_t n)
{
	snprintf(buf, n, "{\"end\":%lld,\"due\":%lld,\"start\":%lld,\"began\":%lld,\"span\":%lld,"
		 "\"requests\":%lld,\"passes\":%lld,\"pass\":%lld,\"spent\":%lld}",
		 (long long)r->end, (long long)r->due, (long long)r->start, (long long)r->began,
		 (long long)r->span, (long long)r->requests, (long long)r->passes, (long long)r->pass,
		 (long long)r->spent);
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

/*
 * Where this pass must take the round to (*target) and the requests it may
 * spend on it regardless (the return): the rule above.  INT64_MAX finishes it.
 */
static int64_t reconcile_pace(struct sync_run *run, const struct reconcile_round *r, int64_t gap,
			      int64_t *target)
{
	const struct sync_options *o = run->opt;
	int64_t now = run->server_now, length = r->due - r->began;

	if (length <= 0 || now + gap + gap / 4 >= r->due) {
		*target = r->end;
		return INT64_MAX;
	}
	*target = r->start + (int64_t)((double)(r->end - r->start) *
				       (double)(now + gap - r->began) / (double)length);
	return o->reconcile_budget > 0 ? o->reconcile_budget : RECONCILE_BUDGET_DEFAULT;
}

/* Read [from, to) of the round: its repaired rows counted, its cost and next span kept. */
static int reconcile_slice(struct sync_run *run, const struct sync_window_spec *spec, const char *name,
			   struct reconcile_round *r, int64_t from, int64_t to)
{
	const struct sync_options *o = run->opt;
	int64_t rows_before = run->cur ? run->cur->rows : 0, req_before = run->cur ? run->cur->requests : 0;
	int64_t cost, repaired, first = (o->reconcile_lookback_s + o->reconcile_slices - 1) / o->reconcile_slices;
	char extra[320];
	int rc, crc;

	if (r->pass != run->server_now) {
		r->pass = run->server_now;
		r->spent = 0;
		r->passes++;
	}
	reconcile_format(r, extra, sizeof extra);
	rc = window_read(run, spec, from, to, name, extra);
	cost = run->cur ? run->cur->requests - req_before : 1;
	repaired = run->cur ? run->cur->rows - rows_before : 0;
	r->spent += cost;
	r->requests += cost;
	if (cost <= 1 && r->span < o->reconcile_lookback_s)
		r->span *= 2;
	else if (cost > 4 && r->span / 2 >= first)
		r->span /= 2;
	if (repaired > 0)
		sync_log(run, "%s: reconciliation repaired %lld rows in [%lld, %lld)", spec->stream,
			 (long long)repaired, (long long)from, (long long)to);
	if (rc)
		return rc;
	/* With the rows, in their transaction: a rollback forgets them all. */
	reconcile_format(r, extra, sizeof extra);
	crc = sync_state_cursor(run, name, to, extra);
	if (!crc && repaired > 0)
		crc = reconcile_count(run, name, repaired);
	return crc;
}

/*
 * Start a round when one is due, or will be before the next pass is halfway
 * here (a daily cron a few seconds early does not wait a day): false when
 * none is (or there is nothing to read).  The next is due a cadence after
 * this one was, or a cadence from now when that has passed already.
 */
static bool reconcile_start(struct sync_run *run, const struct sync_window_spec *spec, int64_t covered,
			    int64_t gap, struct reconcile_round *r)
{
	const struct sync_options *o = run->opt;

	if (run->server_now + gap / 2 < r->due)
		return false;
	/* What the windows' own lookback does not cover again. */
	r->end = covered - o->lookback_s;
	r->start = r->end - o->reconcile_lookback_s > 0 ? r->end - o->reconcile_lookback_s : 0;
	r->began = run->server_now;
	r->due = r->due + o->reconcile_every_s > run->server_now ? r->due + o->reconcile_every_s
								  : run->server_now + o->reconcile_every_s;
	/* The span the last round ended with: what a slice of this stream costs now. */
	if (r->span > o->reconcile_lookback_s)
		r->span = o->reconcile_lookback_s;
	if (r->span < (o->reconcile_lookback_s + o->reconcile_slices - 1) / o->reconcile_slices)
		r->span = (o->reconcile_lookback_s + o->reconcile_slices - 1) / o->reconcile_slices;
	r->requests = r->passes = r->pass = r->spent = 0;
	if (r->start >= r->end)
		return false;
	sync_log(run, "%s: reconciling [%lld, %lld), due by %lld", spec->stream, (long long)r->start,
		 (long long)r->end, (long long)r->due);
	return true;
}

/* The slices of spec's reconciliation this pass owes, when a round is running or due. */
static int window_reconcile(struct sync_run *run, const struct sync_window_spec *spec, int64_t covered)
{
	const struct sync_options *o = run->opt;
	struct reconcile_round r;
	struct sync_cursor cur;
	struct sync_cursor prev;
	char name[256], extra[320];
	int64_t pos, budget, target, gap = 0;
	int rc;

	if (o->reconcile_every_s <= 0 || o->reconcile_lookback_s <= 0)
		return FL_OK;
	snprintf(name, sizeof name, RECONCILE_PREFIX "%s", spec->stream);
	rc = sync_state_load(run, name, &cur);
	if (rc)
		return rc;
	if (!reconcile_extra(run, cur.extra, &r)) {
		/* Never reconciled: the first round is due one cadence after the first sync. */
		memset(&r, 0, sizeof r);
		r.due = run->server_now + o->reconcile_every_s;
		reconcile_format(&r, extra, sizeof extra);
		return sync_state_cursor(run, name, 0, extra);
	}
	/* The time since the previous pass: the stream's last success. */
	if (sync_state_load(run, spec->stream, &prev) == FL_OK && prev.last_success > 0 &&
	    prev.last_success < run->server_now)
		gap = run->server_now - prev.last_success;
	pos = cur.cursor;
	if (pos >= r.end) {
		if (!reconcile_start(run, spec, covered, gap, &r))
			return FL_OK;
		pos = r.start;
	}
	budget = reconcile_pace(run, &r, gap, &target);
	if (r.pass != run->server_now)
		r.spent = 0;
	while (pos < r.end && (r.spent < budget || pos < target) && !sync_stopping(run)) {
		int64_t to = pos + r.span < r.end ? pos + r.span : r.end;

		rc = reconcile_slice(run, spec, name, &r, pos, to);
		if (rc)
			return rc;
		pos = to;
	}
	if (pos >= r.end)
		sync_log(run, "%s: reconciliation round complete: %lld requests over %lld passes", spec->stream,
			 (long long)r.requests, (long long)r.passes);
	else
		sync_log(run, "%s: reconciliation at %lld of [%lld, %lld), %lld requests this pass", spec->stream,
			 (long long)pos, (long long)r.start, (long long)r.end, (long long)r.spent);
	return FL_OK;
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
	const char *const *bases;   /* each read by offset to a short page */
	size_t b, b_end;            /* this chain's: bases[b, b_end) */
	int limit;
	int64_t offset;
};

static bool paged_next(void *state, struct sync_page *prev, struct fl_error *err)
{
	struct paged_plan *p = state;

	(void)err;
	if (!prev)
		return p->b < p->b_end;
	if (prev->res.env.items >= (size_t)p->limit) {
		p->offset += (int64_t)prev->res.env.items;
		return true;
	}
	p->offset = 0; /* a short page: this base is read, on to the next */
	return ++p->b < p->b_end;
}

static bool paged_query(const void *state, struct buf *q, struct fl_error *err)
{
	const struct paged_plan *p = state;
	const char *base = p->bases[p->b];

	if (!buf_printf(q, "%s%slimit=%d&offset=%lld", base, strchr(base, '?') ? "&" : "?", p->limit,
			(long long)p->offset)) {
		error_set(err, FL_ERR_NOMEM, "query too long");
		return false;
	}
	return true;
}

/* The bases not begun yet, the last 1/parts of them, to a chain of their own. */
static bool paged_split(void *state, void *right, int parts)
{
	struct paged_plan *p = state, *r = right;
	size_t begin = p->offset > 0 ? p->b + 1 : p->b, left = p->b_end - begin;
	size_t give = left / (size_t)parts;

	if (p->offset == 0 && give >= left)
		give = left - 1;
	if (begin >= p->b_end || give == 0)
		return false;
	*r = *p;
	r->b = p->b_end - give;
	r->offset = 0;
	p->b_end = r->b;
	return true;
}

int sync_paged_all(struct sync_run *run, const char *const *bases, size_t n, const char *collection,
		   sync_store_fn fn)
{
	struct paged_plan plan = { .bases = bases, .b_end = n, .limit = run->opt->page_limit };
	struct sync_plan sp = { paged_next, paged_query, paged_split, &plan, sizeof plan };
	struct paged_plan after;
	struct sync_pipe *pipe;
	struct api_result res;
	bool first = true, more;
	int rc;

	rc = sync_pipe_start(run, collection, &sp, &pipe);
	while (!rc && !(rc = sync_pipe_take(pipe, fn, &after, &res, &more)) && more) {
		if (first && n == 1 && res.env.total_count >= 0 && run->cur)
			run->cur->total = res.env.total_count;
		first = false;
		sync_progress(run, false, NULL);
		rc = sync_tx_maybe_commit(run, false);
		if (!rc && sync_stopping(run))
			rc = error_set(&run->err, FL_ERR_ABORTED, "stopped");
	}
	sync_pipe_end(pipe);
	return rc;
}

int sync_paged(struct sync_run *run, const char *base_query, const char *collection,
	       sync_store_fn fn)
{
	const char *bases[] = { base_query };

	return sync_paged_all(run, bases, 1, collection, fn);
}
