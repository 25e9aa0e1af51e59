/*
 * sync.c — the sync engine: one pass over every stream, the request loop
 * (rate limits, retries), batched transactions that
 * carry each stream's cursor with its rows, and the two paging shapes the
 * streams are made of: half-open time windows and id batches.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sync_internal.h"

#define IDS_PER_REQUEST 100

/* ---- a small set of int64 ids (open addressing) ------------------------- */

struct idset {
	int64_t *slots;   /* 0 marks an empty slot; id 0 is never stored */
	size_t cap, n;
};

static struct idset *idset_new(void)
{
	struct idset *s = calloc(1, sizeof *s);

	if (s) {
		s->cap = 1024;
		s->slots = calloc(s->cap, sizeof *s->slots);
		if (!s->slots) {
			free(s);
			s = NULL;
		}
	}
	return s;
}

static void idset_free(struct idset *s)
{
	if (s) {
		free(s->slots);
		free(s);
	}
}

static size_t idset_hash(int64_t id, size_t cap)
{
	uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ull;

	return (size_t)(h >> 17) & (cap - 1);
}

/* True when id was already present; false when added (or cannot be). */
static bool idset_add(struct idset *s, int64_t id)
{
	size_t i;

	if (!s || id == 0)
		return false;
	if ((s->n + 1) * 2 > s->cap) {
		/* Grow, or forget everything when big: it is only a cache. */
		size_t ncap = s->cap * 2;
		int64_t *ns = ncap <= (1u << 20) ? calloc(ncap, sizeof *ns) : NULL;

		if (!ns) {
			memset(s->slots, 0, s->cap * sizeof *s->slots);
			s->n = 0;
		} else {
			for (i = 0; i < s->cap; i++) {
				if (s->slots[i]) {
					size_t j = idset_hash(s->slots[i], ncap);
					while (ns[j])
						j = (j + 1) & (ncap - 1);
					ns[j] = s->slots[i];
				}
			}
			free(s->slots);
			s->slots = ns;
			s->cap = ncap;
		}
	}
	for (i = idset_hash(id, s->cap); s->slots[i]; i = (i + 1) & (s->cap - 1))
		if (s->slots[i] == id)
			return true;
	s->slots[i] = id;
	s->n++;
	return false;
}

/* ---- time --------------------------------------------------------------- */

static int64_t now_ms(void)
{
	return ratelimit_now_ms();
}

static bool stopping(const struct sync_run *run)
{
	return run->opt->stop && *run->opt->stop;
}

/* Sleep ms, waking early when asked to stop. */
void sync_nap(const struct sync_run *run, int64_t ms)
{
	while (ms > 0 && !stopping(run)) {
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

/* ---- transactions ------------------------------------------------------- */

int sync_tx_begin(struct sync_run *run)
{
	int rc;

	if (run->in_tx)
		return FL_OK;
	rc = store_begin(run->db);
	if (rc)
		return error_copy(&run->err, &run->db->err);
	run->in_tx = true;
	run->batch_rows = 0;
	run->batch_started_ms = now_ms();
	return FL_OK;
}

/* A batch ends at so many rows or so much time, whichever comes first. */
static bool batch_full(const struct sync_run *run)
{
	return run->in_tx && (run->batch_rows >= run->opt->batch_rows ||
			      now_ms() - run->batch_started_ms >= run->opt->batch_ms);
}

int sync_tx_maybe_commit(struct sync_run *run, bool force)
{
	int rc;

	if (!run->in_tx || (!force && !batch_full(run)))
		return FL_OK;
	rc = store_commit(run->db);
	if (rc) {
		store_rollback(run->db);
		run->in_tx = false;
		return error_copy(&run->err, &run->db->err);
	}
	run->in_tx = false;
	return FL_OK;
}

void sync_tx_rollback(struct sync_run *run)
{
	if (run->in_tx)
		store_rollback(run->db);
	run->in_tx = false;
}

static int exec(struct sync_run *run, const char *sql, const char *what)
{
	if (store_exec(run->db, sql, what))
		return error_copy(&run->err, &run->db->err);
	return FL_OK;
}

/* ---- statements and binding --------------------------------------------- */

int sync_stmt(struct sync_run *run, int slot, const char *sql, sqlite3_stmt **out)
{
	if (!run->stmts[slot] &&
	    sqlite3_prepare_v3(run->db->sql, sql, -1, SQLITE_PREPARE_PERSISTENT,
			       &run->stmts[slot], NULL) != SQLITE_OK) {
		store_error(run->db, "prepare statement %d", slot);
		*out = NULL;
		return error_copy(&run->err, &run->db->err);
	}
	*out = run->stmts[slot];
	return FL_OK;
}

void sync_bind_int(sqlite3_stmt *st, int col, const struct json_item *it, const char *path)
{
	int64_t v;

	if (json_int(it, path, &v))
		sqlite3_bind_int64(st, col, v);
	else
		sqlite3_bind_null(st, col);
}

void sync_bind_real(sqlite3_stmt *st, int col, const struct json_item *it, const char *path)
{
	double v;

	if (json_real(it, path, &v))
		sqlite3_bind_double(st, col, v);
	else
		sqlite3_bind_null(st, col);
}

void sync_bind_text(sqlite3_stmt *st, int col, const struct json_item *it, const char *path)
{
	const char *s;
	size_t n;

	if (json_str(it, path, &s, &n))
		sqlite3_bind_text(st, col, s, (int)n, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, col);
}

void sync_bind_bool(sqlite3_stmt *st, int col, const struct json_item *it, const char *path)
{
	bool v;

	if (json_bool(it, path, &v))
		sqlite3_bind_int(st, col, v);
	else
		sqlite3_bind_null(st, col);
}

void sync_bind_raw(sqlite3_stmt *st, int col, const struct json_item *it)
{
	sqlite3_bind_text(st, col, it->raw, (int)it->raw_len, SQLITE_TRANSIENT);
}

void sync_bind_enum(sqlite3_stmt *st, int col, const struct json_item *it, const char *path,
		    const char *const *allowed)
{
	const char *s;
	size_t n;

	if (json_str(it, path, &s, &n))
		for (; *allowed; allowed++)
			if (strlen(*allowed) == n && memcmp(*allowed, s, n) == 0) {
				sqlite3_bind_text(st, col, *allowed, (int)n, SQLITE_STATIC);
				return;
			}
	sqlite3_bind_null(st, col);
}

/* Step a statement, reset it; true changes were made. */
static int step(struct sync_run *run, sqlite3_stmt *st, const char *what, int64_t id)
{
	int src = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (src != SQLITE_DONE && src != SQLITE_ROW) {
		store_error(run->db, "%s %lld", what, (long long)id);
		return error_copy(&run->err, &run->db->err);
	}
	run->changed = sqlite3_changes(run->db->sql) > 0;
	return FL_OK;
}

int sync_step(struct sync_run *run, sqlite3_stmt *st, const char *what, int64_t id)
{
	int rc = step(run, st, what, id);

	if (!rc && run->changed) {
		run->batch_rows++;
		run->rows_total++;
		if (run->cur)
			run->cur->rows++;
	}
	return rc;
}

int sync_step_aux(struct sync_run *run, sqlite3_stmt *st, const char *what, int64_t id)
{
	bool changed = run->changed;
	int rc = step(run, st, what, id);

	run->changed = changed; /* the entity row's verdict stands */
	return rc;
}

/* ---- referenced rows ---------------------------------------------------- */

static int ref(struct sync_run *run, struct idset *seen, int slot, const char *sql,
	       int64_t id, const char *what)
{
	sqlite3_stmt *st;
	int rc;

	if (id <= 0 || idset_add(seen, id))
		return FL_OK;
	rc = sync_stmt(run, slot, sql, &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		store_error(run->db, "note %s %lld", what, (long long)id);
		sqlite3_reset(st);
		return error_copy(&run->err, &run->db->err);
	}
	sqlite3_reset(st);
	return FL_OK;
}

int sync_ref_user(struct sync_run *run, int64_t id)
{
	return ref(run, run->stubbed_users, SLOT_REF_USER,
		   "INSERT INTO users(id) VALUES (?1) ON CONFLICT(id) DO NOTHING", id, "user");
}

int sync_ref_project(struct sync_run *run, int64_t id)
{
	return ref(run, run->stubbed_projects, SLOT_REF_PROJECT,
		   "INSERT INTO projects(id) VALUES (?1) ON CONFLICT(id) DO NOTHING", id, "project");
}

int sync_ref_currency(struct sync_run *run, int64_t id)
{
	return ref(run, run->stubbed_currencies, SLOT_REF_CURRENCY,
		   "INSERT INTO currencies(id) VALUES (?1) ON CONFLICT(id) DO NOTHING", id, "currency");
}

int sync_ref_job(struct sync_run *run, int64_t id)
{
	return ref(run, run->stubbed_jobs, SLOT_REF_JOB,
		   "INSERT INTO jobs(id) VALUES (?1) ON CONFLICT(id) DO NOTHING", id, "job");
}

int sync_ref_bid(struct sync_run *run, int64_t id)
{
	return ref(run, run->stubbed_bids, SLOT_REF_BID,
		   "INSERT INTO bids(id) VALUES (?1) ON CONFLICT(id) DO NOTHING", id, "bid");
}

int sync_ref_thread(struct sync_run *run, int64_t id)
{
	return ref(run, run->stubbed_threads, SLOT_REF_THREAD,
		   "INSERT INTO threads(id) VALUES (?1) ON CONFLICT(id) DO NOTHING", id, "thread");
}

int sync_touch_project(struct sync_run *run, int64_t id)
{
	sqlite3_stmt *st;
	int rc = sync_stmt(run, SLOT_TOUCH,
			   "INSERT INTO temp.touched_projects(id) VALUES (?1) ON CONFLICT DO NOTHING", &st);

	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_reset(st);
		store_error(run->db, "note touched project %lld", (long long)id);
		return error_copy(&run->err, &run->db->err);
	}
	sqlite3_reset(st);
	return FL_OK;
}

/* ---- sync_state ---------------------------------------------------------- */

int sync_state_load(struct sync_run *run, const char *stream, struct sync_cursor *out)
{
	sqlite3_stmt *st;
	int rc = FL_OK;

	memset(out, 0, sizeof *out);
	if (sqlite3_prepare_v2(run->db->sql,
			       "SELECT cursor, last_success, cursor_extra FROM sync_state WHERE stream = ?1",
			       -1, &st, NULL) != SQLITE_OK) {
		store_error(run->db, "read sync state of %s", stream);
		return error_copy(&run->err, &run->db->err);
	}
	sqlite3_bind_text(st, 1, stream, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		out->has_cursor = sqlite3_column_type(st, 0) != SQLITE_NULL;
		out->cursor = sqlite3_column_int64(st, 0);
		out->last_success = sqlite3_column_int64(st, 1);
		if (sqlite3_column_text(st, 2))
			snprintf(out->extra, sizeof out->extra, "%s", sqlite3_column_text(st, 2));
	}
	sqlite3_finalize(st);
	return rc;
}

int sync_state_cursor(struct sync_run *run, const char *stream, int64_t cursor, const char *extra)
{
	sqlite3_stmt *st;
	int rc = sync_stmt(run, SLOT_CURSOR,
			   "INSERT INTO sync_state(stream, cursor, cursor_extra) VALUES (?1, ?2, ?3) "
			   "ON CONFLICT(stream) DO UPDATE SET cursor = excluded.cursor, "
			   "cursor_extra = excluded.cursor_extra", &st);

	if (rc)
		return rc;
	rc = sync_tx_begin(run);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, stream, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, cursor);
	if (extra)
		sqlite3_bind_text(st, 3, extra, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 3);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_reset(st);
		store_error(run->db, "save cursor of %s", stream);
		return error_copy(&run->err, &run->db->err);
	}
	sqlite3_reset(st);
	return FL_OK;
}

/* Record a stream's outcome, in its own small transaction. */
int sync_state_finish(struct sync_run *run, const char *stream, int rc, const char *error)
{
	sqlite3_stmt *st;
	const char *sql = rc == FL_OK ?
		"INSERT INTO sync_state(stream, last_started, last_success, failures, rows_synced, requests) "
		"VALUES (?1, ?2, ?3, 0, ?4, ?5) ON CONFLICT(stream) DO UPDATE SET "
		"last_started = excluded.last_started, last_success = excluded.last_success, failures = 0, "
		"rows_synced = rows_synced + excluded.rows_synced, requests = requests + excluded.requests" :
		"INSERT INTO sync_state(stream, last_started, last_error, last_error_at, failures, rows_synced, requests) "
		"VALUES (?1, ?2, ?6, ?3, 1, ?4, ?5) ON CONFLICT(stream) DO UPDATE SET "
		"last_started = excluded.last_started, last_error = excluded.last_error, "
		"last_error_at = excluded.last_error_at, failures = failures + 1, "
		"rows_synced = rows_synced + excluded.rows_synced, requests = requests + excluded.requests";
	int src;

	if (sqlite3_prepare_v2(run->db->sql, sql, -1, &st, NULL) != SQLITE_OK) {
		store_error(run->db, "record outcome of %s", stream);
		return error_copy(&run->err, &run->db->err);
	}
	sqlite3_bind_text(st, 1, stream, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, run->pass_started);
	sqlite3_bind_int64(st, 3, run->server_now);
	sqlite3_bind_int64(st, 4, run->cur ? run->cur->rows : 0);
	sqlite3_bind_int64(st, 5, run->cur ? run->cur->requests : 0);
	if (rc != FL_OK)
		sqlite3_bind_text(st, 6, error ? error : fl_strerror(rc), -1, SQLITE_TRANSIENT);
	src = sqlite3_step(st);
	sqlite3_finalize(st);
	if (src != SQLITE_DONE) {
		store_error(run->db, "record outcome of %s", stream);
		return error_copy(&run->err, &run->db->err);
	}
	return FL_OK;
}

/* ---- requests ----------------------------------------------------------- */

struct page_ctx {
	struct sync_run *run;
	sync_store_fn fn;
	int rc;
};

static int store_item(void *ctx, const struct json_item *it)
{
	struct page_ctx *pc = ctx;

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
	struct page_ctx pc = { .run = run, .fn = fn };
	struct fl_error call_err = { 0 };
	char endpoint[128];
	int rc, attempt;

	ratelimit_endpoint("GET", path_query, endpoint, sizeof endpoint);
	for (attempt = 1;; attempt++) {
		int64_t wait = ratelimit_delay_ms(run->rl, endpoint, now_ms());

		if (wait > 2000)
			return error_set(&run->err, FL_ERR_RATE_LIMITED,
					 "GET %s: rate limit of %s: next request in %lld ms",
					 path_query, endpoint, (long long)wait);
		sync_nap(run, wait);
		if (stopping(run))
			return error_set(&run->err, FL_ERR_ABORTED, "stopped");
		rc = sync_tx_begin(run);
		if (rc)
			return rc;

		ratelimit_sent(run->rl, endpoint, now_ms());
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
		ratelimit_observe(run->rl, endpoint, &res->http, now_ms());
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
		if (!done && batch_full(run)) {
			/* In order, everything before t_last is stored: the cursor moves there. */
			rc = keyset && w.t_last > w.from ? sync_state_cursor(run, spec->stream, w.t_last, NULL)
							  : FL_OK;
			if (!rc)
				rc = sync_tx_maybe_commit(run, true);
			if (rc)
				break;
		}
		if (stopping(run) && !done) {
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
		if (stopping(run)) {
			rc = error_set(&run->err, FL_ERR_ABORTED, "stopped");
			break;
		}
	}
	buf_free(&q);
	return rc;
}

/* ---- id batches ------------------------------------------------------------- */

struct ids_ctx {
	sync_store_fn store;
	const char *id_path;
	struct idset *returned;
};

static int ids_item(struct sync_run *run, const struct json_item *it)
{
	int64_t id;
	int rc = run->ids->store(run, it);

	if (!rc && run->ids->returned && run->ids->id_path && json_int(it, run->ids->id_path, &id))
		idset_add(run->ids->returned, id);
	return rc;
}

struct id_list {
	int64_t *v;
	size_t n, cap;
};

static bool id_list_add(struct id_list *l, int64_t id)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 256;
		int64_t *nv = realloc(l->v, ncap * sizeof *nv);

		if (!nv)
			return false;
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n++] = id;
	return true;
}

/* Every id the query selects, read first: the stores below change the tables. */
static int select_ids(struct sync_run *run, const char *sql, struct id_list *out)
{
	sqlite3_stmt *st;
	int src;

	if (sqlite3_prepare_v2(run->db->sql, sql, -1, &st, NULL) != SQLITE_OK) {
		store_error(run->db, "select ids");
		return error_copy(&run->err, &run->db->err);
	}
	sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":self"), run->self_id);
	sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":now"), run->server_now);
	while ((src = sqlite3_step(st)) == SQLITE_ROW)
		if (!id_list_add(out, sqlite3_column_int64(st, 0))) {
			sqlite3_finalize(st);
			return error_set(&run->err, FL_ERR_NOMEM, "out of memory listing ids");
		}
	sqlite3_finalize(st);
	if (src != SQLITE_DONE) {
		store_error(run->db, "select ids");
		return error_copy(&run->err, &run->db->err);
	}
	return FL_OK;
}

static int by_ids(struct sync_run *run, const struct id_list *ids, const char *base_query,
		  const char *param, const char *collection, bool one_per_id, int max_requests)
{
	struct api_result res;
	struct buf q;
	size_t i = 0;
	int rc = FL_OK, requests = 0;

	buf_init(&q, 16384);
	while (i < ids->n && (max_requests <= 0 || requests < max_requests)) {
		size_t end = i + IDS_PER_REQUEST < ids->n ? i + IDS_PER_REQUEST : ids->n;

		buf_reset(&q);
		buf_puts(&q, base_query);
		for (size_t j = i; j < end; j++)
			if (!buf_printf(&q, "%s%s=%lld", (j == i && !strchr(base_query, '?')) ? "?" : "&",
					param, (long long)ids->v[j])) {
				rc = error_set(&run->err, FL_ERR_NOMEM, "id batch query too long");
				goto out;
			}
		/* One id can have many results (milestones of a project): page on. */
		for (int64_t offset = 0;; offset += IDS_PER_REQUEST) {
			size_t len = q.len;

			if (!buf_printf(&q, "&limit=%d&offset=%lld", IDS_PER_REQUEST, (long long)offset)) {
				rc = error_set(&run->err, FL_ERR_NOMEM, "id batch query too long");
				goto out;
			}
			rc = sync_get(run, q.data, collection, ids_item, &res);
			if (rc)
				goto out;
			q.len = len;
			q.data[len] = '\0';
			/* At most one result an id: a batch's page holds them all. */
			if (one_per_id || res.env.items < IDS_PER_REQUEST)
				break;
		}
		requests++;
		sync_progress(run, false, NULL);
		rc = sync_tx_maybe_commit(run, false);
		if (rc)
			goto out;
		if (stopping(run)) {
			rc = error_set(&run->err, FL_ERR_ABORTED, "stopped");
			goto out;
		}
		i = end;
	}
out:
	buf_free(&q);
	return rc;
}

int sync_by_ids(struct sync_run *run, const char *sql, const char *base_query,
		const char *param, const char *collection, sync_store_fn fn,
		bool one_per_id, int max_requests, int64_t *out_asked)
{
	struct id_list ids = { 0 };
	struct ids_ctx ctx = { .store = fn };
	int rc;

	*out_asked = 0;
	rc = select_ids(run, sql, &ids);
	if (!rc) {
		*out_asked = (int64_t)ids.n;
		run->ids = &ctx;
		rc = by_ids(run, &ids, base_query, param, collection, one_per_id, max_requests);
		run->ids = NULL;
	}
	free(ids.v);
	return rc;
}

static int64_t count_rows(struct sync_run *run, const char *table)
{
	char sql[128];
	sqlite3_stmt *st;
	int64_t n = 0;

	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
	if (sqlite3_prepare_v2(run->db->sql, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

int sync_by_ids_vanish(struct sync_run *run, const char *sql, const char *base_query,
		       const char *param, const char *collection, sync_store_fn fn,
		       const char *id_path, const char *table, const char *mark_sql,
		       int max_requests)
{
	struct id_list ids = { 0 }, gone = { 0 };
	struct ids_ctx ctx = { .store = fn, .id_path = id_path };
	sqlite3_stmt *st = NULL;
	size_t asked;
	int rc;

	ctx.returned = idset_new();
	if (!ctx.returned)
		return error_set(&run->err, FL_ERR_NOMEM, "out of memory");
	rc = select_ids(run, sql, &ids);
	if (rc)
		goto out;
	asked = ids.n;
	if (max_requests > 0 && asked > (size_t)max_requests * IDS_PER_REQUEST)
		asked = (size_t)max_requests * IDS_PER_REQUEST;
	run->ids = &ctx;
	rc = by_ids(run, &ids, base_query, param, collection, true, max_requests);
	run->ids = NULL;
	if (rc)
		goto out;

	for (size_t i = 0; i < asked; i++)
		if (!idset_add(ctx.returned, ids.v[i]) && !id_list_add(&gone, ids.v[i])) {
			rc = error_set(&run->err, FL_ERR_NOMEM, "out of memory");
			goto out;
		}
	if (gone.n == 0)
		goto out;
	if (gone.n > 10 && (double)gone.n > run->opt->mass_delete_ratio * (double)count_rows(run, table)) {
		rc = error_set(&run->err, FL_ERR_API,
			       "mass-delete guard: %zu of %lld %s vanished from the API in one pass; not marking them (check the account or the API)",
			       gone.n, (long long)count_rows(run, table), table);
		goto out;
	}
	sync_log(run, "%zu %s vanished from the API: marked deleted", gone.n, table);
	if (sqlite3_prepare_v2(run->db->sql, mark_sql, -1, &st, NULL) != SQLITE_OK) {
		store_error(run->db, "mark vanished %s", table);
		rc = error_copy(&run->err, &run->db->err);
		goto out;
	}
	rc = sync_tx_begin(run);
	for (size_t i = 0; !rc && i < gone.n; i++) {
		sqlite3_bind_int64(st, 1, gone.v[i]);
		rc = sync_step(run, st, "mark vanished", gone.v[i]);
	}
out:
	sqlite3_finalize(st);
	idset_free(ctx.returned);
	free(ids.v);
	free(gone.v);
	return rc;
}

/* ---- the pass ----------------------------------------------------------- */

void sync_options_default(struct sync_options *opt)
{
	memset(opt, 0, sizeof *opt);
	opt->safety_lag_s = 30;
	opt->lookback_s = 120;
	opt->page_limit = 100;
	opt->batch_rows = 5000;
	opt->batch_ms = 1000;
	opt->max_window_pages = 100;
	opt->users_refresh_s = 86400;
	opt->reference_refresh_s = 86400;
	opt->milestones_all_s = 3600;
	opt->mass_delete_ratio = 0.2;
	opt->max_attempts = 5;
	opt->retry_base_ms = 500;
}

struct stream_def {
	const char *name;
	int (*run)(struct sync_run *run);
};

/* In order: self first (everything filters on it), users last (they are referenced). */
static const struct stream_def streams[] = {
	{ "self", stream_self },
	{ "reference", stream_reference },
	{ "actions", stream_actions },
	{ "projects", stream_projects_own },
	{ "projects_market", stream_projects_market },
	{ "bids", stream_bids_own },
	{ "bids_received", stream_bids_on_own_projects },
	{ "projects_refresh", stream_projects_refresh },
	{ "bids_refresh", stream_bids_refresh },
	{ "reviews_to", stream_reviews_to },
	{ "reviews_from", stream_reviews_from },
	{ "threads", stream_threads },
	{ "messages", stream_messages },
	{ "milestones", stream_milestones },
	{ "milestone_requests", stream_milestone_requests },
	{ "users", stream_users },
};
#define NSTREAMS (sizeof streams / sizeof streams[0])

static void run_free(struct sync_run *run)
{
	for (size_t i = 0; i < sizeof run->stmts / sizeof run->stmts[0]; i++)
		sqlite3_finalize(run->stmts[i]);
	idset_free(run->stubbed_users);
	idset_free(run->stubbed_projects);
	idset_free(run->stubbed_currencies);
	idset_free(run->stubbed_jobs);
	idset_free(run->stubbed_bids);
	idset_free(run->stubbed_threads);
	sqlite3_exec(run->db->sql, "DROP TABLE IF EXISTS temp.touched_projects", NULL, NULL, NULL);
}

/*
 * What the limiter knows of each endpoint, for `flsync status`: a snapshot
 * into ratelimit_state at the end of every pass.  Best effort: a failure here
 * loses a status display, never data.
 */
static void save_ratelimits(struct sync_run *run)
{
	struct ratelimit_state states[64];
	int64_t now_ms_ = now_ms(), now_unix = (int64_t)time(NULL);
	size_t n = ratelimit_snapshot(run->rl, states, 64, now_ms_);
	sqlite3_stmt *st;

	if (n == 0 || sqlite3_prepare_v2(run->db->sql,
			"INSERT INTO ratelimit_state(endpoint, limit_n, window_s, remaining, paused_until, updated_at) "
			"VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(endpoint) DO UPDATE SET limit_n = excluded.limit_n, "
			"window_s = excluded.window_s, remaining = excluded.remaining, "
			"paused_until = excluded.paused_until, updated_at = excluded.updated_at", -1, &st, NULL) != SQLITE_OK)
		return;
	if (sqlite3_exec(run->db->sql, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK) {
		for (size_t i = 0; i < n; i++) {
			const struct ratelimit_state *r = &states[i];

			sqlite3_bind_text(st, 1, r->endpoint, -1, SQLITE_STATIC);
			if (r->limit >= 0)
				sqlite3_bind_int64(st, 2, r->limit);
			if (r->window_s >= 0)
				sqlite3_bind_int64(st, 3, r->window_s);
			if (r->remaining >= 0)
				sqlite3_bind_int64(st, 4, r->remaining);
			/* The limiter's clock is monotonic: translate a pause to wall time. */
			if (r->paused_until_ms > now_ms_)
				sqlite3_bind_int64(st, 5, now_unix + (r->paused_until_ms - now_ms_ + 999) / 1000);
			sqlite3_bind_int64(st, 6, now_unix);
			sqlite3_step(st);
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
		}
		if (sqlite3_exec(run->db->sql, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			sqlite3_exec(run->db->sql, "ROLLBACK", NULL, NULL, NULL);
	}
	sqlite3_finalize(st);
}

/* Run one stream to its end, an error, or a rate-limit pause. */
static int run_stream(struct sync_run *run, const struct stream_def *def)
{
	int rc = def->run(run);

	if (rc == FL_OK || rc == FL_ERR_RATE_LIMITED || rc == FL_ERR_ABORTED ||
	    rc == FL_ERR_API || rc == FL_ERR_HTTP || rc == FL_ERR_PARSE || rc == FL_ERR_NETWORK ||
	    rc == FL_ERR_TIMEOUT || rc == FL_ERR_NOT_FOUND || rc == FL_ERR_TOO_BIG) {
		/* What was stored is whole and its cursors agree with it: keep it. */
		int crc = sync_tx_maybe_commit(run, true);
		if (crc)
			return crc;
	} else {
		sync_tx_rollback(run);
	}
	return rc;
}

int sync_pass(struct fl_db *db, struct http_client *http, struct ratelimit *rl,
	      const struct sync_options *opt, struct sync_report *out, struct fl_error *err)
{
	struct sync_run run = { .db = db, .http = http, .rl = rl, .opt = opt };
	struct sync_stream_stats stats[NSTREAMS];
	int64_t not_before[NSTREAMS];
	bool finished[NSTREAMS] = { false };
	size_t left = NSTREAMS;
	int rc = FL_OK, first_rc = FL_OK;

	memset(out, 0, sizeof *out);
	memset(stats, 0, sizeof stats);
	memset(not_before, 0, sizeof not_before);
	run.stubbed_users = idset_new();
	run.stubbed_projects = idset_new();
	run.stubbed_currencies = idset_new();
	run.stubbed_jobs = idset_new();
	run.stubbed_bids = idset_new();
	run.stubbed_threads = idset_new();
	if (!run.stubbed_users || !run.stubbed_projects || !run.stubbed_currencies || !run.stubbed_jobs ||
	    !run.stubbed_bids || !run.stubbed_threads) {
		run_free(&run);
		return error_set(err, FL_ERR_NOMEM, "sync: out of memory");
	}
	/*
	 * The per-page SAVEPOINT's sub-journal and the temp table stay in
	 * memory (on disk they cost 5x the whole pass); an 8 MB cache holds a
	 * batch without spilling; checkpoints wait for the end of the pass
	 * (PERFORMANCE.md: +30% on bulk loads).
	 */
	rc = exec(&run, "PRAGMA temp_store = MEMORY; PRAGMA cache_size = -8000; "
		  "PRAGMA wal_autocheckpoint = 20000", "tune connection for the pass");
	if (rc)
		goto out;
	rc = exec(&run, "CREATE TEMP TABLE IF NOT EXISTS touched_projects(id INTEGER PRIMARY KEY);"
		  "DELETE FROM temp.touched_projects", "prepare pass");
	if (rc)
		goto out;

	while (left > 0) {
		int64_t soonest = INT64_MAX;
		bool ran = false;

		for (size_t i = 0; i < NSTREAMS; i++) {
			/* Until self is known (a 429 defers it too), nothing else may run. */
			bool blocked = i > 0 && !finished[0];
			int64_t at = blocked ? not_before[0] : not_before[i];

			if (finished[i] || blocked || at > now_ms()) {
				if (!finished[i] && at < soonest)
					soonest = at;
				continue;
			}
			ran = true;
			stats[i].name = streams[i].name;
			stats[i].total = -1;
			run.cur = &stats[i];
			error_clear(&run.err);
			rc = run_stream(&run, &streams[i]);
			if (rc == FL_ERR_RATE_LIMITED) {
				/* Not a failure: come back after the others. */
				sync_log(&run, "%s: %s", streams[i].name, run.err.msg);
				not_before[i] = now_ms() + 1000;
				continue;
			}
			finished[i] = true;
			left--;
			if (rc == FL_ERR_ABORTED) {
				sync_progress(&run, true, NULL);
				first_rc = FL_ERR_ABORTED;
				snprintf(out->first_error, sizeof out->first_error, "stopped");
				goto out;
			}
			sync_state_finish(&run, streams[i].name, rc, rc ? run.err.msg : NULL);
			sync_progress(&run, true, rc ? run.err.msg : NULL);
			if (rc == FL_OK) {
				out->streams_ok++;
				continue;
			}
			out->streams_failed++;
			sync_log(&run, "%s failed: %s", streams[i].name, run.err.msg);
			if (first_rc == FL_OK) {
				first_rc = rc;
				out->first_http_status = run.last_status;
				snprintf(out->first_error, sizeof out->first_error, "%s: %.480s",
					 streams[i].name, run.err.msg);
			}
			if (i == 0 || rc == FL_ERR_DB || rc == FL_ERR_IO || rc == FL_ERR_READONLY ||
			    rc == FL_ERR_NOMEM || rc == FL_ERR_BUSY)
				goto out; /* no self, or no database: nothing else can work */
		}
		if (!ran && left > 0)
			sync_nap(&run, soonest - now_ms());
		if (stopping(&run)) {
			first_rc = FL_ERR_ABORTED;
			snprintf(out->first_error, sizeof out->first_error, "stopped");
			break;
		}
	}
out:
	sync_tx_rollback(&run); /* nothing should be open; never leave a transaction */
	save_ratelimits(&run);
	exec(&run, "PRAGMA wal_checkpoint(PASSIVE); PRAGMA wal_autocheckpoint = 1000", "checkpoint");
	out->rows = run.rows_total;
	out->requests = run.requests_total;
	out->server_now = run.server_now;
	run_free(&run);
	if (first_rc != FL_OK)
		return error_set(err, first_rc, "%s", out->first_error);
	if (rc)
		return error_copy(err, &run.err);
	error_clear(err);
	return FL_OK;
}
