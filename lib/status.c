/*
 * status.c — fl_status_get: the sync status in one snapshot (sync_state per
 * stream, ratelimit_state per endpoint, actions by state, the change feed's
 * newest seq, what reconciliation and the refresh of every record repaired).  The result is one caller-owned tree freed by fl_status_free.
 */
#include <stdlib.h>
#include <string.h>

#include "store.h"

/* The fl_status and what hangs off it, as allocated (the public view is const). */
struct status_alloc {
	struct fl_status pub;
	struct fl_stream_status *streams;
	struct fl_ratelimit_status *endpoints;
};

static char *dup_col(sqlite3_stmt *st, int col, int *nomem)
{
	const char *t = (const char *)sqlite3_column_text(st, col);
	char *c;

	if (!t)
		return NULL;
	c = strdup(t);
	if (!c)
		*nomem = 1;
	return c;
}

/* A column that must not be NULL in the result: NULL reads as "". */
static char *dup_req(sqlite3_stmt *st, int col, int *nomem)
{
	char *c = sqlite3_column_type(st, col) == SQLITE_NULL ? strdup("") : dup_col(st, col, nomem);

	if (!c)
		*nomem = 1;
	return c;
}

static int64_t int_or(sqlite3_stmt *st, int col, int64_t dflt)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL ? dflt : sqlite3_column_int64(st, col);
}

/* Grow *arr (of size elem) to hold n + 1; returns 0 on out of memory. */
static int grow(void **arr, size_t elem, int64_t n, int64_t *cap)
{
	void *p;

	if (n < *cap)
		return 1;
	*cap = *cap ? *cap * 2 : 16;
	p = realloc(*arr, elem * (size_t)*cap);
	if (!p)
		return 0;
	*arr = p;
	return 1;
}

static int read_streams(struct fl_db *db, struct status_alloc *s)
{
	sqlite3_stmt *st;
	int64_t cap = 0;
	int src, nomem = 0, rc = FL_OK;

	if (sqlite3_prepare_v2(db->sql,
			       "SELECT stream, cursor, coalesce(local_started, last_started), "
			       "coalesce(local_success, last_success), last_error, coalesce(local_error_at, last_error_at), "
			       "failures, rows_synced, requests, last_success FROM sync_state "
			       "WHERE stream NOT LIKE 'reconcile:%' AND stream NOT LIKE 'refresh:%' ORDER BY stream",
			       -1, &st, NULL) != SQLITE_OK)
		return store_error(db, "read sync status");
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		struct fl_stream_status *x;

		if (!grow((void **)&s->streams, sizeof *s->streams, s->pub.streams_count, &cap)) {
			nomem = 1;
			break;
		}
		x = &s->streams[s->pub.streams_count++];
		memset(x, 0, sizeof *x);
		x->stream = dup_req(st, 0, &nomem);
		x->cursor = int_or(st, 1, 0);
		x->last_started = int_or(st, 2, 0);
		x->last_success = int_or(st, 3, 0);
		x->last_error = dup_col(st, 4, &nomem);
		x->last_error_at = int_or(st, 5, 0);
		x->failures = int_or(st, 6, 0);
		x->rows_synced = int_or(st, 7, 0);
		x->requests = int_or(st, 8, 0);
		x->server_success = int_or(st, 9, 0);
		if (nomem)
			break;
	}
	if (nomem)
		rc = error_set(&db->err, FL_ERR_NOMEM, "read sync status: out of memory");
	else if (src != SQLITE_DONE)
		rc = store_error(db, "read sync status");
	sqlite3_finalize(st);
	s->pub.streams = s->streams;
	return rc;
}

/* Deep reconciliation's rounds: what they repaired, and when last. */
static int read_repaired(struct fl_db *db, struct status_alloc *s)
{
	sqlite3_stmt *st;
	int rc = FL_OK;

	if (sqlite3_prepare_v2(db->sql,
			       "SELECT coalesce(sum(rows_synced), 0), coalesce(max(coalesce(local_success, last_success)), 0) "
			       "FROM sync_state WHERE stream LIKE 'reconcile:%'", -1, &st, NULL) != SQLITE_OK)
		return store_error(db, "read reconciliation status");
	if (sqlite3_step(st) == SQLITE_ROW) {
		s->pub.repaired = sqlite3_column_int64(st, 0);
		s->pub.reconciled_at = sqlite3_column_int64(st, 1);
	} else {
		rc = store_error(db, "read reconciliation status");
	}
	sqlite3_finalize(st);
	return rc;
}

/* The refresh of every record ("refresh:TABLE", stream_refresh.c): what it repaired, and when all was read. */
static int read_refreshed(struct fl_db *db, struct status_alloc *s)
{
	sqlite3_stmt *st;
	int rc = FL_OK;

	if (sqlite3_prepare_v2(db->sql,
			       "SELECT coalesce(sum(rows_synced), 0), coalesce(min(coalesce(local_success, last_success, 0)), 0) "
			       "FROM sync_state WHERE stream LIKE 'refresh:%'", -1, &st, NULL) != SQLITE_OK)
		return store_error(db, "read refresh status");
	if (sqlite3_step(st) == SQLITE_ROW) {
		s->pub.refresh_repaired = sqlite3_column_int64(st, 0);
		s->pub.refreshed_at = sqlite3_column_int64(st, 1);
	} else {
		rc = store_error(db, "read refresh status");
	}
	sqlite3_finalize(st);
	return rc;
}

static int read_endpoints(struct fl_db *db, struct status_alloc *s)
{
	sqlite3_stmt *st;
	int64_t cap = 0;
	int src, nomem = 0, rc = FL_OK;

	if (sqlite3_prepare_v2(db->sql,
			       "SELECT endpoint, limit_n, window_s, remaining, paused_until, updated_at "
			       "FROM ratelimit_state ORDER BY endpoint",
			       -1, &st, NULL) != SQLITE_OK)
		return store_error(db, "read rate-limit status");
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		struct fl_ratelimit_status *x;

		if (!grow((void **)&s->endpoints, sizeof *s->endpoints, s->pub.endpoints_count, &cap)) {
			nomem = 1;
			break;
		}
		x = &s->endpoints[s->pub.endpoints_count++];
		memset(x, 0, sizeof *x);
		x->endpoint = dup_req(st, 0, &nomem);
		x->limit = int_or(st, 1, -1);
		x->window_s = int_or(st, 2, -1);
		x->remaining = int_or(st, 3, -1);
		x->paused_until = int_or(st, 4, 0);
		x->updated_at = int_or(st, 5, 0);
		if (nomem)
			break;
	}
	if (nomem)
		rc = error_set(&db->err, FL_ERR_NOMEM, "read rate-limit status: out of memory");
	else if (src != SQLITE_DONE)
		rc = store_error(db, "read rate-limit status");
	sqlite3_finalize(st);
	s->pub.endpoints = s->endpoints;
	return rc;
}

static int read_actions(struct fl_db *db, struct fl_status *pub)
{
	sqlite3_stmt *st;
	int src, rc = FL_OK;

	if (sqlite3_prepare_v2(db->sql, "SELECT state, count(*) FROM actions GROUP BY state",
			       -1, &st, NULL) != SQLITE_OK)
		return store_error(db, "count actions");
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(st, 0);
		int64_t n = sqlite3_column_int64(st, 1);

		if (!state)
			continue;
		if (!strcmp(state, "queued"))
			pub->actions_queued = n;
		else if (!strcmp(state, "sending"))
			pub->actions_sending = n;
		else if (!strcmp(state, "done"))
			pub->actions_done = n;
		else if (!strcmp(state, "failed"))
			pub->actions_failed = n;
		else if (!strcmp(state, "cancelled"))
			pub->actions_cancelled = n;
	}
	if (src != SQLITE_DONE)
		rc = store_error(db, "count actions");
	sqlite3_finalize(st);
	return rc;
}

static int read_latest(struct fl_db *db, struct fl_status *pub)
{
	sqlite3_stmt *st;
	int rc = FL_OK;

	if (sqlite3_prepare_v2(db->sql,
			       "SELECT (SELECT max(seq) FROM changes), "
			       "(SELECT user_version FROM pragma_user_version)",
			       -1, &st, NULL) != SQLITE_OK)
		return store_error(db, "read the change feed");
	if (sqlite3_step(st) == SQLITE_ROW) {
		pub->changes_latest = int_or(st, 0, 0);
		pub->schema_version = sqlite3_column_int(st, 1);
	} else {
		rc = store_error(db, "read the change feed");
	}
	sqlite3_finalize(st);
	return rc;
}

FL_API int fl_status_get(struct fl_db *db, struct fl_status **out)
{
	struct status_alloc *s;
	int rc, own_txn;

	if (out)
		*out = NULL;
	if (!db)
		return FL_ERR_MISUSE;
	if (!out)
		return error_set(&db->err, FL_ERR_MISUSE, "fl_status_get: out is NULL");
	s = calloc(1, sizeof *s);
	if (!s)
		return error_set(&db->err, FL_ERR_NOMEM, "read sync status: out of memory");

	own_txn = sqlite3_get_autocommit(db->sql);
	if (own_txn && sqlite3_exec(db->sql, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		rc = store_error(db, "read sync status");
		goto out;
	}
	if ((rc = read_streams(db, s)) || (rc = read_endpoints(db, s)) ||
	    (rc = read_actions(db, &s->pub)) || (rc = read_latest(db, &s->pub)) ||
	    (rc = read_repaired(db, s)) || (rc = read_refreshed(db, s)))
		goto out;
	error_clear(&db->err);
out:
	if (own_txn && !sqlite3_get_autocommit(db->sql))
		sqlite3_exec(db->sql, "COMMIT", NULL, NULL, NULL);
	if (rc) {
		fl_status_free(&s->pub);
		return rc;
	}
	*out = &s->pub;
	return FL_OK;
}

FL_API void fl_status_free(struct fl_status *status)
{
	struct status_alloc *s = (struct status_alloc *)status;
	int64_t i;

	if (!s)
		return;
	for (i = 0; i < s->pub.streams_count; i++) {
		free((char *)s->streams[i].stream);
		free((char *)s->streams[i].last_error);
	}
	for (i = 0; i < s->pub.endpoints_count; i++)
		free((char *)s->endpoints[i].endpoint);
	free(s->streams);
	free(s->endpoints);
	free(s);
}
