/*
 * store.c — opening an flsync database: connection settings, the schema
 * version check, and the embedded migrations (sql/migrations/, applied in one
 * transaction and recorded in PRAGMA user_version).  Also the translation of
 * SQLite errors into FL_* codes, used by every module that writes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "watch.h"

#define DEFAULT_BUSY_TIMEOUT_MS 5000

/* Errors of an open that failed have no handle to live on. */
static _Thread_local struct fl_error open_err;

int store_code(int sqlite_rc)
{
	switch (sqlite_rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return FL_OK;
	case SQLITE_NOMEM:
		return FL_ERR_NOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return FL_ERR_BUSY;
	case SQLITE_READONLY:
		return FL_ERR_READONLY;
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_PERM:
		return FL_ERR_IO;
	case SQLITE_MISUSE:
	case SQLITE_RANGE:
		return FL_ERR_MISUSE;
	default:
		return FL_ERR_DB;
	}
}

/* The handle's busy timeout, read back from SQLite (only on an error path). */
static int busy_timeout_ms(struct fl_db *db)
{
	sqlite3_stmt *st;
	int ms = -1;

	if (sqlite3_prepare_v2(db->sql, "PRAGMA busy_timeout", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		ms = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return ms;
}

int store_error(struct fl_db *db, const char *what, ...)
{
	char buf[FL_ERRMSG_MAX / 2], msg[128];
	int xrc = sqlite3_extended_errcode(db->sql), prc = xrc & 0xff;
	const char *file;
	va_list ap;

	va_start(ap, what);
	vsnprintf(buf, sizeof buf, what, ap);
	va_end(ap);
	/* Copy SQLite's message first: the PRAGMA below replaces it. */
	snprintf(msg, sizeof msg, "%s", sqlite3_errmsg(db->sql));
	if (prc == SQLITE_BUSY || prc == SQLITE_LOCKED)
		return error_set(&db->err, FL_ERR_BUSY,
				 "%s: %s: another connection (flsyncd, or a writer in another program) held the lock "
				 "longer than the busy timeout (%d ms); try again, or raise the timeout (sqlite %d)",
				 buf, msg, busy_timeout_ms(db), xrc);
	if (prc == SQLITE_FULL && (file = sqlite3_db_filename(db->sql, "main")) && *file)
		return error_set(&db->err, store_code(xrc), "%s: %s: no room to write %s; free some space (sqlite %d)",
				 buf, msg, file, xrc);
	return error_set(&db->err, store_code(xrc), "%s: %s (sqlite %d)", buf, msg, xrc);
}

int store_exec(struct fl_db *db, const char *sql, const char *what)
{
	if (sqlite3_exec(db->sql, sql, NULL, NULL, NULL) != SQLITE_OK)
		return store_error(db, "%s", what);
	return FL_OK;
}

int store_begin(struct fl_db *db)
{
	return store_exec(db, "BEGIN IMMEDIATE", "begin transaction");
}

int store_commit(struct fl_db *db)
{
	return store_exec(db, "COMMIT", "commit transaction");
}

void store_rollback(struct fl_db *db)
{
	/* A failed COMMIT or a statement error may already have ended it. */
	if (!sqlite3_get_autocommit(db->sql))
		sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
}

static int read_int(struct fl_db *db, const char *sql, int *out)
{
	char what[160];
	int64_t v;
	int rc;

	snprintf(what, sizeof what, "read schema (%s)", sql);
	rc = store_int(db, what, sql, NULL, 0, &v, NULL);
	*out = (int)v;
	return rc;
}

/* Check the file's schema version against what this library knows. */
static int check_version(struct fl_db *db, const char *path, int *out_version)
{
	int version, ntables, rc;
	int known = store_migration_count;

	rc = read_int(db, "PRAGMA user_version", &version);
	if (rc)
		return rc;
	*out_version = version;
	if (version > known)
		return error_set(&db->err, FL_ERR_SCHEMA,
				 "database %s is at schema version %d, but this flsync (%s) knows only up to %d: upgrade flsync to use it",
				 path, version, fl_libversion(), known);
	if (version == 0) {
		rc = read_int(db, "SELECT count(*) FROM sqlite_schema", &ntables);
		if (rc)
			return rc;
		if (ntables > 0)
			return error_set(&db->err, FL_ERR_SCHEMA,
					 "%s is an SQLite database, but not an flsync database (it has tables and no flsync schema version)",
					 path);
	}
	if (version < known && (db->flags & FL_OPEN_READONLY))
		return error_set(&db->err, FL_ERR_SCHEMA,
				 "database %s is at schema version %d and needs upgrading to %d; open it read-write once (run flsyncd) first",
				 path, version, known);
	return FL_OK;
}

/*
 * Apply every migration newer than the file's version, all in one
 * transaction.  The version is read again inside the transaction: another
 * process may have migrated between our check and our BEGIN.
 */
static int migrate(struct fl_db *db, const char *path)
{
	int version, rc, i;
	char pragma[64];

	rc = store_begin(db);
	if (rc)
		return error_prefix(&db->err, "migrate %s", path);
	rc = check_version(db, path, &version);
	if (rc)
		goto out;
	for (i = version; i < store_migration_count; i++) {
		const struct store_migration *m = &store_migrations[i];

		if (sqlite3_exec(db->sql, m->sql, NULL, NULL, NULL) != SQLITE_OK) {
			rc = store_error(db, "migrate %s to version %d (%s)", path,
					 m->version, m->name);
			goto out;
		}
	}
	if (version < store_migration_count) {
		snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d",
			 store_migration_count);
		rc = store_exec(db, pragma, "record schema version");
		if (rc)
			goto out;
	}
	rc = store_commit(db);
out:
	if (rc)
		store_rollback(db);
	return rc;
}

static int configure(struct fl_db *db, const char *path)
{
	sqlite3_stmt *st = NULL;
	const char *mode;
	int rc = FL_OK, version;

	sqlite3_busy_timeout(db->sql, DEFAULT_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(db->sql, 1);

	/* Check before anything writes: a newer file must stay untouched. */
	rc = check_version(db, path, &version);
	if (rc)
		return rc;
	rc = store_exec(db, "PRAGMA foreign_keys = ON", "enable foreign keys");
	if (rc)
		return rc;
	if (db->flags & FL_OPEN_READONLY)
		return store_exec(db, "PRAGMA query_only = ON", "set query-only");

	if (sqlite3_db_readonly(db->sql, "main") == 1)
		return error_set(&db->err, FL_ERR_READONLY,
				 "database %s is read-only (the file or its directory is not writable); open it read-only to query it",
				 path);

	if (sqlite3_prepare_v2(db->sql, "PRAGMA journal_mode = WAL", -1, &st,
			       NULL) != SQLITE_OK)
		return store_error(db, "set WAL mode on %s", path);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = store_error(db, "set WAL mode on %s", path);
		sqlite3_finalize(st);
		return rc;
	}
	mode = (const char *)sqlite3_column_text(st, 0);
	if (!mode || strcmp(mode, "wal") != 0)
		rc = error_set(&db->err, FL_ERR_DB,
			       "database %s cannot use WAL mode (journal mode stays %s)",
			       path, mode ? mode : "unknown");
	sqlite3_finalize(st);
	if (rc)
		return rc;

	/*
	 * Statement journals (every upsert that fires the change-feed triggers
	 * opens one) and temp tables in memory: on disk they tripled the cost
	 * of a write (bench_query --triggers, bench_sync).
	 */
	rc = store_exec(db, "PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY", "set synchronous");
	if (rc)
		return rc;
	/* Up to date: no transaction, so opening never waits on a busy writer. */
	return version < store_migration_count ? migrate(db, path) : FL_OK;
}

FL_API int fl_db_open(const char *path, int flags, struct fl_db **out)
{
	struct fl_db *db;
	int sflags, rc;

	error_clear(&open_err);
	if (!out)
		return error_set(&open_err, FL_ERR_MISUSE, "fl_db_open: out is NULL");
	*out = NULL;
	if (!path || !*path)
		return error_set(&open_err, FL_ERR_MISUSE, "fl_db_open: no path given");
	if ((flags & FL_OPEN_READONLY) && (flags & FL_OPEN_CREATE))
		return error_set(&open_err, FL_ERR_MISUSE,
				 "fl_db_open: FL_OPEN_READONLY and FL_OPEN_CREATE exclude each other");

	db = calloc(1, sizeof *db);
	if (!db)
		return error_set(&open_err, FL_ERR_NOMEM, "open %s: out of memory", path);
	db->flags = flags;

	sflags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
	if (flags & FL_OPEN_READONLY)
		sflags |= SQLITE_OPEN_READONLY;
	else
		sflags |= SQLITE_OPEN_READWRITE;
	if (flags & FL_OPEN_CREATE)
		sflags |= SQLITE_OPEN_CREATE;

	if (sqlite3_open_v2(path, &db->sql, sflags, NULL) != SQLITE_OK) {
		if (!db->sql)
			rc = error_set(&db->err, FL_ERR_NOMEM, "open %s: out of memory", path);
		else
			rc = error_set(&db->err, FL_ERR_IO, "cannot open database %s: %s",
				       path, sqlite3_errmsg(db->sql));
		goto fail;
	}
	rc = configure(db, path);
	if (rc)
		goto fail;
	error_clear(&db->err);
	*out = db;
	return FL_OK;
fail:
	error_copy(&open_err, &db->err);
	fl_db_close(db);
	return rc;
}

FL_API const char *fl_db_open_errmsg(void)
{
	return open_err.msg;
}

FL_API void fl_db_close(struct fl_db *db)
{
	if (!db)
		return;
	/* sqlite3_close_v2 finalises lazily; a transaction left open rolls back. */
	sqlite3_close_v2(db->sql);
	watch_close(db->watch);
	free(db);
}

FL_API const char *fl_errmsg(const struct fl_db *db)
{
	return db ? db->err.msg : "no database handle";
}

FL_API int fl_db_schema_version(struct fl_db *db)
{
	int v;

	if (!db)
		return -1;
	if (read_int(db, "PRAGMA user_version", &v))
		return -1;
	return v;
}

FL_API int fl_schema_version(void)
{
	return store_migration_count;
}

FL_API int fl_db_busy_timeout(struct fl_db *db, int ms)
{
	if (!db || ms < 0)
		return FL_ERR_MISUSE;
	sqlite3_busy_timeout(db->sql, ms);
	error_clear(&db->err);
	return FL_OK;
}
