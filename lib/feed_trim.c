/*
 * feed_trim.c — keeping the change feed small: fl_changes_prune (by seq),
 * fl_changes_trim (what flsyncd runs after a pass: coalescing, then pruning
 * by age).  Pruning never deletes the newest change or one at or after the
 * oldest held position; coalescing deletes only changes a newer change of
 * the same row covers, never the one at a held position;
 * feed_state.pruned_through is moved before pruning deletes anything
 * (feed.h, migration 011).
 */
#include <time.h>

#include "feed.h"

/* The oldest position held, -1 when none is. */
static int held_oldest(struct fl_db *db, int64_t *out)
{
	return feed_int(db, "SELECT coalesce(min(position), -1) FROM (" FEED_HELD_SQL ")", 0, out);
}

static int run_int(struct fl_db *db, const char *sql, int64_t a, int64_t b, int64_t *out_changes)
{
	sqlite3_stmt *st;
	int rc = FL_OK;

	if (sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL) != SQLITE_OK)
		return store_error(db, "trim the change feed");
	if (sqlite3_bind_parameter_count(st) >= 1)
		sqlite3_bind_int64(st, 1, a);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int64(st, 2, b);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = store_error(db, "trim the change feed");
	else if (out_changes)
		*out_changes = sqlite3_changes(db->sql);
	sqlite3_finalize(st);
	return rc;
}

/*
 * Delete every change with seq <= cut, inside the caller's transaction,
 * where the caller has made sure cut is below the newest change and every
 * held position.  The horizon moves first to the newest change deleted.
 */
static int prune_through(struct fl_db *db, int64_t cut, int64_t *out_deleted)
{
	int64_t deleted_max;
	int rc;

	*out_deleted = 0;
	if ((rc = feed_int(db, "SELECT coalesce(max(seq), 0) FROM changes WHERE seq <= ?1", cut, &deleted_max)))
		return rc;
	if (deleted_max <= 0)
		return FL_OK;
	if ((rc = run_int(db, "UPDATE feed_state SET pruned_through = ?1 WHERE id = 1 AND pruned_through < ?1",
			  deleted_max, 0, NULL)))
		return rc;
	return run_int(db, "DELETE FROM changes WHERE seq <= ?1", cut, 0, out_deleted);
}

/* The newest seq that may be pruned (everything up to it), given a bound of the caller's. */
static int64_t prunable_through(int64_t bound, int64_t latest, int64_t held_min)
{
	int64_t cut = bound;

	if (cut > latest - 1)
		cut = latest - 1;   /* the newest carries the sequence on */
	if (held_min >= 0 && cut > held_min - 1)
		cut = held_min - 1; /* the change at a held position stays: sinks check it */
	return cut;
}

static int writable(struct fl_db *db, const char *what)
{
	if (db->flags & FL_OPEN_READONLY)
		return error_set(&db->err, FL_ERR_READONLY, "%s: the database is open read-only", what);
	return FL_OK;
}

FL_API int fl_changes_prune(struct fl_db *db, int64_t before, int64_t *out_deleted)
{
	int64_t latest, held_min, deleted = 0;
	int rc;

	if (out_deleted)
		*out_deleted = 0;
	if (!db)
		return FL_ERR_MISUSE;
	if ((rc = writable(db, "prune the change feed")) || (rc = store_begin(db)))
		return rc;
	if (!(rc = feed_latest(db, &latest)) && !(rc = held_oldest(db, &held_min)))
		rc = prune_through(db, prunable_through(before - 1, latest, held_min), &deleted);
	if (!rc)
		rc = store_commit(db);
	if (rc) {
		store_rollback(db);
		return error_prefix(&db->err, "prune the change feed before seq %lld", (long long)before);
	}
	if (out_deleted)
		*out_deleted = deleted;
	error_clear(&db->err);
	return FL_OK;
}

/*
 * Coalesce: of the changes after floor, delete each that a newer change of
 * its row covers, looking only at rows changed after `from` (the changes
 * up to there were coalesced by an earlier run).  The change at a held
 * position stays as it is: a sink compares it with the one it mirrored.
 * Every reader still sees the row: whoever had not seen the old change
 * sees the newer one.  An update that covers an insert becomes the insert,
 * unless a held position lies between them: that consumer has read the
 * insert, and is told the update as an update.
 */
static int coalesce(struct fl_db *db, int64_t floor, int64_t from, int64_t *out_deleted)
{
	int rc = run_int(db,
			 "UPDATE changes SET op = 'insert' WHERE seq > ?2 AND op = 'update' "
			 "AND seq NOT IN (SELECT position FROM (" FEED_HELD_SQL ")) AND EXISTS ("
			 "SELECT 1 FROM changes o WHERE o.tbl = changes.tbl AND o.row_id = changes.row_id "
			 "AND o.seq > ?1 AND o.seq < changes.seq AND o.op = 'insert' AND NOT EXISTS ("
			 "SELECT 1 FROM (" FEED_HELD_SQL ") h WHERE h.position >= o.seq AND h.position < changes.seq))",
			 floor, from, NULL);

	if (rc)
		return rc;
	return run_int(db,
		       "DELETE FROM changes WHERE seq IN (SELECT o.seq FROM changes n JOIN changes o "
		       "ON o.tbl = n.tbl AND o.row_id = n.row_id AND o.seq < n.seq AND o.seq > ?1 WHERE n.seq > ?2) "
		       "AND seq NOT IN (SELECT position FROM (" FEED_HELD_SQL "))",
		       floor, from, out_deleted);
}

/* The first change in (after, through] written after `since` (unix seconds), 0 if none. */
static int first_recent(struct fl_db *db, int64_t after, int64_t through, int64_t since, int64_t *out)
{
	sqlite3_stmt *st;
	int rc = FL_OK, src;

	*out = 0;
	/*
	 * From the front, by seq: the scan stops at the first change young
	 * enough to keep, and never looks past what may be pruned at all.
	 */
	if (sqlite3_prepare_v2(db->sql, "SELECT seq FROM changes WHERE seq > ?1 AND seq <= ?2 AND at > ?3 "
			       "ORDER BY seq LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return store_error(db, "read the change feed");
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int64(st, 2, through);
	sqlite3_bind_int64(st, 3, since);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else if (src != SQLITE_DONE)
		rc = store_error(db, "read the change feed");
	sqlite3_finalize(st);
	return rc;
}

/* Prune what was written more than keep_seconds ago, up to the held positions. */
static int prune_aged(struct fl_db *db, int64_t keep_seconds, int64_t latest, int64_t held_min, int64_t *out_deleted)
{
	int64_t horizon, cut = prunable_through(latest, latest, held_min), recent;
	int rc;

	*out_deleted = 0;
	if ((rc = feed_horizon(db, &horizon)) || cut <= horizon)
		return rc;
	if ((rc = first_recent(db, horizon, cut, (int64_t)time(NULL) - keep_seconds, &recent)))
		return rc;
	if (recent > 0 && recent - 1 < cut)
		cut = recent - 1;
	return cut > horizon ? prune_through(db, cut, out_deleted) : FL_OK;
}

FL_API int fl_changes_trim(struct fl_db *db, int64_t keep_seconds, struct fl_trim_report *out)
{
	struct fl_trim_report r = { .held = -1 };
	int64_t latest, horizon, done_through, from;
	int rc;

	if (out)
		*out = r;
	if (!db)
		return FL_ERR_MISUSE;
	if ((rc = writable(db, "trim the change feed")) || (rc = store_begin(db)))
		return rc;
	if ((rc = feed_latest(db, &latest)) || (rc = feed_horizon(db, &horizon)) ||
	    (rc = held_oldest(db, &r.held)) ||
	    (rc = feed_int(db, "SELECT coalesced_through FROM feed_state WHERE id = 1", 0, &done_through)))
		goto out;
	from = done_through > horizon ? done_through : horizon;
	if (latest > from && (rc = coalesce(db, horizon, from, &r.coalesced)))
		goto out;
	if ((rc = run_int(db, "UPDATE feed_state SET coalesced_through = ?1 WHERE id = 1", latest, 0, NULL)))
		goto out;
	if (keep_seconds >= 0 && (rc = prune_aged(db, keep_seconds, latest, r.held, &r.pruned)))
		goto out;
	rc = store_commit(db);
out:
	if (rc) {
		store_rollback(db);
		return error_prefix(&db->err, "trim the change feed");
	}
	if (out)
		*out = r;
	error_clear(&db->err);
	return FL_OK;
}
