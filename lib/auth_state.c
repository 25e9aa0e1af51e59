/*
 * auth_state.c — writes the "auth" row of sync_state: the reason the
 * account's sign-in ended, or that its token works again.  Accounts that
 * never needed a login have no such row, so their status reads as before.
 */
#include "auth_state.h"

int auth_state_record(struct fl_db *db, const char *msg, int64_t now)
{
	const char *sql = msg ?
		"INSERT INTO sync_state(stream, last_started, last_error, last_error_at, failures) "
		"VALUES (?1, ?2, ?3, ?2, 1) ON CONFLICT(stream) DO UPDATE SET "
		"last_started = excluded.last_started, last_error = excluded.last_error, "
		"last_error_at = excluded.last_error_at, failures = failures + 1" :
		"UPDATE sync_state SET last_started = ?2, last_success = ?2, last_error = NULL, failures = 0 "
		"WHERE stream = ?1 AND (last_error IS NOT NULL OR failures > 0)";
	sqlite3_stmt *st;
	int rc = FL_OK;

	if (sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL) != SQLITE_OK)
		return store_error(db, "record the sign-in state");
	sqlite3_bind_text(st, 1, AUTH_STATE_STREAM, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	if (msg)
		sqlite3_bind_text(st, 3, msg, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = store_error(db, "record the sign-in state");
	sqlite3_finalize(st);
	return rc;
}
