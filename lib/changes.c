/*
 * changes.c — the change feed: reading the `changes` table that migration
 * 003's triggers fill (fl_changes_since, fl_changes_latest,
 * fl_changes_wait).  seq is the rowid and only grows because pruning and
 * coalescing always keep the newest change.  Coalescing leaves holes
 * anywhere (a change covered by a newer one of its row), so a reader that
 * fell behind is told by feed_state.pruned_through (migration 011), not by
 * a hole (feed.h).  fl_changes_wait sleeps on a watch of the database file
 * (watch.c) and looks at the feed only when the file was written.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "feed.h"
#include "watch.h"

FL_API const char *fl_change_op_name(enum fl_change_op op)
{
	switch (op) {
	case FL_CHANGE_INSERT: return "insert";
	case FL_CHANGE_UPDATE: return "update";
	case FL_CHANGE_DELETE: return "delete";
	}
	return "unknown";
}

static enum fl_change_op op_of(const char *s)
{
	if (s && s[0] == 'i')
		return FL_CHANGE_INSERT;
	if (s && s[0] == 'd')
		return FL_CHANGE_DELETE;
	return FL_CHANGE_UPDATE;
}

/* One integer from a one-row query; 0 when it gives no row or NULL. */
int feed_int(struct fl_db *db, const char *sql, int64_t arg, int64_t *out)
{
	sqlite3_stmt *st;
	int rc = FL_OK, src;

	*out = 0;
	if (sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL) != SQLITE_OK)
		return store_error(db, "read the change feed");
	if (sqlite3_bind_parameter_count(st) > 0)
		sqlite3_bind_int64(st, 1, arg);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else if (src != SQLITE_DONE)
		rc = store_error(db, "read the change feed");
	sqlite3_finalize(st);
	return rc;
}

/* The newest seq ever given: pruning and coalescing keep that row, so it is the max. */
int feed_latest(struct fl_db *db, int64_t *out)
{
	return feed_int(db, "SELECT coalesce(max(seq), 0) FROM changes", 0, out);
}

int feed_horizon(struct fl_db *db, int64_t *out)
{
	return feed_int(db, "SELECT pruned_through FROM feed_state WHERE id = 1", 0, out);
}

FL_API int fl_changes_latest(struct fl_db *db, int64_t *out)
{
	int rc;

	if (!db || !out) {
		if (out)
			*out = 0;
		return db ? error_set(&db->err, FL_ERR_MISUSE, "fl_changes_latest: out is NULL")
			  : FL_ERR_MISUSE;
	}
	rc = feed_latest(db, out);
	if (!rc)
		error_clear(&db->err);
	return rc;
}

/* fl_changes_wait()'s look: the feed's newest seq against since. */
struct changes_look {
	struct fl_db *db;
	int64_t since, newest;
};

static int changes_look(void *ctx, bool *done, int64_t *wake_ms)
{
	struct changes_look *l = ctx;
	int rc = feed_latest(l->db, &l->newest);

	(void)wake_ms;
	*done = rc == FL_OK && l->newest > l->since;
	return rc;
}

FL_API int fl_changes_wait(struct fl_db *db, int64_t since, int timeout_ms, int64_t *out_latest)
{
	struct changes_look l = { .db = db, .since = since };
	int rc;

	if (out_latest)
		*out_latest = 0;
	if (!db)
		return FL_ERR_MISUSE;
	if (since < 0)
		return error_set(&db->err, FL_ERR_MISUSE, "fl_changes_wait: since is negative");
	/* Inside the caller's transaction the snapshot never moves: it would wait forever. */
	if (!sqlite3_get_autocommit(db->sql))
		return error_set(&db->err, FL_ERR_MISUSE,
				 "fl_changes_wait: called inside an open transaction, which never sees new commits");
	/* Watch first, then look: a commit between the two still wakes the wait. */
	if (!db->watch && (rc = watch_open(sqlite3_db_filename(db->sql, "main"), &db->watch, &db->err)))
		return rc;
	rc = watch_until(db->watch, timeout_ms, changes_look, &l, &db->err);
	if (rc != FL_OK && rc != FL_ERR_TIMEOUT)
		return rc;
	if (out_latest)
		*out_latest = l.newest;
	error_clear(&db->err);
	return rc;
}

FL_API int fl_changes_since(struct fl_db *db, int64_t since, int64_t limit,
			    int (*fn)(void *ctx, const struct fl_change *change), void *ctx,
			    int64_t *out_newest)
{
	sqlite3_stmt *st = NULL;
	int64_t newest = 0, horizon = 0;
	int rc, src, own_txn, stopped = 0;

	if (out_newest)
		*out_newest = 0;
	if (!db)
		return FL_ERR_MISUSE;
	if (!fn || since < 0)
		return error_set(&db->err, FL_ERR_MISUSE,
				 "fl_changes_since: %s", !fn ? "fn is NULL" : "since is negative");

	/* One read transaction: the newest seq and the rows from one snapshot. */
	own_txn = sqlite3_get_autocommit(db->sql);
	if (own_txn && sqlite3_exec(db->sql, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return store_error(db, "read the change feed");
	if ((rc = feed_latest(db, &newest)))
		goto out;
	if (since < newest) {
		/* Pruned past `since`: a change after it may be gone (feed.h). */
		if ((rc = feed_horizon(db, &horizon)))
			goto out;
		if (since < horizon) {
			rc = error_set(&db->err, FL_ERR_PRUNED,
				       "the change feed no longer holds every change after seq %lld (it was pruned through seq %lld): re-read everything, then follow from seq %lld",
				       (long long)since, (long long)horizon, (long long)newest);
			goto out;
		}
	}
	if (sqlite3_prepare_v2(db->sql,
			       "SELECT seq, tbl, row_id, op, at FROM changes WHERE seq > ?1 ORDER BY seq LIMIT ?2",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = store_error(db, "read the change feed");
		goto out;
	}
	sqlite3_bind_int64(st, 1, since);
	sqlite3_bind_int64(st, 2, limit > 0 ? limit : -1);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		struct fl_change c;

		c.seq = sqlite3_column_int64(st, 0);
		c.table = (const char *)sqlite3_column_text(st, 1);
		c.row_id = sqlite3_column_int64(st, 2);
		c.op = op_of((const char *)sqlite3_column_text(st, 3));
		c.at = sqlite3_column_int64(st, 4);
		if (!c.table)
			c.table = "";
		rc = fn(ctx, &c);
		if (rc) {
			stopped = 1;
			goto out;
		}
	}
	if (src != SQLITE_DONE)
		rc = store_error(db, "read the change feed");
out:
	sqlite3_finalize(st);
	if (own_txn && !sqlite3_get_autocommit(db->sql))
		sqlite3_exec(db->sql, "COMMIT", NULL, NULL, NULL);
	if (rc == FL_OK || stopped) {
		error_clear(&db->err);
		if (out_newest)
			*out_newest = newest;
	}
	return rc;
}
