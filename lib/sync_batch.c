/*
 * sync_batch.c — batched transactions of the sync engine (a batch of pages
 * commits with the cursors that cover it), the prepared statements and binds
 * the stream files store rows with, stub rows for referenced ids, and the
 * sync_state cursors.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "idset.h"
#include "sync_internal.h"

/* ---- transactions ------------------------------------------------------- */

int sync_tx_begin(struct sync_run *run)
{
	int rc;

	if (run->sh->in_tx)
		return FL_OK;
	if (sync_fatal(run->sh))
		return error_set(&run->err, FL_ERR_ABORTED, "stopped: the batch was lost");
	rc = store_begin(run->db);
	if (rc)
		return error_copy(&run->err, &run->db->err);
	/* The full-text indexes are brought up to date at the batch's commit. */
	rc = sync_fts_begin(run);
	if (rc) {
		store_rollback(run->db);
		return rc;
	}
	run->sh->in_tx = true;
	run->sh->batch_rows = 0;
	run->sh->batch_started_ms = sync_now_ms();
	return FL_OK;
}

/* A batch ends at so many rows or so much time, whichever comes first. */
bool sync_batch_full(const struct sync_run *run)
{
	return run->sh->in_tx && (run->sh->batch_rows >= run->opt->batch_rows ||
			      sync_now_ms() - run->sh->batch_started_ms >= run->opt->batch_ms);
}

int sync_tx_maybe_commit(struct sync_run *run, bool force)
{
	int rc;

	if (!run->sh->in_tx || (!force && !sync_batch_full(run)))
		return FL_OK;
	rc = sync_replies_flush(run);
	if (!rc)
		rc = sync_fts_flush(run);
	if (rc) {
		store_rollback(run->db);
		run->sh->in_tx = false;
		return rc;
	}
	rc = store_commit(run->db);
	if (rc) {
		store_rollback(run->db);
		run->sh->in_tx = false;
		return error_copy(&run->err, &run->db->err);
	}
	run->sh->in_tx = false;
	return FL_OK;
}

void sync_tx_rollback(struct sync_run *run)
{
	if (run->sh->in_tx)
		store_rollback(run->db);
	run->sh->in_tx = false;
}

/* ---- plain SQL ------------------------------------------------------------ */

int sync_exec(struct sync_run *run, const char *sql, const char *what)
{
	if (store_exec(run->db, sql, what))
		return error_copy(&run->err, &run->db->err);
	return FL_OK;
}

int sync_exec_binds(struct sync_run *run, const char *what, const char *sql, const struct store_bind *b,
		    size_t n)
{
	if (store_step(run->db, what, sql, b, n))
		return error_copy(&run->err, &run->db->err);
	return FL_OK;
}

int sync_fail_db(struct sync_run *run, const char *what)
{
	store_error(run->db, "%s", what);
	return error_copy(&run->err, &run->db->err);
}

/* ---- statements and binding --------------------------------------------- */

int sync_stmt(struct sync_run *run, int slot, const char *sql, sqlite3_stmt **out)
{
	if (!run->sh->stmts[slot] &&
	    sqlite3_prepare_v3(run->db->sql, sql, -1, SQLITE_PREPARE_PERSISTENT,
			       &run->sh->stmts[slot], NULL) != SQLITE_OK) {
		store_error(run->db, "prepare statement %d", slot);
		*out = NULL;
		return error_copy(&run->err, &run->db->err);
	}
	*out = run->sh->stmts[slot];
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
		sqlite3_bind_text(st, col, s, (int)n, SQLITE_STATIC);
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
	sqlite3_bind_text(st, col, it->raw, (int)it->raw_len, SQLITE_STATIC);
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
		run->sh->batch_rows++;
		run->sh->rows_total++;
		if (run->cur)
			run->cur->rows++;
	}
	return rc;
}

/* Upserts in a row that changed nothing before a slot starts looking first. */
#define UNCHANGED_BEFORE_PROBING 8

bool sync_same_raw(struct sync_run *run, int slot, const char *table, int64_t id,
		   const struct json_item *it)
{
	sqlite3_stmt *st = run->sh->probes[slot];
	bool same;

	if (run->sh->unchanged_streak[slot] < UNCHANGED_BEFORE_PROBING)
		return false;
	if (!st) {
		char sql[128];

		snprintf(sql, sizeof sql, "SELECT raw IS ?2 FROM %s WHERE id = ?1", table);
		if (sqlite3_prepare_v3(run->db->sql, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
			return false; /* the upsert will tell */
		run->sh->probes[slot] = st;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, it->raw, (int)it->raw_len, SQLITE_STATIC);
	same = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (same)
		run->changed = false;
	else
		run->sh->unchanged_streak[slot] = 0; /* new or changed: upsert again for a while */
	return same;
}

int sync_upsert(struct sync_run *run, int slot, sqlite3_stmt *st, const char *what, int64_t id)
{
	int rc = sync_step(run, st, what, id);

	if (!rc)
		run->sh->unchanged_streak[slot] = run->changed ? 0 : run->sh->unchanged_streak[slot] + 1;
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

/* The stub rows by kind: the table that gets one, for its error message the noun. */
static const struct {
	const char *table, *noun;
} refs[REF_COUNT] = {
	[REF_NONE] = { NULL, NULL },
	[REF_USER] = { "users", "user" },
	[REF_PROJECT] = { "projects", "project" },
	[REF_CURRENCY] = { "currencies", "currency" },
	[REF_JOB] = { "jobs", "job" },
	[REF_BID] = { "bids", "bid" },
	[REF_THREAD] = { "threads", "thread" },
};

int sync_ref(struct sync_run *run, enum sync_ref kind, int64_t id)
{
	sqlite3_stmt *st = run->sh->stmts[SLOT_REF + kind];
	int rc;

	if (kind == REF_NONE || id <= 0 || idset_add(run->sh->stubbed[kind], id))
		return FL_OK;
	if (!st) {
		char sql[96];

		snprintf(sql, sizeof sql, "INSERT INTO %s(id) VALUES (?1) ON CONFLICT(id) DO NOTHING", refs[kind].table);
		rc = sync_stmt(run, SLOT_REF + (int)kind, sql, &st);
		if (rc)
			return rc;
	}
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		store_error(run->db, "note %s %lld", refs[kind].noun, (long long)id);
		sqlite3_reset(st);
		return error_copy(&run->err, &run->db->err);
	}
	sqlite3_reset(st);
	return FL_OK;
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
	/*
	 * The server's clock for the windows, the local one (?7, ?8: the pass's
	 * start and now) for a person: the server's may stand still (a
	 * simulator) or be far off, and migration 011's triggers only see a
	 * change of the server's.
	 */
	const char *sql = rc == FL_OK ?
		"INSERT INTO sync_state(stream, last_started, last_success, failures, rows_synced, requests, "
		"local_started, local_success) "
		"VALUES (?1, ?2, ?3, 0, ?4, ?5, ?7, ?8) ON CONFLICT(stream) DO UPDATE SET "
		"last_started = excluded.last_started, last_success = excluded.last_success, failures = 0, "
		"rows_synced = rows_synced + excluded.rows_synced, requests = requests + excluded.requests, "
		"local_started = excluded.local_started, local_success = excluded.local_success" :
		"INSERT INTO sync_state(stream, last_started, last_error, last_error_at, failures, rows_synced, requests, "
		"local_started, local_error_at) "
		"VALUES (?1, ?2, ?6, ?3, 1, ?4, ?5, ?7, ?8) ON CONFLICT(stream) DO UPDATE SET "
		"last_started = excluded.last_started, last_error = excluded.last_error, "
		"last_error_at = excluded.last_error_at, failures = failures + 1, "
		"rows_synced = rows_synced + excluded.rows_synced, requests = requests + excluded.requests, "
		"local_started = excluded.local_started, local_error_at = excluded.local_error_at";
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
	sqlite3_bind_int64(st, 7, run->local_started ? run->local_started : (int64_t)time(NULL));
	sqlite3_bind_int64(st, 8, (int64_t)time(NULL));
	src = sqlite3_step(st);
	sqlite3_finalize(st);
	if (src != SQLITE_DONE) {
		store_error(run->db, "record outcome of %s", stream);
		return error_copy(&run->err, &run->db->err);
	}
	return FL_OK;
}

