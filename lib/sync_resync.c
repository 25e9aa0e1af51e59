/*
 * sync_resync.c — asking for a re-read (fl_sync_resync): a windowed stream's
 * cursor goes back, its rows stay, and the next pass reads the span again,
 * storing whatever it finds changed or missing.
 */
#include <stdio.h>
#include <string.h>

#include "store.h"

/*
 * The windowed streams are the ones with a cursor; "reconcile:*" rows are
 * their rounds, "refresh:*" the re-reads by id (stream_refresh.c).
 */
#define RESYNC_WHERE "cursor IS NOT NULL AND stream NOT LIKE 'reconcile:%' AND stream NOT LIKE 'refresh:%' "

FL_API int fl_sync_resync(struct fl_db *db, const char *stream, int64_t since, int64_t *out_streams)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (out_streams)
		*out_streams = 0;
	if (!db || since < 0)
		return db ? error_set(&db->err, FL_ERR_MISUSE, "resync: since must be 0 or a unix time")
			  : FL_ERR_MISUSE;
	if (db->flags & FL_OPEN_READONLY)
		return error_set(&db->err, FL_ERR_READONLY, "resync: the database handle is read-only");
	rc = store_begin(db);
	if (rc)
		return rc;
	if (sqlite3_prepare_v2(db->sql,
			       "UPDATE sync_state SET cursor = min(cursor, ?2) WHERE " RESYNC_WHERE
			       "AND (?1 IS NULL OR stream = ?1)", -1, &st, NULL) != SQLITE_OK) {
		rc = store_error(db, "resync");
		goto out;
	}
	if (stream)
		sqlite3_bind_text(st, 1, stream, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, since);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = store_error(db, "resync %s", stream ? stream : "every stream");
		goto out;
	}
	if (out_streams)
		*out_streams = sqlite3_changes(db->sql);
	if (stream && sqlite3_changes(db->sql) == 0) {
		char known[512] = "";
		sqlite3_stmt *names;

		/* Say which names there are: market searches are named for their query. */
		if (sqlite3_prepare_v2(db->sql, "SELECT group_concat(stream, ', ') FROM (SELECT stream "
				       "FROM sync_state WHERE " RESYNC_WHERE "ORDER BY stream)", -1, &names,
				       NULL) == SQLITE_OK) {
			if (sqlite3_step(names) == SQLITE_ROW && sqlite3_column_text(names, 0))
				snprintf(known, sizeof known, "%s", (const char *)sqlite3_column_text(names, 0));
			sqlite3_finalize(names);
		}
		rc = error_set(&db->err, FL_ERR_NOT_FOUND, "resync: no windowed stream '%.100s' has "
			       "synced yet (there are: %s)", stream, known[0] ? known : "none");
		goto out;
	}
	rc = store_commit(db);
	sqlite3_finalize(st);
	return rc;
out:
	sqlite3_finalize(st);
	store_rollback(db);
	return rc;
}
