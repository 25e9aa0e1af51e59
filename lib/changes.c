/*
 * changes.c — the change feed: reading the `changes` table that migration
 * 003's triggers fill (fl_changes_since, fl_changes_latest) and pruning it.
 * seq is the rowid and only grows because pruning always keeps the newest
 * change, so the feed has no holes except at its front, where pruning cuts
 * it; that is how a reader that fell behind is detected.
 * fl_changes_wait sleeps on a watch of the database file (watch.c) and
 * looks at the feed only when the file was written.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"
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
static int one_int(struct fl_db *db, const char *sql, int64_t arg, int64_t *out)
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

/* The newest seq ever given: pruning keeps that row, so it is the max. */
static int latest(struct fl_db *db, int64_t *out)
{
	return one_int(db, "SELECT coalesce(max(seq), 0) FROM changes", 0, out);
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
	rc = latest(db, out);
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
	int rc = latest(l->db, &l->newest);

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
	int64_t newest = 0, oldest = 0;
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
	if ((rc = latest(db, &newest)))
		goto out;
	if (since < newest) {
		/*
		 * Pruned past `since` if the oldest change kept is not since + 1
		 * (or none is kept at all).  An empty feed with newest > since
		 * means everything after since was pruned.
		 */
		if ((rc = one_int(db, "SELECT coalesce((SELECT seq FROM changes WHERE seq > ?1 ORDER BY seq LIMIT 1), 0)",
				  since, &oldest)))
			goto out;
		if (oldest != since + 1) {
			rc = error_set(&db->err, FL_ERR_NOT_FOUND,
				       "the change feed no longer holds the changes after seq %lld (they were pruned; it holds %lld to %lld): re-read everything, then follow from seq %lld",
				       (long long)since, (long long)oldest, (long long)newest,
				       (long long)newest);
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

FL_API int fl_changes_prune(struct fl_db *db, int64_t before, int64_t *out_deleted)
{
	sqlite3_stmt *st = NULL;
	int rc = FL_OK;

	if (out_deleted)
		*out_deleted = 0;
	if (!db)
		return FL_ERR_MISUSE;
	if (db->flags & FL_OPEN_READONLY)
		return error_set(&db->err, FL_ERR_READONLY,
				 "prune the change feed: the database is open read-only");
	/*
	 * Never the newest: it carries the sequence on (see migration 003).
	 * Never past what a sink (flsync pgsync) has confirmed: its
	 * sync_state row "sink.*" holds the newest seq it has, and that change
	 * stays too, for the sink to check it is still the one it mirrored.
	 */
	if (sqlite3_prepare_v2(db->sql,
			       "DELETE FROM changes WHERE seq < ?1 AND seq < (SELECT max(seq) FROM changes) "
			       "AND seq < coalesce((SELECT min(cursor) FROM sync_state WHERE stream LIKE 'sink.%'), seq + 1)",
			       -1, &st, NULL) != SQLITE_OK)
		return store_error(db, "prune the change feed");
	sqlite3_bind_int64(st, 1, before);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = store_error(db, "prune the change feed before seq %lld", (long long)before);
	else if (out_deleted)
		*out_deleted = sqlite3_changes(db->sql);
	sqlite3_finalize(st);
	if (!rc)
		error_clear(&db->err);
	return rc;
}
