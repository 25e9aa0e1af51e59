/*
 * feed_trim.c — keeping the change feed small: fl_changes_prune (by seq),
 * fl_changes_trim (what flsyncd runs after a pass: coalescing, then pruning
 * by age).  Pruning never deletes the newest change or one at or after the
 * oldest held position; coalescing deletes only changes a newer change of
 * the same row covers, never the one at a held position;
 * feed_state.pruned_through is moved before pruning deletes anything
 * (feed.h, migration 011).  The trim works in slices, a write transaction
 * each, so that a feed with a long history (a file from before pruning)
 * never holds the write lock for long.
 */
#include <time.h>

#include "feed.h"

/*
 * Changes looked at per write transaction: a slice of a feed of millions of
 * changes holds the lock for well under the 5 s others wait for it
 * (tools/bench/trim_bench.py prints a slice's time).
 */
#define TRIM_SLICE 5000
#define STR_(x) #x
#define STR(x) STR_(x)
/* A trim starts no slice after this long; the next trim goes on from where it stopped. */
#define TRIM_BUDGET_MS 1000
/* The pause between two slices. */
#define TRIM_PAUSE_MS 20

/* The oldest position held, -1 when none is. */
static int held_oldest(struct fl_db *db, int64_t *out)
{
	return feed_int(db, "SELECT coalesce(min(position), -1) FROM (" FEED_HELD_SQL ")", 0, out);
}

/* Run sql for its effect with ?1..?3 bound to args (as many as it has); the rows it changed. */
static int run_int(struct fl_db *db, const char *sql, const int64_t args[3], int64_t *out_changes)
{
	sqlite3_stmt *st;
	int rc = FL_OK;

	if (sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL) != SQLITE_OK)
		return store_error(db, "trim the change feed");
	for (int i = 0; i < 3 && i < sqlite3_bind_parameter_count(st); i++)
		sqlite3_bind_int64(st, i + 1, args[i]);
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
			  (int64_t[3]){ deleted_max }, NULL)))
		return rc;
	return run_int(db, "DELETE FROM changes WHERE seq <= ?1", (int64_t[3]){ cut }, out_deleted);
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
 * its row covers, looking only at rows changed in (from, to] (the changes
 * up to `from` were coalesced by an earlier slice).  The change at a held
 * position stays as it is: a sink compares it with the one it mirrored.
 * Every reader still sees the row: whoever had not seen the old change
 * sees the newer one.  An update that covers an insert becomes the insert,
 * unless a held position lies between them: that consumer has read the
 * insert, and is told the update as an update.
 */
static int coalesce(struct fl_db *db, int64_t floor, int64_t from, int64_t to, int64_t *out_deleted)
{
	const int64_t args[3] = { floor, from, to };
	int rc = run_int(db,
			 "UPDATE changes SET op = 'insert' WHERE seq > ?2 AND seq <= ?3 AND op = 'update' "
			 "AND seq NOT IN (SELECT position FROM (" FEED_HELD_SQL ")) AND EXISTS ("
			 "SELECT 1 FROM changes o WHERE o.tbl = changes.tbl AND o.row_id = changes.row_id "
			 "AND o.seq > ?1 AND o.seq < changes.seq AND o.op = 'insert' AND NOT EXISTS ("
			 "SELECT 1 FROM (" FEED_HELD_SQL ") h WHERE h.position >= o.seq AND h.position < changes.seq))",
			 args, NULL);

	if (rc)
		return rc;
	return run_int(db,
		       "DELETE FROM changes WHERE seq IN (SELECT o.seq FROM changes n JOIN changes o "
		       "ON o.tbl = n.tbl AND o.row_id = n.row_id AND o.seq < n.seq AND o.seq > ?1 "
		       "WHERE n.seq > ?2 AND n.seq <= ?3) AND seq NOT IN (SELECT position FROM (" FEED_HELD_SQL "))",
		       args, out_deleted);
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

/*
 * Prune what was written more than keep_seconds ago, up to the held
 * positions, at most TRIM_SLICE changes; *out_more when there may be more.
 */
static int prune_aged(struct fl_db *db, int64_t keep_seconds, int64_t latest, int64_t held_min, int64_t *out_deleted,
		      int *out_more)
{
	int64_t horizon, cut = prunable_through(latest, latest, held_min), recent, bound;
	int rc;

	*out_deleted = 0;
	*out_more = 0;
	if ((rc = feed_horizon(db, &horizon)) || cut <= horizon)
		return rc;
	if ((rc = first_recent(db, horizon, cut, (int64_t)time(NULL) - keep_seconds, &recent)))
		return rc;
	if (recent > 0 && recent - 1 < cut)
		cut = recent - 1;
	if ((rc = feed_int(db, "SELECT seq FROM changes WHERE seq > ?1 ORDER BY seq LIMIT 1 OFFSET "
			   STR(TRIM_SLICE) " - 1", horizon, &bound)))
		return rc;
	if (bound > 0 && bound < cut) {
		cut = bound;
		*out_more = 1;
	}
	return cut > horizon ? prune_through(db, cut, out_deleted) : FL_OK;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * One slice of the trim, in its own write transaction: coalesce the next
 * TRIM_SLICE seqs after coalesced_through, or, once coalescing has caught
 * up (prune), prune at most TRIM_SLICE aged changes.  *out_more when there
 * is more to do.
 */
static int trim_slice(struct fl_db *db, int64_t keep_seconds, int prune, struct fl_trim_report *r, int *out_more)
{
	int64_t latest, horizon, done_through, from, to, n = 0;
	int rc;

	*out_more = 0;
	if ((rc = store_begin(db)))
		return rc;
	if ((rc = feed_latest(db, &latest)) || (rc = feed_horizon(db, &horizon)) ||
	    (rc = held_oldest(db, &r->held)) ||
	    (rc = feed_int(db, "SELECT coalesced_through FROM feed_state WHERE id = 1", 0, &done_through)))
		goto out;
	if (prune) {
		if ((rc = prune_aged(db, keep_seconds, latest, r->held, &n, out_more)))
			goto out;
		r->pruned += n;
	} else {
		from = done_through > horizon ? done_through : horizon;
		to = latest - from > TRIM_SLICE ? from + TRIM_SLICE : latest;
		*out_more = to < latest;
		if (to > from && (rc = coalesce(db, horizon, from, to, &n)))
			goto out;
		if ((rc = run_int(db, "UPDATE feed_state SET coalesced_through = ?1 WHERE id = 1",
				  (int64_t[3]){ to }, NULL)))
			goto out;
		r->coalesced += n;
	}
	rc = store_commit(db);
out:
	if (rc)
		store_rollback(db);
	return rc;
}

FL_API int fl_changes_trim(struct fl_db *db, int64_t keep_seconds, struct fl_trim_report *out)
{
	struct fl_trim_report r = { .held = -1 };
	int64_t start = now_ms();
	int rc, more = 1, prune = 0;

	if (out)
		*out = r;
	if (!db)
		return FL_ERR_MISUSE;
	if ((rc = writable(db, "trim the change feed")))
		return rc;
	/* Coalesce slice by slice, then prune: what the budget leaves, the next trim does. */
	while (!(rc = trim_slice(db, keep_seconds, prune, &r, &more))) {
		if (!more && (prune || keep_seconds < 0))
			break;
		if (!more) {
			prune = 1;
			continue;
		}
		if (now_ms() - start >= TRIM_BUDGET_MS)
			break;
		/* A breather: a writer waiting in its busy handler gets the lock between two slices. */
		nanosleep(&(struct timespec){ 0, TRIM_PAUSE_MS * 1000000L }, NULL);
	}
	if (rc)
		return error_prefix(&db->err, "trim the change feed");
	if (out)
		*out = r;
	error_clear(&db->err);
	return FL_OK;
}
