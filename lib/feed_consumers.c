/*
 * feed_consumers.c — named positions in the change feed (the
 * feed_consumers table of migration 015): a registered program is never
 * pruned past.  Also fl_changes_horizon, the oldest position the feed still
 * serves.  A position is checked against the feed in the same write
 * transaction that records it, so it can never be recorded already pruned.
 */
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "feed.h"

#define NAME_MAX_BYTES 64

static int name_check(struct fl_db *db, const char *fn, const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > NAME_MAX_BYTES)
		return error_set(&db->err, FL_ERR_MISUSE, "%s: a consumer's name takes 1 to %d bytes", fn,
				 NAME_MAX_BYTES);
	if (!strncmp(name, "sink.", 5))
		return error_set(&db->err, FL_ERR_MISUSE,
				 "%s: names starting with \"sink.\" belong to the PostgreSQL sinks", fn);
	return FL_OK;
}

static int writable(struct fl_db *db, const char *fn)
{
	if (db->flags & FL_OPEN_READONLY)
		return error_set(&db->err, FL_ERR_READONLY, "%s: the database is open read-only", fn);
	return FL_OK;
}

/* Check position against the feed, inside the caller's write transaction. */
static int position_check(struct fl_db *db, const char *name, int64_t position)
{
	int64_t latest, horizon;
	int rc;

	if ((rc = feed_latest(db, &latest)) || (rc = feed_horizon(db, &horizon)))
		return rc;
	if (position < 0 || position > latest)
		return error_set(&db->err, FL_ERR_MISUSE,
				 "consumer %s: position %lld is not in the change feed (0 to %lld)", name,
				 (long long)position, (long long)latest);
	if (position < horizon && position < latest)
		return error_set(&db->err, FL_ERR_PRUNED,
				 "consumer %s: the change feed no longer holds every change after seq %lld (pruned through %lld): "
				 "re-read everything, then register at fl_changes_latest()",
				 name, (long long)position, (long long)horizon);
	return FL_OK;
}

/* Record name at position; must_exist: only move an existing consumer. */
static int record(struct fl_db *db, const char *fn, const char *name, int64_t position, bool must_exist)
{
	static const char *upsert =
		"INSERT INTO feed_consumers(name, position, registered_at, acked_at) VALUES (?1, ?2, ?3, ?3) "
		"ON CONFLICT(name) DO UPDATE SET position = excluded.position, acked_at = excluded.acked_at";
	static const char *update = "UPDATE feed_consumers SET position = ?2, acked_at = ?3 WHERE name = ?1";
	sqlite3_stmt *st = NULL;
	int rc;

	if (!db)
		return FL_ERR_MISUSE;
	if ((rc = name_check(db, fn, name)) || (rc = writable(db, fn)))
		return rc;
	if ((rc = store_begin(db)))
		return rc;
	if ((rc = position_check(db, name, position)))
		goto out;
	if (sqlite3_prepare_v2(db->sql, must_exist ? update : upsert, -1, &st, NULL) != SQLITE_OK) {
		rc = store_error(db, "%s %s", fn, name);
		goto out;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, position);
	sqlite3_bind_int64(st, 3, (int64_t)time(NULL));
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = store_error(db, "%s %s", fn, name);
	else if (must_exist && sqlite3_changes(db->sql) == 0)
		rc = error_set(&db->err, FL_ERR_NOT_FOUND,
			       "%s: no consumer named %s is registered (fl_changes_register)", fn, name);
	sqlite3_finalize(st);
	if (!rc)
		rc = store_commit(db);
out:
	if (rc)
		store_rollback(db);
	else
		error_clear(&db->err);
	return rc;
}

FL_API int fl_changes_register(struct fl_db *db, const char *name, int64_t position)
{
	return record(db, "fl_changes_register", name, position, false);
}

FL_API int fl_changes_ack(struct fl_db *db, const char *name, int64_t position)
{
	return record(db, "fl_changes_ack", name, position, true);
}

FL_API int fl_changes_position(struct fl_db *db, const char *name, int64_t *out_position)
{
	sqlite3_stmt *st = NULL;
	int rc = FL_OK, src;

	if (out_position)
		*out_position = 0;
	if (!db)
		return FL_ERR_MISUSE;
	if (!out_position)
		return error_set(&db->err, FL_ERR_MISUSE, "fl_changes_position: out_position is NULL");
	if ((rc = name_check(db, "fl_changes_position", name)))
		return rc;
	if (sqlite3_prepare_v2(db->sql, "SELECT position FROM feed_consumers WHERE name = ?1", -1, &st, NULL) !=
	    SQLITE_OK)
		return store_error(db, "read the position of consumer %s", name);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		*out_position = sqlite3_column_int64(st, 0);
	else if (src == SQLITE_DONE)
		rc = error_set(&db->err, FL_ERR_NOT_FOUND, "no consumer named %s is registered", name);
	else
		rc = store_error(db, "read the position of consumer %s", name);
	sqlite3_finalize(st);
	if (!rc)
		error_clear(&db->err);
	return rc;
}

/*
 * A consumer's row goes; a sink ("sink.*", its position in sync_state)
 * keeps its row (the mirror's identity is in it) and loses its position,
 * which its next run records again.
 */
FL_API int fl_changes_unregister(struct fl_db *db, const char *name)
{
	bool sink = name && !strncmp(name, "sink.", 5);
	sqlite3_stmt *st = NULL;
	int rc;

	if (!db)
		return FL_ERR_MISUSE;
	if ((rc = sink ? FL_OK : name_check(db, "fl_changes_unregister", name)) ||
	    (rc = writable(db, "fl_changes_unregister")))
		return rc;
	if (sqlite3_prepare_v2(db->sql, sink ? "UPDATE sync_state SET cursor = NULL WHERE stream = ?1 AND cursor IS NOT NULL"
					     : "DELETE FROM feed_consumers WHERE name = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return store_error(db, "unregister consumer %s", name);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = store_error(db, "unregister consumer %s", name);
	else if (sqlite3_changes(db->sql) == 0)
		rc = error_set(&db->err, FL_ERR_NOT_FOUND, "no %s named %s holds a position", sink ? "sink" : "consumer",
			       name);
	sqlite3_finalize(st);
	if (!rc)
		error_clear(&db->err);
	return rc;
}

FL_API int fl_changes_horizon(struct fl_db *db, int64_t *out)
{
	int rc;

	if (!db || !out) {
		if (out)
			*out = 0;
		return db ? error_set(&db->err, FL_ERR_MISUSE, "fl_changes_horizon: out is NULL") : FL_ERR_MISUSE;
	}
	rc = feed_horizon(db, out);
	if (!rc)
		error_clear(&db->err);
	return rc;
}
